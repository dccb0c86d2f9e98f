package io.slackalert.logstash.demo;

import co.elastic.logstash.api.Event;
import io.slackalert.logstash.SlackAlert;
import io.slackalert.logstash.testkit.CountingMatchListener;
import io.slackalert.logstash.testkit.LogstashJson;
import io.slackalert.logstash.testkit.TestConfiguration;
import io.slackalert.logstash.testkit.TestContext;
import io.slackalert.logstash.testkit.TestEvent;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.logging.log4j.Level;

/**
 * Runs the real {@code slack_alert} filter outside Logstash, driven the way Logstash drives it.
 *
 * <pre>
 * java -cp ... io.slackalert.logstash.demo.Demo [--config FILE] [--set NAME=VALUE]...
 *     [--workers N] [--batch N] [--flush-seconds N] [--quiet] LOG_FILE...
 * </pre>
 *
 * <ul>
 *   <li>{@code LOG_FILE}: JSON lines, one event per line (a line that is not a JSON object becomes an
 *       event with that line as {@code message}, as Logstash's plain codec would).</li>
 *   <li>{@code --config FILE}: the plugin's settings, as a JSON object ({@code .json}) or as
 *       {@code name=value} lines (any other extension). {@code --set NAME=VALUE} adds or replaces
 *       one. A value that parses as JSON ({@code 20}, {@code true}, {@code ["ERROR","FATAL"]}) is
 *       taken typed, anything else as a string; {@code ${VAR}} is replaced from the environment,
 *       as Logstash does, so {@code --set 'webhook_url=${SLACK_WEBHOOK_URL}'} keeps the secret out
 *       of the command line.</li>
 *   <li>{@code --workers} (default 2) threads call {@code filter} with batches of {@code --batch}
 *       (default 125) events; {@code flush} runs every {@code --flush-seconds} (default 5), then
 *       {@code close}.</li>
 *   <li>The plugin's log (including what a {@code dry_run} would post) goes to stderr, at INFO and
 *       above ({@code --quiet}: WARN and above). Stdout gets one line with the events handed to
 *       {@code filter()} and those reported to the match listener, then one {@code name value}
 *       line per gauge of the filter (the engine's counters).</li>
 * </ul>
 *
 * <p>Exit status: 0 on success, 2 for bad usage or a configuration the plugin rejects (its message
 * names the option), 1 for any other failure.
 */
public final class Demo {

    private static final Pattern VARIABLE = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)\\}");

    private Demo() {
    }

    public static void main(String[] args) {
        int status;
        try {
            status = run(args, System.out, System.err);
        } catch (UsageException e) {
            System.err.println("demo: " + e.getMessage());
            System.err.println("usage: Demo [--config FILE] [--set NAME=VALUE]... [--workers N] [--batch N]"
                    + " [--flush-seconds N] [--quiet] LOG_FILE...");
            status = 2;
        } catch (IllegalArgumentException e) {
            System.err.println("slack_alert: " + e.getMessage());
            status = 2;
        } catch (Exception e) {
            System.err.println("demo: " + e);
            for (Throwable cause = e.getCause(); cause != null; cause = cause.getCause()) {
                System.err.println("  caused by: " + cause);
            }
            status = 1;
        }
        System.exit(status);
    }

    /** Runs the demo; returns the exit status. */
    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Map<String, Object> settings = new LinkedHashMap<>();
        List<Path> logs = new ArrayList<>();
        int workers = 2;
        int batchSize = 125;
        int flushSeconds = 5;
        Level echo = Level.INFO;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--config":
                    settings.putAll(readConfig(Paths.get(value(args, ++i, arg))));
                    break;
                case "--set":
                    String pair = value(args, ++i, arg);
                    int eq = pair.indexOf('=');
                    if (eq <= 0) {
                        throw new UsageException("--set needs NAME=VALUE, got `" + pair + "`");
                    }
                    settings.put(pair.substring(0, eq), typed(pair.substring(eq + 1)));
                    break;
                case "--workers":
                    workers = positive(value(args, ++i, arg), arg);
                    break;
                case "--batch":
                    batchSize = positive(value(args, ++i, arg), arg);
                    break;
                case "--flush-seconds":
                    flushSeconds = positive(value(args, ++i, arg), arg);
                    break;
                case "--quiet":
                    echo = Level.WARN;
                    break;
                default:
                    if (arg.startsWith("--")) {
                        throw new UsageException("unknown option `" + arg + "`");
                    }
                    logs.add(Paths.get(arg));
            }
        }
        if (logs.isEmpty()) {
            throw new UsageException("no log file given");
        }

        Queue<List<Event>> batches = new ConcurrentLinkedQueue<>();
        long events = 0;
        List<Event> batch = new ArrayList<>(batchSize);
        for (Path log : logs) {
            for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
                if (line.isBlank()) {
                    continue;
                }
                batch.add(toEvent(line));
                events++;
                if (batch.size() == batchSize) {
                    batches.add(batch);
                    batch = new ArrayList<>(batchSize);
                }
            }
        }
        if (!batch.isEmpty()) {
            batches.add(batch);
        }

        TestConfiguration config = new TestConfiguration(settings);
        TestContext context = new TestContext(err, echo);
        SlackAlert filter = new SlackAlert("slack_alert_demo", config, context);
        List<String> problems = config.validate(filter);
        if (!problems.isEmpty()) {
            filter.close();
            for (String p : problems) {
                err.println(p);
            }
            return 2;
        }

        CountingMatchListener listener = new CountingMatchListener();
        ScheduledExecutorService flusher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "demo-flush");
            t.setDaemon(true);
            return t;
        });
        flusher.scheduleAtFixedRate(() -> filter.flush(listener), flushSeconds, flushSeconds, TimeUnit.SECONDS);
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            Thread t = new Thread(() -> {
                List<Event> next;
                while ((next = batches.poll()) != null) {
                    filter.filter(next, listener);
                }
            }, "demo-worker-" + w);
            t.setUncaughtExceptionHandler((thread, e) -> {
                synchronized (failures) {
                    failures.add(e);
                }
            });
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        flusher.shutdown();
        flusher.awaitTermination(30, TimeUnit.SECONDS);
        filter.flush(listener);
        filter.close();
        if (!failures.isEmpty()) {
            throw new IllegalStateException("a worker failed", failures.get(0));
        }

        // The driver's own count first, then the plugin's gauges (which count the same from inside).
        out.println("demo: " + events + " events handed to filter(), " + listener.count()
                + " reported to filterMatched; the filter's gauges:");
        for (Map.Entry<String, Object> counter : context.metricOf(filter.getId()).gauges().entrySet()) {
            out.println(counter.getKey() + " " + counter.getValue());
        }
        return 0;
    }

    private static Event toEvent(String line) {
        String trimmed = line.trim();
        if (trimmed.startsWith("{")) {
            try {
                return TestEvent.fromJson(trimmed);
            } catch (IllegalArgumentException notJson) {
                // Falls through to a plain event, like Logstash's json codec tagging a failure.
            }
        }
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("message", line);
        return new TestEvent(fields);
    }

    private static Map<String, Object> readConfig(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        Map<String, Object> settings = new LinkedHashMap<>();
        if (file.toString().endsWith(".json")) {
            for (Map.Entry<String, Object> e : LogstashJson.parseObject(text).entrySet()) {
                settings.put(e.getKey(), substitute(e.getValue()));
            }
            return settings;
        }
        Properties props = new Properties();
        props.load(new java.io.StringReader(text));
        for (String name : props.stringPropertyNames()) {
            settings.put(name, typed(props.getProperty(name)));
        }
        return settings;
    }

    /** A value as JSON if it parses, else the string; {@code ${VAR}} replaced from the environment. */
    private static Object typed(String raw) {
        String text = substitute(raw).toString();
        try {
            return LogstashJson.parse(text);
        } catch (IllegalArgumentException notJson) {
            return text;
        }
    }

    private static Object substitute(Object value) {
        if (value instanceof String) {
            Matcher m = VARIABLE.matcher((String) value);
            StringBuilder out = new StringBuilder();
            while (m.find()) {
                String env = System.getenv(m.group(1));
                if (env == null) {
                    throw new IllegalArgumentException("Cannot evaluate `" + m.group(0) + "`: the environment"
                            + " variable " + m.group(1) + " is not set");
                }
                m.appendReplacement(out, Matcher.quoteReplacement(env));
            }
            m.appendTail(out);
            return out.toString();
        }
        if (value instanceof List) {
            List<Object> out = new ArrayList<>();
            for (Object item : (List<?>) value) {
                out.add(substitute(item));
            }
            return out;
        }
        return value;
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new UsageException(option + " needs a value");
        }
        return args[i];
    }

    private static int positive(String text, String option) {
        try {
            int n = Integer.parseInt(text);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // Reported below.
        }
        throw new UsageException(option + " must be a positive whole number, got `" + text + "`");
    }

    /** Bad command-line usage (exit status 2). */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }
}
