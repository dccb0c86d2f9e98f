package io.slackalert.logstash;

import co.elastic.logstash.api.Event;
import co.elastic.logstash.api.FilterMatchListener;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.RandomAccess;

/**
 * One worker thread's batch buffer, and the shim's half of its format (see {@link NativeEngine}):
 * a Logstash batch goes to the engine in chunks of up to {@link NativeEngine#MAX_BATCH} events,
 * each in up to four stages. LEVELS sends every event's level; the engine answers which are alert
 * candidates and which heartbeats. HEARTBEATS sends the fields the engine named for a heartbeat,
 * once per run of consecutive events with equal values (with how many it stands for). KEYS sends
 * the candidates' key fields; the engine decides all but those that get a message of their own,
 * and EVENTS sends every field of those. So an event that does not alert costs its level and no
 * allocation, and a storm of repeats costs the few key fields. Nothing here decides anything: what
 * a level is, what alerts, what a heartbeat says, all is the engine's answer.
 */
final class Batch {

    private static final ThreadLocal<Batch> FOR_THREAD = ThreadLocal.withInitial(Batch::new);

    private ByteBuffer buffer = ByteBuffer.allocateDirect(NativeEngine.VALUES_OFFSET + 16 * 1024);
    /** The chunk's slots, written here and copied into {@link #buffer} in one go. */
    private final byte[] slots = new byte[NativeEngine.MASK_OFFSET];
    /**
     * The answers about the chunk's events. The events themselves are read from the batch's list
     * by index, not copied here: a reference stored into a long-lived array costs a GC write
     * barrier per event, on traffic that mostly needs nothing but its level read.
     */
    private final byte[] answers = new byte[NativeEngine.MAX_BATCH];
    /** Per slot sent, the event of the chunk it stands for. */
    private final int[] sentFor = new int[NativeEngine.MAX_BATCH];
    private final Event[] candidates = new Event[NativeEngine.MAX_BATCH];
    /** The values of the stage being built, as JSON lines. */
    private final StringBuilder values = new StringBuilder(1024);
    private final CharsetEncoder utf8 = StandardCharsets.UTF_8.newEncoder()
            .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
    /** The heartbeat being read, the last one sent, and how many events that one stands for. */
    private Object[] beat = new Object[0];
    private Object[] lastBeat = new Object[0];
    private boolean lastBeatSet;
    private int run;
    /** How far {@link #candidates} may hold events of this batch. */
    private int candidatesHigh;

    static Batch forThread() {
        return FOR_THREAD.get();
    }

    /**
     * Runs {@code events} through {@code engine}, reporting to {@code listener} those an alert rule
     * matched. Returns {@link NativeEngine#CLOSED} once the engine is closed, else
     * {@link NativeEngine#LOGS_PENDING} if it has log lines to write, else 0.
     */
    int run(EngineHandle engine, Collection<Event> events, FilterMatchListener listener) {
        // Logstash hands a filter an ArrayList; anything else is copied once so it can be indexed.
        List<Event> batch = events instanceof List && events instanceof RandomAccess
                ? (List<Event>) events : new ArrayList<>(events);
        int flags = 0;
        try {
            for (int start = 0, size = batch.size(); start < size; start += NativeEngine.MAX_BATCH) {
                int n = Math.min(NativeEngine.MAX_BATCH, size - start);
                int sent = 0;
                int known = 0;
                for (int i = 0; i < n; i++) {
                    Object level = level(engine, batch.get(start + i));
                    int answer = level instanceof CharSequence ? engine.usualLevels.of((CharSequence) level) : -1;
                    if (answer >= 0) {
                        answers[i] = (byte) answer;
                        known += answer == NativeEngine.NOT_CANDIDATE ? 0 : 1;
                    } else {
                        sentFor[sent] = i;
                        writeLevel(sent++, level);
                    }
                }
                int result = chunk(engine, batch, start, n, sent, known, listener);
                if (result == NativeEngine.CLOSED) {
                    return result;
                }
                flags |= result;
            }
            return flags;
        } finally {
            // No reference to an event outlives its batch.
            Arrays.fill(candidates, 0, candidatesHigh, null);
            Arrays.fill(lastBeat, null);
            Arrays.fill(beat, null);
            candidatesHigh = 0;
        }
    }

    /**
     * The value of the first of the engine's level references the event has, or null: as the event
     * holds it when that is text, else as {@code getField} converts it. Logstash holds text as a
     * JRuby string, a {@link CharSequence}, which {@code getField} would copy into a new
     * {@code String} for every event; the level is only read.
     */
    private static Object level(EngineHandle engine, Event event) {
        for (String ref : engine.levelRefs) {
            Object raw = event.getUnconvertedField(ref);
            if (raw instanceof CharSequence) {
                return raw;
            }
            Object level = raw == null ? null : event.getField(ref);
            if (level != null) {
                return level;
            }
        }
        return null;
    }

    /**
     * The stages of the chunk of {@code n} events from {@code start}: {@code sent} of them have their
     * level in a slot for the engine to answer, the others their answer (of which {@code known} are
     * candidates) in {@link #answers} from the engine's usual levels. One LEVELS call either way:
     * it counts the chunk's events and tells whether the engine has log lines or closed.
     */
    private int chunk(EngineHandle engine, List<Event> batch, int start, int n, int sent, int known,
            FilterMatchListener listener) {
        buffer.clear();
        buffer.put(slots, 0, sent * NativeEngine.SLOT_SIZE);
        int result = NativeEngine.batch(engine.handle, NativeEngine.STAGE_LEVELS, buffer, sent, n);
        if (result == NativeEngine.CLOSED || known + (result & ~NativeEngine.LOGS_PENDING) == 0) {
            return result;
        }
        int flags = result & NativeEngine.LOGS_PENDING;
        for (int k = 0; k < sent; k++) {
            answers[sentFor[k]] = buffer.get(NativeEngine.MASK_OFFSET + k);
        }
        int beats = 0;
        int picked = 0;
        values.setLength(0);
        lastBeatSet = false;
        for (int i = 0; i < n; i++) {
            if (answers[i] == NativeEngine.HEARTBEAT_ONLY && newBeat(batch.get(start + i), engine.heartbeatRefs)) {
                beats++;
            } else if (answers[i] == NativeEngine.ALERT_CANDIDATE) {
                candidates[picked++] = batch.get(start + i);
            }
        }
        candidatesHigh = Math.max(candidatesHigh, picked);
        if (beats > 0) {
            appendCount(run);
            result = send(engine, NativeEngine.STAGE_HEARTBEATS, beats);
            if (result == NativeEngine.CLOSED) {
                return result;
            }
            flags |= result & NativeEngine.LOGS_PENDING;
        }
        return picked == 0 ? flags : flags | decide(engine, picked, listener);
    }

    /** KEYS, then EVENTS for those KEYS left undecided, for the {@code picked} candidates. */
    private int decide(EngineHandle engine, int picked, FilterMatchListener listener) {
        values.setLength(0);
        for (int k = 0; k < picked; k++) {
            appendFields(candidates[k], engine.keyRefs);
        }
        int result = send(engine, NativeEngine.STAGE_KEYS, picked);
        if (result == NativeEngine.CLOSED) {
            return result;
        }
        buffer.position(NativeEngine.MASK_OFFSET);
        buffer.get(answers, 0, picked);
        int undecided = result & ~NativeEngine.LOGS_PENDING;
        if (undecided > 0) {
            values.setLength(0);
            for (int k = 0; k < picked; k++) {
                if (answers[k] == NativeEngine.UNDECIDED) {
                    appendFields(candidates[k], engine.eventRefs, engine.eventBounds);
                }
            }
            int sent = send(engine, NativeEngine.STAGE_EVENTS, undecided);
            if (sent == NativeEngine.CLOSED) {
                return sent;
            }
            result |= sent;
        }
        // Candidates by level that no alert rule took (conditions, exclude) are not reported:
        // add_field/add_tag mark alerting events only.
        for (int k = 0; k < picked; k++) {
            if (answers[k] != NativeEngine.DECIDED_UNMATCHED) {
                listener.filterMatched(candidates[k]);
            }
        }
        return result & NativeEngine.LOGS_PENDING;
    }

    /**
     * Writes a level value into its slot: text of at most {@link NativeEngine#MAX_LEVEL_LEN} ASCII
     * characters as its bytes, a whole number as its digits, anything else as
     * {@link NativeEngine#NO_LEVEL}. Which of them is a level is the engine's answer.
     */
    private void writeLevel(int index, Object level) {
        int base = index * NativeEngine.SLOT_SIZE;
        if (level instanceof Long || level instanceof Integer || level instanceof Short) {
            writeDigits(base, ((Number) level).longValue());
            return;
        }
        CharSequence text = level instanceof CharSequence ? (CharSequence) level : null;
        if (text == null || text.length() > NativeEngine.MAX_LEVEL_LEN) {
            slots[base] = NativeEngine.NO_LEVEL;
            return;
        }
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 0x80) {
                slots[base] = NativeEngine.NO_LEVEL;
                return;
            }
            slots[base + 1 + i] = (byte) c;
        }
        slots[base] = (byte) text.length();
    }

    /** Writes {@code v} in decimal into the slot at {@code base}, making no string (20 bytes at most). */
    private void writeDigits(int base, long v) {
        int digits = 1;
        for (long t = v / 10; t != 0; t /= 10) {
            digits++;
        }
        int len = v < 0 ? digits + 1 : digits;
        long t = v;
        for (int at = base + len; at > base + len - digits; at--, t /= 10) {
            slots[at] = (byte) ('0' + Math.abs(t % 10));
        }
        if (v < 0) {
            slots[base + 1] = '-';
        }
        slots[base] = (byte) len;
    }

    /**
     * Reads {@code event}'s heartbeat fields and, unless they equal the last heartbeat's of the
     * chunk (then that one stands for one more event), ends the last one with its count, appends
     * these values and returns true.
     */
    private boolean newBeat(Event event, String[] refs) {
        if (beat.length != refs.length) {
            beat = new Object[refs.length];
            lastBeat = new Object[refs.length];
            lastBeatSet = false;
        }
        boolean same = lastBeatSet;
        for (int f = 0; f < refs.length; f++) {
            beat[f] = event.getField(refs[f]);
            same = same && Objects.equals(beat[f], lastBeat[f]);
        }
        if (same) {
            run++;
            return false;
        }
        if (lastBeatSet) {
            appendCount(run);
        }
        for (Object value : beat) {
            NativeEngine.appendValue(values, value);
            values.append('\n');
        }
        Object[] swap = lastBeat;
        lastBeat = beat;
        beat = swap;
        lastBeatSet = true;
        run = 1;
        return true;
    }

    private void appendCount(int n) {
        values.append(n).append('\n');
    }

    /** Like {@link #appendFields(Event, String[])}, each value's strings cut to its own bound. */
    private void appendFields(Event event, String[] refs, int[] bounds) {
        for (int f = 0; f < refs.length; f++) {
            NativeEngine.appendValue(values, event.getField(refs[f]), bounds[f]);
            values.append('\n');
        }
    }

    private void appendFields(Event event, String[] refs) {
        for (String ref : refs) {
            NativeEngine.appendValue(values, event.getField(ref));
            values.append('\n');
        }
    }

    /** Encodes {@link #values} at {@link NativeEngine#VALUES_OFFSET} and runs {@code stage}. */
    private int send(EngineHandle engine, int stage, int count) {
        // UTF-8 takes at most 3 bytes per UTF-16 unit: with that much room one pass fits.
        int needed = NativeEngine.VALUES_OFFSET + 3 * values.length();
        if (buffer.capacity() < needed) {
            buffer = ByteBuffer.allocateDirect(Math.max(needed, 2 * buffer.capacity()));
        }
        buffer.clear();
        buffer.position(NativeEngine.VALUES_OFFSET);
        utf8.reset();
        utf8.encode(CharBuffer.wrap(values), buffer, true);
        utf8.flush(buffer);
        int length = buffer.position() - NativeEngine.VALUES_OFFSET;
        return NativeEngine.batch(engine.handle, stage, buffer, count, length);
    }
}
