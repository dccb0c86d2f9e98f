package io.slackalert.logstash.testkit;

import co.elastic.logstash.api.Event;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An {@link Event} with Logstash's semantics for field references and values.
 *
 * <p>Values are {@link String}, {@link Long}, {@link Double}, {@link Boolean}, {@link List},
 * {@link Map} or {@link TestTimestamp} (for {@code @timestamp}). {@link #getField} of a missing
 * path is null and, like Logstash, returns copies of maps and lists, so a plugin cannot change an
 * event by accident through them. See {@link FieldReference} for the reference syntax.
 */
public final class TestEvent implements Event {

    public static final String TIMESTAMP = "@timestamp";

    private static final Pattern SPRINTF = Pattern.compile("%\\{([^}]+)\\}");

    private Map<String, Object> data;
    private Map<String, Object> metadata;
    private boolean cancelled;

    /** An event with {@code @timestamp} set to now. */
    public TestEvent() {
        this(new LinkedHashMap<>());
    }

    /** An event with a copy of {@code fields}; {@code @timestamp} is parsed or set to now. */
    public TestEvent(Map<String, ?> fields) {
        this.data = new LinkedHashMap<>();
        this.metadata = new LinkedHashMap<>();
        for (Map.Entry<String, ?> e : fields.entrySet()) {
            if (e.getKey().equals(FieldReference.METADATA) && e.getValue() instanceof Map) {
                metadata.putAll(asStringMap(normalize(e.getValue())));
            } else {
                data.put(e.getKey(), normalize(e.getValue()));
            }
        }
        Object ts = data.get(TIMESTAMP);
        if (ts instanceof String) {
            try {
                data.put(TIMESTAMP, TestTimestamp.parse((String) ts));
            } catch (RuntimeException unparseable) {
                data.put("_@timestamp", ts);
                data.put(TIMESTAMP, TestTimestamp.now());
            }
        } else if (ts instanceof Instant) {
            data.put(TIMESTAMP, new TestTimestamp((Instant) ts));
        } else if (!(ts instanceof TestTimestamp)) {
            data.put(TIMESTAMP, TestTimestamp.now());
        }
    }

    /** An event from one JSON line (an object), as Logstash's json codec would make it. */
    public static TestEvent fromJson(String line) {
        return new TestEvent(LogstashJson.parseObject(line));
    }

    /** Converts Java values to the types Logstash stores: Integer → Long, Float → Double, etc. */
    static Object normalize(Object value) {
        if (value instanceof Integer || value instanceof Short || value instanceof Byte) {
            return ((Number) value).longValue();
        }
        if (value instanceof Float) {
            return ((Float) value).doubleValue();
        }
        if (value instanceof Map) {
            Map<String, Object> copy = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                copy.put(String.valueOf(e.getKey()), normalize(e.getValue()));
            }
            return copy;
        }
        if (value instanceof Collection) {
            List<Object> copy = new ArrayList<>();
            for (Object item : (Collection<?>) value) {
                copy.add(normalize(item));
            }
            return copy;
        }
        if (value instanceof Instant) {
            return new TestTimestamp((Instant) value);
        }
        return value;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asStringMap(Object normalizedMap) {
        return (Map<String, Object>) normalizedMap;
    }

    @Override
    public Map<String, Object> getData() {
        return data;
    }

    @Override
    public Map<String, Object> getMetadata() {
        return metadata;
    }

    @Override
    public void cancel() {
        cancelled = true;
    }

    @Override
    public void uncancel() {
        cancelled = false;
    }

    @Override
    public boolean isCancelled() {
        return cancelled;
    }

    @Override
    public Instant getEventTimestamp() {
        Object ts = data.get(TIMESTAMP);
        return ts instanceof TestTimestamp ? ((TestTimestamp) ts).toInstant() : null;
    }

    @Override
    public void setEventTimestamp(Instant t) {
        data.put(TIMESTAMP, new TestTimestamp(t));
    }

    @Override
    public Object getField(String reference) {
        return normalize(getUnconvertedField(reference));
    }

    @Override
    public Object getUnconvertedField(String reference) {
        FieldReference ref = FieldReference.parse(reference);
        Object node = ref.isMetadata() ? metadata : data;
        for (String segment : ref.path()) {
            node = child(node, segment);
            if (node == null) {
                return null;
            }
        }
        return node;
    }

    private static Object child(Object node, String segment) {
        if (node instanceof Map) {
            return ((Map<?, ?>) node).get(segment);
        }
        if (node instanceof List) {
            List<?> list = (List<?>) node;
            try {
                int i = Integer.parseInt(segment);
                if (i < 0) {
                    i += list.size();
                }
                return i >= 0 && i < list.size() ? list.get(i) : null;
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return null;
    }

    @Override
    @SuppressWarnings("unchecked")
    public void setField(String reference, Object value) {
        FieldReference ref = FieldReference.parse(reference);
        List<String> path = ref.path();
        if (path.isEmpty()) {
            if (!(value instanceof Map)) {
                throw new IllegalArgumentException("@metadata must be set to a map");
            }
            metadata = asStringMap(normalize(value));
            return;
        }
        if (!ref.isMetadata() && path.size() == 1 && path.get(0).equals(TIMESTAMP)) {
            Object ts = normalize(value);
            data.put(TIMESTAMP, ts instanceof String ? TestTimestamp.parse((String) ts) : ts);
            return;
        }
        Map<String, Object> node = ref.isMetadata() ? metadata : data;
        for (int i = 0; i < path.size() - 1; i++) {
            Object next = node.get(path.get(i));
            if (!(next instanceof Map)) {
                next = new LinkedHashMap<String, Object>();
                node.put(path.get(i), next);
            }
            node = (Map<String, Object>) next;
        }
        node.put(path.get(path.size() - 1), normalize(value));
    }

    @Override
    public boolean includes(String field) {
        FieldReference ref = FieldReference.parse(field);
        Object node = ref.isMetadata() ? metadata : data;
        List<String> path = ref.path();
        for (int i = 0; i < path.size(); i++) {
            if (node instanceof Map) {
                Map<?, ?> map = (Map<?, ?>) node;
                if (!map.containsKey(path.get(i))) {
                    return false;
                }
                node = map.get(path.get(i));
            } else {
                node = child(node, path.get(i));
                if (node == null) {
                    return false;
                }
            }
        }
        return true;
    }

    /** A deep copy of the event's data (without metadata). */
    @Override
    public Map<String, Object> toMap() {
        return asStringMap(normalize(data));
    }

    @Override
    public Event overwrite(Event e) {
        this.data = asStringMap(normalize(e.getData()));
        this.metadata = asStringMap(normalize(e.getMetadata()));
        this.cancelled = e.isCancelled();
        return this;
    }

    @Override
    @SuppressWarnings("unchecked")
    public Event append(Event e) {
        for (Map.Entry<String, Object> field : e.getData().entrySet()) {
            Object mine = data.get(field.getKey());
            Object theirs = normalize(field.getValue());
            if (mine == null) {
                data.put(field.getKey(), theirs);
            } else if (!field.getKey().equals(TIMESTAMP) && !mine.equals(theirs)) {
                List<Object> merged = mine instanceof List ? (List<Object>) mine : new ArrayList<>(List.of(mine));
                if (theirs instanceof List) {
                    merged.addAll((List<Object>) theirs);
                } else {
                    merged.add(theirs);
                }
                data.put(field.getKey(), merged);
            }
        }
        return this;
    }

    @Override
    public Object remove(String path) {
        FieldReference ref = FieldReference.parse(path);
        List<String> segments = ref.path();
        if (segments.isEmpty()) {
            Object old = metadata;
            metadata = new LinkedHashMap<>();
            return old;
        }
        Object node = ref.isMetadata() ? metadata : data;
        for (int i = 0; i < segments.size() - 1; i++) {
            node = child(node, segments.get(i));
        }
        if (node instanceof Map) {
            return ((Map<?, ?>) node).remove(segments.get(segments.size() - 1));
        }
        return null;
    }

    /** Replaces each {@code %{reference}} by the field's value; missing fields stay as written. */
    @Override
    public String sprintf(String s) {
        Matcher m = SPRINTF.matcher(s);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            Object value = getField(m.group(1));
            String replacement;
            if (value == null) {
                replacement = m.group(0);
            } else if (value instanceof Map || value instanceof List) {
                replacement = LogstashJson.write(value);
            } else {
                replacement = value.toString();
            }
            m.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        return out.toString();
    }

    @Override
    public Event clone() {
        TestEvent copy = new TestEvent(toMap());
        copy.metadata = asStringMap(normalize(metadata));
        copy.cancelled = cancelled;
        return copy;
    }

    @Override
    @SuppressWarnings("unchecked")
    public void tag(String tag) {
        Object tags = data.get("tags");
        List<Object> list;
        if (tags instanceof List) {
            list = (List<Object>) tags;
        } else {
            list = new ArrayList<>();
            if (tags != null) {
                list.add(tags);
            }
            data.put("tags", list);
        }
        if (!list.contains(tag)) {
            list.add(tag);
        }
    }

    /** The event's data as JSON. */
    @Override
    public String toString() {
        return LogstashJson.write(data);
    }
}
