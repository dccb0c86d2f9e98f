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
 * <p>The {@code app-*} phases run the same storms in Slack app mode ({@code slack_token}, one
 * message per incident kept current with {@code chat.update} every {@code update_interval} 1s)
 * against the fake Slack's Web API at Slack's tiers: {@code app-healthy}; {@code app-updates-hung},
 * every {@code chat.update} left unanswered (posts still answered); {@code app-updates-429}, every
 * {@code chat.update} answered 429 {@code Retry-After: 1}. Then the Web API recovers and the
 * filter is closed; every matched event must be counted by what the channel shows: each message's
 * final status line, and the summaries. App mode runs with {@code rate_limit} 3600 and
 * {@code burst} 100 ({@code --app-rate-limit}, {@code --app-burst}), so that every incident gets a
 * message to keep current. Their table ends with each phase's median throughput over
 * {@code app-healthy}'s, measured in the same run.
 *
 * <pre>
 * java -Dslackalert.receiver=target/release/fake-slack -cp ... io.slackalert.logstash.bench.StormDriver
 *     [--events N] [--error-rate F] [--fingerprints N] [--workers N] [--repeat N]
 *     [--phases healthy,hung,429,500,app-healthy,app-updates-hung,app-updates-429]
 * </pre>
 */
public final class StormDriver {

    private static final FilterMatchListener NO_OP = event -> { };
    private static final Pattern SUMMARY = Pattern.compile("^slack_alert summary: ([0-9,]+) events? ");
    private static final Pattern REPEAT = Pattern.compile(" repeated ([0-9,]+) more times?");
    /** An app-mode message's status line: {@code 🔁 Seen 1,234×} or {@code ... · 1,234 events ...}. */
    private static final Pattern SEEN = Pattern.compile("Seen ([0-9,]+)×");
    private static final Pattern STATUS_EVENTS = Pattern.compile(" · ([0-9,]+) events?");
    /** The median throughput of each app phase, for the ratios to app-healthy. */
    private static final Map<String, Double> APP_MEDIANS = new java.util.LinkedHashMap<>();
    /** App mode's rate_limit and burst: by default every incident gets its message. */
    private static final long[] APP_RATE = {3600, 100};

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
        APP_RATE[0] = args.getLong("app-rate-limit", APP_RATE[0]);
        APP_RATE[1] = args.getLong("app-burst", APP_RATE[1]);

        // 100,000 events, cycled: enough variety without holding a million events.
        List<List<Event>> pool = new BenchEvents(1L).batches(800, errorRate, fingerprints);
        System.out.printf("storm: %,d events, %.0f%% errors from %d fingerprints, %d workers, batches of %d,"
                + " %d storms per phase%n", events, errorRate * 100, fingerprints, workers, BenchEvents.BATCH, repeat);

        // Warm the JIT on a dry run, so the first phase is not the only one paying for it.
        SlackAlert warm = new SlackAlert("warm-up", withLibrary(TestConfiguration.of("dry_run", true)), new TestContext());
        storm(warm, pool, 300_000, workers);
        warm.close();

        List<String> rows = new ArrayList<>();
        List<String> appRows = new ArrayList<>();
        for (String phase : phases) {
            String name = phase.trim();
            if (name.startsWith("app-")) {
                appRows.add(appPhase(name, pool, events, workers, repeat));
            } else {
                rows.add(phase(name, pool, events, workers, repeat));
            }
        }
        if (!rows.isEmpty()) {
            System.out.println();
            System.out.println("| Slack | filter throughput, median (range) | matched | posts | max posts in any 1 s"
                    + " | 429s answered | Retry-After violations | send failures | accounted | check |");
            System.out.println("|---|---|---|---|---|---|---|---|---|---|");
            rows.forEach(System.out::println);
        }
        if (!appRows.isEmpty()) {
            Double healthy = APP_MEDIANS.get("app-healthy");
            System.out.println();
            System.out.println("| Slack (app mode) | filter throughput, median (range) | vs app-healthy | matched | messages"
                    + " | updates | 429s answered | violations | send failures | accounted | check |");
            System.out.println("|---|---|---|---|---|---|---|---|---|---|---|");
            for (String row : appRows) {
                String phase = row.substring(2, row.indexOf(' ', 2));
                String ratio = healthy == null ? "—" : String.format("%.2f×", APP_MEDIANS.get(phase) / healthy);
                System.out.println(row.replace("| RATIO |", "| " + ratio + " |"));
            }
        }
    }

    /** One storm phase in app mode; its table row, with {@code RATIO} where the ratio goes. */
    private static String appPhase(String phase, List<List<Event>> pool, long events, int workers, int repeat)
            throws Exception {
        try (ReceiverProcess receiver = ReceiverProcess.start()) {
            answerAs(receiver, phase);
            TestContext context = new TestContext();
            SlackAlert filter = new SlackAlert("storm", withLibrary(TestConfiguration.of(
                    "slack_token", "xoxb-1-2-benchmark", "slack_api_url", receiver.apiUrl(),
                    "allow_custom_webhook", true, "channel", "#storm", "update_interval", "1s",
                    "rate_limit", APP_RATE[0], "burst", APP_RATE[1], "shutdown_timeout", "300s")), context);
            double[] rates = new double[repeat];
            for (int r = 0; r < repeat; r++) {
                double seconds = storm(filter, pool, events, workers);
                rates[r] = events / seconds;
                System.out.printf("%s: %,.0f events/s (%,d events in %.2f s)%n", phase, rates[r], events, seconds);
            }
            java.util.Arrays.sort(rates);
            APP_MEDIANS.put(phase, rates[repeat / 2]);
            String rate = String.format("%,.0f events/s (%,.0f–%,.0f)", rates[repeat / 2], rates[0], rates[repeat - 1]);

            // The Web API recovers (hung calls let go); closing brings every message up to date.
            receiver.clearApiFailures(null);
            long closing = System.nanoTime();
            filter.close();
            System.out.printf("%s: closed in %.1f s%n", phase, (System.nanoTime() - closing) / 1e9);

            Map<String, Object> counters = context.metricOf("storm").gauges();
            long messages = 0;
            long accounted = 0;
            for (Map<String, Object> message : receiver.messagesIn("#storm")) {
                messages++;
                accounted += shownCount(message);
            }
            long updates = receiver.apiCalls().stream()
                    .filter(c -> "chat.update".equals(c.get("method")) && Boolean.TRUE.equals(c.get("ok"))).count();
            Map<String, Object> stats = receiver.apiStats();
            long matched = ((Number) counters.get("matched")).longValue();
            boolean ok = accounted == matched;
            System.out.printf("%s: counters %s%n%s: Web API %s%n", phase, counters, phase, stats);
            return String.format("| %s | %s | RATIO | %,d | %d | %d | %s | %d | %s | %,d | %s |", phase, rate, matched,
                    messages, updates, stats.get("rate_limited"), receiver.violations().size(),
                    counters.get("send_failures"), accounted,
                    ok ? "every matched event accounted for" : "MISMATCH");
        }
    }

    /**
     * How many matched events an app-mode message accounts for: its status line's count (the last
     * context block of its attachment), or a summary's or a repeat report's.
     */
    @SuppressWarnings("unchecked")
    static long shownCount(Map<String, Object> message) {
        String text = String.valueOf(message.get("text"));
        if (SUMMARY.matcher(text).find() || REPEAT.matcher(text).find()) {
            // A summary, or the repeat report of an incident the rate limit held back.
            return eventsIn(text);
        }
        String status = "";
        Object attachments = message.get("attachments");
        if (attachments instanceof List && !((List<Object>) attachments).isEmpty()) {
            Object blocks = ((Map<String, Object>) ((List<Object>) attachments).get(0)).get("blocks");
            for (Object block : blocks instanceof List ? (List<Object>) blocks : List.of()) {
                Map<String, Object> b = (Map<String, Object>) block;
                if ("context".equals(b.get("type"))) {
                    status = String.valueOf(((Map<String, Object>) ((List<Object>) b.get("elements")).get(0)).get("text"));
                }
            }
        }
        Matcher seen = SEEN.matcher(status);
        Matcher events = STATUS_EVENTS.matcher(status);
        String count = seen.find() ? seen.group(1) : events.find() ? events.group(1) : "1";
        return Long.parseLong(count.replace(",", ""));
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
     * {@code 429} (Retry-After: 1) or {@code 500}; in app mode {@code app-healthy},
     * {@code app-updates-hung} or {@code app-updates-429} (Retry-After: 1), updates only.
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
            case "app-healthy":
                break;
            case "app-updates-hung":
                receiver.setApiFailure("chat.update", "{\"mode\":\"hang\"}", null);
                break;
            case "app-updates-429":
                receiver.setApiFailure("chat.update", "{\"mode\":\"status\",\"status\":429,\"retry_after\":1}", null);
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
