package io.slackalert.logstash;

import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.Iterator;
import java.util.Map;

/**
 * The native methods of the Rust JNI library ({@code rust/jni/src/lib.rs}) and the layout of the
 * buffer they share with the shim.
 *
 * <p>A handle is an opaque id into the library's registry, never a pointer; a closed or unknown
 * handle makes {@link #matchBatch} and {@link #submit} return {@link #CLOSED}, which is not an
 * error: {@code close()} may race with pipeline workers by design. A panic inside the library
 * surfaces as an {@link IllegalStateException} whose message starts with
 * {@code "slack_alert native failure:"}.
 *
 * <h2>Slot buffer</h2>
 * <pre>
 * offset i * SLOT_SIZE       slot of event i: byte 0 = length 0..31 of the ASCII level text in
 *                            bytes 1..31, or NO_LEVEL (missing, null, too long, non-ASCII, other type)
 * offset MASK_OFFSET + i     written by {@link #matchBatch}: ALERT_CANDIDATE (1) if an alert rule
 *                            takes event i's level, HEARTBEAT_ONLY (2) if only flatline rules take
 *                            it, NOT_CANDIDATE (0) otherwise
 * </pre>
 * The same constants are defined in {@code rust/jni/src/slots.rs}; change both together.
 */
final class NativeEngine {

    /** Bytes per event slot. */
    static final int SLOT_SIZE = 32;
    /** Longest level text a slot carries. */
    static final int MAX_LEVEL_LEN = SLOT_SIZE - 1;
    /** Most events per {@link #matchBatch} call. */
    static final int MAX_BATCH = 1024;
    /** Where the match mask starts in the slot buffer. */
    static final int MASK_OFFSET = MAX_BATCH * SLOT_SIZE;
    /** Capacity of the direct buffer given to {@link #matchBatch}. */
    static final int BUFFER_SIZE = MASK_OFFSET + MAX_BATCH;
    /** Slot length byte meaning "no usable level". */
    static final byte NO_LEVEL = (byte) 0xFF;
    /** Or-ed into a count when the engine has log lines to drain. */
    static final int LOGS_PENDING = 0x40000000;
    /** Returned by {@link #matchBatch} and {@link #submit} for a closed handle. */
    static final int CLOSED = -1;
    /** {@link #matchBatch} mask: no rule takes the event. */
    static final byte NOT_CANDIDATE = 0;
    /** {@link #matchBatch} mask: an alert rule takes the event's level; see {@link #submitKeys}. */
    static final byte ALERT_CANDIDATE = 1;
    /** {@link #matchBatch} mask: only flatline rules take the event; see {@link #heartbeats}. */
    static final byte HEARTBEAT_ONLY = 2;
    /** {@link #submitKeys} mask: decided, no alert rule matched the event. */
    static final byte DECIDED_UNMATCHED = 0;
    /** {@link #submitKeys} mask: not decided; submit the event with every field. It matched. */
    static final byte UNDECIDED = 1;
    /** {@link #submitKeys} mask: decided, and an alert rule matched the event. */
    static final byte DECIDED_MATCHED = 2;

    private NativeEngine() {
    }

    /**
     * Validates the options (a JSON object) as {@link #create} does, starting nothing.
     *
     * @throws IllegalArgumentException naming the bad option
     */
    static native void validate(String configJson);

    /**
     * Validates the options (a JSON object) and starts an engine.
     *
     * @return the handle
     * @throws IllegalArgumentException naming the bad option
     * @throws IllegalStateException    if the engine cannot start
     */
    static native long create(String configJson);

    /** @return field references the level is read from, tried in order; null once closed */
    static native String[] levelRefs(long handle);

    /** @return field references whose values {@link #submit} expects per event; null once closed */
    static native String[] eventRefs(long handle);

    /**
     * @return the subset of {@link #eventRefs} whose values {@link #submitKeys} expects per event:
     *     what the engine's decision reads (level, fingerprint fields, service); null once closed
     */
    static native String[] keyRefs(long handle);

    /**
     * What the library says about the engine, read once per class loader by {@link Catalog}: one JSON
     * object, {@code {"options": [...], "counters": [...], "rule_counters": [...], "max_value_chars": n}}.
     * Each option is {@code {"name", "type", "scope", "default"?}}: {@code type} as Logstash delivers
     * the value ({@code string}, {@code number}, {@code boolean}, {@code array}, {@code hash},
     * {@code password}), {@code scope} {@code engine}, {@code rule}, {@code rule_only} (only inside
     * {@code rules}) or {@code shim} (read here, never passed on), {@code default} only where the
     * engine's table gives a value, typed for {@code type}. See {@code rust/jni/src/catalog.rs}.
     *
     * @throws IllegalStateException if the library cannot describe its options
     */
    static native String catalog();

    /** @return counter values in the order of {@link Catalog#counterNames}; null once closed */
    static native long[] counters(long handle);

    /** @return the names of the rules, in configuration order ({@code default} without rules); null once closed */
    static native String[] ruleNames(long handle);

    /**
     * @return per-rule counter values, row-major: rule {@code r}'s counter {@code c} at
     *     {@code r * Catalog.ruleCounterNames.length + c}, rules in {@link #ruleNames} order; null once closed
     */
    static native long[] ruleCounters(long handle);

    /**
     * @return true if and only if a rule (a flatline rule without levels) wants events that have no
     *     level, so those are candidates too; false once closed
     */
    static native boolean admitsMissingLevel(long handle);

    /**
     * Sorts the levels in the first {@code count} slots of {@code slots} and writes the mask:
     * {@link #ALERT_CANDIDATE}, {@link #HEARTBEAT_ONLY} or {@link #NOT_CANDIDATE} per event.
     *
     * @param slots a direct buffer of at least {@link #BUFFER_SIZE} bytes, used by one thread
     * @return the number of candidates of either kind, or-ed with {@link #LOGS_PENDING};
     *     {@link #CLOSED}
     * @throws IllegalArgumentException if count exceeds {@link #MAX_BATCH} or the buffer is unfit
     */
    static native int matchBatch(long handle, ByteBuffer slots, int count);

    /**
     * Submits candidate events by their key fields: the engine decides about each (no alert rule
     * matched, a repeat, held back by the rate limit, ...) unless a rule posts a message of its own
     * for it, which needs every field: those it marks, and the caller submits them again through
     * {@link #submit}.
     *
     * @param fields     a direct buffer whose first {@code length} bytes hold
     *                   {@code eventCount × keyRefs.length} values, event after event, each
     *                   JSON-encoded (see {@link #appendValue}) in UTF-8 and followed by {@code '\n'}
     * @param slots      the calling thread's slot buffer: the library writes, for each event
     *                   {@code k}, at {@code MASK_OFFSET + k}: {@link #DECIDED_UNMATCHED} (decided,
     *                   no alert rule matched it), {@link #UNDECIDED} (submit it with every field;
     *                   it matched) or {@link #DECIDED_MATCHED} (decided, an alert rule matched it)
     * @return the number of events not decided, or-ed with {@link #LOGS_PENDING}; {@link #CLOSED}
     * @throws IllegalArgumentException if the buffers or counts do not fit the layout
     */
    static native int submitKeys(long handle, ByteBuffer fields, int length, int eventCount, ByteBuffer slots);

    /**
     * Submits matched events.
     *
     * @param values     {@code eventCount × eventRefs.length} values, event after event: each
     *                   JSON-encoded (see {@link #toJson}) or null when the field is missing
     * @return the number of events submitted, or-ed with {@link #LOGS_PENDING}; {@link #CLOSED}
     */
    static native int submit(long handle, String[] values, int eventCount);

    /**
     * @return the field references whose values {@link #heartbeats} expects per event: the flatline
     *     rules' groups and the fields their conditions read (empty without flatline rules); null
     *     once closed
     */
    static native String[] heartbeatRefs(long handle);

    /**
     * @return per {@link #heartbeatRefs} entry, the index of the entry it only backs up, or -1: an
     *     entry {@code j} with {@code fallbacks[j] = i} is read by the engine only when entry
     *     {@code i} names nothing (is missing, null or an empty string, and so is whatever {@code i}
     *     backs up), so the shim may send it as missing otherwise (e.g. {@code [service][name]} behind
     *     {@code [service.name]}); null once closed
     */
    static native int[] heartbeatFallbacks(long handle);

    /**
     * Lets the flatline rules learn from events only they take ({@link #HEARTBEAT_ONLY}): "this
     * group logged now". Nothing comes back per event: such events are never reported to the match
     * listener.
     *
     * @param fields a direct buffer whose first {@code length} bytes hold
     *               {@code eventCount × heartbeatRefs.length} values, encoded as for
     *               {@link #submitKeys}
     * @return {@code eventCount}, or-ed with {@link #LOGS_PENDING}; {@link #CLOSED}
     * @throws IllegalArgumentException if the buffer or counts do not fit the layout
     */
    static native int heartbeats(long handle, ByteBuffer fields, int length, int eventCount);

    /** @return {@code [level, message, level, message, ...]}, levels ERROR/WARN/INFO/DEBUG */
    static native String[] drainLogs(long handle);

    /**
     * Unregisters the handle and shuts the engine down, within its {@code shutdown_timeout}.
     *
     * @return {@code [report, counters, ruleCounters, level, message, ...]}: the one-line shutdown
     *     report, the final counter values as comma-separated decimals in {@link Catalog#counterNames}
     *     order, the final per-rule counters the same way in {@link #ruleCounters} order, and the
     *     log lines still buffered; null if the handle was already closed
     */
    static native String[] close(long handle);

    /**
     * <b>Test-only.</b> Makes the {@code countdown}-th next {@link #matchBatch} call on this handle
     * panic inside native code (0 cancels).
     */
    static native void injectPanic(long handle, int countdown);

    /**
     * {@link Catalog#maxValueChars}, learnt when the library is loaded; until then nothing is cut.
     * The engine cuts longer values (the rule lives in {@code MAX_VALUE_CHARS},
     * {@code rust/engine/src/event.rs}); the shim cuts them before encoding only so as not to copy
     * the rest of a 10 MB message across.
     */
    private static volatile int valueBound = Integer.MAX_VALUE;

    /** Reads the engine's bound; called by {@link NativeLibrary#load} once the library is in. */
    static void learnValueBound() {
        valueBound = Catalog.get().maxValueChars;
    }

    /** The bound strings are cut to before encoding: the engine's, once the library is loaded. */
    static int valueBound() {
        return valueBound;
    }

    /**
     * Encodes a field value as JSON: strings, numbers, booleans, maps, lists and null as
     * themselves; anything else (e.g. a Logstash timestamp) as the string of its
     * {@code toString()}. Strings are cut to {@link #valueBound()}.
     */
    static String toJson(Object value) {
        StringBuilder out = new StringBuilder();
        appendJson(out, value, valueBound);
        return out.toString();
    }

    /** Appends {@code value} as {@link #toJson} encodes it. */
    static void appendValue(StringBuilder out, Object value) {
        appendJson(out, value, valueBound);
    }

    /** Encodes {@code value} as JSON, whole (the configuration). */
    static void appendJson(StringBuilder out, Object value) {
        appendJson(out, value, Integer.MAX_VALUE);
    }

    private static void appendJson(StringBuilder out, Object value, int maxChars) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof Boolean) {
            out.append(((Boolean) value).booleanValue());
        } else if (value instanceof Long || value instanceof Integer || value instanceof Short
                || value instanceof Byte) {
            out.append(value);
        } else if (value instanceof java.math.BigInteger) {
            // Logstash keeps an integer past the long range as a BigInteger; the engine's JSON
            // reader would round it to a double (1.2345678901234568e29): send its digits as text.
            java.math.BigInteger big = (java.math.BigInteger) value;
            if (big.bitLength() < 64) {
                out.append(big);
            } else {
                appendString(out, big.toString(), maxChars);
            }
        } else if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            if (Double.isFinite(d)) {
                out.append(d);
            } else {
                appendString(out, String.valueOf(d), maxChars);
            }
        } else if (value instanceof java.math.BigDecimal) {
            java.math.BigDecimal decimal = (java.math.BigDecimal) value;
            if (Double.isFinite(decimal.doubleValue())) {
                out.append(decimal.toString());
            } else {
                // Past the double range the engine's JSON reader refuses the number.
                appendString(out, decimal.toString(), maxChars);
            }
        } else if (value instanceof Map) {
            out.append('{');
            Iterator<? extends Map.Entry<?, ?>> it = ((Map<?, ?>) value).entrySet().iterator();
            while (it.hasNext()) {
                Map.Entry<?, ?> entry = it.next();
                appendString(out, String.valueOf(entry.getKey()), maxChars);
                out.append(':');
                appendJson(out, entry.getValue(), maxChars);
                if (it.hasNext()) {
                    out.append(',');
                }
            }
            out.append('}');
        } else if (value instanceof Collection) {
            out.append('[');
            Iterator<?> it = ((Collection<?>) value).iterator();
            while (it.hasNext()) {
                appendJson(out, it.next(), maxChars);
                if (it.hasNext()) {
                    out.append(',');
                }
            }
            out.append(']');
        } else {
            appendString(out, value.toString(), maxChars);
        }
    }

    private static void appendString(StringBuilder out, String s, int maxChars) {
        int end = s.length();
        if (end > maxChars) {
            // Never keep half of a surrogate pair.
            end = Character.isHighSurrogate(s.charAt(maxChars - 1)) ? maxChars - 1 : maxChars;
        }
        out.append('"');
        for (int i = 0; i < end; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"':
                    out.append("\\\"");
                    break;
                case '\\':
                    out.append("\\\\");
                    break;
                case '\n':
                    out.append("\\n");
                    break;
                case '\r':
                    out.append("\\r");
                    break;
                case '\t':
                    out.append("\\t");
                    break;
                default:
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else if (Character.isSurrogate(c) && !validSurrogateAt(s, i)) {
                        // A lone surrogate has no UTF-8 form; JSON parsers reject its escape.
                        out.append('\uFFFD');
                    } else {
                        out.append(c);
                    }
            }
        }
        out.append('"');
    }

    /** True if and only if the surrogate at {@code i} is half of a proper pair. */
    private static boolean validSurrogateAt(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) {
            return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        }
        return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }
}
