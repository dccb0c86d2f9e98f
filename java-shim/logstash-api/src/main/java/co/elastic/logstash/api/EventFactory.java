package co.elastic.logstash.api;

import java.io.Serializable;
import java.util.Map;

/** Creates events. */
public interface EventFactory {

    /** @return a new, empty event */
    Event newEvent();

    /**
     * @param data the fields to copy into the new event
     * @return a new event
     */
    Event newEvent(final Map<? extends Serializable, Object> data);
}
