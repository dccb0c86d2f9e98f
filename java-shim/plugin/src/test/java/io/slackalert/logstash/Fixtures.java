package io.slackalert.logstash;


import co.elastic.logstash.api.Event;
import co.elastic.logstash.api.Password;
import co.elastic.logstash.api.PluginConfigSpec;
import io.slackalert.logstash.testkit.ReceiverProcess;
import io.slackalert.logstash.testkit.TestConfiguration;
import io.slackalert.logstash.testkit.TestContext;
import io.slackalert.logstash.testkit.TestEvent;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Shared helpers: configurations, events, waiting for a condition. */
final class Fixtures {

    /** A webhook that looks real; tests check it never leaks. */
    static final String SECRET_TOKEN = "xoxSECRETtoken0123456789";
    static final String SLACK_URL = "https://hooks.slack.com/services/T0SECRET/B0SECRET/" + SECRET_TOKEN;

    private Fixtures() {
    }

    /** A dry-run configuration (no webhook, nothing posted) plus name/value pairs. */
    static TestConfiguration dryRun(Object... more) {
        return TestConfiguration.of("dry_run", true, "shutdown_timeout", "1s").merge(more);
    }

    /**
     * A configuration posting to {@code receiver} (a custom webhook: the fake Slack's URL is not
     * hooks.slack.com) plus name/value pairs.
     */
    static TestConfiguration posting(ReceiverProcess receiver, Object... more) {
        return TestConfiguration.of("webhook_url", new Password(receiver.webhookUrl()), "allow_custom_webhook", true)
                .merge(more);
    }

    /**
     * One fake Slack for all the tests of a class, started before the first, emptied before each
     * (before the class's own {@code @BeforeEach} methods run) and stopped after the last:
     * {@code @RegisterExtension static final Fixtures.SharedReceiver receiver = new Fixtures.SharedReceiver();}.
     */
    static final class SharedReceiver implements BeforeAllCallback, BeforeEachCallback, AfterAllCallback {
        private ReceiverProcess process;

        @Override
        public void beforeAll(ExtensionContext context) throws IOException {
            process = ReceiverProcess.start();
        }

        @Override
        public void beforeEach(ExtensionContext context) {
            process.reset();
        }

        @Override
        public void afterAll(ExtensionContext context) {
            if (process != null) {
                process.close();
                process = null;
            }
        }

        /** The running receiver. */
        ReceiverProcess get() {
            return process;
        }

        /** {@link Fixtures#posting} to this receiver. */
        TestConfiguration config(Object... more) {
            return posting(process, more);
        }
    }

    /** Creates the filter as Logstash does. */
    static SlackAlert filter(TestConfiguration config, TestContext context) {
        return new SlackAlert("slack_alert_test", config, context);
    }

    /** An event like a JSON logger writes: flat ECS {@code log.level} and a message. */
    static Event event(String level, String message) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("@timestamp", "2024-05-01T12:00:00.000Z");
        if (level != null) {
            fields.put("log.level", level);
        }
        fields.put("message", message);
        Map<String, Object> service = new LinkedHashMap<>();
        service.put("name", "checkout");
        fields.put("service", service);
        return new TestEvent(fields);
    }

    /** {@code n} events cycling through INFO, WARN, ERROR, DEBUG, FATAL (2 of 5 alert). */
    static List<Event> mixedBatch(int n, String tag) {
        String[] levels = {"INFO", "WARN", "ERROR", "DEBUG", "FATAL"};
        List<Event> batch = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String level = levels[i % levels.length];
            batch.add(event(level, tag + " event " + i + " failed: connection refused"));
        }
        return batch;
    }

    static boolean alerts(Event e) {
        Object level = e.getField("[log.level]");
        return "ERROR".equals(level) || "FATAL".equals(level);
    }

    /** Snapshots of every event's fields, to compare after filtering. */
    static List<Map<String, Object>> snapshot(List<Event> events) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Event e : events) {
            out.add(e.toMap());
        }
        return out;
    }

    /** A number spelled in letters, so that the engine's normaliser keeps messages apart. */
    static String letters(long n) {
        StringBuilder s = new StringBuilder();
        for (char c : Long.toString(n).toCharArray()) {
            s.append((char) ('a' + (c - '0')));
        }
        return s.toString();
    }

    /** The top-level setting {@code name} as the filter declares it (from the library's catalog). */
    static PluginConfigSpec<?> setting(String name) {
        NativeLibrary.load(null);
        PluginConfigSpec<?> spec = Catalog.get().settings().get(name);
        if (spec == null) {
            throw new IllegalArgumentException("no setting " + name);
        }
        return spec;
    }

    /** One of the engine's counters, read straight from the native library. */
    static long counter(SlackAlert filter, String name) {
        String[] names = Catalog.get().counterNames;
        long[] values = NativeCalls.counters(filter.handle());
        if (values == null) {
            throw new IllegalStateException("the filter is closed");
        }
        for (int i = 0; i < names.length; i++) {
            if (names[i].equals(name)) {
                return values[i];
            }
        }
        throw new IllegalArgumentException("no counter " + name + " in " + java.util.Arrays.toString(names));
    }

    /** This process's resident set size in kB, from /proc/self/status. */
    static long rssKb() {
        return procStatus("VmRSS:");
    }

    /** This process's OS thread count (Java and native), from /proc/self/status. */
    static long osThreads() {
        return procStatus("Threads:");
    }

    private static long procStatus(String key) {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/status"), StandardCharsets.UTF_8)) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return -1;
    }
}
