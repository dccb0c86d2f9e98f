package io.slackalert.logstash;

import static io.slackalert.logstash.Fixtures.dryRun;
import static io.slackalert.logstash.Fixtures.filter;
import static io.slackalert.logstash.Fixtures.mixedBatch;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Event;
import io.slackalert.logstash.testkit.Await;
import io.slackalert.logstash.testkit.CountingMatchListener;
import io.slackalert.logstash.testkit.TestConfiguration;
import io.slackalert.logstash.testkit.TestContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Logstash constructs a filter before it validates the pipeline, and never closes one it refuses:
 * constructing starts nothing, the engine starts on first use, and a filter dropped without
 * close() has its engine closed once it is garbage. (The same against the real logstash-core:
 * logstash-core-it.)
 */
class LazyStartTest {

    private static final Duration CEILING = Duration.ofSeconds(60);

    @Test
    void constructingStartsNoEngineAndNoThread() {
        filter(dryRun(), new TestContext()).close();
        long before = Fixtures.osThreads();
        List<SlackAlert> filters = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            filters.add(filter(dryRun(), new TestContext()));
        }
        assertEquals(before, Fixtures.osThreads(), "10 constructed filters started threads");
        for (SlackAlert f : filters) {
            assertFalse(f.started());
            f.close();
            assertFalse(f.started(), "close() starts nothing either");
        }
    }

    @Test
    void theFirstBatchStartsTheEngineAndAClosedFilterNeverStartsOne() {
        SlackAlert filter = filter(dryRun(), new TestContext());
        CountingMatchListener listener = new CountingMatchListener();
        filter.filter(mixedBatch(10, "first"), listener);
        assertTrue(filter.started());
        assertEquals(4, listener.count());
        filter.close();

        SlackAlert unused = filter(dryRun(), new TestContext());
        unused.close();
        List<Event> batch = mixedBatch(10, "after close");
        assertSame(batch, unused.filter(batch, listener));
        assertTrue(unused.flush(listener).isEmpty());
        assertFalse(unused.started());
    }

    @Test
    void anUnknownSettingIsRefusedInTheConstructorInLogstashsWords() {
        TestConfiguration config = dryRun("dedup_windw", "5m", "webhok_url", "x");
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> filter(config, new TestContext()));
        SlackAlert valid = filter(dryRun(), new TestContext());
        try {
            assertEquals(String.join("; ", config.validate(valid)), refused.getMessage());
            assertEquals("Unknown setting 'dedup_windw' specified for plugin 'slack_alert';"
                    + " Unknown setting 'webhok_url' specified for plugin 'slack_alert'", refused.getMessage());
        } finally {
            valid.close();
        }
    }

    @Test
    void aStartedFilterDroppedWithoutCloseIsClosedOnceGarbage() {
        TestContext context = new TestContext();
        long handle = startAndDrop(context);
        assertNotNull(NativeCalls.counters(handle));
        Await.until("the engine of a dropped filter is closed", CEILING, () -> {
            System.gc();
            return NativeCalls.counters(handle) == null;
        });
        Await.until("the drop is logged", CEILING,
                () -> context.logger().allText().contains("dropped without being closed"));
    }

    private static long startAndDrop(TestContext context) {
        SlackAlert filter = filter(dryRun(), context);
        filter.filter(mixedBatch(5, "dropped"), new CountingMatchListener());
        return filter.handle();
    }
}
