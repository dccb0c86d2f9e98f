package io.slackalert.logstash.testkit;

import co.elastic.logstash.api.Context;
import co.elastic.logstash.api.DeadLetterQueueWriter;
import co.elastic.logstash.api.DeprecationLogger;
import co.elastic.logstash.api.Event;
import co.elastic.logstash.api.EventFactory;
import co.elastic.logstash.api.NamespacedMetric;
import co.elastic.logstash.api.Plugin;
import java.io.PrintStream;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.Logger;

/**
 * A {@link Context} for tests and the demo: one {@link CapturingLogger} for every plugin, a
 * {@link TestMetric} store (each plugin gets the namespace of its id), no dead letter queue (as for
 * filters), and a factory of {@link TestEvent}s.
 */
public final class TestContext implements Context {

    private final CapturingLogger logger;
    private final TestMetric metric = new TestMetric();

    /** A context whose logger only records. */
    public TestContext() {
        this.logger = new CapturingLogger("slack_alert");
    }

    /** A context whose logger also prints lines at {@code level} or more severe to {@code echo}. */
    public TestContext(PrintStream echo, Level level) {
        this.logger = new CapturingLogger("slack_alert", echo, level);
    }

    /** The logger every plugin of this context writes to. */
    public CapturingLogger logger() {
        return logger;
    }

    /** The root of the metric store. */
    public TestMetric metric() {
        return metric;
    }

    /** The namespace {@link #getMetric} hands the plugin with this id. */
    public TestMetric metricOf(String pluginId) {
        return (TestMetric) metric.namespace(pluginId);
    }

    @Override
    public DeadLetterQueueWriter getDlqWriter() {
        return null;
    }

    /**
     * The plugin's namespace, with what Logstash's filter delegator keeps there beside the plugin's
     * own metrics: the counters {@code events.in}, {@code events.out},
     * {@code events.duration_in_millis} and the gauge {@code name}.
     */
    @Override
    public NamespacedMetric getMetric(Plugin plugin) {
        NamespacedMetric mine = metric.namespace(plugin.getId());
        NamespacedMetric events = mine.namespace("events");
        events.counter("in");
        events.counter("out");
        events.counter("duration_in_millis");
        if (((TestMetric) mine).gaugeValue("name") == null) {
            mine.gauge("name", plugin.getName());
        }
        return mine;
    }

    @Override
    public Logger getLogger(Plugin plugin) {
        return logger;
    }

    @Override
    public DeprecationLogger getDeprecationLogger(Plugin plugin) {
        return (message, params) -> logger.warn("DEPRECATED: " + message, params);
    }

    @Override
    public EventFactory getEventFactory() {
        return new EventFactory() {
            @Override
            public Event newEvent() {
                return new TestEvent();
            }

            @Override
            public Event newEvent(Map<? extends Serializable, Object> data) {
                Map<String, Object> fields = new LinkedHashMap<>();
                data.forEach((k, v) -> fields.put(String.valueOf(k), v));
                return new TestEvent(fields);
            }
        };
    }
}
