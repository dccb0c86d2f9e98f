package io.slackalert.logstash.testkit;

import co.elastic.logstash.api.Event;
import co.elastic.logstash.api.FilterMatchListener;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/** Counts {@code filterMatched} calls and remembers which events (by identity) matched; thread-safe. */
public final class CountingMatchListener implements FilterMatchListener {

    private final Map<Event, Integer> matched = Collections.synchronizedMap(new IdentityHashMap<>());
    private final List<Event> order = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void filterMatched(Event e) {
        matched.merge(e, 1, Integer::sum);
        order.add(e);
    }

    /** How many times {@code filterMatched} was called. */
    public int count() {
        return order.size();
    }

    /** Returns true if and only if {@code e} itself was reported. */
    public boolean matched(Event e) {
        return matched.containsKey(e);
    }

    /** How many times {@code e} itself was reported. */
    public int timesMatched(Event e) {
        return matched.getOrDefault(e, 0);
    }

    /** The reported events in call order. */
    public List<Event> events() {
        synchronized (order) {
            return new ArrayList<>(order);
        }
    }

    public void reset() {
        matched.clear();
        order.clear();
    }
}
