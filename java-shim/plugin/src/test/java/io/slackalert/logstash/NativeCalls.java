package io.slackalert.logstash;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * The JNI contract's calls as the tests like to make them, each through the real entry points
 * ({@link NativeEngine#describe}, {@link NativeEngine#batch}, {@link NativeEngine#poll}): one
 * answer per call, the values of a stage given in their own buffer and copied to where the batch
 * buffer holds them.
 */
final class NativeCalls {

    private NativeCalls() {
    }

    private static String[] described(long h, int index) {
        Object[] d = NativeEngine.describe(h);
        return d == null ? null : (String[]) d[index];
    }

    static String[] levelRefs(long h) {
        return described(h, NativeEngine.DESCRIBE_LEVEL_REFS);
    }

    static String[] keyRefs(long h) {
        return described(h, NativeEngine.DESCRIBE_KEY_REFS);
    }

    static String[] eventRefs(long h) {
        return described(h, NativeEngine.DESCRIBE_EVENT_REFS);
    }

    static String[] heartbeatRefs(long h) {
        return described(h, NativeEngine.DESCRIBE_HEARTBEAT_REFS);
    }

    static String[] ruleNames(long h) {
        return described(h, NativeEngine.DESCRIBE_RULE_NAMES);
    }

    /** The counters now, leaving the log lines for the filter; null once closed. */
    static long[] counters(long h) {
        Object[] r = NativeEngine.poll(h, false);
        return r == null ? null : (long[]) r[NativeEngine.REPORT_COUNTERS];
    }

    static long[] ruleCounters(long h) {
        Object[] r = NativeEngine.poll(h, false);
        return r == null ? null : (long[]) r[NativeEngine.REPORT_RULE_COUNTERS];
    }

    /** Takes the buffered log lines, {@code [level, message, ...]}; empty once closed. */
    static String[] drainLogs(long h) {
        Object[] r = NativeEngine.poll(h, true);
        return r == null ? new String[0] : (String[]) r[NativeEngine.REPORT_LOGS];
    }

    /** LEVELS over the first {@code count} slots of {@code buffer}, a chunk of {@code count} events. */
    static int matchBatch(long h, ByteBuffer buffer, int count) {
        return NativeEngine.batch(h, NativeEngine.STAGE_LEVELS, buffer, count, count);
    }

    /** KEYS with the first {@code length} bytes of {@code fields}; the answers land in {@code slots}. */
    static int submitKeys(long h, ByteBuffer fields, int length, int eventCount, ByteBuffer slots) {
        ByteBuffer buffer = withValues(fields, length);
        int result = NativeEngine.batch(h, NativeEngine.STAGE_KEYS, buffer, eventCount, length);
        for (int k = 0; k < eventCount; k++) {
            slots.put(NativeEngine.MASK_OFFSET + k, buffer.get(NativeEngine.MASK_OFFSET + k));
        }
        return result;
    }

    /** HEARTBEATS with the first {@code length} bytes of {@code fields}. */
    static int heartbeats(long h, ByteBuffer fields, int length, int eventCount) {
        return NativeEngine.batch(h, NativeEngine.STAGE_HEARTBEATS, withValues(fields, length), eventCount, length);
    }

    /** EVENTS with these JSON values (null: missing), event after event. */
    static int submit(long h, String[] values, int eventCount) {
        StringBuilder lines = new StringBuilder();
        for (String v : values) {
            lines.append(v == null ? "null" : v).append('\n');
        }
        byte[] text = lines.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer fields = ByteBuffer.allocateDirect(Math.max(1, text.length)).put(text);
        return NativeEngine.batch(h, NativeEngine.STAGE_EVENTS, withValues(fields, text.length), eventCount,
                text.length);
    }

    /** A batch buffer holding the first {@code length} bytes of {@code fields} as its values. */
    private static ByteBuffer withValues(ByteBuffer fields, int length) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(NativeEngine.VALUES_OFFSET + length);
        for (int i = 0; i < length; i++) {
            buffer.put(NativeEngine.VALUES_OFFSET + i, fields.get(i));
        }
        return buffer;
    }
}
