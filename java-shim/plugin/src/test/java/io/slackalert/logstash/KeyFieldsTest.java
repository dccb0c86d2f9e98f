package io.slackalert.logstash;

import static io.slackalert.logstash.Fixtures.dryRun;
import static io.slackalert.logstash.Fixtures.event;
import static io.slackalert.logstash.Fixtures.filter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Event;
import io.slackalert.logstash.testkit.CountingMatchListener;
import io.slackalert.logstash.testkit.TestContext;
import io.slackalert.logstash.testkit.TestEvent;
import io.slackalert.logstash.testkit.TestMetric;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Matched events cross in two steps: the key fields of all of them ({@code submitKeys}), then every
 * field of the few the engine posts a message for ({@code submit}). And levels the engine answered
 * for before are decided without a native call ({@link SlackAlert.Verdicts}).
 */
class KeyFieldsTest {

    @BeforeAll
    static void load() {
        NativeLibrary.load(null);
    }

    /** The key values of one event, as the shim encodes them. */
    private static byte[] keys(String[] refs, Map<String, Object> fields) {
        StringBuilder out = new StringBuilder();
        for (String ref : refs) {
            NativeEngine.appendValue(out, fields.get(ref.substring(1, ref.length() - 1)));
            out.append('\n');
        }
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static ByteBuffer direct(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        ByteBuffer b = ByteBuffer.allocateDirect(Math.max(n, 1));
        for (byte[] p : parts) {
            b.put(p);
        }
        return b;
    }

    private static long counter(long handle, String name) {
        return NativeEngine.counters(handle)[Arrays.asList(Catalog.get().counterNames).indexOf(name)];
    }

    @Test
    void keyRefsAreTheFewFieldsADecisionReads() {
        long h = NativeEngine.create("{\"dry_run\":true,\"shutdown_timeout\":\"1s\"}");
        try {
            List<String> keys = Arrays.asList(NativeEngine.keyRefs(h));
            List<String> all = Arrays.asList(NativeEngine.eventRefs(h));
            assertTrue(all.containsAll(keys), keys + " ⊄ " + all);
            assertTrue(keys.containsAll(List.of("[log.level]", "[message]", "[log.logger]", "[service.name]")), keys.toString());
            assertFalse(keys.contains("[error.stack_trace]"), keys.toString());
            assertTrue(keys.size() * 2 < all.size(), keys.size() + " of " + all.size());
        } finally {
            NativeEngine.close(h);
        }
    }

    @Test
    void theFirstOccurrenceIsLeftUndecidedAndRepeatsAreDecided() {
        long h = NativeEngine.create("{\"dry_run\":true,\"shutdown_timeout\":\"1s\"}");
        try {
            String[] refs = NativeEngine.keyRefs(h);
            Map<String, Object> first = Map.of("log.level", "ERROR", "message", "disk full on 10.0.0.1");
            Map<String, Object> again = Map.of("log.level", "ERROR", "message", "disk full on 10.0.0.2");
            ByteBuffer slots = ByteBuffer.allocateDirect(NativeEngine.BUFFER_SIZE);
            ByteBuffer fields = direct(keys(refs, first), keys(refs, again));
            int r = NativeEngine.submitKeys(h, fields, fields.capacity(), 2, slots);
            // Both are first occurrences as far as the engine knows: it decided neither.
            assertEquals(2, r & ~NativeEngine.LOGS_PENDING);
            assertEquals(1, slots.get(NativeEngine.MASK_OFFSET));
            assertEquals(1, slots.get(NativeEngine.MASK_OFFSET + 1));
            assertEquals(0, counter(h, "matched"));

            String[] values = new String[NativeEngine.eventRefs(h).length];
            values[Arrays.asList(NativeEngine.eventRefs(h)).indexOf("[log.level]")] = "\"ERROR\"";
            values[Arrays.asList(NativeEngine.eventRefs(h)).indexOf("[message]")] = "\"disk full on 10.0.0.1\"";
            NativeEngine.submit(h, values, 1);

            fields = direct(keys(refs, again));
            r = NativeEngine.submitKeys(h, fields, fields.capacity(), 1, slots);
            assertEquals(0, r & ~NativeEngine.LOGS_PENDING);
            assertEquals(NativeEngine.DECIDED_MATCHED, slots.get(NativeEngine.MASK_OFFSET),
                    "a repeat is decided and matched: the shim reports it to filterMatched");
            assertEquals(2, counter(h, "matched"));
            assertEquals(1, counter(h, "alerts"));
            assertEquals(1, counter(h, "repeats"));
        } finally {
            NativeEngine.close(h);
        }
    }

    @Test
    void submitKeysRejectsWhatBreaksTheLayout() {
        long h = NativeEngine.create("{\"dry_run\":true,\"shutdown_timeout\":\"1s\"}");
        try {
            ByteBuffer slots = ByteBuffer.allocateDirect(NativeEngine.BUFFER_SIZE);
            int width = NativeEngine.keyRefs(h).length;
            byte[] one = "null\n".repeat(width).getBytes(StandardCharsets.US_ASCII);
            ByteBuffer fields = direct(one);
            assertEquals(0, NativeEngine.submitKeys(h, fields, one.length, 1, slots) & ~NativeEngine.LOGS_PENDING,
                    "an event without a level is ignored");
            assertEquals(NativeEngine.DECIDED_UNMATCHED, slots.get(NativeEngine.MASK_OFFSET));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.submitKeys(h, fields, one.length, 2, slots));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.submitKeys(h, fields, one.length - 1, 1, slots));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.submitKeys(h, fields, one.length + 1, 1, slots));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.submitKeys(h, fields, -1, 1, slots));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.submitKeys(h, null, 0, 0, slots));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.submitKeys(h, ByteBuffer.wrap(one), one.length, 1, slots));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.submitKeys(h, fields, one.length, 1, null));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.submitKeys(h, fields, one.length, 1,
                    ByteBuffer.allocateDirect(NativeEngine.BUFFER_SIZE - 1)));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.submitKeys(h, fields, one.length, 1025, slots));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.submitKeys(h, slots, 10, 0, slots),
                    "the two buffers must not overlap");
            assertEquals(0, NativeEngine.submitKeys(h, fields, 0, 0, slots) & ~NativeEngine.LOGS_PENDING);
        } finally {
            NativeEngine.close(h);
        }
        ByteBuffer slots = ByteBuffer.allocateDirect(NativeEngine.BUFFER_SIZE);
        assertEquals(NativeEngine.CLOSED, NativeEngine.submitKeys(h, direct(new byte[0]), 0, 0, slots));
    }

    @Test
    void aStormOfRepeatsIsCountedExactlyAndTheAlertShowsEveryField() {
        TestContext context = new TestContext();
        SlackAlert filter = filter(dryRun(), context);
        CountingMatchListener listener = new CountingMatchListener();
        int batches = 40;
        for (int b = 0; b < batches; b++) {
            List<Event> batch = new ArrayList<>();
            for (int i = 0; i < 125; i++) {
                if (i % 5 == 0) {
                    Map<String, Object> fields = new LinkedHashMap<>();
                    fields.put("log.level", "ERROR");
                    fields.put("message", "timeout after " + (b * 125 + i) + " ms");
                    fields.put("error.stack_trace", "java.net.SocketTimeoutException\n\tat com.shop.Db.query(Db.java:42)");
                    fields.put("service.name", "checkout");
                    batch.add(new TestEvent(fields));
                } else {
                    batch.add(event(i % 2 == 0 ? "INFO" : "WARN", "fine " + i));
                }
            }
            filter.filter(batch, listener);
        }
        filter.flush(listener);
        TestMetric metric = context.metricOf("slack_alert_test");
        assertEquals(batches * 125L, ((Number) metric.gaugeValue(SlackAlert.EVENTS_GAUGE)).longValue());
        assertEquals(batches * 25L, ((Number) metric.gaugeValue("matched")).longValue());
        assertEquals(1L, ((Number) metric.gaugeValue("alerts")).longValue());
        assertEquals(batches * 25L - 1, ((Number) metric.gaugeValue("repeats")).longValue());
        assertEquals(batches * 25, listener.count());
        Fixtures.await("the dry run's alert", Duration.ofSeconds(60), () -> {
            filter.flush(listener);
            return context.logger().allText().contains("Db.java:42");
        });
        filter.close();
        assertEquals(batches * 125L, ((Number) metric.gaugeValue(SlackAlert.EVENTS_GAUGE)).longValue(),
                "events decided without a native call are counted too");
    }

    @Test
    void keyFieldsCrossAsUtf8WhateverTheirCharacters() {
        TestContext context = new TestContext();
        SlackAlert filter = filter(dryRun("rate_limit", 600L, "burst", 10L), context);
        String[] messages = {"디스크 가득 🔥", "디스크 가득 🔥", "디스크 가득 🔥🔥", "bad \uD800 surrogate", "bad \uD800 surrogate",
            "ünïcödé", "ünïcödé", "quote \" and \\ and \n newline"};
        List<Event> batch = new ArrayList<>();
        for (String m : messages) {
            batch.add(event("ERROR", m));
        }
        filter.filter(batch, new CountingMatchListener());
        filter.flush(new CountingMatchListener());
        TestMetric metric = context.metricOf("slack_alert_test");
        assertEquals(8L, ((Number) metric.gaugeValue("matched")).longValue());
        // Five distinct problems, three repeats: the texts reached the fingerprint intact.
        assertEquals(5L, ((Number) metric.gaugeValue("alerts")).longValue(), context.logger().allText());
        assertEquals(3L, ((Number) metric.gaugeValue("repeats")).longValue());
        Fixtures.await("the dry run's alerts", Duration.ofSeconds(60), () -> {
            filter.flush(new CountingMatchListener());
            return context.logger().allText().contains("디스크 가득 🔥🔥");
        });
        filter.close();
    }

    @Test
    void verdictsRememberTheEnginesAnswersUpToTheirCapacity() {
        SlackAlert.Verdicts v = SlackAlert.Verdicts.NONE;
        assertEquals(-1, v.of("ERROR"));
        assertEquals(-1, v.of(null));
        assertEquals(-1, v.of(3L));
        v = v.with("ERROR", NativeEngine.ALERT_CANDIDATE).with("INFO", NativeEngine.NOT_CANDIDATE)
                .with("DEBUG", NativeEngine.HEARTBEAT_ONLY).withAbsent(NativeEngine.NOT_CANDIDATE);
        assertEquals(1, v.of("ERROR"));
        assertEquals(1, v.of(new String("ERROR".toCharArray())));
        assertEquals(0, v.of("INFO"));
        assertEquals(2, v.of("DEBUG"), "a heartbeat only a flatline rule takes");
        assertEquals(2, v.withAbsent(NativeEngine.HEARTBEAT_ONLY).of(null));
        assertEquals(-1, v.of("Info"), "a verdict is for one exact text");
        assertEquals(-1, v.of("error"));
        assertEquals(-1, v.of(""));
        assertEquals(0, v.of(null));
        assertEquals(-1, v.of(3L), "only strings are remembered");
        for (int i = 0; i < 40; i++) {
            v = v.with("level" + i, i % 2 == 0 ? NativeEngine.ALERT_CANDIDATE : NativeEngine.NOT_CANDIDATE);
        }
        assertTrue(v.full());
        assertEquals(1, v.of("ERROR"));
        assertEquals(1, v.of("level0"));
        assertEquals(0, v.of("level11"));
        assertEquals(-1, v.of("level13"), "full: not remembered");
        // Texts that share a slot (same length and first letter) are told apart.
        SlackAlert.Verdicts w = SlackAlert.Verdicts.NONE.with("WARN", NativeEngine.NOT_CANDIDATE)
                .with("WXYZ", NativeEngine.ALERT_CANDIDATE).with("W", NativeEngine.ALERT_CANDIDATE);
        assertEquals(0, w.of("WARN"));
        assertEquals(1, w.of("WXYZ"));
        assertEquals(-1, w.of("WARM"));
        assertEquals(1, w.of("W"));
    }

    @Test
    void aLevelTheEngineAnsweredForIsDecidedWithoutItAndStillAlerts() {
        TestContext context = new TestContext();
        SlackAlert filter = filter(dryRun(), context);
        CountingMatchListener listener = new CountingMatchListener();
        for (int round = 0; round < 3; round++) {
            List<Event> batch = new ArrayList<>();
            for (String level : new String[] {"ERROR", "INFO", "error", " Error ", "FATAL", "warn", "CRITICAL"}) {
                batch.add(event(level, "round " + round + " " + level));
            }
            batch.add(event(null, "no level"));
            filter.filter(batch, listener);
        }
        // 5 of the 8 alert in every round, whether decided by the engine or remembered.
        assertEquals(15, listener.count());
        filter.flush(listener);
        TestMetric metric = context.metricOf("slack_alert_test");
        assertEquals(24L, ((Number) metric.gaugeValue(SlackAlert.EVENTS_GAUGE)).longValue());
        assertEquals(15L, ((Number) metric.gaugeValue("matched")).longValue());
        filter.close();
    }
}
