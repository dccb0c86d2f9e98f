package co.elastic.logstash.api;

/** A metric namespace that further namespaces can be nested in. */
public interface Metric {
    /**
     * @param key the nested namespace's path
     * @return the nested namespace
     */
    NamespacedMetric namespace(String... key);
}
