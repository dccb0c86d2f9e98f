package co.elastic.logstash.api;

import org.apache.logging.log4j.Logger;

/** What Logstash provides to a plugin: logging, metrics, events, the dead letter queue. */
public interface Context {

    /** @return the DLQ writer for outputs, else null */
    DeadLetterQueueWriter getDlqWriter();

    /**
     * @param plugin the plugin asking
     * @return a metric namespace scoped to the plugin
     */
    NamespacedMetric getMetric(Plugin plugin);

    /**
     * @param plugin the plugin asking
     * @return a logger that writes into Logstash's log
     */
    Logger getLogger(Plugin plugin);

    /**
     * @param plugin the plugin asking
     * @return a logger for deprecation notices
     */
    DeprecationLogger getDeprecationLogger(Plugin plugin);

    /** @return a factory for new events */
    EventFactory getEventFactory();
}
