package co.elastic.logstash.api;

/** Logs deprecation notices. */
public interface DeprecationLogger {
    /**
     * @param message with log4j-style {} placeholders
     * @param params  the placeholders' values
     */
    void deprecated(String message, Object... params);
}
