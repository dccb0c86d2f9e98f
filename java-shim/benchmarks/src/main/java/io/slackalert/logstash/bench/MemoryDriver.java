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
 *
 * <p>{@code footprint} runs the same steps in two fresh JVMs with the same flags, one with
 * SlackAlert and one with the floor filter (no native code), and reports the difference at each
 * step: the JVM's own resident memory moves by several MB as the collector and the JIT work, and
 * the control cancels what both runs share.
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
            case "footprint-run":
                footprintRun(args.get("filter", "slack_alert"));
                break;
            case "fingerprints":
                fingerprints(args.getLong("count", 1_000_000), args.get("max-tracked", null));
                break;
            default:
                throw new IllegalArgumentException("unknown mode " + argv[0]);
        }
    }

    private static final String[] STEPS = {"started", "filter created", "after traffic", "after close()"};

    private static void footprint() throws Exception {
        long[] slack = child("slack_alert");
        long[] floor = child("floor");
        System.out.printf("JVM resident at the start of the SlackAlert run: %s (%s with the floor filter)%n",
                Proc.mb(slack[0]), Proc.mb(floor[0]));
        System.out.printf("| step | SlackAlert JVM | floor-filter JVM | added by the library |%n|---|---|---|---|%n");
        for (int i = 1; i < STEPS.length; i++) {
            long added = (slack[i] - slack[0]) - (floor[i] - floor[0]);
            System.out.printf("| %s | %+.1f MB | %+.1f MB | %s |%n", STEPS[i], (slack[i] - slack[0]) / 1024.0,
                    (floor[i] - floor[0]) / 1024.0, Proc.mb(added));
        }
        System.out.printf("the library's own mapped pages (code and data): %s%n", Proc.mb(slack[STEPS.length]));
        System.out.printf("traffic: %,d events (1%% errors, 50 fingerprints), with a webhook on the local receiver%n",
                50L * 400 * BenchEvents.BATCH);
    }

    /** Runs {@code footprint-run} in a fresh JVM with this one's flags; returns its figures (KiB). */
    private static long[] child(String filter) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(MemoryDriver.class.getName());
        command.add("footprint-run");
        command.add("--filter");
        command.add(filter);
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
        if (p.waitFor() != 0) {
            throw new IllegalStateException("footprint-run " + filter + " failed: " + out);
        }
        String[] parts = out.split("\\s+");
        long[] kb = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            kb[i] = Long.parseLong(parts[i]);
        }
        return kb;
    }

    /** One footprint run: prints VmRSS (KiB) at each of {@link #STEPS}, then the library's pages. */
    private static void footprintRun(String which) throws Exception {
        List<List<Event>> batches = new BenchEvents(5L).batches(400, 0.01, BenchEvents.MAX_FINGERPRINTS);
        FloorFilter warm = new FloorFilter();
        for (int i = 0; i < 200; i++) {
            for (List<Event> batch : batches) {
                warm.filter(batch, NO_OP);
            }
        }
        try (ReceiverProcess receiver = ReceiverProcess.start()) {
            settle();
            long[] rss = new long[STEPS.length + 1];
            rss[0] = Proc.rssKb();
            co.elastic.logstash.api.Filter filter = which.equals("floor") ? new FloorFilter()
                    : new SlackAlert("memory", StormDriver.withLibrary(TestConfiguration.of(
                            "webhook_url", receiver.webhookUrl(), "allow_custom_webhook", true)), new TestContext());
            settle();
            rss[1] = Proc.rssKb();
            for (int i = 0; i < 50; i++) {
                for (List<Event> batch : batches) {
                    filter.filter(batch, NO_OP);
                }
            }
            settle();
            rss[2] = Proc.rssKb();
            filter.close();
            settle();
            rss[3] = Proc.rssKb();
            rss[4] = libraryRssKb();
            StringBuilder line = new StringBuilder();
            for (long v : rss) {
                line.append(v).append(' ');
            }
            System.out.println(line.toString().trim());
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
