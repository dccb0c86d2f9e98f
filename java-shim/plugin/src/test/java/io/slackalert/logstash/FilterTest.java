package io.slackalert.logstash;

import static io.slackalert.logstash.Fixtures.alerts;
import static io.slackalert.logstash.Fixtures.dryRun;
import static io.slackalert.logstash.Fixtures.event;
import static io.slackalert.logstash.Fixtures.filter;
import static io.slackalert.logstash.Fixtures.mixedBatch;
import static io.slackalert.logstash.Fixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Event;
import io.slackalert.logstash.testkit.Await;
import io.slackalert.logstash.testkit.CountingMatchListener;
import io.slackalert.logstash.testkit.TestContext;
import io.slackalert.logstash.testkit.TestEvent;
import io.slackalert.logstash.testkit.TestMetric;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What filter() does with events: matching, the match listener, pass-through, concurrency. */
class FilterTest {

    private final TestContext context = new TestContext();
    private SlackAlert filter;

    @AfterEach
    void close() {
        if (filter != null) {
            filter.close();
        }
    }

    private static Event withLevel(String field, Object level) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("message", "value " + level);
        if (field.equals("log.level")) {
            fields.put("log.level", level);
        } else if (field.equals("[log][level]")) {
            Map<String, Object> log = new LinkedHashMap<>();
            log.put("level", level);
            fields.put("log", log);
        } else if (!field.isEmpty()) {
            fields.put(field, level);
        }
        return new TestEvent(fields);
    }

    @Test
    void everyLevelVocabularyAndEncodingIsMatchedByTheEngine() {
        filter = filter(dryRun("rate_limit", 3600L, "burst", 1000L), context);
        List<Event> hits = List.of(
                withLevel("log.level", "ERROR"),
                withLevel("log.level", "error"),
                withLevel("log.level", "  Error \t"),
                withLevel("log.level", "CRITICAL"),
                withLevel("log.level", "fatal"),
                withLevel("[log][level]", "err"),
                withLevel("level", "emerg"),
                withLevel("level", 3L),
                withLevel("level", 50L),
                withLevel("level", 0L),
                withLevel("log.level", "dpanic"));
        List<Event> misses = List.of(
                withLevel("log.level", "INFO"),
                withLevel("log.level", "WARN"),
                withLevel("log.level", "ERRORS"),
                withLevel("log.level", "에러"),
                withLevel("log.level", "error".repeat(7)),
                withLevel("log.level", true),
                withLevel("log.level", 3.0),
                withLevel("log.level", List.of("ERROR")),
                withLevel("level", 1000L),
                withLevel("level", -1L),
                withLevel("level", 40L),
                withLevel("", "ERROR"),
                withLevel("lvl", "ERROR"));
        List<Event> batch = new ArrayList<>(hits);
        batch.addAll(misses);
        Collections.shuffle(batch, new java.util.Random(7));
        List<Map<String, Object>> before = snapshot(batch);
        CountingMatchListener listener = new CountingMatchListener();

        Collection<Event> out = filter.filter(batch, listener);

        assertSame(batch, out);
        assertEquals(before, snapshot(batch), "events pass through unchanged");
        assertEquals(hits.size(), listener.count());
        for (Event e : hits) {
            assertEquals(1, listener.timesMatched(e), e.toString());
        }
        for (Event e : misses) {
            assertEquals(0, listener.timesMatched(e), e.toString());
        }
    }

    /**
     * Logstash holds text as a JRuby string, a CharSequence that is not a String: the level is read
     * from it as it is (usual spellings from the engine's table, others sent to the engine), the
     * same as from a String.
     */
    @Test
    void aLevelHeldAsOtherTextIsMatchedAsItsString() {
        filter = filter(dryRun("rate_limit", 3600L, "burst", 1000L), context);
        List<Event> events = List.of(
                withLevel("log.level", new StringBuilder("ERROR")),
                withLevel("log.level", new StringBuilder("  Fatal ")),
                withLevel("[log][level]", new StringBuilder("crit")),
                withLevel("log.level", new StringBuilder("info")),
                withLevel("log.level", new StringBuilder("warning")),
                withLevel("log.level", new StringBuilder("ÉRROR")));
        CountingMatchListener listener = new CountingMatchListener();
        filter.filter(events, listener);
        assertEquals(3, listener.count());
    }

    @Test
    void theFirstLevelReferenceThatIsPresentWins() {
        filter = filter(dryRun(), context);
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("log.level", "INFO");
        fields.put("level", "ERROR");
        Event infoFirst = new TestEvent(fields);
        CountingMatchListener listener = new CountingMatchListener();
        filter.filter(List.of(infoFirst), listener);
        assertEquals(0, listener.count(), "[log.level] comes before [level]");
    }

    @Test
    void levelsAndLevelFieldOptionsAreHonoured() {
        filter = filter(dryRun("min_level", "WARN", "level_field", "[severity]"), context);
        CountingMatchListener listener = new CountingMatchListener();
        filter.filter(List.of(withLevel("severity", "warning"), withLevel("severity", "info"),
                withLevel("log.level", "ERROR")), listener);
        assertEquals(1, listener.count());
    }

    @Test
    void batchesLargerThanOneNativeCallAreSplit() {
        filter = filter(dryRun(), context);
        List<Event> big = mixedBatch(3000, "big");
        CountingMatchListener listener = new CountingMatchListener();
        filter.filter(big, listener);
        assertEquals(big.stream().filter(Fixtures::alerts).count(), listener.count());
        filter.flush(listener);
        assertEquals(3000L, context.metricOf("slack_alert_test").gaugeValue(SlackAlert.EVENTS_GAUGE));
        assertTrue(filter.filter(List.of(), listener).isEmpty());
    }

    @Test
    void aBatchThatIsNotAListIsReadInItsOrderAndPassesThroughAsItCame() {
        filter = filter(dryRun(), context);
        // Logstash hands over an ArrayList, which the shim indexes; any other collection is copied.
        Collection<Event> big = new ArrayDeque<>(mixedBatch(2500, "deque"));
        Event first = big.iterator().next();
        CountingMatchListener listener = new CountingMatchListener();
        assertSame(big, filter.filter(big, listener));
        assertEquals(2500, big.size());
        assertSame(first, big.iterator().next());
        assertEquals(big.stream().filter(Fixtures::alerts).count(), listener.count());
        filter.flush(listener);
        assertEquals(2500L, context.metricOf("slack_alert_test").gaugeValue(SlackAlert.EVENTS_GAUGE));
    }

    @Test
    void eightWorkersAtOnceEachGetExactlyTheirMatches() throws Exception {
        filter = filter(dryRun(), context);
        int workers = 8;
        int batchesEach = 40;
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int w = 0; w < workers; w++) {
                String tag = "worker" + w;
                Callable<Integer> job = () -> {
                    int batchesOk = 0;
                    for (int b = 0; b < batchesEach; b++) {
                        List<Event> batch = mixedBatch(125, tag + "-" + b);
                        List<Map<String, Object>> before = snapshot(batch);
                        CountingMatchListener listener = new CountingMatchListener();
                        Collection<Event> out = filter.filter(batch, listener);
                        boolean ok = out == batch && before.equals(snapshot(batch));
                        for (Event e : batch) {
                            ok &= listener.timesMatched(e) == (alerts(e) ? 1 : 0);
                        }
                        batchesOk += ok ? 1 : 0;
                    }
                    return batchesOk;
                };
                results.add(pool.submit(job));
            }
            for (Future<Integer> r : results) {
                assertEquals(batchesEach, r.get(60, TimeUnit.SECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
        filter.flush(new CountingMatchListener());
        TestMetric metric = context.metricOf("slack_alert_test");
        assertEquals((long) workers * batchesEach * 125, metric.gaugeValue(SlackAlert.EVENTS_GAUGE));
        assertEquals((long) workers * batchesEach * 50, metric.gaugeValue("matched"));
        assertEquals(0L, metric.gaugeValue("internal_errors"));
    }

    @Test
    void periodicFlushPublishesEveryCounterAsAGauge() {
        filter = filter(dryRun(), context);
        assertTrue(filter.requiresPeriodicFlush());
        filter.filter(List.of(event("ERROR", "db down"), event("ERROR", "db down"), event("INFO", "fine")),
                new CountingMatchListener());
        assertTrue(filter.flush(new CountingMatchListener()).isEmpty());
        TestMetric metric = context.metricOf("slack_alert_test");
        for (String counter : Catalog.get().counterNames) {
            // Beside Logstash's own events.in/out namespace, the events counter is events_seen.
            String name = counter.equals("events") ? SlackAlert.EVENTS_GAUGE : counter;
            assertTrue(metric.gauges().containsKey(name), name + " in " + metric.gauges());
        }
        assertEquals(3L, metric.gaugeValue(SlackAlert.EVENTS_GAUGE));
        assertEquals(2L, metric.gaugeValue("matched"));
        assertEquals(1L, metric.gaugeValue("alerts"));
        assertEquals(1L, metric.gaugeValue("repeats"));
        Await.until("the dry run to log the alert", Duration.ofSeconds(60), () -> {
            filter.flush(null);
            return context.logger().allText().contains("db down");
        });
    }

    @Test
    void fieldValuesOfEveryTypeReachTheEngine() {
        filter = filter(dryRun("format", "msg=%{message} n=%{[ctx][n]} ok=%{[ctx][ok]} at=%{@timestamp}"),
                context);
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("@timestamp", "2024-05-01T12:00:00.000Z");
        fields.put("log.level", "ERROR");
        fields.put("message", "quote \" and 에러 🔥 <!channel>");
        Map<String, Object> ctx = new LinkedHashMap<>();
        ctx.put("n", 42L);
        ctx.put("ok", false);
        fields.put("ctx", ctx);
        filter.filter(List.of(new TestEvent(fields)), new CountingMatchListener());
        // No flush: a later batch sees LOGS_PENDING from the native call and drains the log.
        Await.until("the dry run to render the event", Duration.ofSeconds(60), () -> {
            filter.filter(List.of(event("INFO", "routine")), new CountingMatchListener());
            return context.logger().allText().contains("n=42");
        });
        String logged = context.logger().allText();
        assertTrue(logged.contains("ok=false"), logged);
        assertTrue(logged.contains("에러 🔥"), logged);
        assertTrue(logged.contains("2024-05-01T12:00:00.000Z"), logged);
    }
}
