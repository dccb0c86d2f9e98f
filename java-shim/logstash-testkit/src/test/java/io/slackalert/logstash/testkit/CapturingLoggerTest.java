package io.slackalert.logstash.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.logging.log4j.Level;
import org.junit.jupiter.api.Test;

class CapturingLoggerTest {

    @Test
    void recordsFormattedLinesAtEveryLevel() {
        CapturingLogger logger = new CapturingLogger("t");
        RuntimeException boom = new RuntimeException("boom");
        logger.debug("d {}", 1);
        logger.info("i {} {}", "a", "b");
        logger.warn("w");
        logger.error("e {}", "x", boom);
        List<LogLine> lines = logger.lines();
        assertEquals(4, lines.size());
        assertEquals("d 1", lines.get(0).message());
        assertEquals(Level.INFO, lines.get(1).level());
        assertEquals("i a b", lines.get(1).message());
        assertEquals("e x", lines.get(3).message());
        assertSame(boom, lines.get(3).thrown());
        assertEquals(1, logger.lines(Level.WARN).size());
    }

    @Test
    void metricsAreRecordedPerNamespace() {
        TestMetric root = new TestMetric();
        TestMetric plugin = (TestMetric) root.namespace("f1");
        plugin.gauge("alerts", 3L);
        plugin.increment("seen", 2);
        assertEquals(3L, plugin.gaugeValue("alerts"));
        assertEquals(2L, plugin.counterValue("seen"));
        assertEquals(1, plugin.gauges().size());
        assertEquals(0, root.gauges().size());
    }

    /** Logstash's metric store is a tree: a name is a metric or a namespace, never both. */
    @Test
    void aMetricNamedLikeANamespaceIsRefused() {
        TestMetric plugin = (TestMetric) new TestMetric().namespace("f1");
        plugin.namespace("events").counter("in");
        assertThrows(IllegalStateException.class, () -> plugin.gauge("events", 1L));
        plugin.gauge("alerts", 1L);
        assertThrows(IllegalStateException.class, () -> plugin.namespace("alerts").gauge("x", 1L));
        plugin.gauge("events_seen", 1L);
        assertEquals(1L, plugin.gaugeValue("events_seen"));
    }

    @Test
    void nestedNamespacesKeepNamesWithDotsApart() {
        TestMetric root = new TestMetric();
        TestMetric plugin = (TestMetric) root.namespace("f1");
        plugin.gauge("matched", 1L);
        ((TestMetric) plugin.namespace("rules", "db.primary")).gauge("alerts", 2L);
        ((TestMetric) plugin.namespace("rules").namespace("payments")).gauge("alerts", 3L);
        // "db" then "primary" is another namespace than "db.primary".
        ((TestMetric) plugin.namespace("rules", "db", "primary")).gauge("alerts", 4L);

        assertEquals(Map.of("matched", 1L), plugin.gauges(), "nested gauges are not the plugin's own");
        assertEquals(2L, ((TestMetric) plugin.namespace("rules", "db.primary")).gaugeValue("alerts"));
        assertEquals(3L, ((TestMetric) plugin.namespace("rules", "payments")).gaugeValue("alerts"));
        assertEquals(4L, ((TestMetric) plugin.namespace("rules", "db", "primary")).gaugeValue("alerts"));
        assertEquals(Set.of("db.primary", "payments", "db"), ((TestMetric) plugin.namespace("rules")).children());
        assertArrayEquals(new String[] {"f1", "rules", "payments"},
                plugin.namespace("rules", "payments").namespaceName());
    }
}
