package io.slackalert.logstash.bench;

import co.elastic.logstash.api.Event;
import co.elastic.logstash.api.Filter;
import co.elastic.logstash.api.FilterMatchListener;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
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
 * {@link FilterBenchmark}'s quiet traffic on the real {@code org.logstash.Event}, whose
 * {@code getField} looks the reference up and converts the JRuby value to Java on every call:
 * the cost {@link BenchEvent}'s {@code converting} model stands in for. Not compiled by Maven
 * (the benchmarks module builds against the API copy): {@code scripts/bench jmh-real} compiles it
 * against the real logstash-core of {@code ../shared/logstash-core}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RealEventBenchmark {

    private static final FilterMatchListener NO_OP = event -> { };

    /**
     * {@code floor_unconverted} reads the level as the event holds it ({@code getUnconvertedField}),
     * as SlackAlert does for text: the cheapest way to look at the level at all.
     */
    @Param({"floor", "slack_alert", "floor_unconverted"})
    public String filter;

    private Filter instance;
    private List<List<Event>> batches;

    @Setup
    public void setUp() {
        batches = new ArrayList<>();
        for (List<Event> batch : new BenchEvents(20240501L).batches(16, 0.0, BenchEvents.MAX_FINGERPRINTS)) {
            List<Event> real = new ArrayList<>(batch.size());
            for (Event event : batch) {
                Map<String, Object> data = new LinkedHashMap<>(event.getData());
                // As a codec hands it over: the text of the time, which the real Event parses.
                data.put("@timestamp", String.valueOf(data.get("@timestamp")));
                real.add(new org.logstash.Event(data));
            }
            batches.add(real);
        }
        switch (filter) {
            case "floor":
                instance = new FloorFilter();
                break;
            case "floor_unconverted":
                instance = new FloorFilter(true);
                break;
            default:
                instance = FilterBenchmark.slackAlert();
        }
    }

    @TearDown
    public void tearDown() {
        instance.close();
    }

    @Benchmark
    @OperationsPerInvocation(BenchEvents.BATCH)
    public Collection<Event> filter(FilterBenchmark.Cursor cursor) {
        return instance.filter(batches.get(cursor.next++ & 15), NO_OP);
    }
}
