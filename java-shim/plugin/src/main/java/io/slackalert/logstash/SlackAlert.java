package io.slackalert.logstash;

import co.elastic.logstash.api.Configuration;
import co.elastic.logstash.api.Context;
import co.elastic.logstash.api.Event;
import co.elastic.logstash.api.Filter;
import co.elastic.logstash.api.FilterMatchListener;
import co.elastic.logstash.api.LogstashPlugin;
import co.elastic.logstash.api.NamespacedMetric;
import co.elastic.logstash.api.PluginConfigSpec;
import co.elastic.logstash.api.PluginHelper;
import java.lang.ref.Reference;
import java.nio.file.Paths;
import java.util.Collection;
import java.util.Collections;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.logging.log4j.Logger;

/**
 * Sends Slack alerts for log events whose level alerts (by default ERROR and FATAL), with
 * deduplication and rate limiting.
 *
 * <p>This class only adapts Logstash to the Rust engine: every rule (which levels alert, what is a
 * repeat, how fast to post, what a message looks like) lives in the engine. Its settings come from
 * the engine's option table ({@link Catalog}); each batch goes to the engine through the worker's
 * {@link Batch}; the engine's counters become this filter's gauges, its log lines this filter's.
 * Events pass through unchanged; events an alert rule matched are reported to the match listener,
 * so {@code add_field}/{@code add_tag} apply to them.
 */
@LogstashPlugin(name = SlackAlert.NAME)
public final class SlackAlert implements Filter {

    /** The plugin's name in a pipeline configuration. */
    static final String NAME = "slack_alert";

    /**
     * Shim-only: a JNI library the user built, for platforms without a bundled one. The one setting
     * declared here rather than taken from the library's {@link Catalog}: it says which library to
     * load, so it is read before there is a catalog.
     */
    public static final PluginConfigSpec<String> NATIVE_LIBRARY = PluginConfigSpec.stringSetting("native_library");

    /**
     * The gauge of the engine's {@code events} counter. Logstash keeps {@code events} beside a
     * filter's gauges as a namespace of its own ({@code events.in}, {@code events.out}); its metric
     * store is a tree, so a gauge of that name would be lost from the monitoring API.
     */
    static final String EVENTS_GAUGE = "events_seen";

    private final String id;
    private final Context context;
    private final Logger logger;
    private final Catalog catalog;
    /**
     * The engine's configuration, validated, until the engine starts (it holds the webhook URL or
     * the bot token: never logged). Guarded by {@code this}.
     */
    private String pendingConfig;
    /** The running engine; null until the first {@link #filter} or {@link #flush}. */
    private volatile EngineHandle live;
    /** Why the engine could not start, once it failed; it is not tried again. Guarded by {@code this}. */
    private RuntimeException startFailure;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean failureLogged = new AtomicBoolean();
    /** Failures contained in {@link #filter}; native panics are also in {@code internal_errors}. */
    private final AtomicLong filterFailures = new AtomicLong();

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
        Catalog.Settings.refuseUnknown(config, configSchema());
        this.catalog = Catalog.get();
        String json = catalog.settings().engineJson(config);
        NativeEngine.validate(json);
        this.pendingConfig = json;
    }

    /** The running engine, started on first use; null if the filter was closed before. */
    private EngineHandle live() {
        EngineHandle current = live;
        return current != null ? current : start();
    }

    /**
     * Starts the engine unless it runs or the filter is closed.
     *
     * @throws RuntimeException if the engine cannot start, or could not the first time
     */
    private synchronized EngineHandle start() {
        if (startFailure != null) {
            throw startFailure;
        }
        if (live != null || closed.get()) {
            return live;
        }
        try {
            live = EngineHandle.start(pendingConfig, this, logger, id);
        } catch (RuntimeException | Error e) {
            // Not configuration (that was checked in the constructor): the OS refused a thread, or
            // TLS could not start. Tried once: a retry per batch could leak half-started threads.
            startFailure = e instanceof RuntimeException ? (RuntimeException) e : new IllegalStateException(e);
            throw e;
        }
        pendingConfig = null;
        writeLogs(live.poll());
        return live;
    }

    @Override
    public Collection<Event> filter(Collection<Event> events, FilterMatchListener matchListener) {
        if (closed.get() || events.isEmpty()) {
            return events;
        }
        try {
            EngineHandle engine = live();
            if (engine != null && Batch.forThread().run(engine, events, matchListener) == NativeEngine.LOGS_PENDING) {
                writeLogs(engine.poll());
            }
        } catch (RuntimeException | LinkageError e) {
            // A failure must never stop the pipeline: the batch passes through unchanged.
            filterFailures.incrementAndGet();
            if (failureLogged.compareAndSet(false, true)) {
                logger.error("slack_alert: alerting failed for a batch, which passed through unchanged;"
                        + " further failures are counted (gauge filter_failures), not logged: {}", e.toString());
            }
        } finally {
            // The engine is closed by a Cleaner once this filter is unreachable: not while a native
            // call made for it runs.
            Reference.reachabilityFence(this);
        }
        return events;
    }

    /** Writes a report's log lines to the plugin's logger. */
    private void writeLogs(Object[] report) {
        if (report != null) {
            EngineHandle.log(logger, (String[]) report[NativeEngine.REPORT_LOGS]);
        }
    }

    /**
     * Publishes a report's counters as gauges in the plugin's metric namespace, and each rule's in
     * {@code rules.<rule name>} below it.
     */
    private void publish(EngineHandle engine, Object[] report) {
        NamespacedMetric metric = context.getMetric(this);
        metric.gauge("filter_failures", filterFailures.get());
        if (report == null) {
            return;
        }
        long[] values = (long[]) report[NativeEngine.REPORT_COUNTERS];
        for (int i = 0; i < values.length && i < catalog.counterNames.length; i++) {
            String name = catalog.counterNames[i];
            metric.gauge(name.equals("events") ? EVENTS_GAUGE : name, values[i]);
        }
        long[] rules = (long[]) report[NativeEngine.REPORT_RULE_COUNTERS];
        int width = catalog.ruleCounterNames.length;
        for (int r = 0; width > 0 && r < engine.ruleNames.length && (r + 1) * width <= rules.length; r++) {
            NamespacedMetric rule = metric.namespace("rules", engine.ruleNames[r]);
            for (int c = 0; c < width; c++) {
                rule.gauge(catalog.ruleCounterNames[c], rules[r * width + c]);
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
        if (closed.get()) {
            return Collections.emptyList();
        }
        EngineHandle engine = null;
        try {
            engine = live();
        } catch (RuntimeException e) {
            filterFailures.incrementAndGet();
            if (failureLogged.compareAndSet(false, true)) {
                logger.error("slack_alert: the alert engine could not start, so nothing is alerted; events"
                        + " pass through unchanged and batches are counted (gauge filter_failures): {}",
                        e.toString());
            }
        }
        try {
            Object[] report = engine == null ? null : engine.poll();
            writeLogs(report);
            publish(engine, report);
        } catch (RuntimeException e) {
            filterFailures.incrementAndGet();
            logger.warn("slack_alert: could not read the engine's logs and counters: {}", e.toString());
        } finally {
            Reference.reachabilityFence(this);
        }
        return Collections.emptyList();
    }

    /** Stops the engine, delivering what is queued within {@code shutdown_timeout}. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        EngineHandle engine;
        synchronized (this) {
            // No engine starts after this: start() checks closed under the same lock.
            engine = live;
            pendingConfig = null;
        }
        if (engine == null) {
            return;
        }
        Object[] report = engine.close();
        // The engine logged its shutdown report among the remaining lines.
        writeLogs(report);
        if (report != null) {
            publish(engine, report);
        }
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
        EngineHandle engine = live();
        return engine == null ? 0 : engine.handle;
    }

    /** Test-only: whether the engine has started. */
    boolean started() {
        return live != null;
    }
}
