package io.slackalert.logstash;

import java.nio.ByteBuffer;
import java.util.Collection;
import java.util.Iterator;
import java.util.Map;

/**
 * The native methods of the Rust JNI library ({@code rust/jni/src/lib.rs}) and the layout of the
 * batch buffer they share with the shim ({@code rust/jni/src/slots.rs}, checked against these
 * constants by {@code NativeLayoutTest} through the library's {@link #catalog}).
 *
 * <p>A handle is an opaque id into the library's registry, never a pointer; a closed or unknown
 * handle makes {@link #batch} return {@link #CLOSED} and the others null, which is not an error:
 * {@code close()} may race with pipeline workers by design. A panic inside the library surfaces as
 * an {@link IllegalStateException} whose message starts with {@code "slack_alert native failure:"}.
 *
 * <h2>Batch buffer</h2>
 * <pre>
 * offset i * SLOT_SIZE       slot of event i: byte 0 = length 0..31 of the ASCII level text in
 *                            bytes 1..31, or NO_LEVEL (missing, too long, not text or a whole number)
 * offset MASK_OFFSET + i     the answer for event i: after LEVELS, ALERT_CANDIDATE (send its key
 *                            fields, KEYS), HEARTBEAT_ONLY (send its heartbeat fields, HEARTBEATS) or
 *                            NOT_CANDIDATE; after KEYS, for the k-th candidate sent, DECIDED_UNMATCHED,
 *                            UNDECIDED (send every field, EVENTS) or DECIDED_MATCHED
 * offset VALUES_OFFSET       KEYS, HEARTBEATS, EVENTS: the values, each JSON ({@link #appendValue})
 *                            in UTF-8 and a newline
 * </pre>
 */
final class NativeEngine {

    /** Bytes per event slot. */
    static final int SLOT_SIZE = 32;
    /** Longest level text a slot carries. */
    static final int MAX_LEVEL_LEN = SLOT_SIZE - 1;
    /** Most events per {@link #batch} call. */
    static final int MAX_BATCH = 1024;
    /** Where the answers start in the batch buffer. */
    static final int MASK_OFFSET = MAX_BATCH * SLOT_SIZE;
    /** Where the values start in the batch buffer: its least capacity. */
    static final int VALUES_OFFSET = MASK_OFFSET + MAX_BATCH;
    /** Slot length byte meaning "no usable level". */
    static final byte NO_LEVEL = (byte) 0xFF;
    /** Or-ed into a count when the engine has log lines to write. */
    static final int LOGS_PENDING = 0x40000000;
    /** Returned by {@link #batch} for a closed handle. */
    static final int CLOSED = -1;
    /** Stage: match the slots' levels; {@code length} is the chunk's size. */
    static final int STAGE_LEVELS = 0;
    /** Stage: per heartbeat, {@link #DESCRIBE_HEARTBEAT_REFS}' values and how many events it stands for. */
    static final int STAGE_HEARTBEATS = 1;
    /** Stage: per alert candidate, {@link #DESCRIBE_KEY_REFS}' values. */
    static final int STAGE_KEYS = 2;
    /** Stage: per event KEYS left undecided, {@link #DESCRIBE_EVENT_REFS}' values. */
    static final int STAGE_EVENTS = 3;
    /** LEVELS answer: no rule takes the event. */
    static final byte NOT_CANDIDATE = 0;
    /** LEVELS answer: an alert rule takes the event's level. */
    static final byte ALERT_CANDIDATE = 1;
    /** LEVELS answer: only flatline rules take the event (a heartbeat). */
    static final byte HEARTBEAT_ONLY = 2;
    /** KEYS answer: decided, no alert rule matched the event. */
    static final byte DECIDED_UNMATCHED = 0;
    /** KEYS answer: not decided; send the event with every field. It matched. */
    static final byte UNDECIDED = 1;
    /** KEYS answer: decided, and an alert rule matched the event. */
    static final byte DECIDED_MATCHED = 2;

    /** {@link #describe}: {@code String[]}, where the level is read, tried in order. */
    static final int DESCRIBE_LEVEL_REFS = 0;
    /** {@link #describe}: {@code String[]}, what KEYS sends per event. */
    static final int DESCRIBE_KEY_REFS = 1;
    /** {@link #describe}: {@code String[]}, what EVENTS sends per event. */
    static final int DESCRIBE_EVENT_REFS = 2;
    /** {@link #describe}: {@code String[]}, what HEARTBEATS sends per heartbeat (empty without flatline rules). */
    static final int DESCRIBE_HEARTBEAT_REFS = 3;
    /** {@link #describe}: {@code String[]}, the rules' names in configuration order. */
    static final int DESCRIBE_RULE_NAMES = 4;
    /** {@link #describe}: {@code String[]}, the usual spellings of the levels the engine knows. */
    static final int DESCRIBE_USUAL_LEVELS = 5;
    /** {@link #describe}: {@code byte[]}, the engine's LEVELS answer for each of {@link #DESCRIBE_USUAL_LEVELS}. */
    static final int DESCRIBE_USUAL_ANSWERS = 6;
    /**
     * {@link #describe}: {@code int[]}, for each of {@link #DESCRIBE_EVENT_REFS} the most UTF-16
     * units of a string the engine keeps (a stack trace in app mode is kept longer, to upload it).
     */
    static final int DESCRIBE_EVENT_BOUNDS = 7;

    /** {@link #poll}, {@link #close}: {@code String}, the shutdown report (close only). */
    static final int REPORT_SUMMARY = 0;
    /** {@link #poll}, {@link #close}: {@code String[]}, {@code [level, message, ...]} of the log lines. */
    static final int REPORT_LOGS = 1;
    /** {@link #poll}, {@link #close}: {@code long[]}, counters in {@link Catalog#counterNames} order. */
    static final int REPORT_COUNTERS = 2;
    /**
     * {@link #poll}, {@link #close}: {@code long[]}, per-rule counters row-major: rule {@code r}'s
     * counter {@code c} at {@code r * Catalog.ruleCounterNames.length + c}.
     */
    static final int REPORT_RULE_COUNTERS = 3;

    private NativeEngine() {
    }

    /**
     * Validates the options (a JSON object) as {@link #create} does, starting nothing.
     *
     * @throws IllegalArgumentException naming the bad option
     */
    static native void validate(String configJson);

    /**
     * What the library says about the engine, read once per class loader by {@link Catalog}: one
     * document of Java values as a JSON library would make them ({@code LinkedHashMap},
     * {@code ArrayList}, {@code String}, {@code Long}, {@code Double}, {@code Boolean}, null):
     * {@code {"options": [...], "counters": [...], "rule_counters": [...], "max_value_chars": n,
     * "layout": {...}}}. Each option is {@code {"name", "type", "scope", "default"?}}: {@code type} as
     * Logstash delivers the value ({@code string}, {@code number}, {@code boolean}, {@code array},
     * {@code hash}, {@code password}), {@code scope} {@code engine}, {@code rule}, {@code rule_only}
     * (only inside {@code rules}) or {@code shim} (read here, never passed on), {@code default} only
     * where the engine's table gives a value, typed for {@code type}. {@code layout} holds the
     * constants above, as the library has them. See {@code rust/jni/src/catalog.rs}.
     *
     * @throws IllegalStateException if the library cannot describe its options
     */
    static native Object catalog();

    /**
     * Validates the options (a JSON object) and starts an engine.
     *
     * @return the handle
     * @throws IllegalArgumentException naming the bad option
     * @throws IllegalStateException    if the engine cannot start
     */
    static native long create(String configJson);

    /** @return what a running engine asks of the shim, at the {@code DESCRIBE_*} indices; null once closed */
    static native Object[] describe(long handle);

    /**
     * Runs one stage of a batch over {@code buffer}.
     *
     * @param buffer the calling thread's direct buffer, at least {@link #VALUES_OFFSET} bytes, plus
     *               {@code length} for a stage with values
     * @param count  events (LEVELS: slots) the stage is about, at most {@link #MAX_BATCH}
     * @param length LEVELS: events in the chunk; else bytes of values at {@link #VALUES_OFFSET}
     * @return LEVELS: candidates of either kind; KEYS: events left undecided; else events taken;
     *     or-ed with {@link #LOGS_PENDING}; {@link #CLOSED}
     * @throws IllegalArgumentException if the buffer or counts do not fit the layout
     */
    static native int batch(long handle, int stage, ByteBuffer buffer, int count, int length);

    /**
     * @param logs whether to take the buffered log lines (else they stay for a later poll)
     * @return the counters now and the log lines taken, at the {@code REPORT_*} indices; null once closed
     */
    static native Object[] poll(long handle, boolean logs);

    /**
     * Unregisters the handle and shuts the engine down, within its {@code shutdown_timeout}.
     *
     * @return the shutdown report, the last log lines and the final counters, at the
     *     {@code REPORT_*} indices; null if the handle was already closed
     */
    static native Object[] close(long handle);

    /**
     * <b>Test-only.</b> Makes the {@code countdown}-th next chunk's first {@link #batch} call
     * (LEVELS) on this handle panic inside native code (0 cancels).
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

    /** Appends {@code value} with its strings cut to {@code bound} (the engine's, for its field). */
    static void appendValue(StringBuilder out, Object value, int bound) {
        appendJson(out, value, bound);
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
