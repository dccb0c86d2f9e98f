package co.elastic.logstash.api;

/** Told of each event a filter acted on; Logstash then applies the common options to it. */
public interface FilterMatchListener {
    /** @param e an event the filter matched */
    void filterMatched(Event e);
}
