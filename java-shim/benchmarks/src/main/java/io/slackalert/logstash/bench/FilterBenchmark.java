package io.slackalert.logstash.bench;

import co.elastic.logstash.api.Event;
import co.elastic.logstash.api.Filter;
import co.elastic.logstash.api.FilterMatchListener;
import io.slackalert.logstash.SlackAlert;
import io.slackalert.logstash.testkit.TestConfiguration;
import io.slackalert.logstash.testkit.TestContext;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The JVM cost of the filter: nanoseconds per event of {@code filter()} on batches of 125
 * realistic ECS events, for SlackAlert, the floor (reads the level, nothing else) and the pure-Java
 * peer, in one run ({@code rules}: see {@link #rules()}). {@code quiet} traffic is INFO/DEBUG/WARN only (what most batches are);
 * {@code mix} has 1% ERROR events from 50 fingerprints. {@code event} is how {@code getField}
 * returns values (see {@link BenchEvent}): {@code converting} makes a new String per call, as
 * Logstash does; {@code plain} returns the stored value, the cheapest possible floor. Thread count
 * comes from the command line ({@code -t 1}, {@code -t 2}); {@code scripts/bench jmh} runs both
 * with the gc profiler. The 16 batches cycled through (2,000 events) stay in the CPU caches, as a
 * batch that earlier filters just touched would.
 *
 * <p>SlackAlert runs as a dry run with its defaults: the path up to the sender is the real one
 * (matching, the second native call with the matched events' fields, fingerprint, dedup window,
 * rate limit, rendering of first occurrences); only the HTTP post is replaced by a log line.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class FilterBenchmark {

    /** Distinct batches cycled through; a power of two. */
    private static final int BATCHES = 16;

    private static final FilterMatchListener NO_OP = event -> { };

    @Param({"floor", "slack_alert", "pure_java", "rules"})
    public String filter;

    @Param({"quiet", "mix"})
    public String traffic;

    @Param({"converting", "plain"})
    public String event;

    private Filter instance;
    private List<List<Event>> batches;

    @Setup
    public void setUp() {
        double errorRate = traffic.equals("mix") ? 0.01 : 0.0;
        BenchEvent.Model model = event.equals("plain") ? BenchEvent.Model.PLAIN : BenchEvent.Model.CONVERTING;
        batches = new BenchEvents(20240501L, model).batches(BATCHES, errorRate, BenchEvents.MAX_FINGERPRINTS);
        switch (filter) {
            case "floor":
                instance = new FloorFilter();
                break;
            case "slack_alert":
                instance = slackAlert();
                break;
            case "pure_java":
                instance = new PureJavaAlert();
                break;
            case "rules":
                instance = rules();
                break;
            default:
                throw new IllegalArgumentException("unknown filter " + filter);
        }
    }

    /** SlackAlert at its defaults, as a dry run; {@code -Dslackalert.native=PATH} picks a library. */
    static SlackAlert slackAlert() {
        TestConfiguration config = TestConfiguration.of("dry_run", true);
        String library = System.getProperty("slackalert.native");
        if (library != null && !library.isEmpty()) {
            config = config.with("native_library", library);
        }
        return new SlackAlert("bench", config, new TestContext());
    }

    /**
     * SlackAlert with four rules, as a dry run: one per service with {@code equals}, one with an
     * {@code exclude} regex, a threshold grouped by service, and a flatline rule without levels,
     * which makes every event a candidate: its key fields cross to the engine, whatever its level.
     */
    static SlackAlert rules() {
        List<Map<String, Object>> rules = List.of(
                Map.of("name", "checkout", "equals", Map.of("[service.name]", "checkout")),
                Map.of("name", "not_timeouts", "exclude", Map.of("[message]", "(?i)timed? ?out")),
                Map.of("name", "bursts", "threshold", 20L, "threshold_window", "1m",
                        "group_by", "[service.name]"),
                Map.of("name", "silent", "type", "flatline", "silence", "10m"));
        TestConfiguration config = TestConfiguration.of("dry_run", true, "rules", rules);
        String library = System.getProperty("slackalert.native");
        if (library != null && !library.isEmpty()) {
            config = config.with("native_library", library);
        }
        return new SlackAlert("bench-rules", config, new TestContext());
    }

    @TearDown
    public void tearDown() {
        instance.close();
    }

    /** One worker thread's position in the batches; threads start apart. */
    @State(Scope.Thread)
    public static class Cursor {
        private static int threads;
        int next;

        @Setup
        public void setUp() {
            synchronized (Cursor.class) {
                next = threads++ * (BATCHES / 2);
            }
        }
    }

    @Benchmark
    @OperationsPerInvocation(BenchEvents.BATCH)
    public Collection<Event> filter(Cursor cursor) {
        List<Event> batch = batches.get(cursor.next++ & (BATCHES - 1));
        return instance.filter(batch, NO_OP);
    }
}
