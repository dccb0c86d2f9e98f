package io.slackalert.logstash;

import static io.slackalert.logstash.Fixtures.SECRET_TOKEN;
import static io.slackalert.logstash.Fixtures.SLACK_URL;
import static io.slackalert.logstash.Fixtures.dryRun;
import static io.slackalert.logstash.Fixtures.filter;
import static io.slackalert.logstash.Fixtures.setting;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Password;
import co.elastic.logstash.api.PluginConfigSpec;
import io.slackalert.logstash.testkit.TestConfiguration;
import io.slackalert.logstash.testkit.TestContext;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Configuration as Logstash validates and delivers it, and the errors a user sees. */
class ConfigurationTest {

    private static final List<String> ENGINE_OPTIONS = Arrays.asList("webhook_url", "levels", "min_level",
            "level_field", "channel", "username", "icon_emoji", "icon_url", "title", "format", "dedup_fields",
            "dedup_window", "rate_limit", "burst", "queue_size", "max_tracked", "timeout", "max_retries",
            "shutdown_timeout", "dry_run", "allow_custom_webhook");

    /** The options of issue 8 (rules and what a rule may also say at the top level). */
    private static final List<String> RULE_OPTIONS = Arrays.asList("equals", "contains", "regex", "exclude",
            "query", "query_language", "threshold", "threshold_window", "group_by", "mentions", "link_template", "link_text", "destination",
            "body_template", "rules");

    /** The options of issue 14 (Slack app mode) and its network options. */
    private static final List<String> APP_OPTIONS = Arrays.asList("slack_token", "slack_api_url",
            "fallback_channel", "update_interval", "thread_replies", "reply_broadcast", "proxy",
            "ssl_certificate_authorities");

    /** The options of issue 16 (fleet coordination through Elasticsearch). */
    private static final List<String> COORDINATION_OPTIONS = Arrays.asList("coordination_hosts",
            "coordination_index", "coordination_api_key", "coordination_user", "coordination_password",
            "coordination_ssl_certificate_authorities", "coordination_timeout", "coordination_lease");

    private final TestContext context = new TestContext();

    @Test
    void everyRuleOptionWithAWrongValueFailsAtStartNamingTheOption() {
        Map<String, List<Object>> bad = new LinkedHashMap<>();
        bad.put("equals", List.of("payments", 5L, Map.of("[a", "b"), Map.of("[a]", Map.of("x", "y"))));
        bad.put("contains", List.of("x", Map.of("[a]", List.of()), Map.of("[a]", Map.of("b", "c"))));
        bad.put("regex", List.of(List.of("x"), Map.of("[message]", "("), Map.of("[message]", "a".repeat(1001))));
        bad.put("exclude", List.of("health", Map.of("[url.path]", "[")));
        bad.put("query", List.of("service.name:", "(a:1 or b:2", "", 5L));
        bad.put("query_language", List.of("sql", 5L));
        bad.put("threshold", List.of(0L, -1L, "many", 1.5));
        bad.put("threshold_window", List.of("soon", "0s", "8d", 5.5));
        bad.put("group_by", List.of("[a", 5L, List.of("[a]")));
        bad.put("mentions", List.of("<!here>", Map.of("FATAL", "@here"), Map.of("LOUD", "<!here>"),
                Map.of("ERROR", "<!here> and text")));
        bad.put("link_template", List.of("ftp://x/%{[a]}", "https://%{[host]}/x", "not a url", 5L));
        bad.put("link_text", List.of("x".repeat(76), 5L, ""));
        bad.put("destination", List.of("teams", 5L, ""));
        bad.put("body_template", List.of(Map.of("text", "%{message}")));
        bad.put("rules", List.of(List.of(), "payments", List.of("payments"), Map.of("name", "x")));
        assertEquals(RULE_OPTIONS, List.copyOf(bad.keySet()), "every rule option has wrong values listed");
        for (Map.Entry<String, List<Object>> option : bad.entrySet()) {
            for (Object value : option.getValue()) {
                assertRefusedAtStart(option.getKey(), value, option.getKey());
            }
        }
    }

    /**
     * Starting with {@code option => value} (and a real-looking webhook) fails with a message that
     * starts with {@code prefix} and does not show the webhook's token.
     */
    private void assertRefusedAtStart(String option, Object value, String prefix) {
        TestConfiguration config = TestConfiguration.of("webhook_url", new Password(SLACK_URL),
                "shutdown_timeout", "1s").with(option, value);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> filter(config, context).close(), option + " => " + value + " was accepted");
        assertTrue(e.getMessage().startsWith(prefix), option + " => " + value + ": " + e.getMessage());
        assertFalse(e.getMessage().contains(SECRET_TOKEN), e.getMessage());
    }

    private static Set<String> names(SlackAlert filter) {
        return filter.configSchema().stream().map(PluginConfigSpec::name).collect(Collectors.toSet());
    }

    @Test
    void schemaHasEveryEngineOptionTheShimOptionAndTheCommonFilterOptions() {
        SlackAlert f = filter(dryRun(), context);
        try {
            Set<String> names = names(f);
            assertTrue(names.containsAll(ENGINE_OPTIONS), names.toString());
            assertTrue(names.contains("native_library"));
            for (String common : new String[] {"add_field", "add_tag", "enable_metric", "id", "periodic_flush",
                "remove_field", "remove_tag"}) {
                assertTrue(names.contains(common), common);
            }
            assertTrue(names.containsAll(RULE_OPTIONS), names.toString());
            assertTrue(names.containsAll(APP_OPTIONS), names.toString());
            assertTrue(names.containsAll(COORDINATION_OPTIONS), names.toString());
            assertEquals(ENGINE_OPTIONS.size() + RULE_OPTIONS.size() + APP_OPTIONS.size()
                    + COORDINATION_OPTIONS.size() + 1 + 7, f.configSchema().size());
            assertEquals("slack_alert", f.getName());
            assertEquals("slack_alert_test", f.getId());
        } finally {
            f.close();
        }
    }

    /** The types and defaults the shim declared by hand before they came from the engine's table. */
    @Test
    void webhookUrlAndSlackTokenArePasswordSettingsAndDefaultsMatchTheEngine() {
        assertEquals(Password.class, setting("webhook_url").type());
        assertEquals(Password.class, setting("slack_token").type());
        assertNull(setting("slack_token").defaultValue());
        Map<String, Object> defaults = new LinkedHashMap<>();
        defaults.put("dedup_window", "5m");
        defaults.put("rate_limit", 20L);
        defaults.put("burst", 5L);
        defaults.put("queue_size", 1000L);
        defaults.put("max_tracked", 10000L);
        defaults.put("timeout", "10s");
        defaults.put("max_retries", 3L);
        defaults.put("shutdown_timeout", "5s");
        defaults.put("dry_run", Boolean.FALSE);
        defaults.put("allow_custom_webhook", Boolean.FALSE);
        defaults.put("slack_api_url", "https://slack.com/api");
        defaults.put("update_interval", "10s");
        defaults.put("thread_replies", "milestones");
        defaults.put("reply_broadcast", Boolean.FALSE);
        for (Map.Entry<String, Object> d : defaults.entrySet()) {
            assertEquals(d.getValue(), setting(d.getKey()).defaultValue(), d.getKey());
            assertEquals(d.getValue().getClass(), setting(d.getKey()).type(), d.getKey());
        }
        assertNull(setting("webhook_url").defaultValue());
        assertFalse(setting("webhook_url").required(), "dry_run needs no webhook");
    }

    @Test
    void logstashRejectsUnknownSettingsBeforeTheConstructor() {
        SlackAlert f = filter(dryRun(), context);
        try {
            TestConfiguration typo = dryRun("webhok_url", SLACK_URL, "add_tag", List.of("alert"), "id", "x");
            assertEquals(List.of("Unknown setting 'webhok_url' specified for plugin 'slack_alert'"), typo.validate(f));
            assertTrue(dryRun("add_field", java.util.Map.of("alert_needed", "true"), "periodic_flush", true)
                    .validate(f).isEmpty());
        } finally {
            f.close();
        }
    }

    @Test
    void onlyOptionsTheUserSetReachTheEngine() {
        NativeLibrary.load(null);
        TestConfiguration config = TestConfiguration.of("webhook_url", new Password(SLACK_URL), "levels",
                List.of("ERROR", "WARN"), "rate_limit", 30, "dry_run", "true", "id", "ignored");
        assertEquals("{\"webhook_url\":\"" + SLACK_URL + "\",\"levels\":[\"ERROR\",\"WARN\"],\"rate_limit\":30,"
                + "\"dry_run\":true}", Catalog.get().settings().engineJson(config));
        // A string for a password setting (as Logstash hands over ${VAR}) is a Password too.
        assertEquals("{\"webhook_url\":\"" + SLACK_URL + "\"}",
                Catalog.get().settings().engineJson(TestConfiguration.of("webhook_url", SLACK_URL)));
    }

    @Test
    void aMissingWebhookNamesTheOption() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> filter(TestConfiguration.of("levels", List.of("ERROR")), context));
        assertTrue(e.getMessage().startsWith("webhook_url: is required"), e.getMessage());
    }

    @Test
    void badValuesFailTheConstructorNamingTheOption() {
        Object[][] cases = {
            {"rate_limit", -1L, "rate_limit: must be a whole number from 1 to 3600, got -1"},
            {"rate_limit", "lots", "rate_limit: must be a whole number"},
            {"dedup_window", "5 minutes", "dedup_window: \"5 minutes\" is not a duration"},
            {"levels", List.of("EROR"), "levels: \"EROR\" is not a log level"},
            {"burst", 0L, "burst: must be a whole number from 1"},
            {"timeout", "0s", "timeout: must be between"},
            {"level_field", "[log][level", "level_field: "},
            {"max_tracked", 0L, "max_tracked: "},
        };
        for (Object[] c : cases) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> filter(dryRun(c[0], c[1]), context), c[0] + " = " + c[1]);
            assertTrue(e.getMessage().startsWith((String) c[2]), e.getMessage());
        }
        IllegalArgumentException both = assertThrows(IllegalArgumentException.class,
                () -> filter(dryRun("levels", List.of("ERROR"), "min_level", "WARN"), context));
        assertTrue(both.getMessage().startsWith("levels: cannot be combined"), both.getMessage());
    }

    @Test
    void aWebhookThatIsNotSlackNeedsAllowCustomWebhookAndIsNeverRepeated() {
        String custom = "http://127.0.0.1:9/services/T0/B0/" + SECRET_TOKEN;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> filter(TestConfiguration.of("webhook_url", new Password(custom)), context));
        assertTrue(e.getMessage().startsWith("webhook_url: "), e.getMessage());
        assertTrue(e.getMessage().contains("allow_custom_webhook"), e.getMessage());
        assertFalse(e.getMessage().contains(SECRET_TOKEN), e.getMessage());
        SlackAlert ok = filter(TestConfiguration.of("webhook_url", new Password(custom), "allow_custom_webhook", true,
                "shutdown_timeout", "1s"), context);
        ok.close();
    }

    @Test
    void theWebhookUrlNeverAppearsInLogsExceptionsOrToString() {
        TestConfiguration config = TestConfiguration.of("webhook_url", new Password(SLACK_URL), "dry_run", true,
                "shutdown_timeout", "1s");
        SlackAlert f = filter(config, context);
        f.filter(Fixtures.mixedBatch(25, "secret"), new io.slackalert.logstash.testkit.CountingMatchListener());
        f.flush(null);
        String shown = f.toString();
        f.close();
        for (Object[] bad : new Object[][] {{"rate_limit", -1L}, {"dedup_window", "x"}, {"channel", 5L}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> filter(config.with((String) bad[0], bad[1]), context));
            assertFalse(e.getMessage().contains(SECRET_TOKEN), e.getMessage());
        }
        IllegalArgumentException notSlack = assertThrows(IllegalArgumentException.class,
                () -> filter(config.with("webhook_url", "https://evil.example/" + SECRET_TOKEN), context));
        assertFalse(notSlack.getMessage().contains(SECRET_TOKEN), notSlack.getMessage());
        assertFalse(shown.contains(SECRET_TOKEN), shown);
        assertFalse(config.toString().contains(SECRET_TOKEN));
        String logged = context.logger().allText();
        assertFalse(context.logger().lines().isEmpty(), "the dry run logs what it would post");
        assertFalse(logged.contains(SECRET_TOKEN), logged);
        assertFalse(logged.contains("T0SECRET"), logged);
    }

    /** Wrong values for each option, typed the way Logstash hands them to a Java plugin. */
    private static Map<String, List<Object>> wrongValues() {
        Map<String, List<Object>> bad = new LinkedHashMap<>();
        List<Object> anything = List.of(Map.of("nested", "map"), List.of(List.of(1L)), 1.5, -1L);
        List<Object> strings = List.of(5L, true, List.of("#ops"), Map.of("a", "b"));
        List<Object> durations = List.of(true, "5 minutes", "-1s", "1.5h", "5x", "99999999999999999999s", "3650d",
                -1L, 1.5, List.of("5m"));
        List<Object> numbers = List.of("lots", "-5", true, 1.5, 1_000_000_000_000L, Long.MAX_VALUE, -1L,
                List.of(5L), Map.of("n", 5L));
        List<Object> booleans = List.of("yes", "ture", "", 1L, List.of(true), Map.of("b", true));
        bad.put("webhook_url", List.of(5L, true, "not a url", "http://hooks.slack.com/services/T0/B0/" + SECRET_TOKEN,
                "https://evil.example/services/T0/B0/" + SECRET_TOKEN,
                "https://hooks.slack.com.evil.io/services/" + SECRET_TOKEN, List.of(SLACK_URL), Map.of("u", SLACK_URL)));
        bad.put("levels", List.of(5L, List.of("EROR"), List.of(), List.of(1L), "ERROR, LOUD", Map.of("a", "b")));
        bad.put("min_level", List.of(5L, "loud", "", List.of("WARN")));
        bad.put("level_field", List.of(5L, "[log][level", "[]", List.of("level")));
        bad.put("channel", strings);
        bad.put("username", strings);
        bad.put("icon_emoji", strings);
        bad.put("icon_url", strings);
        bad.put("title", List.of(5L, "", "   ", "%{+YYYY.MM.dd}", "%{[a][b}", List.of("t")));
        bad.put("format", List.of(5L, "", "%{{yyyy}}", "%{[a][b}", Map.of("f", "x")));
        bad.put("dedup_fields", List.of(5L, List.of(1L), List.of("[a][b"), Map.of("a", 1L)));
        bad.put("dedup_window", concat(durations, List.of("8d")));
        bad.put("rate_limit", concat(numbers, List.of(0L, 3601L)));
        bad.put("burst", concat(numbers, List.of(0L, 1001L)));
        bad.put("queue_size", concat(numbers, List.of(0L, 1_000_001L)));
        bad.put("max_tracked", concat(numbers, List.of(0L, 10_000_001L)));
        bad.put("timeout", concat(durations, List.of("0s", "99ms", "301s")));
        bad.put("max_retries", concat(numbers, List.of(101L)));
        bad.put("shutdown_timeout", concat(durations, List.of("601s")));
        bad.put("dry_run", booleans);
        bad.put("allow_custom_webhook", booleans);
        // Every option rejects these too.
        bad.replaceAll((option, values) -> concat(values, anything));
        return bad;
    }

    private static List<Object> concat(List<Object> a, List<Object> b) {
        List<Object> out = new java.util.ArrayList<>(a);
        out.addAll(b);
        return out;
    }

    @Test
    void everyOptionWithAWrongValueFailsAtStartNamingTheOptionWithoutTheWebhook() {
        Map<String, List<Object>> bad = wrongValues();
        assertEquals(ENGINE_OPTIONS, List.copyOf(bad.keySet()), "every engine option has wrong values listed");
        int checked = 0;
        for (Map.Entry<String, List<Object>> option : bad.entrySet()) {
            for (Object value : option.getValue()) {
                assertRefusedAtStart(option.getKey(), value, option.getKey() + ": ");
                checked++;
            }
        }
        assertTrue(checked > 120, "checked " + checked);
        assertFalse(context.logger().allText().contains(SECRET_TOKEN), context.logger().allText());
    }

    @Test
    void levelAndEventReferencesComeFromTheEngine() {
        SlackAlert f = filter(dryRun("level_field", "severity"), context);
        try {
            assertArrayEquals(new String[] {"[severity]"}, NativeCalls.levelRefs(f.handle()));
            assertEquals("[severity]", NativeCalls.eventRefs(f.handle())[0]);
        } finally {
            f.close();
        }
    }
}
