package io.slackalert.logstash;

import static io.slackalert.logstash.Fixtures.event;
import static io.slackalert.logstash.Fixtures.filter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Event;
import io.slackalert.logstash.testkit.Await;
import io.slackalert.logstash.testkit.CountingMatchListener;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A hung Slack under an error storm, through the real plugin and native library: the storm gets
 * through while Slack hangs, the queue stays full, every alert that could not be queued is counted
 * and the counts reach Slack once it answers again; and stopping with hundreds of alerts queued
 * returns while Slack still hangs and says what was lost.
 *
 * <p>The storm is {@value #STORM_BATCHES} batches of 125 per worker; with {@code
 * -Dslackalert.soak.seconds} ({@code scripts/soak}) it lasts that long instead. Resident memory is
 * sampled and printed, not asserted: {@code scripts/bench memory} measures it (the {@code storm}
 * case) and says whether it stayed flat.
 */
class StormTest {

    private static final Pattern SUMMARY = Pattern.compile("^slack_alert summary: ([\\d,]+) events?");

    /** Batches each worker filters in the storm (by default). */
    private static final int STORM_BATCHES = 2_000;
    /**
     * How long the test waits for something that should happen: far past what a loaded CI machine
     * needs; it runs out only when the thing never happens (a call waiting on the hung Slack).
     */
    private static final Duration CEILING = Duration.ofSeconds(60);

    @RegisterExtension
    static final Fixtures.SharedReceiver receiver = new Fixtures.SharedReceiver();

    private static TestConfiguration config(Object... more) {
        return receiver.config("rate_limit", 3600L, "burst", 1000L).merge(more);
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
    void aStormAgainstAHungSlackGetsThroughAndEveryAlertReachesSlackAsACount() throws Exception {
        Integer soakSeconds = Integer.getInteger("slackalert.soak.seconds");
        receiver.get().setMode("{\"mode\":\"hang\"}");
        TestContext context = new TestContext();
        // A request timeout far past the ceiling: a filter that waited on Slack could not finish.
        SlackAlert filter = filter(config("queue_size", 5L, "dedup_window", "0s", "timeout", "300s",
                "max_retries", 0L, "shutdown_timeout", "10s"), context);
        int workers = 2;
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong batches = new AtomicLong();
        List<Future<?>> running = new ArrayList<>();
        List<long[]> samples = new ArrayList<>();
        try {
            for (int w = 0; w < workers; w++) {
                String tag = "worker" + w;
                List<List<Event>> mine = stormBatches(tag);
                running.add(pool.submit(() -> {
                    CountingMatchListener listener = new CountingMatchListener();
                    for (int b = 0; soakSeconds != null ? !stop.get() : b < STORM_BATCHES; b++) {
                        List<Event> batch = mine.get((int) (batches.incrementAndGet() % mine.size()));
                        filter.filter(batch, listener);
                        listener.reset();
                    }
                }));
            }
            if (soakSeconds != null) {
                // A soak: memory at each tenth of it, after a full collection, printed for the record.
                int parts = Math.max(4, soakSeconds / 10);
                long part = TimeUnit.SECONDS.toNanos(soakSeconds) / parts;
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
            }
            Await.until("the storm to get through while Slack hangs", CEILING, () -> {
                filter.flush(new CountingMatchListener());
                return running.stream().allMatch(Future::isDone);
            });
            for (Future<?> f : running) {
                f.get();
            }
        } finally {
            stop.set(true);
            pool.shutdownNow();
        }
        assertTrue(receiver.get().messages().isEmpty(), "Slack was hung for the whole storm");
        long matched = Fixtures.counter(filter, "matched");
        long dropped = Fixtures.counter(filter, "dropped");
        StringBuilder series = new StringBuilder();
        for (long[] sample : samples) {
            series.append(' ').append(sample[0] / 1024).append('/').append(sample[1] / 1024);
        }
        System.out.printf("storm against a hung Slack: %d batches, %d events, %d matched, %d dropped, %d rate_limited%s%n",
                batches.get(), batches.get() * 125, matched, dropped, Fixtures.counter(filter, "rate_limited"),
                samples.isEmpty() ? "" : "; RSS/outside the Java heap in MB, every " + soakSeconds / samples.size()
                        + " s:" + series);
        assertEquals(batches.get() * 13, matched, "every error matched (13 in each batch)");
        assertTrue(dropped > 0, "the queue never filled");

        // Slack answers again: every matched event reaches it, alone or counted in a summary.
        receiver.get().setMode("{\"mode\":\"ok\"}");
        Await.until("every matched event to reach Slack", CEILING, () -> {
            filter.flush(new CountingMatchListener());
            return accounted(receiver.get().messages()) >= matched;
        });
        List<Map<String, Object>> messages = receiver.get().messages();
        assertEquals(matched, accounted(messages), "accounted for exactly once");
        assertTrue(messages.stream().anyMatch(m -> String.valueOf(m.get("text")).contains("lost")),
                "a summary says alerts were lost");
        filter.close();
        assertTrue(receiver.get().violations().isEmpty(), receiver.get().violations().toString());
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
    void closeWith500AlertsQueuedAndSlackHungReturnsWhileSlackHangsAndSaysWhatWasLost() throws Exception {
        receiver.get().setMode("{\"mode\":\"hang\"}");
        TestContext context = new TestContext();
        // A request timeout far past the ceiling: a close that waited for the hung post could not
        // return in time. (How long close takes: scripts/bench filter-latency.)
        SlackAlert filter = filter(config("queue_size", 1000L, "dedup_window", "0s", "timeout", "300s",
                "shutdown_timeout", "2s"), context);
        List<Event> batch = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            batch.add(event("ERROR", "failure " + Fixtures.letters(i) + " while Slack is slow"));
        }
        CountingMatchListener listener = new CountingMatchListener();
        filter.filter(batch, listener);
        assertEquals(500, listener.count());
        Await.until("the first post to hang", CEILING, () -> !receiver.get().received().isEmpty());
        ExecutorService closer = Executors.newSingleThreadExecutor();
        try {
            Future<?> closing = closer.submit(filter::close);
            Await.until("close to return while Slack hangs", CEILING, closing::isDone);
            closing.get();
        } finally {
            closer.shutdownNow();
        }
        assertEquals(1, receiver.get().received().size(), "Slack was still hung on the first post");
        String logged = context.logger().allText();
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
