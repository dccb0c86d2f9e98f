package io.slackalert.logstash.bench;

import co.elastic.logstash.api.Event;
import co.elastic.logstash.api.FilterMatchListener;
import io.slackalert.logstash.SlackAlert;
import io.slackalert.logstash.testkit.ReceiverProcess;
import io.slackalert.logstash.testkit.TestConfiguration;
import io.slackalert.logstash.testkit.TestContext;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * What the engine tests used to assert with a stopwatch ("a submit took 156 ms with the queue
 * full"), measured instead: the distribution of {@code SlackAlert.filter()} call times through the
 * real plugin and the real native library, with Slack healthy and with Slack hung (never answering,
 * so the queue is full and alerts are dropped and counted), and as a dry run (no Slack at all: the
 * floor), in one JVM. Each phase has its own
 * filter and its own {@code fake-slack}; the phases alternate in turns of {@code --turn}
 * batches (default 500) for {@code --rounds} rounds (default 40), so they share the machine's
 * noise. Then each filter is closed and the time {@code close()} takes is reported (the hung one
 * hits its {@code shutdown_timeout} of 1 s).
 *
 * <p>The traffic is batches of 125 {@link BenchEvents} events: mostly INFO/DEBUG/WARN with 1%
 * errors from 50 fingerprints, and every tenth batch a storm batch (20% errors, two of them new
 * problems, so new alerts keep arriving and the hung queue stays full). The rule is tight
 * ({@code queue_size} 5, {@code rate_limit} 60, {@code burst} 5, {@code dedup_window} 10s), so
 * dedup windows close all the time and the engine's timer renders their repeat reports.
 *
 * <p>For the slowest calls (above p99.9) it also prints where they fall within the engine's 250 ms
 * timer tick (start time modulo 250 ms, in 10 bins): if the timer thread rendering under the engine
 * lock held up {@code filter()}, they would bunch in one bin.
 *
 * <pre>
 * java -Dslackalert.receiver=target/release/fake-slack -cp ... io.slackalert.logstash.bench.FilterLatencyDriver
 *     [--rounds N] [--turn N] [--phases healthy,hung,dry_run,429,500]
 * </pre>
 */
public final class FilterLatencyDriver {

    private static final FilterMatchListener NO_OP = event -> { };
    /** The engine's timer tick in production (EngineOptions::new). */
    private static final long TICK_NANOS = 250_000_000L;
    private static final int TICK_BINS = 10;
    private static final java.lang.management.ThreadMXBean CPU =
            java.lang.management.ManagementFactory.getThreadMXBean();

    private FilterLatencyDriver() {
    }

    /** One phase: a filter posting to a receiver in one mode, and what its calls took. */
    private static final class Phase {
        final String name;
        final ReceiverProcess receiver;
        final TestContext context = new TestContext();
        final SlackAlert filter;
        /** The OS threads (tid → name) that starting this filter added to the process. */
        final Map<String, String> threads = new java.util.TreeMap<>();
        long callerCpuNanos;
        long callerWallNanos;
        long[] took = new long[1 << 16];
        long[] at = new long[1 << 16];
        int n;

        Phase(String name) throws Exception {
            this.name = name;
            receiver = ReceiverProcess.start();
            // A dry run posts nothing: its receiver stays healthy.
            StormDriver.answerAs(receiver, name.equals("dry_run") ? "healthy" : name);
            Map<String, String> before = tasks();
            filter = new SlackAlert(name, StormDriver.withLibrary(TestConfiguration.of(
                    "webhook_url", receiver.webhookUrl(), "allow_custom_webhook", true,
                    "queue_size", 5L, "rate_limit", 60L, "burst", 5L, "dedup_window", "10s",
                    "timeout", "10s", "max_retries", 1L, "shutdown_timeout", "1s",
                    "dry_run", name.equals("dry_run"))), context);
            // Let the native threads start, then remember which are this filter's.
            Thread.sleep(200);
            tasks().forEach((tid, thread) -> {
                if (!before.containsKey(tid)) {
                    threads.put(tid, thread);
                }
            });
        }

        void record(long startNanos, long nanos) {
            if (n == took.length) {
                took = Arrays.copyOf(took, n * 2);
                at = Arrays.copyOf(at, n * 2);
            }
            at[n] = startNanos;
            took[n++] = nanos;
        }
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        int rounds = (int) args.getLong("rounds", 40);
        int turn = (int) args.getLong("turn", 500);
        String[] names = args.get("phases", "healthy,hung,dry_run").split(",");

        BenchEvents events = new BenchEvents(7L);
        List<List<Event>> quiet = events.batches(400, 0.01, BenchEvents.MAX_FINGERPRINTS);
        List<List<Event>> storm = events.batches(40, 0.20, BenchEvents.MAX_FINGERPRINTS);
        System.out.printf("filter-latency: %d rounds of %d batches per phase, phases %s; batches of %d, every tenth"
                + " a storm batch (20%% errors, 2 new problems), the rest 1%% errors from %d fingerprints%n",
                rounds, turn, String.join(",", names), BenchEvents.BATCH, BenchEvents.MAX_FINGERPRINTS);

        // Warm the JIT on a dry run, so that the first phase does not pay for it alone.
        SlackAlert warm = new SlackAlert("warm-up", StormDriver.withLibrary(TestConfiguration.of("dry_run", true)),
                new TestContext());
        for (int b = 0; b < 20_000; b++) {
            warm.filter(quiet.get(b % quiet.size()), NO_OP);
        }
        warm.close();

        List<Phase> phases = new ArrayList<>();
        try {
            for (String name : names) {
                phases.add(new Phase(name.trim()));
            }
            long distinct = 0;
            long origin = System.nanoTime();
            for (int r = 0; r < rounds; r++) {
                // Rotate who goes first, so that no phase always follows the same one.
                for (int k = 0; k < phases.size(); k++) {
                    Phase p = phases.get((r + k) % phases.size());
                    long cpu0 = CPU.getCurrentThreadCpuTime();
                    long wall0 = System.nanoTime();
                    for (int b = 0; b < turn; b++) {
                        List<Event> batch;
                        if (b % 10 == 9) {
                            batch = new ArrayList<>(storm.get((b / 10) % storm.size()));
                            batch.set(3, events.event(events.distinctError(distinct++)));
                            batch.set(64, events.event(events.distinctError(distinct++)));
                        } else {
                            batch = quiet.get((r * turn + b) % quiet.size());
                        }
                        long start = System.nanoTime();
                        p.filter.filter(batch, NO_OP);
                        p.record(start - origin, System.nanoTime() - start);
                    }
                    p.callerCpuNanos += CPU.getCurrentThreadCpuTime() - cpu0;
                    p.callerWallNanos += System.nanoTime() - wall0;
                }
            }

            System.out.println();
            System.out.println("| Slack | calls | p50 | p90 | p99 | p99.9 | max | per event at p50 | calls over 1 ms"
                    + " | slowest 0.1% by phase of the 250 ms tick (10 bins) |");
            System.out.println("|---|---|---|---|---|---|---|---|---|---|");
            for (Phase p : phases) {
                long[] sorted = Arrays.copyOf(p.took, p.n);
                Arrays.sort(sorted);
                long p999 = rank(sorted, 99.9);
                int[] bins = new int[TICK_BINS];
                int overOneMs = 0;
                for (int i = 0; i < p.n; i++) {
                    overOneMs += p.took[i] > 1_000_000 ? 1 : 0;
                    if (p.took[i] > p999) {
                        bins[(int) ((p.at[i] % TICK_NANOS) * TICK_BINS / TICK_NANOS)]++;
                    }
                }
                System.out.printf("| %s | %,d | %s | %s | %s | %s | %s | %.0f ns | %.2f%% | %s |%n", p.name, p.n,
                        us(rank(sorted, 50)), us(rank(sorted, 90)), us(rank(sorted, 99)), us(p999),
                        us(sorted[sorted.length - 1]), rank(sorted, 50) / (double) BenchEvents.BATCH,
                        100.0 * overOneMs / p.n, Arrays.toString(bins));
            }
            System.out.println();
            System.out.println("CPU time of each filter's own threads over the whole run (all phases' threads run"
                    + " all the time; only the caller's thread alternates):");
            for (Phase p : phases) {
                System.out.printf("  %s, the calling thread during its turns: CPU %.0f ms of %.0f ms wall (%.0f%%)%n",
                        p.name, p.callerCpuNanos / 1e6, p.callerWallNanos / 1e6,
                        100.0 * p.callerCpuNanos / p.callerWallNanos);
            }
            for (Phase p : phases) {
                StringBuilder line = new StringBuilder();
                p.threads.forEach((tid, thread) -> line.append(String.format(" %s %d ms;", thread, cpuMillis(tid))));
                System.out.printf("  %s:%s%n", p.name, line);
            }
            System.out.println();
            for (Phase p : phases) {
                int posts = p.receiver.received().size();
                long start = System.nanoTime();
                p.filter.close();
                System.out.printf("close() with Slack %s (queue_size 5, shutdown_timeout 1s): %.0f ms%n", p.name,
                        (System.nanoTime() - start) / 1e6);
                Map<String, Object> gauges = p.context.metricOf(p.name).gauges();
                System.out.printf("  counters at close: matched %s, alerts %s, repeats %s, rate_limited %s, dropped %s,"
                        + " sent %s; the receiver saw %d posts before close%n", gauges.get("matched"),
                        gauges.get("alerts"), gauges.get("repeats"), gauges.get("rate_limited"), gauges.get("dropped"),
                        gauges.get("sent"), posts);
            }
        } finally {
            for (Phase p : phases) {
                p.filter.close();
                p.receiver.close();
            }
        }
    }

    /** This process's OS threads: tid → name, from {@code /proc/self/task}. */
    private static Map<String, String> tasks() throws java.io.IOException {
        Map<String, String> out = new java.util.HashMap<>();
        try (java.nio.file.DirectoryStream<java.nio.file.Path> dir =
                java.nio.file.Files.newDirectoryStream(java.nio.file.Paths.get("/proc/self/task"))) {
            for (java.nio.file.Path task : dir) {
                try {
                    out.put(task.getFileName().toString(),
                            new String(java.nio.file.Files.readAllBytes(task.resolve("comm"))).trim());
                } catch (java.io.IOException gone) {
                    // The thread ended while we looked.
                }
            }
        }
        return out;
    }

    /** User and system CPU time of one thread so far, in ms ({@code /proc/self/task/tid/stat}). */
    private static long cpuMillis(String tid) {
        try {
            String stat = new String(java.nio.file.Files.readAllBytes(
                    java.nio.file.Paths.get("/proc/self/task", tid, "stat")));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // Fields 14 and 15 of stat (utime, stime), counted after the name: indexes 11 and 12.
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10;
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
    }

    /** The {@code p}-th percentile of sorted values (nearest rank). */
    private static long rank(long[] sorted, double p) {
        int i = (int) Math.ceil(p / 100 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    private static String us(long nanos) {
        return nanos >= 1_000_000 ? String.format("%.2f ms", nanos / 1e6) : String.format("%.1f µs", nanos / 1e3);
    }
}
