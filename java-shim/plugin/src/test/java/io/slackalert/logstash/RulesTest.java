package io.slackalert.logstash;

import static io.slackalert.logstash.Fixtures.SECRET_TOKEN;
import static io.slackalert.logstash.Fixtures.dryRun;
import static io.slackalert.logstash.Fixtures.filter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Event;
import co.elastic.logstash.api.Password;
import io.slackalert.logstash.testkit.Await;
import io.slackalert.logstash.testkit.CountingMatchListener;
import io.slackalert.logstash.testkit.LogstashJson;
import io.slackalert.logstash.testkit.ReceiverProcess;
import io.slackalert.logstash.testkit.TestConfiguration;
import io.slackalert.logstash.testkit.TestContext;
import io.slackalert.logstash.testkit.TestEvent;
import io.slackalert.logstash.testkit.TestMetric;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Several rules in one filter, through the real native library: routing, conditions, exclude,
 * the match listener, per-rule gauges, configuration errors, flatline timers and JSON
 * destinations, posting to real receivers.
 */
class RulesTest {

    /** The default webhook, and the second one rules route to, and a JSON endpoint. */
    private static ReceiverProcess main;
    private static ReceiverProcess payments;
    private static ReceiverProcess json;

    private final TestContext context = new TestContext();
    private final List<SlackAlert> filters = new ArrayList<>();

    @BeforeAll
    static void startReceivers() throws Exception {
        main = ReceiverProcess.start();
        payments = ReceiverProcess.start();
        json = ReceiverProcess.start();
    }

    @AfterAll
    static void stopReceivers() {
        for (ReceiverProcess r : new ReceiverProcess[] {main, payments, json}) {
            if (r != null) {
                r.close();
            }
        }
    }

    @BeforeEach
    void reset() {
        main.reset();
        payments.reset();
        json.reset();
    }

    @AfterEach
    void closeFilters() {
        filters.forEach(SlackAlert::close);
    }

    private SlackAlert start(TestConfiguration config) {
        SlackAlert f = filter(config, context);
        filters.add(f);
        return f;
    }

    /** Posting to the main receiver, plus name/value pairs. */
    private static TestConfiguration posting(Object... more) {
        return TestConfiguration.of("webhook_url", new Password(main.webhookUrl()), "allow_custom_webhook", true,
                "shutdown_timeout", "5s").merge(more);
    }

    /** A rule: its name and then option name/value pairs. */
    private static Map<String, Object> rule(String name, Object... options) {
        Map<String, Object> rule = new LinkedHashMap<>();
        rule.put("name", name);
        for (int i = 0; i < options.length; i += 2) {
            rule.put((String) options[i], options[i + 1]);
        }
        return rule;
    }

    private static Map<String, Object> map(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return m;
    }

    /** An event as an ECS logger writes it: flat keys, plus name/value pairs. */
    private static Event event(String level, String service, String message, Object... more) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("@timestamp", "2026-11-20T09:00:00.000Z");
        if (level != null) {
            fields.put("log.level", level);
        }
        fields.put("service.name", service);
        fields.put("message", message);
        for (int i = 0; i < more.length; i += 2) {
            fields.put((String) more[i], more[i + 1]);
        }
        return new TestEvent(fields);
    }

    private TestMetric ruleMetric(String rule) {
        return (TestMetric) context.metricOf("slack_alert_test").namespace("rules", rule);
    }

    private long ruleGauge(String rule, String counter) {
        Object v = ruleMetric(rule).gaugeValue(counter);
        assertTrue(v instanceof Long, "gauge rules." + rule + "." + counter + " = " + v + " in "
                + ruleMetric(rule).gauges());
        return (Long) v;
    }

    @Test
    void twoRulesRouteToTwoWebhooks() {
        SlackAlert f = start(posting("rules", List.of(
                rule("payments", "webhook_url", payments.webhookUrl(),
                        "equals", map("[service.name]", "payments")),
                rule("errors", "exclude", map("[service.name]", "^payments$")))));
        CountingMatchListener listener = new CountingMatchListener();
        f.filter(List.of(event("ERROR", "payments", "card declined for order 81"),
                event("ERROR", "checkout", "cart service timed out"),
                event("INFO", "payments", "card accepted")), listener);
        assertEquals(2, listener.count());

        List<Map<String, Object>> toPayments = payments.awaitMessages(1, Duration.ofSeconds(60));
        List<Map<String, Object>> toMain = main.awaitMessages(1, Duration.ofSeconds(60));
        assertEquals(1, toPayments.size(), toPayments.toString());
        assertEquals(1, toMain.size(), toMain.toString());
        assertTrue(LogstashJson.write(toPayments.get(0)).contains("card declined"),
                LogstashJson.write(toPayments.get(0)));
        assertFalse(LogstashJson.write(toPayments.get(0)).contains("cart service"));
        assertTrue(LogstashJson.write(toMain.get(0)).contains("cart service timed out"),
                LogstashJson.write(toMain.get(0)));
        assertFalse(LogstashJson.write(toMain.get(0)).contains("card declined"));
        assertTrue(main.violations().isEmpty(), main.violations().toString());
        assertTrue(payments.violations().isEmpty(), payments.violations().toString());
    }

    @Test
    void excludeSilencesHealthChecksAndTheyAreNotReportedAsMatched() {
        SlackAlert f = start(dryRun("exclude", map("[url.path]", List.of("^/health", "^/ready"))));
        Event health = event("ERROR", "api", "GET /health failed", "url.path", "/health");
        Event ready = event("ERROR", "api", "GET /ready failed", "url.path", "/ready");
        Event real = event("ERROR", "api", "GET /orders failed", "url.path", "/orders");
        Event noPath = event("ERROR", "api", "worker crashed");
        CountingMatchListener listener = new CountingMatchListener();
        f.filter(List.of(health, ready, real, noPath), listener);

        assertEquals(2, listener.count(), "a missing field never matches an exclude pattern");
        assertTrue(listener.matched(real));
        assertTrue(listener.matched(noPath));
        assertFalse(listener.matched(health));
        f.flush(listener);
        assertEquals(2L, ruleGauge("default", "excluded"));
        assertEquals(2L, ruleGauge("default", "matched"));
        assertEquals(2L, context.metricOf("slack_alert_test").gaugeValue("matched"));
    }

    @Test
    void equalsAndRegexConditionsPickTheirEvents() {
        SlackAlert f = start(dryRun("rate_limit", 3600L, "burst", 1000L, "rules", List.of(
                rule("shop", "equals", map("[service.name]", List.of("cart", "checkout"), "[http.status]", "503")),
                rule("timeouts", "regex", map("[message]", "timeout after \\d+ ms")),
                rule("warnings", "min_level", "WARN", "contains", map("[message]", "disk")))));
        Event shop = event("ERROR", "cart", "upstream failed", "http.status", 503L);
        Event otherStatus = event("ERROR", "cart", "upstream failed", "http.status", 500L);
        Event timeout = event("ERROR", "search", "timeout after 3012 ms");
        Event both = event("FATAL", "checkout", "timeout after 17 ms", "http.status", "503");
        Event diskWarning = event("WARN", "db", "disk 91% full");
        Event neither = event("ERROR", "search", "index corrupted");
        Event info = event("INFO", "cart", "timeout after 5 ms", "http.status", 503L);
        CountingMatchListener listener = new CountingMatchListener();
        f.filter(List.of(shop, otherStatus, timeout, both, diskWarning, neither, info), listener);

        for (Event e : List.of(shop, timeout, both, diskWarning)) {
            assertEquals(1, listener.timesMatched(e), "matched once, however many rules: " + e);
        }
        for (Event e : List.of(otherStatus, neither, info)) {
            assertFalse(listener.matched(e), e.toString());
        }
        f.flush(listener);
        assertEquals(2L, ruleGauge("shop", "matched"), "numbers compare as their JSON text");
        assertEquals(2L, ruleGauge("timeouts", "matched"));
        assertEquals(1L, ruleGauge("warnings", "matched"));
        assertEquals(4L, context.metricOf("slack_alert_test").gaugeValue("matched"));
    }

    @Test
    void perRuleGaugesArePublishedAtFlushAndAtClose() {
        SlackAlert f = start(dryRun("rules", List.of(rule("db.primary", "regex", map("[message]", "db")),
                rule("all"))));
        CountingMatchListener listener = new CountingMatchListener();
        f.filter(List.of(event("ERROR", "api", "db down"), event("ERROR", "api", "db down"),
                event("ERROR", "api", "disk full")), listener);
        f.flush(listener);
        List<String> counters = Arrays.asList(Catalog.get().ruleCounterNames);
        assertEquals(List.of("matched", "excluded", "below_threshold", "alerts", "repeats", "rate_limited",
                "dropped", "flatline_alerts", "recovered"), counters);
        TestMetric rules = (TestMetric) context.metricOf("slack_alert_test").namespace("rules");
        assertEquals(List.of("db.primary", "all"), new ArrayList<>(rules.children()));
        assertEquals(counters, new ArrayList<>(ruleMetric("db.primary").gauges().keySet()));
        assertEquals(2L, ruleGauge("db.primary", "matched"));
        assertEquals(1L, ruleGauge("db.primary", "alerts"));
        assertEquals(1L, ruleGauge("db.primary", "repeats"));
        assertEquals(3L, ruleGauge("all", "matched"));
        assertEquals(2L, ruleGauge("all", "alerts"));
        assertFalse(context.metricOf("slack_alert_test").gauges().containsKey("rules"),
                "rule gauges live in their own namespace");

        f.filter(List.of(event("ERROR", "api", "db down")), listener);
        f.close();
        assertEquals(3L, ruleGauge("db.primary", "matched"), "close publishes the final values");
        assertEquals(4L, ruleGauge("all", "matched"));
    }

    @Test
    void aBadRuleFailsAtConstructionNamingTheRule() {
        Object[][] cases = {
            {List.of(rule("ok"), rule("broken", "regex", map("[message]", "("))), "rules[1] (broken).regex"},
            {List.of(map("levels", List.of("ERROR"))), "rules[0].name"},
            {List.of(rule("a"), rule("a")), "rules[1] (a)"},
            {List.of(rule("x", "threshold", 5L)), "rules[0] (x).threshold"},
            {List.of(rule("x", "type", "flatline")), "rules[0] (x).silence"},
            {List.of(rule("x", "silence", "1m")), "rules[0] (x).silence"},
            {List.of(rule("x", "mentions", map("FATAL", "@here please"))), "rules[0] (x).mentions"},
            {List.of(rule("x", "destination", "json")), "rules[0] (x).body_template"},
            {List.of(rule("x", "queue_size", 5L)), "rules[0] (x).queue_size"},
            {List.of(rule("x", "colour", "red")), "rules[0] (x).colour"},
            {List.of(), "rules"},
            {List.of("payments"), "rules[0]"},
        };
        for (Object[] c : cases) {
            TestConfiguration config = TestConfiguration.of("webhook_url", new Password(Fixtures.SLACK_URL),
                    "shutdown_timeout", "1s", "rules", c[0]);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> filter(config, context).close(), c[0] + " was accepted");
            assertTrue(e.getMessage().startsWith((String) c[1]), c[0] + ": " + e.getMessage());
            assertFalse(e.getMessage().contains(SECRET_TOKEN), e.getMessage());
        }
        assertFalse(context.logger().allText().contains(SECRET_TOKEN));
    }

    @Test
    void aFlatlineRuleFiresAfterSilenceAndReportsRecovery() {
        // The shortest silence the engine accepts; the timer thread checks it in the background.
        SlackAlert f = start(posting("rules", List.of(
                rule("errors"),
                rule("silent", "type", "flatline", "silence", "10s", "group_by", "[service.name]",
                        "mentions", map("default", "<!here>")))));
        CountingMatchListener listener = new CountingMatchListener();
        // Heartbeats at any level, also without one: none alerts, none is reported as matched.
        Event noLevel = event(null, "checkout", "started");
        f.filter(List.of(event("INFO", "checkout", "order placed"), noLevel,
                event("DEBUG", "search", "query took 3 ms")), listener);
        assertEquals(0, listener.count(), "a flatline rule's heartbeat is not an alerting match");
        f.flush(listener);
        assertEquals(3L, ruleGauge("silent", "matched"), "events without a level are heartbeats too");

        long start = System.nanoTime();
        List<Map<String, Object>> messages = main.awaitMessages(m -> m.size() >= 2, Duration.ofSeconds(60));
        long waited = (System.nanoTime() - start) / 1_000_000;
        assertEquals(2, messages.size(), "one flatline alert per silent service: " + messages);
        String both = LogstashJson.write(messages);
        assertTrue(both.contains("checkout") && both.contains("search"), both);
        assertTrue(both.contains("<!here>"), "the rule's default mention: " + both);
        assertTrue(waited >= 8_000, "not before the silence: " + waited + " ms");

        f.filter(List.of(event("INFO", "checkout", "order placed")), listener);
        List<Map<String, Object>> recovered = main.awaitMessages(3, Duration.ofSeconds(60));
        assertEquals(3, recovered.size(), recovered.toString());
        assertTrue(LogstashJson.write(recovered.get(2)).contains("checkout"), LogstashJson.write(recovered.get(2)));
        f.flush(listener);
        assertEquals(2L, ruleGauge("silent", "flatline_alerts"));
        assertEquals(1L, ruleGauge("silent", "recovered"));
        assertTrue(main.violations().isEmpty(), main.violations().toString());
    }

    @Test
    void heartbeatsNeverReachTheMatchListenerAndEveryServiceOfABatchIsLearnt() {
        SlackAlert f = start(posting("dry_run", true, "rules", List.of(
                rule("errors"),
                rule("silent", "type", "flatline", "silence", "10s"))));
        CountingMatchListener listener = new CountingMatchListener();
        // Runs of equal heartbeats cross once; a second service in the same batch is still learnt.
        f.filter(List.of(event("INFO", "checkout", "a"), event("INFO", "checkout", "b"),
                event(null, "checkout", "c"), event("DEBUG", "search", "d"), event("INFO", "checkout", "e"),
                event("ERROR", "checkout", "boom"),
                new TestEvent(map("log.level", "INFO", "service", map("name", "billing"))),
                event("INFO", "", "an empty [service.name] falls back to [service][name]",
                        "service", map("name", "ledger"))), listener);
        assertEquals(1, listener.count(), "only the ERROR event is an alerting match");
        f.flush(listener);
        assertEquals(8L, ruleGauge("silent", "matched"), "every event counted, runs included");
        assertEquals(1L, ruleGauge("errors", "matched"));
        Await.until("both services gone silent", Duration.ofSeconds(60), () -> {
            f.flush(listener);
            return ruleGauge("silent", "flatline_alerts") == 4L;
        });
        assertEquals(1, listener.count());
    }

    @Test
    void aJsonDestinationPostsTheTemplatedBody() {
        Map<String, Object> body = map("text", "%{[@alert][title]}", "service", "%{[service.name]}",
                "rule", "%{[@alert][rule]}", "kind", "%{[@alert][kind]}", "status", "%{[http.status]}");
        SlackAlert f = start(posting("rules", List.of(rule("teams", "destination", "json",
                "webhook_url", json.webhookUrl(), "body_template", body))));
        CountingMatchListener listener = new CountingMatchListener();
        f.filter(List.of(event("FATAL", "checkout", "out of memory <!channel>", "http.status", 503L)), listener);
        assertEquals(1, listener.count());

        List<Map<String, Object>> received = json.awaitMessages(1, Duration.ofSeconds(60));
        assertEquals(1, received.size(), received.toString());
        Map<String, Object> got = received.get(0);
        assertEquals("checkout", got.get("service"));
        assertEquals("teams", got.get("rule"));
        assertEquals("alert", got.get("kind"));
        assertEquals(503L, got.get("status"), "a leaf that is one reference keeps the value's JSON type");
        assertTrue(String.valueOf(got.get("text")).contains("checkout"), got.toString());
        assertTrue(main.messages().isEmpty(), "nothing went to the Slack webhook");
    }
}
