package io.slackalert.logstash;

import static io.slackalert.logstash.Fixtures.filter;
import static io.slackalert.logstash.Fixtures.letters;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Event;
import co.elastic.logstash.api.Password;
import io.slackalert.logstash.testkit.Await;
import io.slackalert.logstash.testkit.CountingMatchListener;
import io.slackalert.logstash.testkit.LogLine;
import io.slackalert.logstash.testkit.LogstashJson;
import io.slackalert.logstash.testkit.ReceiverProcess;
import io.slackalert.logstash.testkit.ReceiverProcess.ChannelSpec;
import io.slackalert.logstash.testkit.TestConfiguration;
import io.slackalert.logstash.testkit.TestContext;
import io.slackalert.logstash.testkit.TestEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Slack app mode (issue 14) through the real plugin and native library, against the fake Slack's
 * Web API: a bot token and a channel instead of a webhook; each incident one message, posted, kept
 * current with {@code chat.update} and marked quiet when its window closes, with a reply in its
 * thread. What is asserted is what a person would see in each channel (the fake Slack keeps every
 * message's current text, edits, thread and files) and what the plugin logged and counted.
 *
 * <p>Windows are short (1–3 s) and the tests poll, with a ceiling far past what a loaded machine
 * needs; nothing is timed but the storm, whose duration only bounds how many updates it may cause.
 * After each test, no log line, gauge or {@code toString()} of any filter may contain the token.
 */
class AppModeTest {

    /** The secret part of the token every test configures. */
    private static final String TOKEN_SECRET = "LEAKTESTappToken0123456789";
    private static final String TOKEN = "xoxb-1-2-" + TOKEN_SECRET;
    private static final Duration CEILING = Duration.ofSeconds(60);
    private static final Duration UPDATE_INTERVAL = Duration.ofSeconds(1);
    private static final Pattern UNDELIVERED_3 =
            Pattern.compile("[0-9]+ queued messages? \\(accounting for 3 events\\) could not be delivered");
    private static final Pattern FINAL_COUNT = Pattern.compile("Quiet since [^·]*· ([0-9,]+) events?");

    @RegisterExtension
    static final Fixtures.SharedReceiver receiver = new Fixtures.SharedReceiver();

    private final TestContext context = new TestContext();
    private final CountingMatchListener flushed = new CountingMatchListener();
    private final List<SlackAlert> filters = new ArrayList<>();
    /** Contexts whose logs and metrics are checked for the token after each test. */
    private final List<TestContext> checked = new ArrayList<>(List.of(context));

    /** App mode posting to the fake Slack's Web API, plus name/value pairs. */
    private static TestConfiguration app(Object... more) {
        return TestConfiguration.of("slack_token", new Password(TOKEN), "slack_api_url", receiver.get().apiUrl(),
                "allow_custom_webhook", true, "channel", "#alerts", "dedup_window", "2s",
                "update_interval", UPDATE_INTERVAL.getSeconds() + "s", "rate_limit", 3600L, "burst", 1000L,
                "timeout", "5s", "shutdown_timeout", "10s").merge(more);
    }

    private SlackAlert start(TestConfiguration config) {
        SlackAlert f = filter(config, context);
        filters.add(f);
        return f;
    }

    @AfterEach
    void closeAndCheckTheTokenNeverShows() {
        for (SlackAlert f : filters) {
            f.close();
            assertFalse(f.toString().contains(TOKEN_SECRET), f.toString());
        }
        for (TestContext c : checked) {
            assertNoToken(c.logger().allText(), "the log");
            assertNoToken(c.metricOf("slack_alert_test").gauges().toString(), "the metrics");
        }
    }

    private static void assertNoToken(String text, String where) {
        assertFalse(text.contains(TOKEN_SECRET), "the token leaked into " + where + ": " + text);
    }

    /**
     * An ERROR event of {@code service} (none if null), its ECS fields flat as an ECS logger writes them
     * and Logstash's json codec keeps them: {@code [service.name]}, {@code [log.level]}.
     */
    private static Event error(String message, String service) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("@timestamp", "2026-11-20T09:00:00.000Z");
        fields.put("log.level", "ERROR");
        fields.put("message", message);
        if (service != null) {
            fields.put("service.name", service);
        }
        return new TestEvent(fields);
    }

    /** What a message shows now: its text, blocks and attachments, as one string. */
    private static String shown(Map<String, Object> message) {
        return message.get("text") + " " + LogstashJson.write(message.get("blocks")) + " "
                + LogstashJson.write(message.get("attachments"));
    }

    private static List<Map<String, Object>> replies(Map<String, Object> message) {
        return ReceiverProcess.objectsOf(message.get("replies"));
    }

    private static boolean isQuiet(Map<String, Object> message) {
        return shown(message).contains("Quiet since")
                && replies(message).stream().anyMatch(r -> String.valueOf(r.get("text")).contains("Quiet since"));
    }

    /** The count a quiet message's status line states. */
    private static long finalCount(Map<String, Object> message) {
        Matcher m = FINAL_COUNT.matcher(shown(message));
        assertTrue(m.find(), "no final count in " + shown(message));
        return Long.parseLong(m.group(1).replace(",", ""));
    }

    /**
     * Polls the top-level messages of {@code channel} until {@code done} holds for them, writing the
     * filter's log lines meanwhile (as Logstash's periodic flush does).
     */
    private List<Map<String, Object>> awaitMessages(SlackAlert f, String channel,
            Predicate<List<Map<String, Object>>> done) {
        AtomicReference<List<Map<String, Object>>> seen = new AtomicReference<>(List.of());
        try {
            Await.until(channel + " to show what is expected", CEILING, () -> {
                f.flush(flushed);
                seen.set(receiver.get().messagesIn(channel));
                return done.test(seen.get());
            });
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; it shows " + seen.get(), e);
        }
        return seen.get();
    }

    private List<Map<String, Object>> calls(String method) {
        return receiver.get().apiCalls().stream().filter(c -> method.equals(c.get("method")))
                .collect(Collectors.toList());
    }

    /** {@code chat.postMessage} calls that open a message (not replies in a thread). */
    private List<Map<String, Object>> topLevelPosts() {
        return calls("chat.postMessage").stream().filter(c -> c.get("thread_ts") == null)
                .collect(Collectors.toList());
    }

    private long gauge(String name) {
        Object value = context.metricOf("slack_alert_test").gaugeValue(name);
        assertNotNull(value, "no gauge " + name);
        return ((Number) value).longValue();
    }

    private void assertNoViolations() {
        List<Object> violations = receiver.get().violations();
        assertTrue(violations.isEmpty(), violations.toString());
    }

    @Test
    void aStormOf10000RepeatsIsOneMessageKeptCurrentThenMarkedQuietWithTheExactCount() {
        // The storm must end within one window to be one incident: 3 s is far more than 80 batches take.
        SlackAlert f = start(app("dedup_window", "3s"));
        List<Event> batch = new ArrayList<>();
        for (int i = 0; i < 125; i++) {
            batch.add(error("connection pool exhausted on db-1", "orders"));
        }
        CountingMatchListener listener = new CountingMatchListener();
        long started = System.nanoTime();
        for (int b = 0; b < 80; b++) {
            f.filter(batch, listener);
        }
        long stormNanos = System.nanoTime() - started;
        assertEquals(10_000, listener.count(), "every repeat is reported to the match listener");

        Map<String, Object> message = awaitMessages(f, "#alerts", m -> !m.isEmpty() && isQuiet(m.get(0))).get(0);
        assertEquals(1, receiver.get().messagesIn("#alerts").size(), "one message for the incident");
        assertEquals(1, topLevelPosts().size(), "exactly one post: " + topLevelPosts());
        String shown = shown(message);
        assertTrue(shown.contains("10,000 events"), shown);
        assertTrue(shown.contains("#2eb886"), "a quiet message's bar is green: " + shown);
        // At most one update per update_interval while the storm lasts, one for what came after the
        // last of them, and the final one (the storm's duration, rounded up, only bounds the count).
        long updates = calls("chat.update").stream().filter(c -> Boolean.TRUE.equals(c.get("ok"))).count();
        long bound = (stormNanos + UPDATE_INTERVAL.toNanos() - 1) / UPDATE_INTERVAL.toNanos() + 2;
        assertTrue(updates >= 1 && updates <= bound, updates + " updates, bound " + bound);
        assertEquals(updates, ((Number) message.get("edits")).longValue(), "every update edited the message");
        List<String> thread = replies(message).stream().map(r -> String.valueOf(r.get("text")))
                .collect(Collectors.toList());
        assertTrue(thread.stream().anyMatch(r -> r.contains("Quiet since") && r.contains("10,000 events")),
                thread.toString());
        assertTrue(thread.stream().anyMatch(r -> r.contains("× now")), "a milestone: " + thread);

        f.close();
        assertEquals(updates, gauge("updates"));
        assertEquals(thread.size(), gauge("thread_replies"));
        assertEquals(0, gauge("send_failures"));
        assertEquals(9_999, gauge("repeats"));
        assertNoViolations();
    }

    @Test
    void fiftyIncidentsAtOnceOverTenChannelsArePacedWithinTheTiersAndEveryCountIsExact() {
        // A 1 s window: incidents posted after theirs closed go out in their final form, so fewer
        // wait for Tier 3's updates (about 50 a minute, the engine's own budget).
        SlackAlert f = start(app("channel", "#alerts-%{[service.name]}", "fallback_channel", "#alerts",
                "thread_replies", "none", "dedup_window", "1s"));
        // Incident i is i + 1 events in a row in channel alerts-s<i mod 10>, all filtered in one call:
        // each incident's events within microseconds, so that none outlasts its window.
        List<Event> events = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            for (int n = 0; n <= i; n++) {
                events.add(error("failure " + letters(i) + " in the checkout flow", "s" + letters(i % 10)));
            }
        }
        assertEquals(1275, events.size());
        CountingMatchListener listener = new CountingMatchListener();
        f.filter(events, listener);
        assertEquals(1275, listener.count());

        Map<String, Map<String, Object>> byIncident = new TreeMap<>();
        Await.until("every incident to be marked quiet", CEILING, () -> {
            f.flush(flushed);
            byIncident.clear();
            for (Map<String, Object> channel : receiver.get().channels()) {
                for (Map<String, Object> m : ReceiverProcess.objectsOf(channel.get("messages"))) {
                    if (isQuiet(m)) {
                        byIncident.put(channel.get("name") + " " + m.get("ts"), m);
                    }
                }
            }
            return byIncident.size() == 50;
        });
        for (int i = 0; i < 50; i++) {
            String channel = "alerts-s" + letters(i % 10);
            String needle = "failure " + letters(i) + " ";
            List<Map<String, Object>> mine = receiver.get().messagesIn(channel).stream()
                    .filter(m -> shown(m).contains(needle)).collect(Collectors.toList());
            assertEquals(1, mine.size(), "one message for incident " + i + " in " + channel);
            assertEquals(i + 1, finalCount(mine.get(0)), "the count of incident " + i);
        }
        assertTrue(receiver.get().messagesIn("#alerts").isEmpty(), "nothing fell back");

        // Posts at most one a second per channel, from the fake Slack's arrival times: the top-level
        // ones (5 in each channel), and with the replies in their threads too, as Slack counts them.
        Map<String, String> ids = new HashMap<>();
        for (Map<String, Object> channel : receiver.get().channels()) {
            ids.put("#" + channel.get("name"), (String) channel.get("id"));
        }
        assertEquals(10, ids.size(), ids.toString());
        for (boolean withReplies : new boolean[] {false, true}) {
            Map<String, List<Long>> postsByChannel = new TreeMap<>();
            for (Map<String, Object> post : withReplies ? calls("chat.postMessage") : topLevelPosts()) {
                // A call names its channel by id once the fake Slack knows it, else as the call did.
                String named = String.valueOf(post.get("channel"));
                postsByChannel.computeIfAbsent(ids.getOrDefault(named, named), c -> new ArrayList<>())
                        .add(((Number) post.get("at_ms")).longValue());
            }
            assertEquals(new TreeSet<>(ids.values()), postsByChannel.keySet());
            for (Map.Entry<String, List<Long>> e : postsByChannel.entrySet()) {
                List<Long> at = e.getValue();
                assertEquals(withReplies ? 10 : 5, at.size(), "posts to " + e.getKey() + ": " + at);
                at.sort(null);
                for (int i = 1; i < at.size(); i++) {
                    assertTrue(at.get(i) - at.get(i - 1) >= 1000,
                            "two posts to " + e.getKey() + " within 1 s (replies " + withReplies + "): " + at);
                }
            }
        }
        // Updates within Tier 3, as the fake Slack enforces it for the workspace.
        @SuppressWarnings("unchecked")
        Map<String, Object> tier = (Map<String, Object>) receiver.get().tiers().get("chat.update");
        long allowed = Math.round(((Number) tier.get("per_minute")).doubleValue()) + ((Number) tier.get("burst")).longValue();
        List<Long> updates = calls("chat.update").stream().map(c -> ((Number) c.get("at_ms")).longValue()).sorted()
                .collect(Collectors.toList());
        for (int i = 0; i < updates.size(); i++) {
            long from = updates.get(i);
            long within = updates.stream().filter(t -> t >= from && t < from + 60_000).count();
            assertTrue(within <= allowed, within + " updates within 60 s of " + from + " ms, Tier 3 allows " + allowed);
        }
        assertEquals(0L, receiver.get().apiStats().get("rate_limited"), "no call was answered 429");
        f.close();
        assertEquals(0, gauge("send_failures"));
        assertEquals(0, gauge("channel_fallbacks"));
        assertEquals(50, gauge("thread_replies"));
        assertNoViolations();
    }

    @Test
    void aChannelTemplateRoutesToEachChannelAndAMissingFieldOrARefusedChannelFallsBack() {
        receiver.get().declareChannels(null, ChannelSpec.named("alerts-vault").privateChannel().notMember());
        SlackAlert f = start(app("channel", "#alerts-%{[service.name]}", "fallback_channel", "#alerts"));
        List<Event> events = List.of(error("order total negative", "orders"),
                error("invoice renderer crashed", "billing"), error("search index unavailable", "Search"),
                error("no service says where this goes", null), error("vault sealed", "vault"),
                Fixtures.event("INFO", "request served"));
        List<Map<String, Object>> before = Fixtures.snapshot(events);
        CountingMatchListener listener = new CountingMatchListener();
        Collection<Event> out = f.filter(events, listener);
        assertSame(events, out);
        assertEquals(before, Fixtures.snapshot(events), "events pass through unchanged");
        assertEquals(5, listener.count());
        for (String[] expected : new String[][] {{"#alerts-orders", "order total negative"},
                {"#alerts-billing", "invoice renderer crashed"}, {"#alerts-search", "search index unavailable"}}) {
            List<Map<String, Object>> m = awaitMessages(f, expected[0], l -> l.size() == 1);
            assertTrue(shown(m.get(0)).contains(expected[1]), shown(m.get(0)));
        }
        List<Map<String, Object>> fallback = awaitMessages(f, "#alerts", l -> l.size() == 2);
        String both = shown(fallback.get(0)) + shown(fallback.get(1));
        assertTrue(both.contains("no service says where this goes") && both.contains("vault sealed"), both);
        assertTrue(receiver.get().messagesIn("#alerts-vault").isEmpty());
        Await.until("the fallback for the refused channel to be logged", CEILING, () -> {
            f.flush(flushed);
            return context.logger().allText().contains("not_in_channel");
        });
        f.close();
        assertEquals(2, gauge("channel_fallbacks"), "the missing field and the refused channel");
        assertEquals(0, gauge("send_failures"));

        // Nested ECS fields (Filebeat's expand_keys, a json codec with a target) take Logstash's
        // nested reference: [service.name] names a field called "service.name", as in Logstash.
        Map<String, Object> nested = new LinkedHashMap<>();
        nested.put("log.level", "ERROR");
        nested.put("message", "payment declined by the gateway");
        nested.put("service", Map.of("name", "payments"));
        SlackAlert g = start(app("channel", "#alerts-%{[service][name]}", "fallback_channel", "#alerts"));
        g.filter(List.of(new TestEvent(nested)), new CountingMatchListener());
        List<Map<String, Object>> payments = awaitMessages(g, "#alerts-payments", l -> l.size() == 1);
        assertTrue(shown(payments.get(0)).contains("payment declined"), shown(payments.get(0)));
        assertNoViolations();
    }

    /**
     * Each Slack error of the issue, all at once (each with a filter, token and log of its own, so the
     * pacing of one channel does not add up over six tests): how the fake Slack is set up to answer
     * it, and where the rule posts. After they are refused, each rule's summaries (which carry the
     * refused alerts' counts) are refused too, and the shutdown report says what never reached Slack.
     */
    @Test
    void everyRefusalIsLoggedOnceCountedNeverRetriedAndTheEventsPassThrough() {
        ReceiverProcess r = receiver.get();
        // No channel is created by posting to it: #nowhere answers channel_not_found.
        r.declareChannels(false, ChannelSpec.named("alerts"), ChannelSpec.named("vault").privateChannel().notMember(),
                ChannelSpec.named("old-alerts").archived());
        r.setToken(tokenFor("invalid_auth"), "invalid", null);
        r.setToken(tokenFor("token_revoked"), "revoked", null);
        r.setToken(tokenFor("missing_scope"), "ok", List.of("files:write"));
        Map<String, String> channels = new LinkedHashMap<>();
        channels.put("invalid_auth", "#alerts");
        channels.put("token_revoked", "#alerts");
        channels.put("missing_scope", "#alerts");
        channels.put("channel_not_found", "#nowhere");
        channels.put("not_in_channel", "#vault");
        channels.put("is_archived", "#old-alerts");
        Map<String, SlackAlert> byError = new LinkedHashMap<>();
        Map<String, TestContext> contexts = new LinkedHashMap<>();
        for (Map.Entry<String, String> c : channels.entrySet()) {
            TestContext own = new TestContext();
            contexts.put(c.getKey(), own);
            SlackAlert f = filter(app("slack_token", new Password(tokenFor(c.getKey())), "channel", c.getValue(),
                    "max_retries", 3L), own);
            checked.add(own);
            filters.add(f);
            byError.put(c.getKey(), f);
            List<Event> events = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                events.add(error("refused " + c.getKey() + " problem " + letters(i), "orders"));
                events.add(Fixtures.event("INFO", "request served"));
            }
            List<Map<String, Object>> before = Fixtures.snapshot(events);
            CountingMatchListener listener = new CountingMatchListener();
            assertSame(events, f.filter(events, listener));
            assertEquals(before, Fixtures.snapshot(events), "events pass through unchanged");
            assertEquals(3, listener.count());
        }
        Await.until("every refused alert to be counted", CEILING, () -> byError.values().stream().allMatch(f -> {
            f.flush(flushed);
            return Fixtures.counter(f, "send_failures") >= 3;
        }));
        List<Map<String, Object>> posts = calls("chat.postMessage");
        assertTrue(r.channels().stream().allMatch(c -> ReceiverProcess.objectsOf(c.get("messages")).isEmpty()),
                "nothing was posted");
        for (Map.Entry<String, SlackAlert> e : byError.entrySet()) {
            String error = e.getKey();
            SlackAlert f = e.getValue();
            TestContext own = contexts.get(error);
            List<Map<String, Object>> alerts = posts.stream()
                    .filter(c -> String.valueOf(c.get("body")).contains("refused " + error + " problem"))
                    .collect(Collectors.toList());
            assertEquals(3, alerts.size(), error + ": each alert tried once, never retried: " + alerts);
            assertTrue(alerts.stream().allMatch(c -> error.equals(c.get("error"))), alerts.toString());
            f.flush(flushed);
            List<LogLine> naming = own.logger().lines().stream().filter(l -> l.toString().contains(error))
                    .collect(Collectors.toList());
            assertEquals(1, naming.size(), error + " logged once: " + own.logger().allText());
            if (error.equals("missing_scope")) {
                assertTrue(naming.get(0).toString().contains("chat:write"), "says which scope: " + naming.get(0));
            }
            f.close();
            Map<String, Object> gauges = own.metricOf("slack_alert_test").gauges();
            assertEquals(3L, gauges.get("alerts"), error + ": " + gauges);
            assertEquals(0L, gauges.get("sent"), error + ": " + gauges);
            assertTrue(((Number) gauges.get("send_failures")).longValue() >= 3, error + ": " + gauges);
            // Nothing lost: the shutdown report accounts for every refused alert's event.
            String logged = own.logger().allText();
            assertTrue(UNDELIVERED_3.matcher(logged).find(), error + ": " + logged);
        }
    }

    /** A token of its own for the rule refused with {@code error}; it carries {@link #TOKEN_SECRET}. */
    private static String tokenFor(String error) {
        return TOKEN + "-" + error.replace("_", "");
    }

    @Test
    void a64KibStackTraceEndsUpWholeAsAFileInTheIncidentsThread() {
        SlackAlert f = start(app());
        // The ECS field flat (an ECS logger's error.stack_trace) and nested ([error][stack_trace]).
        String flatTrace = trace("order book corrupt");
        String nestedTrace = trace("ledger out of balance");
        Map<String, Object> flat = new LinkedHashMap<>();
        flat.put("log.level", "ERROR");
        flat.put("message", "order book failed");
        flat.put("error.stack_trace", flatTrace);
        Map<String, Object> nested = new LinkedHashMap<>();
        nested.put("log.level", "ERROR");
        nested.put("message", "ledger failed");
        nested.put("error", Map.of("stack_trace", nestedTrace));
        f.filter(List.of(new TestEvent(flat), new TestEvent(nested)), new CountingMatchListener());
        List<Map<String, Object>> messages = awaitMessages(f, "#alerts", m -> m.size() == 2);
        Await.until("both traces to be shared in their threads", CEILING, () -> {
            f.flush(flushed);
            return receiver.get().files().stream().filter(file -> "shared".equals(file.get("state"))).count() == 2;
        });
        List<Map<String, Object>> files = receiver.get().files();
        assertEquals(2, files.size(), files.toString());
        for (String[] incident : new String[][] {{"order book failed", flatTrace}, {"ledger failed", nestedTrace}}) {
            Map<String, Object> message = messages.stream().filter(m -> shown(m).contains(incident[0])).findFirst()
                    .orElseThrow();
            Map<String, Object> file = files.stream().filter(x -> message.get("ts").equals(x.get("thread_ts")))
                    .findFirst().orElseThrow(() -> new AssertionError("no file in the thread of " + incident[0]));
            assertEquals(incident[1], file.get("text"), "the whole trace");
            assertTrue(shown(message).length() < incident[1].length(), "the message shows the top frames only");
        }
        f.close();
        assertEquals(2, gauge("uploads"));
        assertNoViolations();
    }

    /** A Java stack trace of at least 64 KiB. */
    private static String trace(String problem) {
        StringBuilder trace = new StringBuilder("java.lang.IllegalStateException: " + problem + "\n");
        for (int i = 0; trace.length() < 64 * 1024; i++) {
            trace.append("\tat com.example.orders.Book.apply").append(i).append("(Book.java:").append(i).append(")\n");
        }
        return trace.toString();
    }

    @Test
    void anUpdateSlackAnswersMessageNotFoundPostsAFreshMessageWithTheRightCount() {
        receiver.get().setApiError("chat.update", "message_not_found", 1);
        SlackAlert f = start(app("thread_replies", "none"));
        List<Event> events = new ArrayList<>();
        for (int i = 0; i < 42; i++) {
            events.add(error("cache unreachable at cache-3", "orders"));
        }
        f.filter(events, new CountingMatchListener());
        // The first update is refused: the incident carries on in a fresh message, which ends quiet
        // with every event counted. (Its quiet reply goes to whichever thread is current when it is
        // posted, the old one if it was queued before the update failed.)
        List<Map<String, Object>> messages = awaitMessages(f, "#alerts",
                m -> m.size() == 2 && shown(m.get(1)).contains("Quiet since"));
        assertEquals(42, finalCount(messages.get(1)), shown(messages.get(1)));
        assertEquals(2, topLevelPosts().size(), topLevelPosts().toString());
        f.close();
        assertTrue(gauge("reposts") >= 1);
        assertEquals(0, gauge("send_failures"));
        assertTrue(context.logger().allText().contains("message_not_found"), context.logger().allText());
        assertNoViolations();
    }

    @Test
    void theTokenNeverShowsInRefusedConfigurationsDryRunsOrSlacksAnswers() {
        // Each refused, naming the option, and with the token in the configuration.
        List<Map.Entry<String, TestConfiguration>> refused = List.of(
                Map.entry("slack_token", app("webhook_url", new Password("https://hooks.slack.com/services/T0/B0/x"))),
                Map.entry("slack_api_url", app("allow_custom_webhook", false)),
                Map.entry("channel", app().without("channel")),
                Map.entry("slack_token", app("slack_token", new Password("xoxp-" + TOKEN_SECRET))),
                Map.entry("update_interval", app("update_interval", "0s")),
                Map.entry("fallback_channel", app("channel", "#alerts-%{[service.name]}")),
                Map.entry("fallback_channel", app("fallback_channel", "not a channel!")),
                Map.entry("slack_api_url", app("slack_api_url", "ftp://127.0.0.1/api")),
                Map.entry("thread_replies", app("thread_replies", "all")),
                Map.entry("reply_broadcast", app("reply_broadcast", "yes")),
                Map.entry("slack_token", app("slack_token", List.of(TOKEN))));
        for (Map.Entry<String, TestConfiguration> c : refused) {
            RuntimeException e = assertThrows(RuntimeException.class, () -> filter(c.getValue(), context), c.getKey());
            assertTrue(e.getMessage().startsWith(c.getKey() + ": "), e.getMessage());
            assertNoToken(e.toString(), "an exception");
            assertNoToken(c.getValue().toString(), "the configuration's toString()");
        }
        SlackAlert dry = start(app("dry_run", true));
        dry.filter(List.of(error("dry run problem", "orders")), new CountingMatchListener());
        Await.until("the dry run to log what it would post", CEILING, () -> {
            dry.flush(flushed);
            return context.logger().allText().contains("would post");
        });
        receiver.get().setToken(TOKEN, "revoked", null);
        SlackAlert revoked = start(app());
        revoked.filter(List.of(error("revoked problem", "orders")), new CountingMatchListener());
        Await.until("the revoked token to be logged", CEILING, () -> {
            revoked.flush(flushed);
            return context.logger().allText().contains("token_revoked");
        });
        // The @AfterEach checks the log, the gauges and toString() of both.
    }
}
