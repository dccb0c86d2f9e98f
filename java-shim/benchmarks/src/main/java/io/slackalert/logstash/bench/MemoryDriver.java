package io.slackalert.logstash.bench;

import co.elastic.logstash.api.Event;
import co.elastic.logstash.api.FilterMatchListener;
import io.slackalert.logstash.SlackAlert;
import io.slackalert.logstash.testkit.ReceiverProcess;
import io.slackalert.logstash.testkit.TestConfiguration;
import io.slackalert.logstash.testkit.TestContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Resident memory the native library adds to a JVM. Run with a fixed, pre-touched heap
 * ({@code -Xms512m -Xmx512m -XX:+AlwaysPreTouch}), so the Java heap is resident from the start
 * and what grows afterwards is native memory (the library, its engine and threads) plus a little
 * JIT code and metaspace.
 *
 * <pre>
 * MemoryDriver footprint                     library + engine at defaults, then after traffic
 * MemoryDriver fingerprints [--count N] [--max-tracked N]
 *                                            peak with N (default 1,000,000) distinct fingerprints
 * </pre>
 */
public final class MemoryDriver {

    private static final FilterMatchListener NO_OP = event -> { };
    /** The first line of a mapping in smaps: {@code start-end perms ...}. */
    private static final Pattern MAPPING = Pattern.compile("[0-9a-f]+-[0-9a-f]+ ");

    private MemoryDriver() {
    }

    public static void main(String[] argv) throws Exception {
        if (argv.length == 0) {
            throw new IllegalArgumentException("usage: MemoryDriver footprint | fingerprints [--count N] [--max-tracked N]");
        }
        Args args = new Args(java.util.Arrays.copyOfRange(argv, 1, argv.length));
        switch (argv[0]) {
            case "footprint":
                footprint();
                break;
            case "fingerprints":
                fingerprints(args.getLong("count", 1_000_000), args.get("max-tracked", null));
                break;
            default:
                throw new IllegalArgumentException("unknown mode " + argv[0]);
        }
    }

    private static void footprint() throws Exception {
        List<List<Event>> batches = new BenchEvents(5L).batches(400, 0.01, BenchEvents.MAX_FINGERPRINTS);
        FloorFilter floor = new FloorFilter();
        for (int i = 0; i < 200; i++) {
            for (List<Event> batch : batches) {
                floor.filter(batch, NO_OP);
            }
        }
        try (ReceiverProcess receiver = ReceiverProcess.start()) {
            settle();
            long base = Proc.rssKb();
            TestContext context = new TestContext();
            SlackAlert filter = new SlackAlert("memory", StormDriver.withLibrary(TestConfiguration.of(
                    "webhook_url", receiver.webhookUrl(), "allow_custom_webhook", true)), context);
            settle();
            long loaded = Proc.rssKb();
            long library = libraryRssKb();
            for (int i = 0; i < 50; i++) {
                for (List<Event> batch : batches) {
                    filter.filter(batch, NO_OP);
                }
            }
            settle();
            long busy = Proc.rssKb();
            filter.close();
            settle();
            long closed = Proc.rssKb();
            System.out.printf("JVM resident before loading the library: %s%n", Proc.mb(base));
            System.out.printf("| what | resident memory added |%n|---|---|%n");
            System.out.printf("| library loaded + engine started (defaults, a webhook) | %s (of which the library's"
                    + " own mapped pages: %s) |%n", Proc.mb(loaded - base), Proc.mb(library));
            System.out.printf("| after %,d events (1%% errors, 50 fingerprints) | %s |%n",
                    50L * batches.size() * BenchEvents.BATCH, Proc.mb(busy - base));
            System.out.printf("| after close() | %s |%n", Proc.mb(closed - base));
            System.out.printf("counters: %s%n", context.metricOf("memory").gauges());
        }
    }

    private static void fingerprints(long count, String maxTracked) throws Exception {
        BenchEvents data = new BenchEvents(9L);
        // Warm the JIT and the allocator on a throwaway filter.
        SlackAlert warm = new SlackAlert("warm-up", StormDriver.withLibrary(TestConfiguration.of("dry_run", true)),
                new TestContext());
        feed(warm, data, 0, 50_000);
        warm.close();
        settle();
        long base = Proc.rssKb();
        Proc.resetPeak();
        TestConfiguration config = TestConfiguration.of("dry_run", true, "shutdown_timeout", "60s");
        if (maxTracked != null) {
            config = config.with("max_tracked", Long.parseLong(maxTracked));
        }
        TestContext context = new TestContext();
        SlackAlert filter = new SlackAlert("memory", StormDriver.withLibrary(config), context);
        long started = System.nanoTime();
        feed(filter, data, 1_000_000_000L, count);
        double seconds = (System.nanoTime() - started) / 1e9;
        settle();
        long end = Proc.rssKb();
        long peak = Proc.peakRssKb();
        filter.close();
        Map<String, Object> counters = context.metricOf("memory").gauges();
        System.out.printf("%,d distinct fingerprints, max_tracked %s, in %.1f s%n", count,
                maxTracked == null ? "default (10,000)" : maxTracked, seconds);
        System.out.printf("| max_tracked | resident memory added at the end | peak added |%n|---|---|---|%n");
        System.out.printf("| %s | %s | %s |%n", maxTracked == null ? "10,000 (default)" : maxTracked,
                Proc.mb(end - base), Proc.mb(peak - base));
        System.out.printf("counters: %s%n", counters);
    }

    /** {@code count} ERROR events with distinct fingerprints, in batches of 125. */
    private static void feed(SlackAlert filter, BenchEvents data, long first, long count) {
        List<Event> batch = new ArrayList<>(BenchEvents.BATCH);
        for (long i = 0; i < count; i++) {
            batch.add(data.event(data.distinctError(first + i)));
            if (batch.size() == BenchEvents.BATCH || i == count - 1) {
                filter.filter(batch, NO_OP);
                batch = new ArrayList<>(BenchEvents.BATCH);
            }
        }
    }

    /** Resident pages of the mapped native library, from {@code /proc/self/smaps}. */
    private static long libraryRssKb() throws IOException {
        long kb = 0;
        boolean inLibrary = false;
        for (String line : Files.readAllLines(Paths.get("/proc/self/smaps"))) {
            if (MAPPING.matcher(line).lookingAt()) {
                inLibrary = line.contains("slack_alert_jni");
            } else if (inLibrary && line.startsWith("Rss:")) {
                kb += Long.parseLong(line.substring(4).trim().split("\\s+")[0]);
            }
        }
        return kb;
    }

    private static void settle() throws InterruptedException {
        System.gc();
        Thread.sleep(500);
    }
}
