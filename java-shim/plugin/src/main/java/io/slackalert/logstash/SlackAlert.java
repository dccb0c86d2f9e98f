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
import java.nio.ByteBuffer;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.logging.log4j.Logger;

/**
 * Sends Slack alerts for log events whose level alerts (by default ERROR and FATAL), with
 * deduplication and rate limiting.
 *
 * <p>This class only adapts Logstash to the Rust engine: every rule (which levels alert, what is a
 * repeat, how fast to post, what a message looks like) lives in the engine. Per batch it packs each
 * event's level into a reused buffer, makes one native call to match them, and sends the fields of
 * the (rare) matched events in a second call. Events pass through unchanged; matched events are
 * reported to the match listener, so {@code add_field}/{@code add_tag} apply to them.
 */
@LogstashPlugin(name = "slack_alert")
public final class SlackAlert implements Filter {

    /** The incoming-webhook URL; a secret, e.g. {@code "${SLACK_WEBHOOK_URL}"}. */
    public static final PluginConfigSpec<Password> WEBHOOK_URL = PluginConfigSpec.passwordSetting("webhook_url");
    public static final PluginConfigSpec<List<Object>> LEVELS = PluginConfigSpec.arraySetting("levels");
    public static final PluginConfigSpec<String> MIN_LEVEL = PluginConfigSpec.stringSetting("min_level");
    public static final PluginConfigSpec<String> LEVEL_FIELD = PluginConfigSpec.stringSetting("level_field");
    public static final PluginConfigSpec<String> CHANNEL = PluginConfigSpec.stringSetting("channel");
    public static final PluginConfigSpec<String> USERNAME = PluginConfigSpec.stringSetting("username");
    public static final PluginConfigSpec<String> ICON_EMOJI = PluginConfigSpec.stringSetting("icon_emoji");
    public static final PluginConfigSpec<String> ICON_URL = PluginConfigSpec.stringSetting("icon_url");
    public static final PluginConfigSpec<String> TITLE = PluginConfigSpec.stringSetting("title");
    public static final PluginConfigSpec<String> FORMAT = PluginConfigSpec.stringSetting("format");
    public static final PluginConfigSpec<List<Object>> DEDUP_FIELDS = PluginConfigSpec.arraySetting("dedup_fields");
    public static final PluginConfigSpec<String> DEDUP_WINDOW = PluginConfigSpec.stringSetting("dedup_window", "5m");
    public static final PluginConfigSpec<Long> RATE_LIMIT = PluginConfigSpec.numSetting("rate_limit", 20);
    public static final PluginConfigSpec<Long> BURST = PluginConfigSpec.numSetting("burst", 5);
    public static final PluginConfigSpec<Long> QUEUE_SIZE = PluginConfigSpec.numSetting("queue_size", 1000);
    public static final PluginConfigSpec<Long> MAX_TRACKED = PluginConfigSpec.numSetting("max_tracked", 10000);
    public static final PluginConfigSpec<String> TIMEOUT = PluginConfigSpec.stringSetting("timeout", "10s");
    public static final PluginConfigSpec<Long> MAX_RETRIES = PluginConfigSpec.numSetting("max_retries", 3);
    public static final PluginConfigSpec<String> SHUTDOWN_TIMEOUT = PluginConfigSpec.stringSetting("shutdown_timeout", "5s");
    public static final PluginConfigSpec<Boolean> DRY_RUN = PluginConfigSpec.booleanSetting("dry_run", false);
    public static final PluginConfigSpec<Boolean> ALLOW_CUSTOM_WEBHOOK =
            PluginConfigSpec.booleanSetting("allow_custom_webhook", false);
    /** Shim-only: a JNI library the user built, for platforms without a bundled one. */
    public static final PluginConfigSpec<String> NATIVE_LIBRARY = PluginConfigSpec.stringSetting("native_library");

    /** The engine's options, in the engine's order; each is passed on only if the user set it. */
    static final List<PluginConfigSpec<?>> ENGINE_OPTIONS = Collections.unmodifiableList(Arrays.asList(
            WEBHOOK_URL, LEVELS, MIN_LEVEL, LEVEL_FIELD, CHANNEL, USERNAME, ICON_EMOJI, ICON_URL, TITLE,
            FORMAT, DEDUP_FIELDS, DEDUP_WINDOW, RATE_LIMIT, BURST, QUEUE_SIZE, MAX_TRACKED, TIMEOUT,
            MAX_RETRIES, SHUTDOWN_TIMEOUT, DRY_RUN, ALLOW_CUSTOM_WEBHOOK));

    /** Per worker thread: the slot buffer and scratch arrays, reused for every batch. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final String id;
    private final Context context;
    private final Logger logger;
    private final long handle;
    private final String[] levelRefs;
    private final String[] eventRefs;
    private final String[] counterNames;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean failureLogged = new AtomicBoolean();
    /** Failures contained in {@link #filter}; native panics are also in {@code internal_errors}. */
    private final AtomicLong filterFailures = new AtomicLong();

    /**
     * Called by Logstash with the user's settings; fails, stopping the pipeline, with a message
     * naming the option if the configuration is invalid.
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
        this.handle = NativeEngine.create(engineConfigJson(config));
        try {
            String[] levels = NativeEngine.levelRefs(handle);
            String[] fields = NativeEngine.eventRefs(handle);
            if (levels == null || fields == null) {
                throw new IllegalStateException("slack_alert: the engine closed while starting");
            }
            this.levelRefs = levels;
            this.eventRefs = fields;
            this.counterNames = NativeEngine.counterNames();
            drainLogs();
        } catch (RuntimeException | Error e) {
            // Logstash never closes a filter whose constructor threw: stop the engine here.
            NativeEngine.close(handle);
            throw e;
        }
    }

    /**
     * The engine's configuration as JSON: only the options the user set, so the engine applies its
     * own defaults and its own validation. The result contains the webhook URL: never log it.
     */
    static String engineConfigJson(Configuration config) {
        StringBuilder json = new StringBuilder("{");
        for (PluginConfigSpec<?> spec : ENGINE_OPTIONS) {
            if (!config.contains(spec)) {
                continue;
            }
            Object value;
            try {
                // Typed as Logstash converts it: a password setting arrives as a Password, also
                // when it came from the keystore.
                value = config.get(spec);
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
        return value;
    }

    @Override
    public Collection<Event> filter(Collection<Event> events, FilterMatchListener matchListener) {
        if (closed.get() || events.isEmpty()) {
            return events;
        }
        Scratch scratch = SCRATCH.get();
        Iterator<Event> it = events.iterator();
        try {
            while (it.hasNext()) {
                int count = 0;
                while (count < NativeEngine.MAX_BATCH && it.hasNext()) {
                    Event event = it.next();
                    scratch.events[count] = event;
                    encodeLevel(scratch.slots, count, event);
                    count++;
                }
                boolean open = processChunk(scratch, count, matchListener);
                if (!open) {
                    break;
                }
            }
        } catch (RuntimeException | LinkageError e) {
            // A failure must never stop the pipeline: the batch passes through unchanged.
            filterFailures.incrementAndGet();
            if (failureLogged.compareAndSet(false, true)) {
                logger.error("slack_alert: alerting failed for a batch, which passed through unchanged;"
                        + " further failures are counted (gauge filter_failures), not logged: {}", e.toString());
            }
        } finally {
            Arrays.fill(scratch.events, null);
        }
        return events;
    }

    /** Matches one chunk, submits its matched events; returns false once the engine is closed. */
    private boolean processChunk(Scratch scratch, int count, FilterMatchListener matchListener) {
        int result = NativeEngine.matchBatch(handle, scratch.slots, count);
        if (result == NativeEngine.CLOSED) {
            return false;
        }
        boolean logsPending = (result & NativeEngine.LOGS_PENDING) != 0;
        int matched = result & ~NativeEngine.LOGS_PENDING;
        if (matched > 0) {
            int[] picked = scratch.picked;
            int n = 0;
            for (int i = 0; i < count; i++) {
                if (scratch.slots.get(NativeEngine.MASK_OFFSET + i) != 0) {
                    picked[n++] = i;
                }
            }
            int width = eventRefs.length;
            String[] values = scratch.values(n * width);
            for (int k = 0; k < n; k++) {
                Event event = scratch.events[picked[k]];
                for (int f = 0; f < width; f++) {
                    Object value = event.getField(eventRefs[f]);
                    values[k * width + f] = value == null ? null : NativeEngine.toJson(value);
                }
            }
            int submitted = NativeEngine.submit(handle, values, n);
            Arrays.fill(values, null);
            for (int k = 0; k < n; k++) {
                matchListener.filterMatched(scratch.events[picked[k]]);
            }
            if (submitted == NativeEngine.CLOSED) {
                return false;
            }
            logsPending |= (submitted & NativeEngine.LOGS_PENDING) != 0;
        }
        if (logsPending) {
            drainLogs();
        }
        return true;
    }

    /**
     * Writes an event's level into its slot: the first non-null level reference; a short ASCII
     * string as its bytes, a small whole number as its digits, anything else as "no level".
     */
    private void encodeLevel(ByteBuffer slots, int index, Event event) {
        int base = index * NativeEngine.SLOT_SIZE;
        Object level = null;
        for (String ref : levelRefs) {
            level = event.getField(ref);
            if (level != null) {
                break;
            }
        }
        if (level instanceof String) {
            String s = (String) level;
            int len = s.length();
            if (len <= NativeEngine.MAX_LEVEL_LEN) {
                for (int i = 0; i < len; i++) {
                    char c = s.charAt(i);
                    if (c >= 0x80) {
                        slots.put(base, NativeEngine.NO_LEVEL);
                        return;
                    }
                    slots.put(base + 1 + i, (byte) c);
                }
                slots.put(base, (byte) len);
                return;
            }
        } else if (level instanceof Long || level instanceof Integer || level instanceof Short) {
            long n = ((Number) level).longValue();
            if (n >= 0 && n <= 999) {
                int len = n >= 100 ? 3 : n >= 10 ? 2 : 1;
                for (int i = len; i > 0; i--) {
                    slots.put(base + i, (byte) ('0' + n % 10));
                    n /= 10;
                }
                slots.put(base, (byte) len);
                return;
            }
        }
        slots.put(base, NativeEngine.NO_LEVEL);
    }

    /** Writes the engine's buffered log lines to the plugin's logger. */
    private void drainLogs() {
        String[] lines = NativeEngine.drainLogs(handle);
        if (lines != null) {
            logPairs(lines, 0);
        }
    }

    private void logPairs(String[] pairs, int from) {
        for (int i = from; i + 1 < pairs.length; i += 2) {
            log(pairs[i], pairs[i + 1]);
        }
    }

    private void log(String level, String message) {
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
            metric.gauge(counterNames[i], values[i]);
        }
        metric.gauge("filter_failures", filterFailures.get());
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
            try {
                drainLogs();
                publish(NativeEngine.counters(handle));
            } catch (RuntimeException e) {
                filterFailures.incrementAndGet();
                logger.warn("slack_alert: could not read the engine's logs and counters: {}", e.toString());
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
        String[] result;
        try {
            result = NativeEngine.close(handle);
        } catch (RuntimeException | LinkageError e) {
            logger.error("slack_alert: stopping the alert engine failed: {}", e.toString());
            return;
        }
        if (result == null || result.length < 2) {
            return;
        }
        // The engine logged its shutdown report (result[0]) among the remaining lines.
        logPairs(result, 2);
        publish(parseCounters(result[1]));
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
        List<PluginConfigSpec<?>> schema = new ArrayList<>(ENGINE_OPTIONS);
        schema.add(NATIVE_LIBRARY);
        return PluginHelper.commonFilterSettings(schema);
    }

    @Override
    public String getId() {
        return id;
    }

    @Override
    public String toString() {
        return "SlackAlert{id=" + id + ", closed=" + closed.get() + "}";
    }

    /** Test-only: the native handle, for fault injection. */
    long handle() {
        return handle;
    }

    /** One worker thread's reusable buffers. */
    private static final class Scratch {
        final ByteBuffer slots = ByteBuffer.allocateDirect(NativeEngine.BUFFER_SIZE);
        final Event[] events = new Event[NativeEngine.MAX_BATCH];
        final int[] picked = new int[NativeEngine.MAX_BATCH];
        private String[] values = new String[0];

        /** A values array of exactly {@code n} entries, reused while batches keep that size. */
        String[] values(int n) {
            if (values.length != n) {
                values = new String[n];
            }
            return values;
        }
    }
}
