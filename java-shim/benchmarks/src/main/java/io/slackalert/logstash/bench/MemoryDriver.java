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
 * MemoryDriver storm [--seconds N]           an error storm against a hung Slack (queue of 5, 2
 *                                            workers) for N s (default 60): resident memory each tenth
 * MemoryDriver reloads [--count N]           N (default 500) pipeline reloads with two workers
 *                                            filtering while each old instance closes: threads, memory
 * </pre>
 *
 * <p>{@code storm} and {@code reloads} measure what StormTest and LifecycleTest used to bound in
 * the test suite (memory growth under 64 MB after the first quarter; under 96 MB over 100
 * reloads): they print the figures and whether the old bound holds, and the tests keep only
 * what does not depend on the machine (counts, threads, what Slack received).
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
            case "storm":
                storm((int) args.getLong("seconds", 60));
                break;
            case "reloads":
                reloads((int) args.getLong("count", 500));
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

    /** Memory the JVM has committed for its heap and non-heap pools, in KiB. */
    private static long jvmCommittedKb() {
        java.lang.management.MemoryMXBean memory = java.lang.management.ManagementFactory.getMemoryMXBean();
        return (memory.getHeapMemoryUsage().getCommitted() + memory.getNonHeapMemoryUsage().getCommitted()) / 1024;
    }

    /** Storm against a hung Slack: resident memory (and memory outside the JVM's pools) each tenth. */
    private static void storm(int seconds) throws Exception {
        List<List<Event>> pool = new BenchEvents(3L).batches(800, 0.1, BenchEvents.MAX_FINGERPRINTS);
        try (ReceiverProcess receiver = ReceiverProcess.start()) {
            receiver.setMode("{\"mode\":\"hang\"}");
            TestContext context = new TestContext();
            SlackAlert filter = new SlackAlert("storm", StormDriver.withLibrary(TestConfiguration.of(
                    "webhook_url", receiver.webhookUrl(), "allow_custom_webhook", true, "queue_size", 5L,
                    "dedup_window", "0s", "timeout", "1s", "max_retries", 0L, "rate_limit", 3600L, "burst", 1000L,
                    "shutdown_timeout", "10s")), context);
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.atomic.AtomicLong batches = new java.util.concurrent.atomic.AtomicLong();
            List<Thread> workers = new ArrayList<>();
            for (int w = 0; w < 2; w++) {
                Thread t = new Thread(() -> {
                    while (!stop.get()) {
                        filter.filter(pool.get((int) (batches.getAndIncrement() % pool.size())), NO_OP);
                    }
                });
                t.start();
                workers.add(t);
            }
            List<long[]> samples = new ArrayList<>();
            for (int q = 1; q <= 10; q++) {
                Thread.sleep(seconds * 100L);
                filter.flush(NO_OP);
                settle();
                long rss = Proc.rssKb();
                samples.add(new long[] {rss, rss - jvmCommittedKb()});
            }
            stop.set(true);
            for (Thread t : workers) {
                t.join();
            }
            Map<String, Object> counters = context.metricOf("storm").gauges();
            StringBuilder series = new StringBuilder();
            for (long[] sample : samples) {
                series.append(' ').append(sample[0] / 1024).append('/').append(sample[1] / 1024);
            }
            long[] early = samples.get(samples.size() / 4);
            long peakRss = Long.MIN_VALUE;
            long peakNative = Long.MIN_VALUE; // negative while the JVM has committed more than is resident
            for (long[] sample : samples.subList(samples.size() / 4, samples.size())) {
                peakRss = Math.max(peakRss, sample[0]);
                peakNative = Math.max(peakNative, sample[1]);
            }
            System.out.printf("storm against a hung Slack for %d s, queue of 5, 2 workers: %,d events, matched %s,"
                    + " dropped %s%n", seconds, batches.get() * BenchEvents.BATCH, counters.get("matched"),
                    counters.get("dropped"));
            System.out.printf("RSS / outside the JVM's pools, MB, each tenth:%s%n", series);
            System.out.printf("growth after the first quarter: RSS %s, outside the JVM's pools %s (the old test"
                    + " bound: either under 64 MB): %s%n", Proc.mb(peakRss - early[0]), Proc.mb(peakNative - early[1]),
                    peakRss - early[0] < 64 * 1024 || peakNative - early[1] < 64 * 1024 ? "flat" : "GREW");
            receiver.setMode("{\"mode\":\"ok\"}");
            filter.close();
        }
    }

    /** Pipeline reloads with two workers filtering through each old instance while it closes. */
    private static void reloads(int count) throws Exception {
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        java.util.concurrent.ExecutorService workers = java.util.concurrent.Executors.newFixedThreadPool(2);
        List<Event> info = new BenchEvents(4L).batches(1, 0.0, 1).get(0);
        try (ReceiverProcess receiver = ReceiverProcess.start()) {
            TestConfiguration config = StormDriver.withLibrary(TestConfiguration.of("webhook_url",
                    receiver.webhookUrl(), "allow_custom_webhook", true, "shutdown_timeout", "2s", "timeout", "2s"));
            SlackAlert current = new SlackAlert("reload", config, new TestContext());
            long rssBefore = 0;
            long nativeBefore = 0;
            int javaBefore = 0;
            long started = 0;
            int warmUp = 30;
            for (int i = 1; i <= warmUp + count; i++) {
                if (i == warmUp + 1) {
                    settle();
                    javaBefore = threads.getThreadCount();
                    rssBefore = Proc.rssKb();
                    nativeBefore = rssBefore - jvmCommittedKb();
                    started = System.nanoTime();
                }
                SlackAlert next = new SlackAlert("reload", config, new TestContext());
                SlackAlert old = current;
                java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
                List<java.util.concurrent.Future<?>> filtering = new ArrayList<>();
                for (int w = 0; w < 2; w++) {
                    filtering.add(workers.submit(() -> {
                        while (!stop.get()) {
                            old.filter(info, NO_OP);
                        }
                    }));
                }
                Thread.sleep(2);
                old.close();
                stop.set(true);
                for (java.util.concurrent.Future<?> f : filtering) {
                    f.get();
                }
                current = next;
            }
            long tookMs = (System.nanoTime() - started) / 1_000_000;
            settle();
            int javaAfter = threads.getThreadCount();
            long rssAfter = Proc.rssKb();
            long nativeAfter = rssAfter - jvmCommittedKb();
            current.close();
            System.out.printf("%d reloads (after %d to warm up) in %,d ms (%.1f ms each): Java threads %d -> %d;"
                    + " RSS %s -> %s (%+.1f MB); outside the JVM's pools %+.1f MB (the old test bounds: RSS under"
                    + " +96 MB, outside under +64 MB over 100): %s%n", count, warmUp, tookMs, tookMs / (double) count,
                    javaBefore, javaAfter, Proc.mb(rssBefore), Proc.mb(rssAfter), (rssAfter - rssBefore) / 1024.0,
                    (nativeAfter - nativeBefore) / 1024.0,
                    rssAfter - rssBefore < 96 * 1024 && nativeAfter - nativeBefore < 64 * 1024 ? "within" : "OVER");
        } finally {
            workers.shutdownNow();
        }
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
