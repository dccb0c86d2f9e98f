package io.slackalert.logstash;

import static io.slackalert.logstash.Fixtures.SECRET_TOKEN;
import static io.slackalert.logstash.Fixtures.SLACK_URL;
import static io.slackalert.logstash.Fixtures.dryRun;
import static io.slackalert.logstash.Fixtures.filter;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Password;
import co.elastic.logstash.api.PluginConfigSpec;
import io.slackalert.logstash.testkit.TestConfiguration;
import io.slackalert.logstash.testkit.TestContext;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Configuration as Logstash validates and delivers it, and the errors a user sees. */
class ConfigurationTest {

    private static final List<String> ENGINE_OPTIONS = Arrays.asList("webhook_url", "levels", "min_level",
            "level_field", "channel", "username", "icon_emoji", "icon_url", "title", "format", "dedup_fields",
            "dedup_window", "rate_limit", "burst", "queue_size", "max_tracked", "timeout", "max_retries",
            "shutdown_timeout", "dry_run", "allow_custom_webhook");

    private final TestContext context = new TestContext();

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
            assertEquals(ENGINE_OPTIONS.size() + 1 + 7, f.configSchema().size());
            assertEquals("slack_alert", f.getName());
            assertEquals("slack_alert_test", f.getId());
        } finally {
            f.close();
        }
    }

    @Test
    void webhookUrlIsAPasswordSettingAndDefaultsMatchTheEngine() {
        assertEquals(Password.class, SlackAlert.WEBHOOK_URL.type());
        assertEquals("5m", SlackAlert.DEDUP_WINDOW.defaultValue());
        assertEquals(20L, SlackAlert.RATE_LIMIT.defaultValue());
        assertEquals(5L, SlackAlert.BURST.defaultValue());
        assertEquals(1000L, SlackAlert.QUEUE_SIZE.defaultValue());
        assertEquals(10000L, SlackAlert.MAX_TRACKED.defaultValue());
        assertEquals("10s", SlackAlert.TIMEOUT.defaultValue());
        assertEquals(3L, SlackAlert.MAX_RETRIES.defaultValue());
        assertEquals("5s", SlackAlert.SHUTDOWN_TIMEOUT.defaultValue());
        assertEquals(Boolean.FALSE, SlackAlert.DRY_RUN.defaultValue());
        assertEquals(Boolean.FALSE, SlackAlert.ALLOW_CUSTOM_WEBHOOK.defaultValue());
        assertFalse(SlackAlert.WEBHOOK_URL.required(), "dry_run needs no webhook");
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
        TestConfiguration config = TestConfiguration.of("webhook_url", new Password(SLACK_URL), "levels",
                List.of("ERROR", "WARN"), "rate_limit", 30, "dry_run", "true", "id", "ignored");
        assertEquals("{\"webhook_url\":\"" + SLACK_URL + "\",\"levels\":[\"ERROR\",\"WARN\"],\"rate_limit\":30,"
                + "\"dry_run\":true}", SlackAlert.engineConfigJson(config));
        // A string for a password setting (as Logstash hands over ${VAR}) is a Password too.
        assertEquals("{\"webhook_url\":\"" + SLACK_URL + "\"}",
                SlackAlert.engineConfigJson(TestConfiguration.of("webhook_url", SLACK_URL)));
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

    @Test
    void levelAndEventReferencesComeFromTheEngine() {
        SlackAlert f = filter(dryRun("level_field", "severity"), context);
        try {
            assertArrayEquals(new String[] {"[severity]"}, NativeEngine.levelRefs(f.handle()));
            assertEquals("[severity]", NativeEngine.eventRefs(f.handle())[0]);
        } finally {
            f.close();
        }
    }
}
