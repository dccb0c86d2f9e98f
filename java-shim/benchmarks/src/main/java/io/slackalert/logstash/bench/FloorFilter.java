package io.slackalert.logstash.bench;

import co.elastic.logstash.api.Event;
import co.elastic.logstash.api.Filter;
import co.elastic.logstash.api.FilterMatchListener;
import co.elastic.logstash.api.PluginConfigSpec;
import java.util.Collection;
import java.util.Collections;

/**
 * The floor: a filter that reads the level field of each event and does nothing else. No filter
 * that looks at levels can be cheaper; SlackAlert's cost on non-matching traffic is measured
 * against it.
 */
public final class FloorFilter implements Filter {

    private static final String LEVEL_FIELD = "[log.level]";

    /** Written so the JIT cannot drop the reads. */
    private volatile int sink;
    /** Reads the level as the event holds it ({@code getUnconvertedField}), not converted. */
    private final boolean unconverted;

    public FloorFilter() {
        this(false);
    }

    public FloorFilter(boolean unconverted) {
        this.unconverted = unconverted;
    }

    @Override
    public Collection<Event> filter(Collection<Event> events, FilterMatchListener matchListener) {
        int present = 0;
        for (Event event : events) {
            if ((unconverted ? event.getUnconvertedField(LEVEL_FIELD) : event.getField(LEVEL_FIELD)) != null) {
                present++;
            }
        }
        sink = present;
        return events;
    }

    @Override
    public Collection<PluginConfigSpec<?>> configSchema() {
        return Collections.emptyList();
    }

    @Override
    public String getId() {
        return "floor";
    }
}
