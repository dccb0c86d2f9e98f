package io.slackalert.logstash;

import co.elastic.logstash.api.Configuration;
import co.elastic.logstash.api.Context;
import co.elastic.logstash.api.Event;
import co.elastic.logstash.api.Filter;
import co.elastic.logstash.api.FilterMatchListener;
import co.elastic.logstash.api.LogstashPlugin;
import co.elastic.logstash.api.NamespacedMetric;
import co.elastic.logstash.api.Password;
import co.elastic.logstash.api.PluginConfigSpec;
import co.elastic.logstash.api.PluginHelper;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.apache.logging.log4j.Logger;

/**
 * Sends Slack alerts for log events whose level alerts (by default ERROR and FATAL), with
 * deduplication and rate limiting.
 *
 * <p>This class only adapts Logstash to the Rust engine: every rule (which levels alert, what is a
 * repeat, how fast to post, what a message looks like) lives in the engine. Per batch it reads each
 * event's level; a level text the engine has answered for before is decided by that answer (see
 * {@link Verdicts}), any other is packed into a reused buffer and the engine matches them in one
 * native call (made, empty, also when every level is known: it reports the engine's log lines and
 * whether it closed). Nothing is allocated for events that do not alert. Matched events cross in a second
 * call with the few fields the engine decides on (level, fingerprint, service), and only those the
 * engine will post a message for cross a third time with every field, so that an error storm of
 * repeats stays cheap. Events pass through unchanged; events an alert rule matched are reported to
 * the match listener, so {@code add_field}/{@code add_tag} apply to them (a candidate by level that no
 * rule took, because of its conditions or {@code exclude}, is not).
 *
 * <p>With {@code rules} the same holds over several rules: the shim passes them to the engine as
 * JSON and knows none of them; it only learns whether events without a level are candidates (a
 * flatline rule without levels) and publishes each rule's counters under {@code rules.<name>}.
 * An event only flatline rules take (a <em>heartbeat</em>: with a flatline rule without levels,
 * every event no alert rule takes) only tells them "this group logged now": the shim reads just
 * the fields the engine names for it ({@link NativeEngine#heartbeatRefs}, the group and the flatline
 * rules' condition fields), skips one whose values equal the previous heartbeat's in the batch,
 * sends the rest in one call per chunk, and never reports heartbeats to the match listener.
 */
@LogstashPlugin(name = SlackAlert.NAME)
public final class SlackAlert implements Filter {

    /** The plugin's name in a pipeline configuration. */
    static final String NAME = "slack_alert";

    /**
     * Shim-only: a JNI library the user built, for platforms without a bundled one. The one setting
     * declared here rather than taken from the library's {@link Catalog}: it says which library to
     * load, so it is read before there is a catalog. Every other setting, with its type and default,
     * comes from the engine's option table through the catalog.
     */
    public static final PluginConfigSpec<String> NATIVE_LIBRARY = PluginConfigSpec.stringSetting("native_library");

    /**
     * The gauge of the engine's {@code events} counter. Logstash keeps {@code events} beside a
     * filter's gauges as a namespace of its own ({@code events.in}, {@code events.out}); its metric
     * store is a tree, so a gauge of that name would be lost from the monitoring API.
     */
    static final String EVENTS_GAUGE = "events_seen";

    /** Per worker thread: the slot buffer and scratch arrays, reused for every batch. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final String id;
    private final Context context;
    private final Logger logger;
    private final String[] counterNames;
    /** Per-rule counter names, for the gauges under {@code rules.<name>}. */
    private final String[] ruleCounterNames;
    /**
     * The engine's configuration, validated, until the engine starts (it holds the webhook URL:
     * never logged). Guarded by {@code this}.
     */
    private String pendingConfig;
    /** The running engine; null until the first {@link #filter} or {@link #flush}. */
    private volatile Live live;
    /** Why the engine could not start, once it failed; it is not tried again. Guarded by {@code this}. */
    private RuntimeException startFailure;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean failureLogged = new AtomicBoolean();
    /** Failures contained in {@link #filter}; native panics are also in {@code internal_errors}. */
    private final AtomicLong filterFailures = new AtomicLong();
    /** The engine's answers for level texts it has seen; replaced whole when one is added. */
    private volatile Verdicts verdicts = Verdicts.NONE;
    /** Events decided here by {@link #verdicts}, which the engine's {@code events} counter missed. */
    private final LongAdder seenHere = new LongAdder();

    /**
     * Called by Logstash with the user's settings; fails, stopping the pipeline, with a message
     * naming the option if the configuration is invalid.
     *
     * <p>Starts nothing: Logstash constructs a filter before it validates the pipeline and never
     * closes one it refuses (nor one whose constructor throws), so every check happens here, and
     * the engine with its threads starts on the first {@link #filter} or {@link #flush}.
     */
    public SlackAlert(String id, Configuration config, Context context) {
        this.id = id;
        this.context = context;
        this.logger = context.getLogger(this);
        String nativeLibrary = config.contains(NATIVE_LIBRARY) ? config.get(NATIVE_LIBRARY) : null;
        String loadedFrom = NativeLibrary.load(nativeLibrary);
        if (nativeLibrary != null && !loadedFrom.equals(Paths.get(nativeLibrary).toAbsolutePath().toString())) {
            logger.warn("slack_alert: native library already loaded from {}; native_library {} is not used"
                    + " until Logstash restarts", loadedFrom, nativeLibrary);
        }
        // Not before the load: which settings exist is what the loaded library's catalog says.
        refuseUnknownSettings(config, configSchema());
        Catalog catalog = Catalog.get();
        String json = engineConfigJson(config);
        NativeEngine.validate(json);
        this.pendingConfig = json;
        this.counterNames = catalog.counterNames;
        this.ruleCounterNames = catalog.ruleCounterNames;
    }

    /**
     * Refuses a setting {@code schema} does not name with the words Logstash uses when it validates
     * the pipeline ({@code PluginUtil.validateConfig}), which it does only after constructing the
     * filter.
     *
     * @throws IllegalArgumentException naming every unknown setting
     */
    static void refuseUnknownSettings(Configuration config, Collection<PluginConfigSpec<?>> schema) {
        Set<String> known = new HashSet<>();
        for (PluginConfigSpec<?> spec : schema) {
            known.add(spec.name());
        }
        List<String> unknown = new ArrayList<>();
        for (String key : config.allKeys()) {
            if (!known.contains(key)) {
                unknown.add(key);
            }
        }
        if (unknown.isEmpty()) {
            return;
        }
        Collections.sort(unknown);
        StringBuilder message = new StringBuilder();
        for (String key : unknown) {
            if (message.length() > 0) {
                message.append("; ");
            }
            message.append("Unknown setting '").append(key).append("' specified for plugin '").append(NAME)
                    .append('\'');
        }
        throw new IllegalArgumentException(message.toString());
    }

    /** The running engine, started on first use; null if the filter was closed before. */
    private Live live() {
        Live current = live;
        return current != null ? current : start();
    }

    /**
     * Starts the engine unless it runs or the filter is closed.
     *
     * @throws RuntimeException if the engine cannot start, or could not the first time
     */
    private synchronized Live start() {
        if (startFailure != null) {
            throw startFailure;
        }
        if (live != null || closed.get()) {
            return live;
        }
        long handle;
        try {
            handle = NativeEngine.create(pendingConfig);
        } catch (RuntimeException e) {
            // Not configuration (that was checked in the constructor): the OS refused a thread, or
            // TLS could not start. Tried once: a retry per batch could leak half-started threads.
            startFailure = e;
            throw e;
        }
        Live started;
        try {
            started = Live.of(handle, this, logger, id);
        } catch (RuntimeException | Error e) {
            NativeEngine.close(handle);
            startFailure = e instanceof RuntimeException ? (RuntimeException) e : new IllegalStateException(e);
            throw e;
        }
        pendingConfig = null;
        // An event without a level is never an alert candidate (alert rules need a level); with a
        // flatline rule without levels it is a heartbeat. Known up front, so that it never needs a
        // native call to say so. Set before live is, so that a worker that sees one sees both.
        verdicts = Verdicts.NONE.withAbsent(started.admitsMissingLevel
                ? NativeEngine.HEARTBEAT_ONLY : NativeEngine.NOT_CANDIDATE);
        live = started;
        drainLogs(started);
        return started;
    }

    /**
     * The engine's configuration as JSON: only the options the user set, so the engine applies its
     * own defaults and its own validation. The result contains the webhook URL: never log it.
     */
    static String engineConfigJson(Configuration config) {
        StringBuilder json = new StringBuilder("{");
        for (PluginConfigSpec<?> spec : Catalog.get().settings().engineOptions) {
            if (!config.contains(spec)) {
                continue;
            }
            Object value;
            try {
                // Typed as Logstash converts it: a password setting arrives as a Password, also
                // when it came from the keystore.
                value = config.get(spec);
                Object raw = config.getRawValue(spec);
                if (spec.type() == Boolean.class && raw instanceof String
                        && !"true".equalsIgnoreCase((String) raw) && !"false".equalsIgnoreCase((String) raw)) {
                    // Logstash reads any string but "true" as false: let the engine reject
                    // dry_run => "yes" instead of silently posting for real.
                    value = raw;
                }
            } catch (RuntimeException incompatible) {
                // A value Logstash cannot type (e.g. rate_limit => "lots"): let the engine
                // reject it with a message naming the option.
                value = config.getRawValue(spec);
            }
            if (json.length() > 1) {
                json.append(',');
            }
            NativeEngine.appendJson(json, spec.name());
            json.append(':');
            NativeEngine.appendJson(json, plain(value));
        }
        return json.append('}').toString();
    }

    /** Unwraps what Logstash hands over into values the JSON writer understands. */
    private static Object plain(Object value) {
        if (value instanceof Password) {
            return ((Password) value).getPassword();
        }
        if (value instanceof Collection) {
            List<Object> items = new ArrayList<>();
            for (Object item : (Collection<?>) value) {
                items.add(plain(item));
            }
            return items;
        }
        if (value instanceof Map) {
            // Rules and condition hashes: keys as Logstash wrote them, values unwrapped the same way.
            Map<String, Object> entries = new LinkedHashMap<>();
            for (Map.Entry<?, ?> entry : ((Map<?, ?>) value).entrySet()) {
                entries.put(String.valueOf(entry.getKey()), plain(entry.getValue()));
            }
            return entries;
        }
        return value;
    }

    @Override
    public Collection<Event> filter(Collection<Event> events, FilterMatchListener matchListener) {
        if (closed.get() || events.isEmpty()) {
            return events;
        }
        Scratch scratch = SCRATCH.get();
        Iterator<Event> lead = events.iterator();
        int start = 0;
        try {
            Live engine = live();
            if (engine == null) {
                return events;
            }
            Verdicts known = verdicts;
            while (lead.hasNext()) {
                byte[] hits = scratch.hits;
                int count = 0;
                int unknown = 0;
                int knownCandidates = 0;
                int beats = 0;
                scratch.startBeats();
                while (count < NativeEngine.MAX_BATCH && lead.hasNext()) {
                    Event event = lead.next();
                    Object level = level(engine, event);
                    int verdict = known.of(level);
                    if (verdict < 0) {
                        encodeLevel(scratch.levels, count, level);
                        unknown++;
                        // -2 marks an event without a level, -1 any other unknown.
                        verdict = level == null ? -2 : -1;
                    } else {
                        scratch.levels[count * NativeEngine.SLOT_SIZE] = NativeEngine.NO_LEVEL;
                        if (verdict == NativeEngine.HEARTBEAT_ONLY) {
                            // Read now, while the event is at hand: no second pass for heartbeats.
                            if (scratch.newBeat(event, engine.heartbeatRefs, engine.heartbeatFallbacks)) {
                                beats++;
                            }
                            verdict = NativeEngine.NOT_CANDIDATE;
                        }
                        knownCandidates += verdict;
                    }
                    hits[count] = (byte) verdict;
                    count++;
                }
                boolean open = processChunk(engine, scratch, events, start, count, unknown, knownCandidates,
                        beats, matchListener);
                if (!open) {
                    break;
                }
                start += count;
            }
        } catch (RuntimeException | LinkageError e) {
            // A failure must never stop the pipeline: the batch passes through unchanged.
            filterFailures.incrementAndGet();
            if (failureLogged.compareAndSet(false, true)) {
                logger.error("slack_alert: alerting failed for a batch, which passed through unchanged;"
                        + " further failures are counted (gauge filter_failures), not logged: {}", e.toString());
            }
        } finally {
            scratch.releaseMatched();
            // The engine is closed by a Cleaner once this filter is unreachable: not while a native
            // call made for it runs.
            Reference.reachabilityFence(this);
        }
        return events;
    }

    /** The value of the first level reference that is present, or null. */
    private static Object level(Live engine, Event event) {
        for (String ref : engine.levelRefs) {
            Object level = event.getField(ref);
            if (level != null) {
                return level;
            }
        }
        return null;
    }

    /**
     * Matches the chunk of {@code count} events from position {@code start} of {@code events},
     * whose verdicts are in {@code scratch.hits} ({@link NativeEngine#ALERT_CANDIDATE},
     * {@link NativeEngine#HEARTBEAT_ONLY}, {@link NativeEngine#NOT_CANDIDATE}, negative for the
     * {@code unknown} ones the engine must match; {@code knownCandidates} is non-zero if and only if
     * a known one is an alert candidate), sends its heartbeats (the {@code beats} already read, known
     * ones, and those among the unknown ones) and submits its alert candidates. Returns false once
     * the engine is closed.
     */
    private boolean processChunk(Live engine, Scratch scratch, Collection<Event> events, int start, int count,
            int unknown, int knownCandidates, int beats, FilterMatchListener matchListener) {
        long handle = engine.handle;
        byte[] hits = scratch.hits;
        ByteBuffer slots = scratch.slots;
        // With every level known, an empty call still tells whether the engine has log lines to
        // write and whether it is closed; one crossing per chunk either way.
        int toMatch = unknown > 0 ? count : 0;
        if (toMatch > 0) {
            slots.clear();
            slots.put(scratch.levels, 0, count * NativeEngine.SLOT_SIZE);
        }
        int result = NativeEngine.matchBatch(handle, slots, toMatch);
        if (result == NativeEngine.CLOSED) {
            return false;
        }
        boolean logsPending = (result & NativeEngine.LOGS_PENDING) != 0;
        int candidates = knownCandidates + (result & ~NativeEngine.LOGS_PENDING);
        if (toMatch > 0) {
            for (int i = 0; i < count; i++) {
                if (hits[i] < 0) {
                    byte verdict = slots.get(NativeEngine.MASK_OFFSET + i);
                    learn(scratch.levels, i, hits[i] == -2, verdict);
                    hits[i] = verdict;
                }
            }
        } else {
            seenHere.add(count);
        }
        boolean open = true;
        Event[] picked = scratch.matched;
        int n = 0;
        if (candidates > 0) {
            // A second iterator picks the candidates: no reference to an event is kept for the
            // (usual) chunk without any.
            Iterator<Event> lag = scratch.lag(events, start);
            for (int i = 0; i < count; i++) {
                Event event = lag.next();
                if (hits[i] == NativeEngine.ALERT_CANDIDATE) {
                    picked[n++] = event;
                } else if (hits[i] == NativeEngine.HEARTBEAT_ONLY
                        && scratch.newBeat(event, engine.heartbeatRefs, engine.heartbeatFallbacks)) {
                    beats++;
                }
            }
            scratch.lagAt += count;
            scratch.matchedHigh = Math.max(scratch.matchedHigh, n);
        }
        if (beats > 0) {
            scratch.endBeats();
            int taken = NativeEngine.heartbeats(handle, scratch.fields(), scratch.fieldsLength(), beats);
            if (taken == NativeEngine.CLOSED) {
                return false;
            }
            logsPending |= (taken & NativeEngine.LOGS_PENDING) != 0;
        }
        if (n > 0) {
            int submitted = submit(engine, scratch, picked, n);
            if (submitted != NativeEngine.CLOSED) {
                // Candidates by level that no alert rule matched (conditions, exclude, a flatline
                // rule's heartbeat) are not reported: add_field/add_tag mark alerting events only.
                for (int k = 0; k < n; k++) {
                    if (scratch.slots.get(NativeEngine.MASK_OFFSET + k) != NativeEngine.DECIDED_UNMATCHED) {
                        matchListener.filterMatched(picked[k]);
                    }
                }
            }
            open = submitted != NativeEngine.CLOSED;
            logsPending |= open && (submitted & NativeEngine.LOGS_PENDING) != 0;
        }
        if (logsPending) {
            drainLogs(engine);
        }
        return open;
    }

    /**
     * Remembers the engine's verdict for the level in slot {@code index}: for an event without a
     * level if {@code absent}, else for the level text in the slot, if it had one.
     */
    private void learn(byte[] slots, int index, boolean absent, byte verdict) {
        Verdicts current = verdicts;
        if (absent) {
            if (current.of(null) < 0) {
                synchronized (this) {
                    verdicts = verdicts.withAbsent(verdict);
                }
            }
            return;
        }
        int base = index * NativeEngine.SLOT_SIZE;
        int len = slots[base] & 0xFF;
        if (len > NativeEngine.MAX_LEVEL_LEN || current.full()) {
            return;
        }
        String text = new String(slots, base + 1, len, StandardCharsets.ISO_8859_1);
        synchronized (this) {
            verdicts = verdicts.with(text, verdict);
        }
    }

    /**
     * Sends the {@code n} candidate events: their key fields to the engine in one call, then every
     * field of the events it did not decide (those it posts a message for) in a second. Leaves the
     * first call's mask in {@code scratch.slots} (see {@link NativeEngine#submitKeys}). Returns
     * the last result, or {@link NativeEngine#CLOSED}.
     */
    private static int submit(Live engine, Scratch scratch, Event[] picked, int n) {
        long handle = engine.handle;
        scratch.clearFields();
        for (int k = 0; k < n; k++) {
            for (String ref : engine.keyRefs) {
                scratch.appendField(picked[k].getField(ref));
            }
        }
        int undecided = NativeEngine.submitKeys(handle, scratch.fields(), scratch.fieldsLength(), n, scratch.slots);
        if (undecided == NativeEngine.CLOSED) {
            return undecided;
        }
        int count = Math.min(undecided & ~NativeEngine.LOGS_PENDING, n);
        if (count == 0) {
            return undecided;
        }
        String[] eventRefs = engine.eventRefs;
        int width = eventRefs.length;
        String[] values = scratch.values(count * width);
        int m = 0;
        for (int k = 0; k < n && m < count; k++) {
            if (scratch.slots.get(NativeEngine.MASK_OFFSET + k) == NativeEngine.UNDECIDED) {
                for (int f = 0; f < width; f++) {
                    Object value = picked[k].getField(eventRefs[f]);
                    values[m * width + f] = value == null ? null : NativeEngine.toJson(value);
                }
                m++;
            }
        }
        int submitted = NativeEngine.submit(handle, values, m);
        Arrays.fill(values, null);
        return submitted == NativeEngine.CLOSED ? submitted : submitted | (undecided & NativeEngine.LOGS_PENDING);
    }

    /**
     * Writes a level value into its slot: a short ASCII string as its bytes, a small whole number
     * as its digits, anything else as "no level".
     */
    private static void encodeLevel(byte[] slots, int index, Object level) {
        int base = index * NativeEngine.SLOT_SIZE;
        if (level instanceof String) {
            String s = (String) level;
            int len = s.length();
            if (len <= NativeEngine.MAX_LEVEL_LEN) {
                for (int i = 0; i < len; i++) {
                    char c = s.charAt(i);
                    if (c >= 0x80) {
                        slots[base] = NativeEngine.NO_LEVEL;
                        return;
                    }
                    slots[base + 1 + i] = (byte) c;
                }
                slots[base] = (byte) len;
                return;
            }
        } else if (level instanceof Long || level instanceof Integer || level instanceof Short) {
            long n = ((Number) level).longValue();
            if (n >= 0 && n <= 999) {
                int len = n >= 100 ? 3 : n >= 10 ? 2 : 1;
                for (int i = len; i > 0; i--) {
                    slots[base + i] = (byte) ('0' + n % 10);
                    n /= 10;
                }
                slots[base] = (byte) len;
                return;
            }
        }
        slots[base] = NativeEngine.NO_LEVEL;
    }

    /** Writes the engine's buffered log lines to the plugin's logger. */
    private void drainLogs(Live engine) {
        String[] lines = NativeEngine.drainLogs(engine.handle);
        if (lines != null) {
            logPairs(logger, lines, 0);
        }
    }

    private static void logPairs(Logger logger, String[] pairs, int from) {
        for (int i = from; i + 1 < pairs.length; i += 2) {
            log(logger, pairs[i], pairs[i + 1]);
        }
    }

    private static void log(Logger logger, String level, String message) {
        switch (level) {
            case "ERROR":
                logger.error("slack_alert: {}", message);
                break;
            case "WARN":
                logger.warn("slack_alert: {}", message);
                break;
            case "DEBUG":
                logger.debug("slack_alert: {}", message);
                break;
            default:
                logger.info("slack_alert: {}", message);
        }
    }

    /** Publishes counters as gauges in the plugin's metric namespace. */
    private void publish(long[] values) {
        if (values == null) {
            return;
        }
        NamespacedMetric metric = context.getMetric(this);
        for (int i = 0; i < values.length && i < counterNames.length; i++) {
            long value = values[i];
            String name = counterNames[i];
            if (name.equals("events")) {
                value += seenHere.sum();
                name = EVENTS_GAUGE;
            }
            metric.gauge(name, value);
        }
        metric.gauge("filter_failures", filterFailures.get());
    }

    /**
     * Publishes per-rule counters as gauges in {@code rules.<rule name>} below the plugin's
     * namespace (row-major values, as {@link NativeEngine#ruleCounters} returns them).
     */
    private void publishRules(Live engine, long[] values) {
        String[] ruleNames = engine.ruleNames;
        int width = ruleCounterNames.length;
        if (values == null || width == 0) {
            return;
        }
        NamespacedMetric metric = context.getMetric(this);
        for (int r = 0; r < ruleNames.length && (r + 1) * width <= values.length; r++) {
            NamespacedMetric rule = metric.namespace("rules", ruleNames[r]);
            for (int c = 0; c < width; c++) {
                rule.gauge(ruleCounterNames[c], values[r * width + c]);
            }
        }
    }

    @Override
    public boolean requiresFlush() {
        return true;
    }

    @Override
    public boolean requiresPeriodicFlush() {
        return true;
    }

    /** Called about every 5 s: writes the engine's log lines and publishes its counters. */
    @Override
    public Collection<Event> flush(FilterMatchListener matchListener) {
        if (!closed.get()) {
            Live engine;
            try {
                engine = live();
            } catch (RuntimeException e) {
                filterFailures.incrementAndGet();
                if (failureLogged.compareAndSet(false, true)) {
                    logger.error("slack_alert: the alert engine could not start, so nothing is alerted; events"
                            + " pass through unchanged and batches are counted (gauge filter_failures): {}",
                            e.toString());
                }
                engine = null;
            }
            try {
                if (engine == null) {
                    publish(new long[0]);
                } else {
                    drainLogs(engine);
                    publish(NativeEngine.counters(engine.handle));
                    publishRules(engine, NativeEngine.ruleCounters(engine.handle));
                }
            } catch (RuntimeException e) {
                filterFailures.incrementAndGet();
                logger.warn("slack_alert: could not read the engine's logs and counters: {}", e.toString());
            } finally {
                Reference.reachabilityFence(this);
            }
        }
        return Collections.emptyList();
    }

    /** Stops the engine, delivering what is queued within {@code shutdown_timeout}. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        Live engine;
        synchronized (this) {
            // No engine starts after this: start() checks closed under the same lock.
            engine = live;
            pendingConfig = null;
        }
        if (engine == null) {
            return;
        }
        String[] result = engine.closer.closeByOwner(engine.cleanable);
        if (result == null || result.length < 3) {
            return;
        }
        // The engine logged its shutdown report (result[0]) among the remaining lines.
        logPairs(logger, result, 3);
        publish(parseCounters(result[1]));
        publishRules(engine, parseCounters(result[2]));
    }

    private static long[] parseCounters(String csv) {
        if (csv.isEmpty()) {
            return new long[0];
        }
        String[] parts = csv.split(",");
        long[] values = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            values[i] = Long.parseLong(parts[i]);
        }
        return values;
    }

    @Override
    public Collection<PluginConfigSpec<?>> configSchema() {
        return PluginHelper.commonFilterSettings(Catalog.get().settings().all);
    }

    @Override
    public String getId() {
        return id;
    }

    @Override
    public String toString() {
        return "SlackAlert{id=" + id + ", closed=" + closed.get() + "}";
    }

    /** Test-only: the native handle (starting the engine if need be), for fault injection; 0 once closed. */
    long handle() {
        Live engine = live();
        return engine == null ? 0 : engine.handle;
    }

    /** Test-only: whether the engine has started. */
    boolean started() {
        return live != null;
    }

    /**
     * What the shim keeps about a running engine: its handle and the field references and rule
     * names it reported when it started, and how it is closed.
     */
    private static final class Live {
        final long handle;
        final String[] levelRefs;
        final String[] keyRefs;
        final String[] eventRefs;
        /** What a heartbeat carries; empty without flatline rules. */
        final String[] heartbeatRefs;
        /** Per heartbeat reference, the one it only backs up, or -1 (see {@link NativeEngine#heartbeatFallbacks}). */
        final int[] heartbeatFallbacks;
        /** Rule names, for the gauges under {@code rules.<name>}. */
        final String[] ruleNames;
        final boolean admitsMissingLevel;
        final Closer closer;
        /** Runs {@link #closer} once: from {@link SlackAlert#close}, or when the filter is garbage. */
        final Cleaner.Cleanable cleanable;

        private Live(long handle, String[] levelRefs, String[] keyRefs, String[] eventRefs, String[] heartbeatRefs,
                int[] heartbeatFallbacks, String[] ruleNames, boolean admitsMissingLevel, Closer closer,
                Cleaner.Cleanable cleanable) {
            this.handle = handle;
            this.levelRefs = levelRefs;
            this.keyRefs = keyRefs;
            this.eventRefs = eventRefs;
            this.heartbeatRefs = heartbeatRefs;
            this.heartbeatFallbacks = heartbeatFallbacks;
            this.ruleNames = ruleNames;
            this.admitsMissingLevel = admitsMissingLevel;
            this.closer = closer;
            this.cleanable = cleanable;
        }

        /**
         * Reads what the engine behind {@code handle} reports and registers its closing with the
         * {@link Cleaner}, for when {@code owner} becomes unreachable without being closed.
         */
        static Live of(long handle, SlackAlert owner, Logger logger, String id) {
            String[] levels = NativeEngine.levelRefs(handle);
            String[] keys = NativeEngine.keyRefs(handle);
            String[] fields = NativeEngine.eventRefs(handle);
            String[] beats = NativeEngine.heartbeatRefs(handle);
            int[] fallbacks = NativeEngine.heartbeatFallbacks(handle);
            String[] rules = NativeEngine.ruleNames(handle);
            if (levels == null || keys == null || fields == null || beats == null || fallbacks == null
                    || fallbacks.length != beats.length || rules == null) {
                throw new IllegalStateException("slack_alert: the engine closed while starting");
            }
            boolean admitsMissing = NativeEngine.admitsMissingLevel(handle);
            Closer closer = new Closer(handle, logger, id);
            Cleaner.Cleanable cleanable = Closer.CLEANER.register(owner, closer);
            return new Live(handle, levels, keys, fields, beats, fallbacks, rules, admitsMissing, closer, cleanable);
        }
    }

    /**
     * Closes one engine, once. It holds no reference to the filter, so that it can run as the
     * {@link Cleaner} action of a filter Logstash dropped without calling {@code close()}: a
     * pipeline that fails to start after this filter started, or a leaked instance.
     */
    private static final class Closer implements Runnable {
        /** One daemon thread for every engine of this class loader; made with the first engine. */
        static final Cleaner CLEANER = Cleaner.create();

        private final long handle;
        private final Logger logger;
        private final String id;
        private volatile boolean byOwner;
        private volatile String[] result;

        Closer(long handle, Logger logger, String id) {
            this.handle = handle;
            this.logger = logger;
            this.id = id;
        }

        /** Closes from {@link SlackAlert#close}: returns what the engine reported, null if it failed. */
        String[] closeByOwner(Cleaner.Cleanable cleanable) {
            byOwner = true;
            cleanable.clean();
            return result;
        }

        @Override
        public void run() {
            String[] closed;
            try {
                closed = NativeEngine.close(handle);
            } catch (RuntimeException | LinkageError e) {
                logger.error("slack_alert: stopping the alert engine failed: {}", e.toString());
                return;
            }
            result = closed;
            if (!byOwner && closed != null) {
                logger.warn("slack_alert: filter {} was dropped without being closed; its alert engine is stopped",
                        id);
                logPairs(logger, closed, 3);
            }
        }
    }

    /**
     * The engine's verdict ({@link NativeEngine#ALERT_CANDIDATE}, {@link NativeEngine#HEARTBEAT_ONLY}
     * or {@link NativeEngine#NOT_CANDIDATE}) for level texts it has matched before, so that a batch
     * whose levels all have one needs no native call. This remembers answers; it knows no rule: a
     * text is only ever added after the engine matched it, and a verdict never changes for a given
     * engine. At most {@link #CAPACITY} texts are kept (pipelines use a handful of level spellings);
     * others are matched by the engine every time.
     */
    static final class Verdicts {
        static final int CAPACITY = 16;
        /** Open addressing, at most a quarter full: a lookup is mostly one comparison. */
        private static final int SLOTS = 64;
        static final Verdicts NONE = new Verdicts(new String[SLOTS], new byte[SLOTS], 0, -1);

        private final String[] texts;
        /** The verdict of each text. */
        private final byte[] alerts;
        private final int size;
        /** The verdict for an event without a level, or -1. */
        private final int absent;

        private Verdicts(String[] texts, byte[] alerts, int size, int absent) {
            this.texts = texts;
            this.alerts = alerts;
            this.size = size;
            this.absent = absent;
        }

        /**
         * The verdict for {@code level} (null: none): 1 alert candidate, 2 heartbeat only, 0
         * neither, -1 if the engine has not answered for it.
         */
        int of(Object level) {
            if (level == null) {
                return absent;
            }
            if (!(level instanceof String)) {
                return -1;
            }
            String text = (String) level;
            int i = slot(text);
            String t = texts[i];
            if (t != null && t.equals(text)) {
                return alerts[i];
            }
            return t == null ? -1 : probe(text, i);
        }

        /** The rest of a lookup whose first slot holds another text. */
        private int probe(String text, int start) {
            for (int i = (start + 1) & (SLOTS - 1);; i = (i + 1) & (SLOTS - 1)) {
                String t = texts[i];
                if (t == null) {
                    return -1;
                }
                if (t.equals(text)) {
                    return alerts[i];
                }
            }
        }

        boolean full() {
            return size >= CAPACITY;
        }

        /**
         * Where {@code text} goes: from its length and first character, which tell the few
         * spellings a pipeline uses apart without reading every character (as {@code hashCode}
         * of each new string Logstash hands over would).
         */
        private static int slot(String text) {
            int len = text.length();
            return len == 0 ? 0 : (len * 13 + text.charAt(0)) & (SLOTS - 1);
        }

        /** These verdicts and one more, unless full or already known. */
        Verdicts with(String text, byte verdict) {
            if (full() || of(text) >= 0) {
                return this;
            }
            String[] t = texts.clone();
            byte[] a = alerts.clone();
            int i = slot(text);
            while (t[i] != null) {
                i = (i + 1) & (SLOTS - 1);
            }
            t[i] = text;
            a[i] = verdict;
            return new Verdicts(t, a, size + 1, absent);
        }

        /** These verdicts with the one for events without a level. */
        Verdicts withAbsent(byte verdict) {
            return new Verdicts(texts, alerts, size, verdict);
        }
    }

    /** One worker thread's reusable buffers. */
    private static final class Scratch {
        final ByteBuffer slots = ByteBuffer.allocateDirect(NativeEngine.BUFFER_SIZE);
        /** Slots are written here, then copied to {@link #slots} in one go. */
        final byte[] levels = new byte[NativeEngine.MASK_OFFSET];
        /** Per event of the chunk: its verdict (0, 1, 2), or negative while not known yet. */
        final byte[] hits = new byte[NativeEngine.MAX_BATCH];
        /** The matched events of the chunk being submitted; cleared after each batch. */
        final Event[] matched = new Event[NativeEngine.MAX_BATCH];
        /** How many entries of {@link #matched} may be set. */
        int matchedHigh;
        /** The batch's second iterator, made when a chunk has matches; {@link #lagAt} events in. */
        private Iterator<Event> lag;
        int lagAt;
        /** Key field values as {@link NativeEngine#submitKeys} reads them, built here. */
        private byte[] fieldBytes = new byte[16 * 1024];
        private int fieldLength;
        private ByteBuffer fields = ByteBuffer.allocateDirect(16 * 1024);
        private final StringBuilder json = new StringBuilder(256);
        /** The heartbeat values being read, and the last heartbeat's sent in this chunk. */
        private Object[] beat = new Object[0];
        private Object[] lastBeat = new Object[0];
        /** Per heartbeat reference: whether it (or one it backs up) names a value. */
        private boolean[] named = new boolean[0];
        /** Whether {@link #lastBeat} holds a heartbeat of this chunk. */
        private boolean lastBeatSet;

        /** Starts a chunk's heartbeats (in the field buffer, which {@link #clearFields} also clears). */
        void startBeats() {
            clearFields();
            lastBeatSet = false;
        }
        /** How many events the last heartbeat stands for so far. */
        private int run;

        /**
         * Reads {@code event}'s heartbeat fields and, unless they equal the last heartbeat's of the
         * chunk (then that one stands for one more event), appends how many events the last one
         * stands for, then these values (as {@link #appendField} does), and returns true. See
         * {@link NativeEngine#heartbeats}; {@link #endBeats} ends the last one.
         */
        boolean newBeat(Event event, String[] refs, int[] fallbacks) {
            int width = refs.length;
            if (beat.length < width) {
                beat = new Object[width];
                lastBeat = new Object[width];
                named = new boolean[width];
                lastBeatSet = false;
            }
            boolean same = lastBeatSet;
            for (int f = 0; f < width; f++) {
                int backs = fallbacks[f];
                Object value;
                if (backs >= 0 && named[backs]) {
                    // Only read when the reference it backs up names nothing: the engine would not.
                    value = null;
                    named[f] = true;
                } else {
                    value = event.getField(refs[f]);
                    named[f] = value != null && !(value instanceof String && ((String) value).isEmpty());
                }
                beat[f] = value;
                same = same && Objects.equals(value, lastBeat[f]);
            }
            if (same) {
                run++;
                return false;
            }
            if (lastBeatSet) {
                appendCount(run);
            }
            for (int f = 0; f < width; f++) {
                appendField(beat[f]);
            }
            run = 1;
            Object[] swap = lastBeat;
            lastBeat = beat;
            beat = swap;
            lastBeatSet = true;
            return true;
        }
        private String[] values = new String[0];

        /** A values array of exactly {@code n} entries, reused while batches keep that size. */
        String[] values(int n) {
            if (values.length != n) {
                values = new String[n];
            }
            return values;
        }

        void clearFields() {
            fieldLength = 0;
        }

        /** Appends one value, JSON-encoded, in UTF-8, and a newline. */
        void appendField(Object value) {
            json.setLength(0);
            NativeEngine.appendValue(json, value);
            int len = json.length();
            ensureFieldBytes(fieldLength + 3 * len + 1);
            byte[] out = fieldBytes;
            int at = fieldLength;
            for (int i = 0; i < len; i++) {
                char c = json.charAt(i);
                if (c < 0x80) {
                    out[at++] = (byte) c;
                } else if (c < 0x800) {
                    out[at++] = (byte) (0xC0 | c >> 6);
                    out[at++] = (byte) (0x80 | c & 0x3F);
                } else if (Character.isHighSurrogate(c) && i + 1 < len && Character.isLowSurrogate(json.charAt(i + 1))) {
                    int cp = Character.toCodePoint(c, json.charAt(++i));
                    out[at++] = (byte) (0xF0 | cp >> 18);
                    out[at++] = (byte) (0x80 | cp >> 12 & 0x3F);
                    out[at++] = (byte) (0x80 | cp >> 6 & 0x3F);
                    out[at++] = (byte) (0x80 | cp & 0x3F);
                } else {
                    // A lone surrogate has no UTF-8 form (appendValue never writes one).
                    char d = Character.isSurrogate(c) ? '\uFFFD' : c;
                    out[at++] = (byte) (0xE0 | d >> 12);
                    out[at++] = (byte) (0x80 | d >> 6 & 0x3F);
                    out[at++] = (byte) (0x80 | d & 0x3F);
                }
            }
            out[at++] = '\n';
            fieldLength = at;
        }

        /** Ends the chunk's last heartbeat: how many events it stands for. */
        void endBeats() {
            if (lastBeatSet) {
                appendCount(run);
            }
        }

        /** Appends a positive count, as JSON, and a newline (no allocation). */
        private void appendCount(int n) {
            ensureFieldBytes(fieldLength + 12);
            int digits = 1;
            for (int v = n; v >= 10; v /= 10) {
                digits++;
            }
            int at = fieldLength + digits;
            for (int v = n, i = at - 1; i >= fieldLength; i--, v /= 10) {
                fieldBytes[i] = (byte) ('0' + v % 10);
            }
            fieldBytes[at] = '\n';
            fieldLength = at + 1;
        }

        private void ensureFieldBytes(int needed) {
            if (needed > fieldBytes.length) {
                fieldBytes = Arrays.copyOf(fieldBytes, Math.max(needed, 2 * fieldBytes.length));
            }
        }

        int fieldsLength() {
            return fieldLength;
        }

        /** The values appended since {@link #clearFields}, in a direct buffer. */
        ByteBuffer fields() {
            if (fields.capacity() < fieldLength) {
                fields = ByteBuffer.allocateDirect(Math.max(fieldLength, 2 * fields.capacity()));
            }
            fields.clear();
            fields.put(fieldBytes, 0, fieldLength);
            return fields;
        }

        /** The batch's second iterator, moved to position {@code start}. */
        Iterator<Event> lag(Collection<Event> events, int start) {
            if (lag == null) {
                lag = events.iterator();
                lagAt = 0;
            }
            for (; lagAt < start; lagAt++) {
                lag.next();
            }
            return lag;
        }

        /** Drops the references to the last batch's events. */
        void releaseMatched() {
            if (lastBeatSet) {
                Arrays.fill(lastBeat, null);
                Arrays.fill(beat, null);
                lastBeatSet = false;
            }
            if (lag != null) {
                lag = null;
            }
            if (matchedHigh > 0) {
                Arrays.fill(matched, 0, matchedHigh, null);
                matchedHigh = 0;
            }
        }
    }
}
