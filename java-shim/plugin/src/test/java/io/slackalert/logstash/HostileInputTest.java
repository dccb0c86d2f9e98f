package io.slackalert.logstash;

import static io.slackalert.logstash.Fixtures.filter;
import static io.slackalert.logstash.Fixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Event;
import io.slackalert.logstash.testkit.CountingMatchListener;
import io.slackalert.logstash.testkit.LogstashJson;
import io.slackalert.logstash.testkit.TestContext;
import io.slackalert.logstash.testkit.TestEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Broken and hostile events through the real plugin and native library (the engine-level sweep is
 * {@code rust/engine/tests/hostile.rs}): levels of every type, strings that are not valid UTF-16,
 * 10 MB messages, 10,000 fields, text that tries to ping a channel. Events pass through
 * unchanged, only real levels alert, every post is within Slack's limits and carries no mention
 * or link from event data; big events the engine does not alert on cost nothing extra.
 */
class HostileInputTest {

    @RegisterExtension
    static final Fixtures.SharedReceiver receiver = new Fixtures.SharedReceiver();
    private final TestContext context = new TestContext();
    private SlackAlert filter;

    @BeforeEach
    void start() {
        filter = filter(receiver.config("dedup_window", "0s", "rate_limit", 3600L, "burst", 1000L,
                "shutdown_timeout", "5s"), context);
    }

    @AfterEach
    void close() {
        filter.close();
    }

    private static Event withLevel(Object level, String message) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("log.level", level);
        fields.put("message", message);
        fields.put("service.name", "checkout");
        return new TestEvent(fields);
    }

    @Test
    void levelsOfEveryTypeAndBrokenStringsNeverCrashAndOnlyRealLevelsAlert() {
        String megabyte = "E".repeat(1 << 20);
        List<Event> ignored = Arrays.asList(
                new TestEvent(Map.of("message", "no level at all")),
                withLevel(null, "a null level"),
                withLevel(3.0, "a fractional level"),
                withLevel(-3L, "a negative level"),
                withLevel(Long.MAX_VALUE, "a huge level"),
                withLevel(List.of("ERROR"), "a list level"),
                withLevel(Map.of("name", "ERROR"), "a map level"),
                withLevel(true, "a boolean level"),
                withLevel(megabyte, "a 1 MB level"),
                withLevel("ERROR" + megabyte, "a 1 MB level that starts like one"),
                withLevel("\uD800", "a lone high surrogate level"),
                withLevel("ERR\uDC00OR", "a lone low surrogate in the level"),
                withLevel("ERROR\u0000", "a NUL in the level"),
                withLevel("에러", "a Korean level"));
        List<Event> alerting = Arrays.asList(
                withLevel("ERROR", "lone surrogates \uD800 and \uDC00x and a pair \uD83D\uDE00 in the message"),
                withLevel("error", "<!channel> <!here> <@U123> <https://evil.example|click> &amp; ```code```"),
                withLevel(3L, "control characters \u0000\u0007\u001b[31m\u007f and a newline\r\n"),
                withLevel("FATAL", "에러 발생 🚨👩‍👩‍👧‍👦 ".repeat(500)));
        List<Event> batch = new ArrayList<>(ignored);
        batch.addAll(alerting);
        List<Map<String, Object>> before = snapshot(batch);
        CountingMatchListener listener = new CountingMatchListener();

        assertSame(batch, filter.filter(batch, listener));

        assertEquals(before, snapshot(batch), "events pass through unchanged");
        assertEquals(alerting.size(), listener.count());
        for (Event e : alerting) {
            assertEquals(1, listener.timesMatched(e), e.toString());
        }
        List<Map<String, Object>> messages = receiver.get().awaitMessages(alerting.size(), Duration.ofSeconds(60));
        assertEquals(alerting.size(), messages.size(), "every alert was accepted: " + receiver.get().received());
        assertSafe(messages);
        filter.flush(listener);
        assertEquals(0L, context.metricOf("slack_alert_test").gaugeValue("internal_errors"));
        assertEquals(0L, context.metricOf("slack_alert_test").gaugeValue("filter_failures"));
    }

    @Test
    void hostileValuesInEveryFieldMentionNoOne() {
        String[] hostile = {"<!channel>", "<!here> please", "<!everyone>", "<@U123>", "<#C123|general>",
            "<https://evil.example|click here>", "<mailto:ceo@example.com|mail>", "&lt;!channel&gt;", "&amp;",
            "```", "\u202ereversed", "\uD800"};
        String[] fields = {"message", "service.name", "host.name", "log.logger", "process.thread.name",
            "trace.id", "error.type", "error.message", "error.stack_trace", "service.environment"};
        // Every field hostile at once, then without a message (the error's message is shown instead);
        // rust/engine/tests/hostile.rs goes through the fields one by one.
        List<Event> batch = new ArrayList<>();
        for (int variant = 0; variant < 2; variant++) {
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("log.level", "ERROR");
            for (String field : fields) {
                if (variant == 0 || !field.equals("message")) {
                    event.put(field, String.join(" ", hostile) + " " + field + " " + variant);
                }
            }
            batch.add(new TestEvent(event));
        }
        CountingMatchListener listener = new CountingMatchListener();
        filter.filter(batch, listener);
        assertEquals(2, listener.count());
        List<Map<String, Object>> messages = receiver.get().awaitMessages(2, Duration.ofSeconds(60));
        assertEquals(2, messages.size());
        assertSafe(messages);
    }

    @Test
    void tenThousandFieldsAndTenMegabyteMessagesCostNothingUnlessTheyAlert() {
        String tenMegabytes = "x".repeat(10 << 20);
        Map<String, Object> wide = new LinkedHashMap<>();
        for (int i = 0; i < 10_000; i++) {
            wide.put("field" + i, "value " + i);
        }
        List<Event> normal = new ArrayList<>();
        List<Event> big = new ArrayList<>();
        for (int i = 0; i < 125; i++) {
            normal.add(withLevel("INFO", "request " + i + " served"));
            Map<String, Object> fields = new LinkedHashMap<>(wide);
            fields.put("log.level", "INFO");
            fields.put("message", i % 2 == 0 ? tenMegabytes : "request " + i + " served");
            big.add(new TestEvent(fields));
        }
        // What makes them cost nothing: the filter reads a non-alerting event's level and nothing
        // else, so neither the 10 MB messages nor the 10,000 fields are ever converted or copied.
        // (What it costs in time: scripts/bench filter-latency, which this test does not assert.)
        CountingMatchListener listener = new CountingMatchListener();
        List<String> reads = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Event> watchedBig = new ArrayList<>();
        for (Event e : big) {
            watchedBig.add(readsRecorded(e, reads));
        }
        for (int round = 0; round < 20; round++) {
            assertSame(normal, filter.filter(normal, listener));
            assertSame(watchedBig, filter.filter(watchedBig, listener));
        }
        assertEquals(0, listener.count());
        assertTrue(!reads.isEmpty(), "the level was read");
        assertTrue(reads.stream().allMatch(r -> r.contains("log.level")),
                "a non-alerting event had more than its level read: " + reads.stream().distinct().limit(10)
                        .collect(java.util.stream.Collectors.toList()));

        Map<String, Object> fields = new LinkedHashMap<>(wide);
        fields.put("log.level", "ERROR");
        fields.put("message", "<!channel> " + tenMegabytes);
        filter.filter(List.of(new TestEvent(fields)), listener);
        List<Map<String, Object>> messages = receiver.get().awaitMessages(1, Duration.ofSeconds(60));
        assertEquals(1, messages.size());
        assertSafe(messages);
        assertTrue(LogstashJson.write(messages.get(0)).length() < 40_000, "the message was cut to Slack's size");
    }

    /**
     * {@code event} behind a proxy that records every field reference read through {@code
     * getField}, {@code getUnconvertedField}, {@code getValue} or {@code includes} into {@code reads}.
     */
    private static Event readsRecorded(Event event, List<String> reads) {
        return (Event) java.lang.reflect.Proxy.newProxyInstance(Event.class.getClassLoader(),
                new Class<?>[] {Event.class}, (proxy, method, args) -> {
                    String name = method.getName();
                    if ((name.equals("getField") || name.equals("getUnconvertedField") || name.equals("getValue")
                            || name.equals("includes"))
                            && args != null && args.length == 1) {
                        reads.add(String.valueOf(args[0]));
                    }
                    try {
                        return method.invoke(event, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @Test
    void aStringIsCutBeforeItCrossesToNativeCodeNeverInsideASurrogatePair() {
        NativeLibrary.load(null);
        int max = NativeEngine.valueBound();
        assertEquals(16_384, max, "the engine's bound (MAX_VALUE_CHARS in rust/engine/src/event.rs)");
        assertEquals(max + 2, NativeEngine.toJson("x".repeat(max + 10)).length());
        // A pair straddling the cut is dropped whole; one just before it is kept.
        String straddling = "x".repeat(max - 1) + "\uD83D\uDE00" + "tail";
        assertEquals("\"" + "x".repeat(max - 1) + "\"", NativeEngine.toJson(straddling));
        String before = "x".repeat(max - 2) + "\uD83D\uDE00" + "tail";
        assertEquals("\"" + "x".repeat(max - 2) + "\uD83D\uDE00\"", NativeEngine.toJson(before));
        // Inside maps and lists too; the configuration is never cut.
        assertEquals(max + 4, NativeEngine.toJson(List.of("x".repeat(max + 1))).length());
        StringBuilder config = new StringBuilder();
        NativeEngine.appendJson(config, "f".repeat(max + 10));
        assertEquals(max + 12, config.length());
    }

    /** Every message within Slack's limits (the receiver checks) and without a mention or link. */
    private static void assertSafe(List<Map<String, Object>> messages) {
        assertTrue(receiver.get().violations().isEmpty(), receiver.get().violations().toString());
        for (Map<String, Object> m : messages) {
            List<String> found = Mentions.in(m);
            assertTrue(found.isEmpty(),
                    "event data became a mention or link " + found + " in " + LogstashJson.write(m));
        }
    }
}
