package io.slackalert.logstash;

import static io.slackalert.logstash.Fixtures.dryRun;
import static io.slackalert.logstash.Fixtures.filter;
import static io.slackalert.logstash.Fixtures.mixedBatch;
import static io.slackalert.logstash.Fixtures.posting;
import static io.slackalert.logstash.Fixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Event;
import io.slackalert.logstash.testkit.Await;
import io.slackalert.logstash.testkit.CountingMatchListener;
import io.slackalert.logstash.testkit.ReceiverProcess;
import io.slackalert.logstash.testkit.TestContext;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Start, close and reload, as Logstash does them, including close() racing the workers. */
class LifecycleTest {

    /**
     * How long the test waits for something that should happen: far past what a loaded CI machine
     * needs; it runs out only when the thing never happens (a close waiting on the hung Slack).
     */
    private static final Duration CEILING = Duration.ofSeconds(60);

    @Test
    void closeWhileEightWorkersFilterNeverCrashesAndEventsKeepFlowing() throws Exception {
        TestContext context = new TestContext();
        SlackAlert filter = filter(dryRun(), context);
        int workers = 8;
        AtomicInteger batchesAfterClose = new AtomicInteger();
        AtomicBoolean closed = new AtomicBoolean();
        try (Workers running = new Workers(workers, (w, b) -> {
            List<Event> batch = mixedBatch(125, "w" + w);
            List<Map<String, Object>> before = snapshot(batch);
            Collection<Event> out = filter.filter(batch, new CountingMatchListener());
            if (closed.get()) {
                batchesAfterClose.incrementAndGet();
            }
            return out != batch || !before.equals(snapshot(batch));
        })) {
            running.awaitStarted();
            filter.close();
            closed.set(true);
            Await.until("workers to keep filtering after close", Duration.ofSeconds(60),
                    () -> batchesAfterClose.get() >= 8 * workers);
            running.stopAndAssertNoWrongBatch();
        }
        filter.close();
        assertTrue(context.logger().allText().contains("stopped in"), context.logger().allText());
        List<Event> late = mixedBatch(10, "late");
        CountingMatchListener listener = new CountingMatchListener();
        assertSame(late, filter.filter(late, listener));
        assertEquals(0, listener.count());
        assertTrue(filter.flush(listener).isEmpty());
    }

    @Test
    void nativeCallsOnAClosedHandleRaceSafely() throws Exception {
        SlackAlert filter = filter(dryRun(), new TestContext());
        long handle = filter.handle();
        filter.close();
        java.nio.ByteBuffer slots = java.nio.ByteBuffer.allocateDirect(NativeEngine.VALUES_OFFSET);
        assertEquals(NativeEngine.CLOSED, NativeCalls.matchBatch(handle, slots, 1));
        assertEquals(NativeEngine.CLOSED, NativeCalls.submit(handle, new String[0], 0));
        assertEquals(0, NativeCalls.drainLogs(handle).length);
        assertNull(NativeCalls.counters(handle));
        assertNull(NativeEngine.close(handle), "close is idempotent");
        assertNull(NativeCalls.levelRefs(handle));
    }

    @Test
    void closeWhileEightWorkersFilterAgainstAHungSlackIsBoundedAndNeverCrashes() throws Exception {
        try (ReceiverProcess receiver = ReceiverProcess.start()) {
            receiver.setMode("{\"mode\":\"hang\"}");
            TestContext context = new TestContext();
            // A request timeout far past the ceiling: a close that waited for the hung post could
            // not return in time. (How long close takes: scripts/bench filter-latency.)
            SlackAlert filter = filter(posting(receiver, "timeout", "300s", "shutdown_timeout", "1s", "dedup_window", "0s"),
                    context);
            ExecutorService closer = Executors.newSingleThreadExecutor();
            try (Workers running = new Workers(8, (w, b) -> {
                List<Event> batch = mixedBatch(125, "hung" + w + "-" + b);
                return filter.filter(batch, new CountingMatchListener()) != batch;
            })) {
                running.awaitStarted();
                Future<?> closing = closer.submit(filter::close);
                Await.until("close to return while Slack hangs", CEILING, closing::isDone);
                closing.get();
                assertTrue(receiver.messages().isEmpty(), "Slack was hung throughout");
                running.stopAndAssertNoWrongBatch();
            } finally {
                closer.shutdownNow();
            }
            String logged = context.logger().allText();
            assertTrue(logged.contains("could not be delivered in time"), logged);
        }
    }

    /**
     * 100 pipeline reloads in one JVM, as Logstash does them: the new instance starts while the
     * old one still filters on two workers, then the old one is closed under them. Every instance
     * posts to a receiver, so the HTTP client and its threads come and go each time. Threads are
     * counted and must not grow; resident memory is printed, not asserted ({@code scripts/bench
     * memory}, the {@code reloads} case, measures it).
     */
    @Test
    void aHundredReloadsWhileWorkersFilterLeakNoThreads() throws Exception {
        int reloads = Integer.getInteger("slackalert.soak.reloads", 100);
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        ExecutorService workers = Executors.newFixedThreadPool(2);
        try (ReceiverProcess receiver = ReceiverProcess.start()) {
            // Warm up: load the library, fill the JIT and the allocators' caches. Memory outside the
            // Java heap (JIT arenas, malloc caches) climbs for the first couple of hundred engines
            // and then stays flat: the bounds below are generous for that and still catch a leak of
            // about 1 MB per engine.
            SlackAlert current = reloadCycle(null, receiver, workers, 0);
            for (int i = 1; i <= 30; i++) {
                current = reloadCycle(current, receiver, workers, i);
            }
            settle();
            int javaBefore = threads.getThreadCount();
            long osBefore = Fixtures.osThreads();
            long rssBefore = Fixtures.rssKb();
            long nativeBefore = rssBefore - jvmCommittedKb();
            long started = System.nanoTime();
            for (int i = 1; i <= reloads; i++) {
                current = reloadCycle(current, receiver, workers, 30 + i);
            }
            long tookMillis = (System.nanoTime() - started) / 1_000_000;
            settle();
            int javaAfter = threads.getThreadCount();
            long osAfter = Fixtures.osThreads();
            long rssAfter = Fixtures.rssKb();
            long nativeAfter = rssAfter - jvmCommittedKb();
            current.close();
            System.out.printf("%d reloads in %d ms: Java threads %d -> %d, OS threads %d -> %d, RSS %d -> %d kB,"
                    + " RSS outside the Java heap %d -> %d kB (%+d kB), receiver got %d posts%n", reloads, tookMillis,
                    javaBefore, javaAfter, osBefore, osAfter, rssBefore, rssAfter, nativeBefore, nativeAfter,
                    nativeAfter - nativeBefore, receiver.received().size());
            assertTrue(javaAfter <= javaBefore + 2, "Java threads grew: " + javaBefore + " -> " + javaAfter);
            assertTrue(osAfter <= osBefore + 2, "OS threads grew (native threads leak): " + osBefore + " -> " + osAfter);
            assertTrue(receiver.violations().isEmpty(), receiver.violations().toString());
        } finally {
            workers.shutdownNow();
        }
    }

    /**
     * One reload: starts a new instance, lets two workers filter through the old one (if any) and
     * closes it under them; the new instance then filters a batch with one error, which it posts.
     */
    private static SlackAlert reloadCycle(SlackAlert old, ReceiverProcess receiver, ExecutorService workers, int n)
            throws Exception {
        SlackAlert next = filter(posting(receiver, "shutdown_timeout", "2s", "timeout", "2s"), new TestContext());
        if (old != null) {
            AtomicBoolean stop = new AtomicBoolean();
            CountDownLatch running = new CountDownLatch(2);
            List<Future<?>> filtering = new ArrayList<>();
            for (int w = 0; w < 2; w++) {
                filtering.add(workers.submit(() -> {
                    boolean counted = false;
                    while (!stop.get()) {
                        old.filter(infoBatch(), new CountingMatchListener());
                        if (!counted) {
                            running.countDown();
                            counted = true;
                        }
                    }
                }));
            }
            assertTrue(running.await(30, TimeUnit.SECONDS), "workers started");
            old.close();
            stop.set(true);
            for (Future<?> f : filtering) {
                f.get(30, TimeUnit.SECONDS);
            }
        }
        List<Event> batch = infoBatch();
        batch.set(7, Fixtures.event("ERROR", "reload " + n + " saw a failure"));
        next.filter(batch, new CountingMatchListener());
        next.flush(new CountingMatchListener());
        return next;
    }

    private static List<Event> infoBatch() {
        List<Event> batch = new ArrayList<>(125);
        for (int i = 0; i < 125; i++) {
            batch.add(Fixtures.event("INFO", "request " + i + " served"));
        }
        return batch;
    }

    /** One batch of a {@link Workers} worker: filters batch {@code batch} of worker {@code worker}. */
    private interface WorkerBatch {
        /** Whether the filter returned the batch changed or not at all. */
        boolean wrong(int worker, int batch);
    }

    /**
     * Pipeline workers: {@code n} threads, each filtering batch after batch until stopped and
     * counting the batches that came back wrong. Closing stops them and shuts the threads down.
     */
    private static final class Workers implements AutoCloseable {
        private final AtomicBoolean stop = new AtomicBoolean();
        private final CountDownLatch running;
        private final ExecutorService pool;
        private final List<Future<Integer>> results = new ArrayList<>();

        Workers(int n, WorkerBatch batch) {
            running = new CountDownLatch(n);
            pool = Executors.newFixedThreadPool(n);
            for (int w = 0; w < n; w++) {
                int worker = w;
                results.add(pool.submit(() -> {
                    int bad = 0;
                    boolean counted = false;
                    for (int b = 0; !stop.get(); b++) {
                        if (batch.wrong(worker, b)) {
                            bad++;
                        }
                        if (!counted) {
                            running.countDown();
                            counted = true;
                        }
                    }
                    return bad;
                }));
            }
        }

        /** Waits until every worker has filtered a batch. */
        void awaitStarted() throws InterruptedException {
            assertTrue(running.await(30, TimeUnit.SECONDS), "workers started");
        }

        /** Stops the workers; every batch came back the same and unchanged. */
        void stopAndAssertNoWrongBatch() throws Exception {
            stop.set(true);
            for (Future<Integer> r : results) {
                assertEquals(0, r.get(30, TimeUnit.SECONDS), "batches returned changed or not at all");
            }
        }

        @Override
        public void close() {
            stop.set(true);
            pool.shutdownNow();
        }
    }

    /** Lets the JVM collect and give back memory, so RSS shows what native code holds. */
    private static void settle() {
        for (int i = 0; i < 3; i++) {
            System.gc();
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Memory the JVM has committed for its heap and non-heap pools, in kB. */
    private static long jvmCommittedKb() {
        java.lang.management.MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        return (memory.getHeapMemoryUsage().getCommitted() + memory.getNonHeapMemoryUsage().getCommitted()) / 1024;
    }

}
