package co.elastic.logstash.api;

import java.util.Collection;
import java.util.Collections;

/** A Logstash Java filter. One instance serves every pipeline worker, concurrently. */
public interface Filter extends Plugin {

    /**
     * @param events        a batch of events
     * @param matchListener to be told of each event the filter acted on
     * @return the events that continue down the pipeline
     */
    Collection<Event> filter(Collection<Event> events, FilterMatchListener matchListener);

    /** Called when the pipeline stops or reloads. */
    default void close() {
        return;
    }

    /**
     * @param matchListener to be told of each event the filter acted on
     * @return events held by the filter
     */
    default Collection<Event> flush(FilterMatchListener matchListener) {
        return Collections.emptyList();
    }

    /** @return true if the filter holds events that must be flushed at shutdown */
    default boolean requiresFlush() {
        return false;
    }

    /** @return true if Logstash should call {@link #flush} about every 5 seconds */
    default boolean requiresPeriodicFlush() {
        return false;
    }
}
