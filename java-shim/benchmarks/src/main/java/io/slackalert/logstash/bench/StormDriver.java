package io.slackalert.logstash.bench;

import co.elastic.logstash.api.Event;
import co.elastic.logstash.api.FilterMatchListener;
import io.slackalert.logstash.SlackAlert;
import io.slackalert.logstash.testkit.ReceiverProcess;
import io.slackalert.logstash.testkit.TestConfiguration;
import io.slackalert.logstash.testkit.TestContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The error storm: {@code --events} events (default 1,000,000) with {@code --error-rate} errors
 * (default 0.2) from {@code --fingerprints} distinct fingerprints (default 50), pushed through
 * {@code SlackAlert.filter} by {@code --workers} threads (default 2) in batches of 125 as fast as
 * the filter takes them, against the local Slack-compatible receiver limiting at 1 post/s (burst
 * 1). Once with Slack healthy, once hung (requests never answered), once answering every post 429
 * {@code Retry-After: 1}; in each, the storm is repeated {@code --repeat} times (default 5) on the
 * same filter, for a median and a range. Then Slack recovers and the filter is closed, delivering
 * what it holds; the posts are checked against the configured rate, and every matched event must
 * be counted in exactly one delivered message (an alert, a repeat report or a summary).
 *
 * <pre>
 * java -Dslackalert.receiver=target/release/fake-slack -cp ... io.slackalert.logstash.bench.StormDriver
 *     [--events N] [--error-rate F] [--fingerprints N] [--workers N] [--repeat N]
 *     [--phases healthy,hung,429,500]
 * </pre>
 */
public final class StormDriver {

    private static final FilterMatchListener NO_OP = event -> { };
    private static final Pattern SUMMARY = Pattern.compile("^slack_alert summary: ([0-9,]+) events? ");
    private static final Pattern REPEAT = Pattern.compile(" repeated ([0-9,]+) more times?");

    private StormDriver() {
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        long events = args.getLong("events", 1_000_000);
        double errorRate = args.getDouble("error-rate", 0.2);
        int fingerprints = (int) args.getLong("fingerprints", BenchEvents.MAX_FINGERPRINTS);
        int workers = (int) args.getLong("workers", 2);
        int repeat = (int) args.getLong("repeat", 5);
        String[] phases = args.get("phases", "healthy,hung,429").split(",");

        // 100,000 events, cycled: enough variety without holding a million events.
        List<List<Event>> pool = new BenchEvents(1L).batches(800, errorRate, fingerprints);
        System.out.printf("storm: %,d events, %.0f%% errors from %d fingerprints, %d workers, batches of %d,"
                + " %d storms per phase%n", events, errorRate * 100, fingerprints, workers, BenchEvents.BATCH, repeat);

        // Warm the JIT on a dry run, so the first phase is not the only one paying for it.
        SlackAlert warm = new SlackAlert("warm-up", withLibrary(TestConfiguration.of("dry_run", true)), new TestContext());
        storm(warm, pool, 300_000, workers);
        warm.close();

        List<String> rows = new ArrayList<>();
        for (String phase : phases) {
            rows.add(phase(phase.trim(), pool, events, workers, repeat));
        }
        System.out.println();
        System.out.println("| Slack | filter throughput, median (range) | matched | posts | max posts in any 1 s"
                + " | 429s answered | Retry-After violations | send failures | accounted | check |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|");
        rows.forEach(System.out::println);
    }

    private static String phase(String phase, List<List<Event>> pool, long events, int workers, int repeat)
            throws Exception {
        try (ReceiverProcess receiver = ReceiverProcess.start("--rate-limit", "1", "--burst", "1")) {
            answerAs(receiver, phase);
            TestContext context = new TestContext();
            SlackAlert filter = new SlackAlert("storm", withLibrary(TestConfiguration.of(
                    "webhook_url", receiver.webhookUrl(), "allow_custom_webhook", true,
                    "shutdown_timeout", "300s")), context);
            double[] rates = new double[repeat];
            for (int r = 0; r < repeat; r++) {
                double seconds = storm(filter, pool, events, workers);
                rates[r] = events / seconds;
                System.out.printf("%s: %,.0f events/s (%,d events in %.2f s)%n", phase, rates[r], events, seconds);
            }
            java.util.Arrays.sort(rates);
            String rate = String.format("%,.0f events/s (%,.0f–%,.0f)", rates[repeat / 2], rates[0], rates[repeat - 1]);

            // Slack recovers; closing delivers everything held (windows, summaries, failures).
            receiver.setMode("{\"mode\":\"ok\"}");
            long closing = System.nanoTime();
            filter.close();
            System.out.printf("%s: closed in %.1f s%n", phase, (System.nanoTime() - closing) / 1e9);

            Map<String, Object> counters = context.metricOf("storm").gauges();
            Map<String, Object> stats = receiver.stats();
            long accounted = 0;
            for (Map<String, Object> message : receiver.messages()) {
                accounted += eventsIn(String.valueOf(message.get("text")));
            }
            long matched = ((Number) counters.get("matched")).longValue();
            boolean ok = accounted == matched;
            System.out.printf("%s: counters %s%n%s: receiver %s%n", phase, counters, phase, stats);
            return String.format("| %s | %s | %,d | %s | %s | %s | %s | %s | %,d | %s |",
                    phase, rate, matched, stats.get("posts"), stats.get("max_posts_in_any_1s"),
                    stats.get("rate_limited"), stats.get("violations"), counters.get("send_failures"),
                    accounted, ok ? "every matched event accounted for" : "MISMATCH");
        }
    }

    /** How many matched events a delivered message accounts for. */
    static long eventsIn(String text) {
        Matcher summary = SUMMARY.matcher(text);
        if (summary.find()) {
            return Long.parseLong(summary.group(1).replace(",", ""));
        }
        Matcher repeat = REPEAT.matcher(text);
        if (repeat.find()) {
            return Long.parseLong(repeat.group(1).replace(",", ""));
        }
        return 1;
    }

    /** Pushes {@code events} events from the pool through the filter; returns the seconds it took. */
    static double storm(SlackAlert filter, List<List<Event>> pool, long events, int workers) throws InterruptedException {
        long batches = events / BenchEvents.BATCH;
        AtomicLong next = new AtomicLong();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            Thread t = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                long b;
                while ((b = next.getAndIncrement()) < batches) {
                    filter.filter(pool.get((int) (b % pool.size())), NO_OP);
                }
            }, "worker-" + w);
            t.start();
            threads.add(t);
        }
        long started = System.nanoTime();
        start.countDown();
        for (Thread t : threads) {
            t.join();
        }
        return (System.nanoTime() - started) / 1e9;
    }

    /**
     * Has {@code receiver} answer as the Slack of a phase: {@code healthy} (as started), {@code hung},
     * {@code 429} (Retry-After: 1) or {@code 500}.
     *
     * @throws IllegalArgumentException for any other phase
     */
    static void answerAs(ReceiverProcess receiver, String phase) {
        switch (phase) {
            case "healthy":
                break;
            case "hung":
                receiver.setMode("{\"mode\":\"hang\"}");
                break;
            case "429":
                receiver.setMode("{\"mode\":\"status\",\"status\":429,\"retry_after\":1}");
                break;
            case "500":
                receiver.setMode("{\"mode\":\"status\",\"status\":500}");
                break;
            default:
                throw new IllegalArgumentException("unknown phase " + phase);
        }
    }

    /** Adds {@code native_library} when {@code -Dslackalert.native} names one. */
    static TestConfiguration withLibrary(TestConfiguration config) {
        String library = System.getProperty("slackalert.native");
        return library == null || library.isEmpty() ? config : config.with("native_library", library);
    }
}
