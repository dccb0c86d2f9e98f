package io.slackalert.logstash;

import static io.slackalert.logstash.Fixtures.dryRun;
import static io.slackalert.logstash.Fixtures.filter;
import static io.slackalert.logstash.Fixtures.mixedBatch;
import static io.slackalert.logstash.Fixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Event;
import io.slackalert.logstash.testkit.CountingMatchListener;
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

    @Test
    void closeWhileEightWorkersFilterNeverCrashesAndEventsKeepFlowing() throws Exception {
        TestContext context = new TestContext();
        SlackAlert filter = filter(dryRun(), context);
        int workers = 8;
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger batchesAfterClose = new AtomicInteger();
        AtomicBoolean closed = new AtomicBoolean();
        CountDownLatch running = new CountDownLatch(workers);
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        List<Future<Integer>> results = new ArrayList<>();
        try {
            for (int w = 0; w < workers; w++) {
                String tag = "w" + w;
                results.add(pool.submit(() -> {
                    int bad = 0;
                    boolean counted = false;
                    while (!stop.get()) {
                        List<Event> batch = mixedBatch(125, tag);
                        List<Map<String, Object>> before = snapshot(batch);
                        Collection<Event> out = filter.filter(batch, new CountingMatchListener());
                        if (out != batch || !before.equals(snapshot(batch))) {
                            bad++;
                        }
                        if (!counted) {
                            running.countDown();
                            counted = true;
                        }
                        if (closed.get()) {
                            batchesAfterClose.incrementAndGet();
                        }
                    }
                    return bad;
                }));
            }
            assertTrue(running.await(30, TimeUnit.SECONDS), "workers started");
            filter.close();
            closed.set(true);
            Fixtures.await("workers to keep filtering after close", Duration.ofSeconds(30),
                    () -> batchesAfterClose.get() >= 8 * workers);
            stop.set(true);
            for (Future<Integer> r : results) {
                assertEquals(0, r.get(30, TimeUnit.SECONDS), "batches returned changed or not at all");
            }
        } finally {
            stop.set(true);
            pool.shutdownNow();
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
        java.nio.ByteBuffer slots = java.nio.ByteBuffer.allocateDirect(NativeEngine.BUFFER_SIZE);
        assertEquals(NativeEngine.CLOSED, NativeEngine.matchBatch(handle, slots, 1));
        assertEquals(NativeEngine.CLOSED, NativeEngine.submit(handle, new String[0], 0));
        assertEquals(0, NativeEngine.drainLogs(handle).length);
        assertNull(NativeEngine.counters(handle));
        assertNull(NativeEngine.close(handle), "close is idempotent");
        assertNull(NativeEngine.levelRefs(handle));
    }

    @Test
    void fiftyCreateCloseCyclesLeakNoThreadsAndLittleMemory() {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        // Warm up: load the library, fill the JIT and the allocators' caches. Measured over 400
        // cycles, memory outside the Java heap (JIT arenas, malloc caches) climbs for the first
        // ~200 cycles to about 45 MB and then stays flat: the bounds below are generous for that
        // and still catch a leak of about 1 MB per engine.
        for (int i = 0; i < 30; i++) {
            cycle();
        }
        settle();
        int javaBefore = threads.getThreadCount();
        long osBefore = Fixtures.osThreads();
        long rssBefore = Fixtures.rssKb();
        long nativeBefore = rssBefore - jvmCommittedKb();
        for (int i = 0; i < 50; i++) {
            cycle();
        }
        settle();
        int javaAfter = threads.getThreadCount();
        long osAfter = Fixtures.osThreads();
        long rssAfter = Fixtures.rssKb();
        long nativeAfter = rssAfter - jvmCommittedKb();
        System.out.printf("50 create/close cycles: Java threads %d -> %d, OS threads %d -> %d, RSS %d -> %d kB,"
                + " RSS outside the Java heap %d -> %d kB (%+d kB)%n", javaBefore, javaAfter, osBefore, osAfter,
                rssBefore, rssAfter, nativeBefore, nativeAfter, nativeAfter - nativeBefore);
        assertTrue(javaAfter <= javaBefore + 2, "Java threads grew: " + javaBefore + " -> " + javaAfter);
        assertTrue(osAfter <= osBefore + 2, "OS threads grew (native threads leak): " + osBefore + " -> " + osAfter);
        assertTrue(rssAfter - rssBefore < 96 * 1024, "RSS grew by " + (rssAfter - rssBefore) + " kB");
        assertTrue(nativeAfter - nativeBefore < 64 * 1024,
                "memory outside the Java heap grew by " + (nativeAfter - nativeBefore) + " kB");
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

    private static void cycle() {
        TestContext context = new TestContext();
        SlackAlert filter = filter(dryRun("shutdown_timeout", "1s"), context);
        filter.filter(mixedBatch(125, "cycle"), new CountingMatchListener());
        filter.flush(new CountingMatchListener());
        filter.close();
    }
}
