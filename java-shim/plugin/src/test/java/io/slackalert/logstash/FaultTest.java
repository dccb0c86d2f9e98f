package io.slackalert.logstash;

import static io.slackalert.logstash.Fixtures.SECRET_TOKEN;
import static io.slackalert.logstash.Fixtures.event;
import static io.slackalert.logstash.Fixtures.filter;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import co.elastic.logstash.api.Event;
import co.elastic.logstash.api.Password;
import io.slackalert.logstash.testkit.CountingMatchListener;
import io.slackalert.logstash.testkit.LogLine;
import io.slackalert.logstash.testkit.ReceiverProcess;
import io.slackalert.logstash.testkit.TestConfiguration;
import io.slackalert.logstash.testkit.TestContext;
import java.io.IOException;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Slack failing in every way it can, through the real plugin and the real native library, each
 * fault against its own {@code fake-slack}. The faults run side by side, next to one filter
 * posting to a healthy receiver, so the scenario takes as long as the slowest fault:
 *
 * <ol>
 *   <li><b>flow</b>: another thread filters the same batches (1% errors) through the healthy
 *       filter and every faulty one in turn while each Slack is failing; all of it must return
 *       (polled, with a ceiling far past any machine's slowness), every batch handed back as it
 *       came and every error reported to the match listener. How long each call takes, faulty
 *       against healthy, is measured by {@code scripts/bench filter-latency}, not asserted here;
 *   <li><b>failure</b>: the posts follow the rules (4xx never retried; 5xx and network failures
 *       retried {@code max_retries} times with backoff; 429 waits as long as Retry-After says, or
 *       backs off, and never counts as a failure), and the failure is logged once with Slack's
 *       error string, not per event;
 *   <li><b>recovery</b>: each receiver answers ok again (for "refused" a receiver starts on the
 *       port) and every alert that failed reaches Slack as a count in a summary; a rate-limited
 *       alert is delivered itself. A TLS failure cannot recover here (nothing local has a
 *       certificate the engine trusts), so it is checked for failure only;
 *   <li><b>close</b> returns (polled, with the same ceiling) and logs its shutdown report; how
 *       long it takes is measured by {@code scripts/bench filter-latency}.
 * </ol>
 *
 * <p>No log line, gauge or exception of any of it may contain the webhook's secret path.
 */
class FaultTest {

    /** What kind of answer a fault is, which decides the retry rule. */
    enum Kind { PERMANENT, TRANSIENT, RATE_LIMITED }

    enum Fault {
        REFUSED("connection refused", null, Kind.TRANSIENT, "could not connect"),
        HANG("hang past the timeout", "{\"mode\":\"hang\"}", Kind.TRANSIENT, "timed out"),
        STATUS_500("500 rollup_error", "{\"mode\":\"status\",\"status\":500}", Kind.TRANSIENT,
                "500 rollup_error"),
        RATE_LIMITED_RETRY_AFTER("429 with Retry-After",
                "{\"mode\":\"status\",\"status\":429,\"retry_after\":1}", Kind.RATE_LIMITED, "rate limiting"),
        RATE_LIMITED("429 without Retry-After", "{\"mode\":\"status\",\"status\":429}", Kind.RATE_LIMITED,
                "rate limiting"),
        NO_SERVICE_404("404 no_service", "{\"mode\":\"status\",\"status\":404,\"error\":\"no_service\"}",
                Kind.PERMANENT, "404 no_service"),
        INVALID_BLOCKS_400("400 invalid_blocks",
                "{\"mode\":\"status\",\"status\":400,\"error\":\"invalid_blocks\"}", Kind.PERMANENT,
                "400 invalid_blocks"),
        TLS_FAILURE("TLS failure", null, Kind.TRANSIENT, "could not connect");

        final String label;
        final String modeJson;
        final Kind kind;
        /** Text the one log line about this failure must contain. */
        final String logged;

        Fault(String label, String modeJson, Kind kind, String logged) {
            this.label = label;
            this.modeJson = modeJson;
            this.kind = kind;
            this.logged = logged;
        }

        boolean recovers() {
            return this != TLS_FAILURE;
        }

        /** Whether the receiver sees the posts (not for a refused connection or a failed handshake). */
        boolean receiverSeesPosts() {
            return this != REFUSED && this != TLS_FAILURE;
        }
    }

    private static final long MAX_RETRIES = 1;
    private static final long SHUTDOWN_TIMEOUT_MS = 3000;
    /** Rounds of filtering while Slack fails; one round filters one batch through every filter. */
    private static final int ROUNDS = 360;
    /**
     * How long the test waits for something that should happen: far past what a loaded CI machine
     * needs; it runs out only when the thing never happens.
     */
    private static final long CEILING_SECONDS = 60;
    /** Distinct problems among the errors: three alerts per filter, the rest repeats. */
    private static final String[] PROBLEMS = {"problem alpha", "problem beta", "problem gamma"};
    private static final Pattern SUMMARY = Pattern.compile("^slack_alert summary: ([\\d,]+) events?");

    /** One filter and what it posts to. */
    private static final class Setup {
        final Fault fault;
        final TestContext context = new TestContext();
        final List<String> problems = new ArrayList<>();
        final List<String> notes = new ArrayList<>();
        ReceiverProcess receiver;
        int closedPort;
        String webhook;
        SlackAlert filter;
        long recoveredAfterMs = -1;

        Setup(Fault fault) {
            this.fault = fault;
        }

        String name() {
            return fault == null ? "healthy" : fault.label;
        }

        long counter(String name) {
            return Fixtures.counter(filter, name);
        }

        /** Posts the receiver answered, in order (empty if it sees none). */
        List<Map<String, Object>> posts() {
            return receiver == null ? List.of() : receiver.received();
        }

        long loggedLines(String needle) {
            return context.logger().lines().stream().filter(l -> l.text().contains(needle)).count();
        }

        void check(boolean ok, String problem) {
            if (!ok) {
                problems.add(problem);
            }
        }
    }

    @TestFactory
    Stream<DynamicTest> everyFaultKeepsTheFilterFlowingFollowsTheRetryRulesAndRecovers() throws Exception {
        List<ReceiverProcess> processes = new ArrayList<>();
        Setup healthy = new Setup(null);
        List<Setup> faults = new ArrayList<>();
        try {
            healthy.receiver = ReceiverProcess.start();
            processes.add(healthy.receiver);
            healthy.webhook = secretWebhook(healthy.receiver.baseUrl());
            healthy.filter = filter(config(healthy.webhook), healthy.context);
            for (Fault fault : Fault.values()) {
                Setup s = new Setup(fault);
                faults.add(s);
                if (fault == Fault.REFUSED) {
                    s.closedPort = freePort();
                    s.webhook = secretWebhook("http://127.0.0.1:" + s.closedPort);
                } else {
                    s.receiver = ReceiverProcess.start();
                    processes.add(s.receiver);
                    if (fault == Fault.TLS_FAILURE) {
                        // The engine speaks TLS to a plain-HTTP server: the handshake fails.
                        s.webhook = secretWebhook(s.receiver.baseUrl().replace("http://", "https://"));
                    } else {
                        s.receiver.setMode(fault.modeJson);
                        s.webhook = secretWebhook(s.receiver.baseUrl());
                    }
                }
                s.filter = filter(config(s.webhook), s.context);
            }

            filterWhileFailing(healthy, faults);
            awaitFailurePhase(faults);
            long recoveryStarted = System.nanoTime();
            for (Setup s : faults) {
                if (s.fault == Fault.REFUSED) {
                    s.receiver = ReceiverProcess.start("--listen", "127.0.0.1:" + s.closedPort);
                    processes.add(s.receiver);
                } else if (s.fault.recovers()) {
                    s.receiver.setMode("{\"mode\":\"ok\"}");
                }
            }
            awaitRecovery(faults, recoveryStarted);
            closeAll(healthy, faults);
            for (Setup s : faults) {
                checkNoSecret(s);
                if (s.receiver != null) {
                    List<Object> violations = s.receiver.violations();
                    s.check(violations.isEmpty(), "the receiver saw breaches of Slack's rules: " + violations);
                }
            }
            checkNoSecret(healthy);
            assertTrue(healthy.problems.isEmpty(), healthy.problems.toString());
        } finally {
            for (Setup s : faults) {
                if (s.filter != null) {
                    s.filter.close();
                }
            }
            if (healthy.filter != null) {
                healthy.filter.close();
            }
            processes.forEach(ReceiverProcess::close);
        }
        for (Setup s : faults) {
            System.out.printf("fault %-24s %s%n", s.name(), String.join("; ", s.notes));
        }
        return faults.stream().map(s -> dynamicTest(s.name(), () -> assertTrue(s.problems.isEmpty(),
                s.name() + ":\n  " + String.join("\n  ", s.problems) + "\nlog:\n" + s.context.logger().allText())));
    }

    private static TestConfiguration config(String webhook) {
        return TestConfiguration.of("webhook_url", new Password(webhook), "allow_custom_webhook", true,
                "timeout", "500ms", "max_retries", MAX_RETRIES, "dedup_window", "5m", "rate_limit", 3600L,
                "burst", 100L, "shutdown_timeout", SHUTDOWN_TIMEOUT_MS + "ms");
    }

    /** A webhook on {@code base} whose path carries the test suite's secret token. */
    private static String secretWebhook(String base) {
        return base + "/services/T0SECRET/B0SECRET/" + SECRET_TOKEN;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** Four batches of 125 events with 5 errors among them: 1%, cycling through the problems. */
    private static List<List<Event>> batches() {
        List<List<Event>> batches = new ArrayList<>();
        int errors = 0;
        for (int b = 0; b < 4; b++) {
            List<Event> batch = new ArrayList<>();
            for (int i = 0; i < 125; i++) {
                if ((b * 125 + i) % 100 == 0) {
                    batch.add(event("ERROR", PROBLEMS[errors++ % PROBLEMS.length] + " in the checkout"));
                } else {
                    batch.add(event(i % 2 == 0 ? "INFO" : "DEBUG", "request " + i + " served"));
                }
            }
            batches.add(batch);
        }
        return batches;
    }

    /**
     * Filters the same batches through every filter in turn on another thread while every Slack is
     * failing, and waits for it by polling, up to the ceiling: a filter that waited on Slack would
     * never get through (the hung receiver never answers). Every batch must come back as the same
     * collection, unchanged in size, and every error must reach the match listener.
     */
    private static void filterWhileFailing(Setup healthy, List<Setup> faults) throws Exception {
        List<Setup> all = new ArrayList<>();
        all.add(healthy);
        all.addAll(faults);
        List<List<Event>> batches = batches();
        long errorsPerCycle = 0;
        ExecutorService worker = Executors.newSingleThreadExecutor();
        try {
            Future<Map<Setup, long[]>> filtering = worker.submit(() -> {
                Map<Setup, long[]> seen = new java.util.HashMap<>();
                for (Setup s : all) {
                    seen.put(s, new long[2]);
                }
                for (int r = 0; r < ROUNDS; r++) {
                    List<Event> batch = batches.get(r % batches.size());
                    for (int k = 0; k < all.size(); k++) {
                        Setup s = all.get((r + k) % all.size());
                        CountingMatchListener listener = new CountingMatchListener();
                        int size = batch.size();
                        java.util.Collection<Event> out = s.filter.filter(batch, listener);
                        long[] counts = seen.get(s);
                        counts[0] += out == batch && out.size() == size ? 0 : 1;
                        counts[1] += listener.count();
                    }
                }
                return seen;
            });
            for (List<Event> batch : batches) {
                errorsPerCycle += batch.stream().filter(Fixtures::alerts).count();
            }
            Map<Setup, long[]> seen;
            try {
                seen = filtering.get(CEILING_SECONDS, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                for (Setup s : faults) {
                    s.problems.add("filtering " + ROUNDS + " batches did not return within " + CEILING_SECONDS
                            + " s while Slack was failing: the filter waits on Slack");
                }
                return;
            }
            long expectedErrors = errorsPerCycle * ROUNDS / batches.size();
            for (Setup s : all) {
                long[] counts = seen.get(s);
                s.check(counts[0] == 0, counts[0] + " batches came back changed or not at all");
                s.check(counts[1] == expectedErrors, "the match listener saw " + counts[1] + " errors, expected "
                        + expectedErrors);
            }
        } finally {
            worker.shutdownNow();
        }
    }

    /** Drains every filter's engine log into its logger, as Logstash's periodic flush does. */
    private static void flushAll(List<Setup> setups) {
        for (Setup s : setups) {
            s.filter.flush(new CountingMatchListener());
        }
    }

    /** Waits until every fault shows its retry pattern and its one log line. */
    private static void awaitFailurePhase(List<Setup> faults) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CEILING_SECONDS);
        List<Setup> waiting = new ArrayList<>(faults);
        while (!waiting.isEmpty() && System.nanoTime() < deadline) {
            flushAll(faults);
            waiting.removeIf(FaultTest::failurePatternSeen);
            sleep(20);
        }
        for (Setup s : faults) {
            flushAll(List.of(s));
            long failures = s.counter("send_failures");
            long retries = s.counter("retries");
            List<Map<String, Object>> posts = s.posts();
            s.notes.add(String.format("while failing: %d posts, %d retries, %d failed messages", posts.size(),
                    retries, failures));
            if (waiting.contains(s)) {
                s.problems.add(String.format("the failure pattern never showed: %d posts %s, retries %d,"
                        + " send_failures %d, %d log lines with \"%s\"", posts.size(), statuses(posts), retries,
                        failures, s.loggedLines(s.fault.logged), s.fault.logged));
                continue;
            }
            s.context.logger().lines().stream().filter(l -> l.text().contains(s.fault.logged)).findFirst()
                    .ifPresent(l -> s.notes.add("logged " + l));
            s.check(s.loggedLines(s.fault.logged) == 1, "\"" + s.fault.logged + "\" should be logged exactly once,"
                    + " got " + s.loggedLines(s.fault.logged) + " with " + failures + " failed messages");
            checkGaps(s, posts);
        }
    }

    /**
     * Returns true if and only if the fault's rule shows in the counters and the receiver's log at a
     * quiet moment (between two posts), and its log line was written.
     */
    private static boolean failurePatternSeen(Setup s) {
        long failures = s.counter("send_failures");
        long retries = s.counter("retries");
        int posts = s.posts().size();
        if (s.loggedLines(s.fault.logged) == 0) {
            return false;
        }
        switch (s.fault.kind) {
            case PERMANENT:
                // Three alerts (and a summary) refused, each posted once: never retried.
                return failures >= 3 && retries == 0 && posts == failures;
            case TRANSIENT:
                // Each failed message posted 1 + max_retries times.
                return failures >= 2 && retries == failures * MAX_RETRIES
                        && (!s.fault.receiverSeesPosts() || posts == failures * (1 + MAX_RETRIES));
            default:
                // Retried as long as Slack says 429, never given up on.
                return posts >= 3 && failures == 0 && retries == posts;
        }
    }

    private static List<Object> statuses(List<Map<String, Object>> posts) {
        return posts.stream().map(p -> p.get("status")).collect(Collectors.toList());
    }

    /** The time between consecutive posts: backoff, Retry-After and pacing, as the rule says. */
    private static void checkGaps(Setup s, List<Map<String, Object>> posts) {
        long[] at = posts.stream().mapToLong(p -> ((Number) p.get("at_ms")).longValue()).toArray();
        long[] gaps = new long[Math.max(0, at.length - 1)];
        for (int i = 1; i < at.length; i++) {
            gaps[i - 1] = at[i] - at[i - 1];
        }
        if (gaps.length > 0) {
            s.notes.add("gaps between posts (ms) " + Arrays.toString(gaps));
        }
        for (int i = 0; i < gaps.length; i++) {
            long least;
            switch (s.fault) {
                case RATE_LIMITED_RETRY_AFTER:
                    least = 950; // Retry-After: 1
                    break;
                case RATE_LIMITED:
                    least = 950L << Math.min(i, 5); // backoff from 1 s, doubling
                    break;
                case HANG:
                    least = 950; // the 500 ms timeout, then a backoff of at least 500 ms or the 1 s pace
                    break;
                case STATUS_500:
                    least = 450; // a backoff of at least half the 1 s base
                    break;
                default:
                    least = 0; // 4xx: not retried; the pace (1 s) applies between messages
            }
            s.check(gaps[i] >= least, "post " + (i + 2) + " came " + gaps[i] + " ms after the one before,"
                    + " expected at least " + least + " ms: " + Arrays.toString(gaps));
        }
    }

    /** Waits until each recovered fault's undelivered alerts reached Slack. */
    private static void awaitRecovery(List<Setup> faults, long started) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CEILING_SECONDS);
        List<Setup> waiting = faults.stream().filter(s -> s.fault.recovers()).collect(Collectors.toList());
        while (!waiting.isEmpty() && System.nanoTime() < deadline) {
            flushAll(faults);
            for (Setup s : new ArrayList<>(waiting)) {
                if (recovered(s)) {
                    s.recoveredAfterMs = (System.nanoTime() - started) / 1_000_000;
                    s.notes.add("recovered " + s.recoveredAfterMs + " ms after Slack did");
                    waiting.remove(s);
                }
            }
            sleep(50);
        }
        for (Setup s : waiting) {
            s.problems.add("nothing reported after Slack recovered: accepted " + texts(s.receiver.messages())
                    + ", alerts " + s.counter("alerts") + ", send_failures " + s.counter("send_failures"));
        }
    }

    private static List<String> texts(List<Map<String, Object>> messages) {
        return messages.stream().map(m -> String.valueOf(m.get("text"))).collect(Collectors.toList());
    }

    /**
     * Returns true if and only if every alert reached Slack either itself or counted in a summary:
     * the summaries' event counts add up to the alerts that were not delivered.
     */
    private static boolean recovered(Setup s) {
        List<String> texts = texts(s.receiver.messages());
        long alerts = s.counter("alerts");
        long delivered = texts.stream().filter(t -> Arrays.stream(PROBLEMS).anyMatch(t::contains)
                && !t.startsWith("slack_alert summary")).count();
        long summarised = 0;
        for (String t : texts) {
            Matcher m = SUMMARY.matcher(t);
            if (m.find()) {
                summarised += Long.parseLong(m.group(1).replace(",", ""));
            }
        }
        if (s.fault.kind == Kind.RATE_LIMITED) {
            return delivered == alerts && alerts == PROBLEMS.length && s.counter("send_failures") == 0;
        }
        return summarised > 0 && delivered + summarised == alerts && alerts == PROBLEMS.length;
    }

    /**
     * Closes every filter at once; each must return (polled, up to the ceiling) and log its shutdown
     * report. How long close takes against a hung Slack is measured by {@code scripts/bench
     * filter-latency}.
     */
    private static void closeAll(Setup healthy, List<Setup> faults) throws Exception {
        List<Setup> all = new ArrayList<>(faults);
        all.add(healthy);
        ExecutorService pool = Executors.newFixedThreadPool(all.size());
        try {
            List<Future<?>> closing = new ArrayList<>();
            for (Setup s : all) {
                closing.add(pool.submit(() -> s.filter.close()));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CEILING_SECONDS);
            for (int i = 0; i < all.size(); i++) {
                Setup s = all.get(i);
                try {
                    closing.get(i).get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    s.problems.add("close did not return within " + CEILING_SECONDS + " s");
                    continue;
                }
                s.check(s.context.logger().allText().contains("stopped in"), "no shutdown report logged");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static void checkNoSecret(Setup s) {
        Predicate<String> leaks = text -> text.contains(SECRET_TOKEN) || text.contains("T0SECRET");
        for (LogLine line : s.context.logger().lines()) {
            s.check(!leaks.test(line.text()), "the webhook leaked into the log: " + line);
        }
        String gauges = s.context.metricOf("slack_alert_test").gauges().toString();
        s.check(!leaks.test(gauges), "the webhook leaked into a metric: " + gauges);
        s.check(!leaks.test(s.filter.toString()), "the webhook leaked into toString()");
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
