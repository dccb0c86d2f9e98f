package co.elastic.logstash.api;

import java.util.function.Supplier;

/** A metric namespace that values can be written into. */
public interface NamespacedMetric extends Metric {

    void gauge(String metric, Object value);

    CounterMetric counter(String metric);

    TimerMetric timer(String metric);

    void increment(String metric);

    void increment(String metric, int delta);

    <T> T time(String metric, Supplier<T> callable);

    void reportTime(String metric, long duration);

    String[] namespaceName();

    Metric root();

    <USER_METRIC extends UserMetric<?>> USER_METRIC register(String metric, UserMetric.Factory<USER_METRIC> userMetricFactory);
}
