package io.slackalert.logstash.bench;

import co.elastic.logstash.api.Event;
import io.slackalert.logstash.testkit.TestEvent;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * An event whose {@link #getField} costs what Logstash's does: the field reference is parsed once
 * and cached (as {@code org.logstash.FieldReference} does), then the path is walked through the
 * event's maps. What is returned depends on the model:
 *
 * <ul>
 *   <li>{@link Model#CONVERTING}: string values are held as UTF-8 bytes and a new {@code String} is
 *       made on every call, as Logstash holds Ruby strings and converts them ({@code Javafier}) on
 *       every {@code getField}. This is the realistic floor.</li>
 *   <li>{@link Model#PLAIN}: the stored Java value is returned as is, allocating nothing: the
 *       cheapest an event could be, which makes any filter's own cost look largest.</li>
 * </ul>
 *
 * <p>The test kit's {@link TestEvent} parses the reference on every call, which would make every
 * filter look cheaper relative to the floor. Every other method is the test kit's.
 */
public final class BenchEvent implements Event {

    /** How {@link #getField} returns values; see the class comment. */
    public enum Model {
        CONVERTING,
        PLAIN,
    }

    private static final Map<String, String[]> PATHS = new ConcurrentHashMap<>();

    private final TestEvent delegate;
    /** The data with every string as UTF-8 bytes ({@link Model#CONVERTING}), else null. */
    private final Map<String, Object> stored;

    public BenchEvent(Map<String, ?> fields) {
        this(fields, Model.PLAIN);
    }

    public BenchEvent(Map<String, ?> fields, Model model) {
        this.delegate = new TestEvent(fields);
        this.stored = model == Model.CONVERTING ? asBytes(delegate.getData()) : null;
    }

    private BenchEvent(TestEvent delegate) {
        this.delegate = delegate;
        this.stored = null;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asBytes(Map<String, Object> data) {
        Map<String, Object> out = new java.util.HashMap<>();
        for (Map.Entry<String, Object> e : data.entrySet()) {
            Object v = e.getValue();
            if (v instanceof String) {
                v = ((String) v).getBytes(StandardCharsets.UTF_8);
            } else if (v instanceof Map) {
                v = asBytes((Map<String, Object>) v);
            }
            out.put(e.getKey(), v);
        }
        return out;
    }

    @Override
    public Object getField(String reference) {
        String[] path = PATHS.get(reference);
        if (path == null) {
            path = PATHS.computeIfAbsent(reference, BenchEvent::parse);
        }
        if (path.length == 0) {
            return delegate.getField(reference);
        }
        Object node = stored != null ? stored : delegate.getData();
        for (String segment : path) {
            if (!(node instanceof Map)) {
                return null;
            }
            node = ((Map<?, ?>) node).get(segment);
            if (node == null) {
                return null;
            }
        }
        if (node instanceof byte[]) {
            return new String((byte[]) node, StandardCharsets.UTF_8);
        }
        return stored != null && node instanceof Map ? delegate.getField(reference) : node;
    }

    /** The path of a reference; empty for {@code @metadata} references, left to the test kit. */
    private static String[] parse(String reference) {
        if (reference.indexOf('[') < 0) {
            return new String[] {reference};
        }
        List<String> segments = new ArrayList<>();
        int i = 0;
        while (i < reference.length() && reference.charAt(i) == '[') {
            int close = reference.indexOf(']', i);
            if (close < 0) {
                break;
            }
            segments.add(reference.substring(i + 1, close));
            i = close + 1;
        }
        if (segments.isEmpty() || segments.get(0).equals("@metadata")) {
            return new String[0];
        }
        return segments.toArray(new String[0]);
    }

    @Override
    public Map<String, Object> getData() {
        return delegate.getData();
    }

    @Override
    public Map<String, Object> getMetadata() {
        return delegate.getMetadata();
    }

    @Override
    public void cancel() {
        delegate.cancel();
    }

    @Override
    public void uncancel() {
        delegate.uncancel();
    }

    @Override
    public boolean isCancelled() {
        return delegate.isCancelled();
    }

    @Override
    public Instant getEventTimestamp() {
        return delegate.getEventTimestamp();
    }

    @Override
    public void setEventTimestamp(Instant t) {
        delegate.setEventTimestamp(t);
    }

    @Override
    public Object getUnconvertedField(String reference) {
        return getField(reference);
    }

    @Override
    public void setField(String reference, Object value) {
        delegate.setField(reference, value);
    }

    @Override
    public boolean includes(String field) {
        return delegate.includes(field);
    }

    @Override
    public Map<String, Object> toMap() {
        return delegate.toMap();
    }

    @Override
    public Event overwrite(Event e) {
        delegate.overwrite(e);
        return this;
    }

    @Override
    public Event append(Event e) {
        delegate.append(e);
        return this;
    }

    @Override
    public Object remove(String path) {
        return delegate.remove(path);
    }

    @Override
    public String sprintf(String s) {
        return delegate.sprintf(s);
    }

    @Override
    public Event clone() {
        return new BenchEvent((TestEvent) delegate.clone());
    }

    @Override
    public void tag(String tag) {
        delegate.tag(tag);
    }

    @Override
    public String toString() {
        return delegate.toString();
    }
}
