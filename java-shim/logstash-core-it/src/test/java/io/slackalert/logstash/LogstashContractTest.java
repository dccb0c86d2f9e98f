package io.slackalert.logstash;

import static io.slackalert.logstash.RealLogstash.args;
import static io.slackalert.logstash.RealLogstash.create;
import static io.slackalert.logstash.RealLogstash.event;
import static io.slackalert.logstash.RealLogstash.multiFilter;
import static io.slackalert.logstash.RealLogstash.osThreads;
import static io.slackalert.logstash.RealLogstash.setting;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Password;
import io.slackalert.logstash.testkit.Await;
import io.slackalert.logstash.testkit.LogstashJson;
import io.slackalert.logstash.testkit.ReceiverProcess;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.jruby.RubyHash;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.logstash.Event;
import org.logstash.Timestamp;
import org.logstash.config.ir.compiler.JavaFilterDelegatorExt;
import org.logstash.plugins.ConfigurationImpl;
import org.logstash.plugins.PluginUtil;

/**
 * The plugin's contract with Logstash, checked against the real logstash-core of the version under
 * test ({@code slackalert.logstash.version}): every test posts to the fake Slack and checks what
 * it received.
 */
class LogstashContractTest {

    private static final Duration CEILING = Duration.ofSeconds(60);
    private static final AtomicLong IDS = new AtomicLong();
    private static ReceiverProcess receiver;

    @BeforeAll
    static void startReceiver() throws Exception {
        receiver = ReceiverProcess.start();
        // The JRuby runtime starts with the first event (seconds); not inside a test's polling.
        assertNotNull(event("{\"message\":\"warm up\"}"));
    }

    @AfterAll
    static void stopReceiver() {
        if (receiver != null) {
            receiver.close();
        }
    }

    @BeforeEach
    void clearReceiver() {
        receiver.reset();
    }

    /** Options as written in a pipeline file, in LSCL's shapes: booleans as Strings. */
    private static Map<String, Object> lscl(Object... namesAndValues) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("webhook_url", receiver.webhookUrl());
        map.put("allow_custom_webhook", "true");
        map.put("shutdown_timeout", "5s");
        for (int i = 0; i < namesAndValues.length; i += 2) {
            map.put((String) namesAndValues[i], namesAndValues[i + 1]);
        }
        return map;
    }

    private static String id() {
        return "slack_alert_it_" + IDS.incrementAndGet();
    }

    private static Event error(String message) {
        return event("{\"@timestamp\":\"2026-11-20T09:00:01.666Z\",\"log.level\":\"ERROR\",\"service.name\":\"it\","
                + "\"message\":" + LogstashJson.write(message) + "}");
    }

    /** The text of every accepted message, as JSON (text, blocks, attachments). */
    private static List<String> awaitBodies(int atLeast) {
        List<Map<String, Object>> messages = receiver.awaitMessages(atLeast, CEILING);
        assertTrue(messages.size() >= atLeast, "the fake Slack got " + messages.size() + " messages, expected "
                + atLeast + ": " + messages);
        return messages.stream().map(LogstashJson::write).collect(Collectors.toList());
    }

    /** Polls until a message contains {@code text}; returns every message then. */
    private static List<String> awaitBodyWith(String text) {
        List<String> bodies = receiver.awaitMessages(m -> anyContains(m.stream().map(LogstashJson::write)
                .collect(Collectors.toList()), text), CEILING).stream().map(LogstashJson::write)
                .collect(Collectors.toList());
        assertTrue(anyContains(bodies, text), "no message with " + text + ": " + bodies);
        return bodies;
    }

    /** A filter made from {@code args} posts {@code event} in a message with {@code text}; then it is closed. */
    private static void assertPosts(Map<String, Object> args, Event event, String text) {
        SlackAlert filter = create(id(), args, RealLogstash.nullContext());
        try {
            filter.filter(List.of(event), x -> { });
            List<String> bodies = awaitBodies(1);
            assertTrue(anyContains(bodies, text), bodies.toString());
        } finally {
            filter.close();
        }
    }

    private static boolean anyContains(List<String> bodies, String text) {
        return bodies.stream().anyMatch(b -> b.contains(text));
    }

    @Test
    void constructedFromARealConfigurationWithVariablesExpandedItPosts() {
        // Logstash expands a value that is one ${VAR} (or ${VAR:default}), not one inside a text.
        Map<String, Object> written = lscl("channel", "${SLACK_ALERT_IT_CHANNEL}", "title",
                "${SLACK_ALERT_IT_TITLE:IT payments}", "format", "at ${SLACK_ALERT_IT_TEAM}: %{message}");
        written.put("webhook_url", "${SLACK_WEBHOOK_URL}");
        Map<String, String> environment = Map.of("SLACK_WEBHOOK_URL", receiver.webhookUrl(),
                "SLACK_ALERT_IT_CHANNEL", "#it-alerts", "SLACK_ALERT_IT_TEAM", "payments");
        Map<String, Object> args = args(written, environment::get);
        ConfigurationImpl config = new ConfigurationImpl(args);
        assertInstanceOf(Password.class, config.get(setting("webhook_url")), "a password setting arrives wrapped");
        assertEquals("#it-alerts", config.get(setting("channel")));

        SlackAlert filter = create(id(), args, RealLogstash.nullContext());
        try {
            assertFalse(filter.toString().contains(receiver.webhookUrl()));
            filter.filter(List.of(error("checkout failed: connection refused")), e -> { });
            List<String> bodies = awaitBodies(1);
            assertTrue(anyContains(bodies, "#it-alerts"), bodies.toString());
            assertTrue(anyContains(bodies, "IT payments"), bodies.toString());
            assertTrue(anyContains(bodies, "at ${SLACK_ALERT_IT_TEAM}: checkout failed"), bodies.toString());
        } finally {
            filter.close();
        }
    }

    @Test
    void validateConfigAcceptsEveryOptionAndTheCommonFilterOptions() {
        Map<String, Object> args = args(lscl("levels", List.of("ERROR", "FATAL"), "dedup_window", "1m",
                "rate_limit", 20L, "burst", 5L, "dry_run", "false", "add_tag", List.of("alerted"),
                "add_field", Map.of("alert_needed", "true"), "remove_field", List.of("tmp"), "remove_tag",
                List.of("x"), "id", "my_alerts", "enable_metric", "true", "periodic_flush", "false"));
        SlackAlert filter = create("my_alerts", args, RealLogstash.nullContext());
        try {
            assertEquals(List.of(), PluginUtil.doValidateConfig(filter, new ConfigurationImpl(args)));
            assertFalse(filter.started(), "constructing and validating starts no engine");
            filter.filter(List.of(error("validated and running")), e -> { });
            assertTrue(anyContains(awaitBodies(1), "validated and running"));
        } finally {
            filter.close();
        }
    }

    /**
     * The sample logs of the demo, batch after batch through the delegator Logstash wraps every
     * Java filter in: add_tag/add_field apply to exactly the events that alert, every event comes
     * out, the real metrics count them, and the fake Slack gets the alerts.
     */
    @Test
    void theSampleLogsThroughTheRealDelegatorTagAlertingEventsAndPost() throws Exception {
        RealLogstash.Metrics metrics = new RealLogstash.Metrics();
        String id = id();
        Map<String, Object> args = args(lscl("add_tag", List.of("slack_alerted"),
                "add_field", Map.of("alert_needed", "true")));
        SlackAlert filter = create(id, args, metrics.context);
        JavaFilterDelegatorExt delegator = RealLogstash.delegator(id, filter, args, metrics);
        List<Event> events = RealLogstash.sampleEvents();
        List<Event> out = new ArrayList<>();
        for (int from = 0; from < events.size(); from += 40) {
            out.addAll(multiFilter(delegator, events.subList(from, Math.min(events.size(), from + 40))));
            RealLogstash.flush(delegator, false);
        }
        assertEquals(events.size(), out.size(), "every event comes out");
        int alerting = 0;
        for (Event e : out) {
            String level = String.valueOf(e.getField("[log.level]")).toUpperCase(java.util.Locale.ROOT);
            boolean alerts = level.equals("ERROR") || level.equals("FATAL") || level.equals("CRITICAL");
            Object tags = e.getField("tags");
            boolean tagged = tags instanceof List && ((List<?>) tags).contains("slack_alerted");
            assertEquals(alerts, tagged, "add_tag on " + e.getField("message"));
            assertEquals(alerts ? "true" : null, e.getField("alert_needed"), "add_field on " + e.getField("message"));
            alerting += alerts ? 1 : 0;
        }
        assertTrue(alerting > 0);
        List<String> bodies = awaitBodyWith("Application run failed");
        assertTrue(bodies.size() >= 2, bodies.toString());
        RealLogstash.flush(delegator, true);
        RealLogstash.close(delegator);
        long count = events.size();
        assertEquals(count, ((Number) metrics.filterMetric(id, "events/in")).longValue());
        assertEquals(count, ((Number) metrics.filterMetric(id, "events/out")).longValue());
        assertEquals(count, ((Number) metrics.filterMetric(id, "events_seen")).longValue(), metrics.snapshot().toString());
        assertEquals((long) alerting, ((Number) metrics.filterMetric(id, "matched")).longValue());
        assertEquals(0L, ((Number) metrics.filterMetric(id, "filter_failures")).longValue());
        assertNotNull(metrics.filterMetric(id, "rules/default/alerts"), metrics.snapshot().toString());
    }

    /**
     * Logstash's metric store is a tree: a plugin's gauge must not be named like a namespace the
     * delegator keeps beside it ({@code events} holds {@code in}/{@code out}), or one of them is
     * lost from the monitoring API.
     */
    @Test
    void thePluginsMetricsDoNotCollideWithTheDelegatorsNamespaces() {
        RealLogstash.Metrics metrics = new RealLogstash.Metrics();
        String id = id();
        Map<String, Object> args = args(lscl());
        SlackAlert filter = create(id, args, metrics.context);
        JavaFilterDelegatorExt delegator = RealLogstash.delegator(id, filter, args, metrics);
        multiFilter(delegator, List.of(error("metric names")));
        RealLogstash.flush(delegator, false);
        awaitBodies(1);
        RealLogstash.close(delegator);
        String prefix = "stats/pipelines/main/plugins/filters/" + id + "/";
        List<String> keys = metrics.snapshot().keySet().stream().map(String::valueOf)
                .filter(k -> k.startsWith(prefix)).map(k -> k.substring(prefix.length())).sorted()
                .collect(Collectors.toList());
        for (String key : keys) {
            for (String other : keys) {
                assertFalse(other.startsWith(key + "/"), key + " is both a metric and a namespace: " + keys);
            }
        }
    }

    @Test
    void reloadsCreateAndCloseEnginesThatEachPostAndLeaveNoThreads() {
        String id = id();
        // One started and closed engine first: the Cleaner's thread and the JIT's are then there.
        SlackAlert warm = create(id, args(lscl()), RealLogstash.nullContext());
        warm.filter(List.of(error("reload warm up")), e -> { });
        awaitBodies(1);
        warm.close();
        int before = osThreads();
        for (int i = 0; i < 5; i++) {
            receiver.reset();
            SlackAlert filter = create(id, args(lscl()), RealLogstash.nullContext());
            filter.filter(List.of(error("reload number " + i)), e -> { });
            assertTrue(anyContains(awaitBodies(1), "reload number " + i));
            filter.close();
        }
        Await.until("the OS threads of 5 closed engines are gone (" + before + " before)", CEILING,
                () -> osThreads() <= before);
    }

    /**
     * Logstash validates after constructing and never closes a refused filter: ten refused starts
     * (an unknown option) must leave nothing running.
     */
    @Test
    void tenRefusedStartsLeaveTheThreadCountUnchanged() {
        // Once, so that what a first construction loads (the library, classes) is in.
        assertThrows(IllegalStateException.class, () -> create(id(), args(lscl("webhok_url", "x")),
                RealLogstash.nullContext()));
        int before = osThreads();
        for (int i = 0; i < 10; i++) {
            assertThrows(IllegalStateException.class, () -> create(id(),
                    args(lscl("levels", List.of("ERROR"), "dedup_windw", "5m")), RealLogstash.nullContext()));
        }
        System.out.println("OS threads before 10 refused starts: " + before + ", right after: " + osThreads());
        Await.until("10 refused starts leave the OS thread count at " + before, CEILING, () -> osThreads() <= before);
        assertTrue(receiver.received().isEmpty(), "nothing posted");
    }

    /** The refusal reaches the pipeline's error naming the option, in Logstash's words. */
    @Test
    void aRefusedStartNamesTheUnknownOption() {
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> create(id(),
                args(lscl("levels", List.of("ERROR"), "dedup_windw", "5m")), RealLogstash.nullContext()));
        Throwable cause = refused.getCause() == null ? refused : refused.getCause();
        assertEquals("Unknown setting 'dedup_windw' specified for plugin 'slack_alert'", cause.getMessage());
    }

    /** The same words as Logstash's own check, which it makes after constructing the filter. */
    @Test
    void theRefusalUsesLogstashsOwnWords() {
        SlackAlert valid = create(id(), args(lscl()), RealLogstash.nullContext());
        try {
            Map<String, Object> bad = args(lscl("webhok_url", "x"));
            List<String> logstashSays = PluginUtil.doValidateConfig(valid, new ConfigurationImpl(bad));
            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                    () -> new SlackAlert(id(), new ConfigurationImpl(bad), RealLogstash.nullContext()));
            assertEquals(String.join("; ", logstashSays), refused.getMessage());
        } finally {
            valid.close();
        }
    }

    /** A filter that started and is dropped without close() (e.g. a later plugin failed): closed by GC. */
    @Test
    void aStartedFilterDroppedWithoutCloseHasItsEngineClosedOnceUnreachable() {
        long handle = startAndDrop();
        assertNotNull(NativeEngine.poll(handle, false), "the engine runs while its filter is reachable somewhere");
        Await.until("the engine of an unreachable, never closed filter is closed", CEILING, () -> {
            System.gc();
            return NativeEngine.poll(handle, false) == null;
        });
    }

    private static long startAndDrop() {
        SlackAlert filter = create(id(), args(lscl()), RealLogstash.nullContext());
        filter.filter(List.of(error("dropped without close")), e -> { });
        assertTrue(anyContains(awaitBodies(1), "dropped without close"));
        return filter.handle();
    }

    /** {@code rules} is an array of hashes; inside an array they stay RubyHash, with RubyArray values. */
    @Test
    void rulesArriveAsRubyHashesAndEachRulePosts() {
        Map<String, Object> db = new LinkedHashMap<>();
        db.put("name", "database");
        db.put("levels", List.of("ERROR"));
        db.put("contains", Map.of("message", List.of("Hikari", "JPA")));
        db.put("title", "DB rule");
        Map<String, Object> fatal = new LinkedHashMap<>();
        fatal.put("name", "fatal");
        fatal.put("levels", List.of("FATAL"));
        fatal.put("title", "Fatal rule");
        Map<String, Object> args = args(lscl("rules", List.of(db, fatal)));
        Object first = ((List<?>) new ConfigurationImpl(args).get(setting("rules"))).get(0);
        assertInstanceOf(RubyHash.class, first, "the real shape of a hash in an array");
        SlackAlert filter = create(id(), args, RealLogstash.nullContext());
        try {
            filter.filter(List.of(error("HikariPool-1 - Connection is not available"), error("unrelated error"),
                    event("{\"log.level\":\"FATAL\",\"message\":\"Application run failed\"}")), e -> { });
            List<String> bodies = awaitBodies(2);
            assertTrue(anyContains(bodies, "DB rule") && anyContains(bodies, "HikariPool-1"), bodies.toString());
            assertTrue(anyContains(bodies, "Fatal rule") && anyContains(bodies, "Application run failed"),
                    bodies.toString());
            assertFalse(anyContains(bodies, "unrelated error"), bodies.toString());
        } finally {
            filter.close();
        }
    }

    /** LSCL has no boolean literal: "true"/"false" arrive as Strings, and "yes" must be refused, not read as false. */
    @Test
    void booleansArriveAsStringsAndAnythingButTrueOrFalseIsRefused() {
        IllegalStateException refused = assertThrows(IllegalStateException.class,
                () -> create(id(), args(lscl("dry_run", "yes")), RealLogstash.nullContext()));
        assertTrue(String.valueOf(refused.getCause()).contains("dry_run"), String.valueOf(refused.getCause()));
        assertEquals("true", args(lscl()).get("allow_custom_webhook"), "raw, as a String");
        assertPosts(args(lscl("dry_run", "FALSE")), error("dry_run FALSE posts for real"),
                "dry_run FALSE posts for real");
    }

    /** A password arrives as the raw String and becomes a Password only through get(). */
    @Test
    void theWebhookArrivesRawAndNeverShowsInAnError() {
        Map<String, Object> args = args(lscl("rate_limit", "lots"));
        assertEquals(receiver.webhookUrl(), args.get("webhook_url"), "raw, as a String");
        IllegalStateException refused = assertThrows(IllegalStateException.class,
                () -> create(id(), args, RealLogstash.nullContext()));
        String text = String.valueOf(refused.getCause());
        assertTrue(text.contains("rate_limit"), text);
        assertFalse(text.contains(receiver.webhookUrl()), text);
        assertTrue(receiver.received().isEmpty());
    }

    /** {@code @timestamp} is an org.logstash.Timestamp with nanoseconds; it reaches Slack whole. */
    @Test
    void theTimestampIsALogstashTimestampAndReachesSlackWithItsNanoseconds() {
        Event e = event("{\"@timestamp\":\"2026-11-20T09:00:01.123456789Z\",\"log.level\":\"ERROR\","
                + "\"message\":\"timestamp check\"}");
        assertInstanceOf(Timestamp.class, e.getField("@timestamp"));
        assertPosts(args(lscl("format", "at %{[@timestamp]}: %{message}")), e,
                "at 2026-11-20T09:00:01.123456789Z: timestamp check");
    }

    /** An integer too big for a long stays a BigInteger; it is shown, and fingerprints, as its digits. */
    @Test
    void aBigIntegerFieldReachesSlackAsItsDigits() {
        Event e = event("{\"log.level\":\"ERROR\",\"message\":\"big number\",\"order\":{\"id\":123456789012345678901234567890}}");
        assertInstanceOf(BigInteger.class, e.getField("[order][id]"));
        assertPosts(args(lscl("format", "order %{[order][id]}", "dedup_fields", List.of("[order][id]"))), e,
                "order 123456789012345678901234567890");
    }

    /** Everything a test here posted to the fake Slack broke none of Slack's limits. */
    @Test
    void theFakeSlackSawNoViolations() {
        SlackAlert filter = create(id(), args(lscl()), RealLogstash.nullContext());
        try {
            filter.filter(List.of(error("limits")), x -> { });
            awaitBodies(1);
            assertEquals(List.of(), receiver.violations());
        } finally {
            filter.close();
        }
    }
}
