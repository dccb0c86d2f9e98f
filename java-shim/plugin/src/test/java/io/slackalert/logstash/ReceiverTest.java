package io.slackalert.logstash;

import static io.slackalert.logstash.Fixtures.event;
import static io.slackalert.logstash.Fixtures.filter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Event;
import io.slackalert.logstash.testkit.Await;
import io.slackalert.logstash.testkit.CountingMatchListener;
import io.slackalert.logstash.testkit.LogstashJson;
import io.slackalert.logstash.testkit.TestConfiguration;
import io.slackalert.logstash.testkit.TestContext;
import io.slackalert.logstash.testkit.TestMetric;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** End to end: the real plugin, the real engine, posting to the real fake-slack. */
class ReceiverTest {

    @RegisterExtension
    static final Fixtures.SharedReceiver receiver = new Fixtures.SharedReceiver();
    private final TestContext context = new TestContext();

    private TestConfiguration config(Object... more) {
        return receiver.config("shutdown_timeout", "5s").merge(more);
    }

    @Test
    void anErrorStormFromEightWorkersIsOneAlertAndOneRepeatReport() throws Exception {
        // A window no machine can outlast: its repeat report comes from close(), so the result does
        // not depend on how fast the storm runs.
        SlackAlert filter = filter(config("dedup_window", "1h"), context);
        int workers = 8;
        int batchesEach = 10;
        List<List<List<Event>>> work = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
            List<List<Event>> batches = new ArrayList<>();
            for (int b = 0; b < batchesEach; b++) {
                List<Event> batch = new ArrayList<>();
                for (int i = 0; i < 125; i++) {
                    batch.add(event("ERROR", "payment failed: connection refused to db-1:5432"));
                }
                batches.add(batch);
            }
            work.add(batches);
        }
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Integer>> matched = new ArrayList<>();
        try {
            for (List<List<Event>> batches : work) {
                matched.add(pool.submit(() -> {
                    CountingMatchListener listener = new CountingMatchListener();
                    go.await();
                    for (List<Event> batch : batches) {
                        filter.filter(batch, listener);
                    }
                    return listener.count();
                }));
            }
            go.countDown();
            int total = 0;
            for (Future<Integer> f : matched) {
                total += f.get(60, TimeUnit.SECONDS);
            }
            assertEquals(10_000, total, "every error is reported to the match listener");
        } finally {
            pool.shutdownNow();
        }

        TestMetric metric = context.metricOf("slack_alert_test");
        List<Map<String, Object>> alerts = receiver.get().awaitMessages(1, Duration.ofSeconds(60));
        assertEquals(1, alerts.size(), "one alert while the window is open: " + alerts);
        filter.flush(new CountingMatchListener());
        assertEquals(10_000L, metric.gaugeValue(SlackAlert.EVENTS_GAUGE));
        assertEquals(1L, metric.gaugeValue("alerts"));
        assertEquals(9_999L, metric.gaugeValue("repeats"));

        filter.close();
        List<Map<String, Object>> messages = receiver.get().messages();
        assertEquals(2, messages.size(), "one alert, then the repeat report close() gives: " + messages);
        String alert = LogstashJson.write(messages.get(0));
        String repeat = LogstashJson.write(messages.get(1));
        assertTrue(alert.contains("payment failed"), alert);
        assertTrue(repeat.contains("9999") || repeat.contains("9,999"), repeat);
        assertTrue(receiver.get().violations().isEmpty(), receiver.get().violations().toString());
        assertEquals(2L, metric.gaugeValue("sent"));
    }

    @Test
    void closeDeliversWhatIsQueuedAndReportsIt() {
        SlackAlert filter = filter(config(), context);
        List<Event> batch = List.of(event("ERROR", "disk full on the primary"),
                event("FATAL", "certificate expired for the gateway"), event("ERROR", "queue consumer stuck"));
        filter.filter(batch, new CountingMatchListener());
        filter.close();
        filter.close();
        assertEquals(3, receiver.get().messages().size());
        String logged = context.logger().allText();
        assertTrue(logged.contains("messages sent in total"), logged);
        String token = receiver.get().webhookUrl().substring(receiver.get().webhookUrl().lastIndexOf('/') + 1);
        assertFalse(logged.contains(token), logged);
        assertEquals(3L, context.metricOf("slack_alert_test").gaugeValue("sent"));
    }

    @Test
    void slackFailuresAreLoggedThroughLogstashAndNeverBreakTheFilter() {
        receiver.get().setMode("{\"mode\":\"status\",\"status\":404,\"error\":\"no_service\"}");
        SlackAlert filter = filter(config(), context);
        try {
            CountingMatchListener listener = new CountingMatchListener();
            filter.filter(List.of(event("ERROR", "first"), event("ERROR", "second")), listener);
            assertEquals(2, listener.count());
            Await.until("the 404 to be logged", Duration.ofSeconds(60), () -> {
                filter.flush(listener);
                return context.logger().allText().contains("no_service");
            });
            String token = receiver.get().webhookUrl().substring(receiver.get().webhookUrl().lastIndexOf('/') + 1);
            assertFalse(context.logger().allText().contains(token), context.logger().allText());
        } finally {
            filter.close();
        }
    }

    @Test
    void closeIsBoundedByShutdownTimeoutWhenSlackHangs() {
        receiver.get().setMode("{\"mode\":\"hang\"}");
        // A request timeout far past the ceiling: a close that waited for the hung post could not
        // return in time. (How long close takes: scripts/bench filter-latency.)
        SlackAlert filter = filter(config("shutdown_timeout", "1s", "timeout", "300s", "max_retries", 0L), context);
        filter.filter(List.of(event("ERROR", "stuck while slack hangs")), new CountingMatchListener());
        ExecutorService closer = Executors.newSingleThreadExecutor();
        try {
            Future<?> closing = closer.submit(filter::close);
            Await.until("close to return while Slack hangs", Duration.ofSeconds(60), closing::isDone);
        } finally {
            closer.shutdownNow();
        }
        String logged = context.logger().allText();
        assertTrue(logged.contains("stopped in"), logged);
        assertEquals(0, receiver.get().messages().size());
        receiver.get().reset();
    }
}
