package io.slackalert.logstash;

import static io.slackalert.logstash.Fixtures.event;
import static io.slackalert.logstash.Fixtures.filter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Event;
import co.elastic.logstash.api.Password;
import io.slackalert.logstash.testkit.CountingMatchListener;
import io.slackalert.logstash.testkit.ReceiverProcess;
import io.slackalert.logstash.testkit.TestConfiguration;
import io.slackalert.logstash.testkit.TestContext;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A hung Slack under an error storm, through the real plugin and native library: the queue stays
 * full, memory stays flat, every alert that could not be queued is counted and the counts reach
 * Slack once it answers again; and stopping with hundreds of alerts queued is bounded and says
 * what was lost.
 *
 * <p>The storm lasts {@code -Dslackalert.soak.seconds} (8 by default; {@code scripts/soak} runs it
 * for minutes).
 */
class StormTest {

    private static final Pattern SUMMARY = Pattern.compile("^slack_alert summary: ([\\d,]+) events?");

    private static ReceiverProcess receiver;

    @BeforeAll
    static void startReceiver() throws Exception {
        receiver = ReceiverProcess.start();
    }

    @AfterAll
    static void stopReceiver() {
        if (receiver != null) {
            receiver.close();
        }
    }

    @BeforeEach
    void reset() {
        receiver.reset();
    }

    private static TestConfiguration config(Object... more) {
        return TestConfiguration.of("webhook_url", new Password(receiver.webhookUrl()), "allow_custom_webhook", true,
                "rate_limit", 3600L, "burst", 1000L).merge(more);
    }

    /**
     * Batches of 125 events, one in ten an error: 2,500 distinct errors in all, more than a summary
     * keeps counts for (1,000). Made once and cycled, so the storm itself allocates little on the
     * Java heap and what memory grows is the native library's.
     */
    private static List<List<Event>> stormBatches(String tag) {
        List<List<Event>> batches = new ArrayList<>();
        for (int b = 0; b < 200; b++) {
            List<Event> events = new ArrayList<>(125);
            for (int i = 0; i < 125; i++) {
                if (i % 10 == 0) {
                    events.add(event("ERROR", "failure " + Fixtures.letters(b * 125 + i) + " in " + tag));
                } else {
                    events.add(event("INFO", "request served"));
                }
            }
            batches.add(events);
        }
        return batches;
    }

    @Test
    void aStormAgainstAHungSlackKeepsMemoryFlatAndEveryAlertReachesSlackAsACount() throws Exception {
        int seconds = Integer.getInteger("slackalert.soak.seconds", 8);
        receiver.setMode("{\"mode\":\"hang\"}");
        TestContext context = new TestContext();
        SlackAlert filter = filter(config("queue_size", 5L, "dedup_window", "0s", "timeout", "1s", "max_retries", 0L,
                "shutdown_timeout", "10s"), context);
        int workers = 2;
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong batches = new AtomicLong();
        AtomicLong slowestNanos = new AtomicLong();
        List<Future<?>> running = new ArrayList<>();
        List<long[]> samples = new ArrayList<>();
        try {
            for (int w = 0; w < workers; w++) {
                String tag = "worker" + w;
                List<List<Event>> mine = stormBatches(tag);
                running.add(pool.submit(() -> {
                    CountingMatchListener listener = new CountingMatchListener();
                    while (!stop.get()) {
                        List<Event> batch = mine.get((int) (batches.incrementAndGet() % mine.size()));
                        long start = System.nanoTime();
                        filter.filter(batch, listener);
                        slowestNanos.accumulateAndGet(System.nanoTime() - start, Math::max);
                        listener.reset();
                    }
                }));
            }
            // Memory at each quarter of the storm (each tenth, for a soak of minutes), after a full
            // collection so that what is left outside the Java heap is what native code holds.
            int parts = Math.max(4, seconds / 10);
            long part = TimeUnit.SECONDS.toNanos(seconds) / parts;
            long next = System.nanoTime();
            for (int q = 1; q <= parts; q++) {
                next += part;
                while (System.nanoTime() < next) {
                    Thread.sleep(250);
                    filter.flush(new CountingMatchListener());
                }
                settle();
                samples.add(new long[] {Fixtures.rssKb(), Fixtures.rssKb() - jvmCommittedKb()});
            }
            stop.set(true);
            for (Future<?> f : running) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            stop.set(true);
            pool.shutdownNow();
        }
        long matched = Fixtures.counter(filter, "matched");
        long dropped = Fixtures.counter(filter, "dropped");
        long events = Fixtures.counter(filter, "events");
        StringBuilder series = new StringBuilder();
        for (long[] sample : samples) {
            series.append(' ').append(sample[0] / 1024).append('/').append(sample[1] / 1024);
        }
        System.out.println("storm memory, RSS/outside the Java heap in MB, every " + seconds / samples.size()
                + " s:" + series);
        // Memory: after the first quarter (the heap sized, JIT, caches, the queue filled) it stays flat.
        long[] early = samples.get(samples.size() / 4);
        long[] peak = {0, 0};
        for (long[] s : samples.subList(samples.size() / 4, samples.size())) {
            peak[0] = Math.max(peak[0], s[0]);
            peak[1] = Math.max(peak[1], s[1]);
        }
        System.out.printf("storm against a hung Slack for %d s: %d events, %d matched, %d dropped, %d rate_limited,"
                + " slowest batch %.1f ms; RSS %d -> peak %d kB, outside the Java heap %d -> peak %d kB%n", seconds,
                events, matched, dropped, Fixtures.counter(filter, "rate_limited"), slowestNanos.get() / 1e6, early[0],
                peak[0], early[1], peak[1]);
        assertTrue(dropped > 0, "the queue never filled");
        // Native memory that leaks grows both; the Java heap sizing itself moves one or the other
        // (RSS when it touches committed pages, the difference when it commits or gives back).
        assertTrue(peak[0] - early[0] < 64 * 1024 || peak[1] - early[1] < 64 * 1024, "RSS grew by "
                + (peak[0] - early[0]) + " kB and memory outside the Java heap by " + (peak[1] - early[1])
                + " kB during the storm");

        // Slack answers again: every matched event reaches it, alone or counted in a summary.
        receiver.setMode("{\"mode\":\"ok\"}");
        Fixtures.await("every matched event to reach Slack", Duration.ofSeconds(60), () -> {
            filter.flush(new CountingMatchListener());
            return accounted(receiver.messages()) >= matched;
        });
        List<Map<String, Object>> messages = receiver.messages();
        assertEquals(matched, accounted(messages), "accounted for exactly once");
        assertTrue(messages.stream().anyMatch(m -> String.valueOf(m.get("text")).contains("lost")),
                "a summary says alerts were lost");
        filter.close();
        assertTrue(receiver.violations().isEmpty(), receiver.violations().toString());
    }

    /** Events the accepted messages account for: one per alert, the stated count per summary. */
    private static long accounted(List<Map<String, Object>> messages) {
        long total = 0;
        for (Map<String, Object> m : messages) {
            Matcher summary = SUMMARY.matcher(String.valueOf(m.get("text")));
            total += summary.find() ? Long.parseLong(summary.group(1).replace(",", "")) : 1;
        }
        return total;
    }

    @Test
    void closeWith500AlertsQueuedAndSlackHungReturnsInTimeAndSaysWhatWasLost() {
        receiver.setMode("{\"mode\":\"hang\"}");
        TestContext context = new TestContext();
        SlackAlert filter = filter(config("queue_size", 1000L, "dedup_window", "0s", "timeout", "10s",
                "shutdown_timeout", "2s"), context);
        List<Event> batch = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            batch.add(event("ERROR", "failure " + Fixtures.letters(i) + " while Slack is slow"));
        }
        CountingMatchListener listener = new CountingMatchListener();
        filter.filter(batch, listener);
        assertEquals(500, listener.count());
        Fixtures.await("the first post to hang", Duration.ofSeconds(10), () -> !receiver.received().isEmpty());
        long start = System.nanoTime();
        filter.close();
        long tookMillis = (System.nanoTime() - start) / 1_000_000;
        String logged = context.logger().allText();
        System.out.println("close with 500 alerts queued and Slack hung took " + tookMillis + " ms");
        assertTrue(tookMillis < 2000 + 1000, "close took " + tookMillis + " ms with shutdown_timeout 2s");
        assertTrue(logged.contains("500 queued messages (accounting for 500 events) could not be delivered in time"),
                logged);
        assertEquals(500L, context.metricOf("slack_alert_test").gaugeValue("alerts"));
    }

    /** Lets the JVM collect and give back memory, so RSS shows what native code holds. */
    private static void settle() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100);
        }
    }

    /** Memory the JVM has committed for its heap and non-heap pools, in kB. */
    private static long jvmCommittedKb() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        return (memory.getHeapMemoryUsage().getCommitted() + memory.getNonHeapMemoryUsage().getCommitted()) / 1024;
    }
}
