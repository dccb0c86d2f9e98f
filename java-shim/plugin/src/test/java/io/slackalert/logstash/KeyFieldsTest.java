package io.slackalert.logstash;

import static io.slackalert.logstash.Fixtures.dryRun;
import static io.slackalert.logstash.Fixtures.event;
import static io.slackalert.logstash.Fixtures.filter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Event;
import io.slackalert.logstash.testkit.Await;
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
 * Matched events cross in two stages: the key fields of all of them (KEYS), then every field of the
 * few the engine posts a message for (EVENTS).
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
        return NativeCalls.counters(handle)[Arrays.asList(Catalog.get().counterNames).indexOf(name)];
    }

    @Test
    void keyRefsAreTheFewFieldsADecisionReads() {
        long h = NativeEngine.create("{\"dry_run\":true,\"shutdown_timeout\":\"1s\"}");
        try {
            List<String> keys = Arrays.asList(NativeCalls.keyRefs(h));
            List<String> all = Arrays.asList(NativeCalls.eventRefs(h));
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
            String[] refs = NativeCalls.keyRefs(h);
            Map<String, Object> first = Map.of("log.level", "ERROR", "message", "disk full on 10.0.0.1");
            Map<String, Object> again = Map.of("log.level", "ERROR", "message", "disk full on 10.0.0.2");
            ByteBuffer slots = ByteBuffer.allocateDirect(NativeEngine.VALUES_OFFSET);
            ByteBuffer fields = direct(keys(refs, first), keys(refs, again));
            int r = NativeCalls.submitKeys(h, fields, fields.capacity(), 2, slots);
            // Both are first occurrences as far as the engine knows: it decided neither.
            assertEquals(2, r & ~NativeEngine.LOGS_PENDING);
            assertEquals(1, slots.get(NativeEngine.MASK_OFFSET));
            assertEquals(1, slots.get(NativeEngine.MASK_OFFSET + 1));
            assertEquals(0, counter(h, "matched"));

            String[] values = new String[NativeCalls.eventRefs(h).length];
            values[Arrays.asList(NativeCalls.eventRefs(h)).indexOf("[log.level]")] = "\"ERROR\"";
            values[Arrays.asList(NativeCalls.eventRefs(h)).indexOf("[message]")] = "\"disk full on 10.0.0.1\"";
            NativeCalls.submit(h, values, 1);

            fields = direct(keys(refs, again));
            r = NativeCalls.submitKeys(h, fields, fields.capacity(), 1, slots);
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
    void aBatchThatBreaksTheLayoutIsRefused() {
        long h = NativeEngine.create("{\"dry_run\":true,\"shutdown_timeout\":\"1s\"}");
        int keys = NativeEngine.STAGE_KEYS;
        try {
            int width = NativeCalls.keyRefs(h).length;
            byte[] one = "null\n".repeat(width).getBytes(StandardCharsets.US_ASCII);
            ByteBuffer buffer = ByteBuffer.allocateDirect(NativeEngine.VALUES_OFFSET + one.length);
            for (int i = 0; i < one.length; i++) {
                buffer.put(NativeEngine.VALUES_OFFSET + i, one[i]);
            }
            assertEquals(0, NativeEngine.batch(h, keys, buffer, 1, one.length) & ~NativeEngine.LOGS_PENDING,
                    "an event without a level is ignored");
            assertEquals(NativeEngine.DECIDED_UNMATCHED, buffer.get(NativeEngine.MASK_OFFSET));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.batch(h, keys, buffer, 2, one.length),
                    "fewer values than events × keyRefs");
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.batch(h, keys, buffer, 1, one.length - 1),
                    "the last value without its newline");
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.batch(h, keys, buffer, 1, one.length + 1),
                    "more values than the buffer holds");
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.batch(h, keys, buffer, 1, -1));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.batch(h, keys, null, 0, 0));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.batch(h, keys,
                    ByteBuffer.allocate(NativeEngine.VALUES_OFFSET + one.length), 1, one.length), "not direct");
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.batch(h, keys,
                    ByteBuffer.allocateDirect(NativeEngine.VALUES_OFFSET - 1), 0, 0));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.batch(h, keys, buffer, 1025, one.length));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.batch(h, keys, buffer, -1, one.length));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.batch(h, 4, buffer, 0, 0), "no stage 4");
            assertEquals(0, NativeEngine.batch(h, keys, buffer, 0, 0) & ~NativeEngine.LOGS_PENDING);
        } finally {
            NativeEngine.close(h);
        }
        ByteBuffer buffer = ByteBuffer.allocateDirect(NativeEngine.VALUES_OFFSET);
        assertEquals(NativeEngine.CLOSED, NativeEngine.batch(h, keys, buffer, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> NativeEngine.batch(h, keys, null, 0, 0),
                "arguments are checked before the handle");
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
        Await.until("the dry run's alert", Duration.ofSeconds(60), () -> {
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
        Await.until("the dry run's alerts", Duration.ofSeconds(60), () -> {
            filter.flush(new CountingMatchListener());
            return context.logger().allText().contains("디스크 가득 🔥🔥");
        });
        filter.close();
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
