package io.slackalert.logstash;

import static org.junit.jupiter.api.Assertions.fail;

import co.elastic.logstash.api.Configuration;
import co.elastic.logstash.api.Context;
import co.elastic.logstash.api.PluginConfigSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jruby.Ruby;
import org.jruby.RubyArray;
import org.jruby.RubyHash;
import org.jruby.runtime.Block;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;
import org.logstash.Event;
import org.logstash.RubyUtil;
import org.logstash.Rubyfier;
import org.logstash.common.EnvironmentVariableProvider;
import org.logstash.common.NullDeadLetterQueueWriter;
import org.logstash.config.ir.CompiledPipeline;
import org.logstash.config.ir.compiler.JavaFilterDelegatorExt;
import org.logstash.ext.JrubyEventExtLibrary;
import org.logstash.instrument.metrics.AbstractMetricExt;
import org.logstash.instrument.metrics.AbstractNamespacedMetricExt;
import org.logstash.plugins.ConfigVariableExpander;
import org.logstash.plugins.ConfigurationImpl;
import org.logstash.plugins.ContextImpl;
import org.logstash.plugins.NamespacedMetricImpl;
import org.logstash.plugins.PluginUtil;
import org.logstash.plugins.factory.PluginMetricsFactoryExt;

/**
 * Drives the plugin the way Logstash does, with the real logstash-core classes: the pipeline
 * compiler's conversion of the options, {@code AbstractPluginCreator}'s construct-then-validate,
 * the {@link JavaFilterDelegatorExt} every Java filter runs in, {@link ContextImpl} over the real
 * metric classes. What logstash-core leaves to a pipeline (batching, flush, close) the tests do.
 */
final class RealLogstash {

    static final Ruby RUBY = RubyUtil.RUBY;

    private RealLogstash() {
    }

    /**
     * The options as the pipeline hands them to a plugin: {@code lscl} shaped as the LSCL parser
     * leaves them ({@code "true"} as a String, numbers as Long/Double, arrays, hashes), Rubyfied
     * and put through {@code CompiledPipeline.expandConfigVariables}, which expands {@code ${VAR}}
     * from {@code environment}.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static Map<String, Object> args(Map<String, Object> lscl, EnvironmentVariableProvider environment) {
        return new HashMap<>(CompiledPipeline.expandConfigVariables(ConfigVariableExpander.withoutSecret(environment),
                (Map) Rubyfier.deep(RUBY, lscl)));
    }

    /** The filter's top-level setting {@code name}, as its {@code configSchema()} declares it. */
    static PluginConfigSpec<?> setting(String name) {
        NativeLibrary.load(null);
        PluginConfigSpec<?> spec = Catalog.get().settings().get(name);
        if (spec == null) {
            throw new IllegalArgumentException("no setting " + name);
        }
        return spec;
    }

    /** {@link #args(Map, EnvironmentVariableProvider)} with the process environment. */
    static Map<String, Object> args(Map<String, Object> lscl) {
        return args(lscl, EnvironmentVariableProvider.defaultProvider());
    }

    /**
     * Constructs the filter, then validates it, as {@code AbstractPluginCreator} does: an exception
     * from the constructor is wrapped in an {@link IllegalStateException}; a refused configuration
     * throws from {@code PluginUtil.validateConfig}, and the filter is dropped without close().
     */
    static SlackAlert create(String id, Map<String, Object> args, Context context) {
        Configuration config = new ConfigurationImpl(args);
        SlackAlert plugin;
        try {
            plugin = new SlackAlert(id, config, context);
        } catch (RuntimeException e) {
            throw new IllegalStateException(e);
        }
        PluginUtil.validateConfig(plugin, config);
        return plugin;
    }

    /** A context whose metrics go nowhere (logstash-core's null metric). */
    static Context nullContext() {
        ThreadContext ctx = RUBY.getCurrentContext();
        AbstractNamespacedMetricExt plugins = org.logstash.instrument.metrics.NullMetricExt.create()
                .namespace(ctx, RubyArray.newArray(RUBY, List.of(RUBY.newSymbol("plugins"))));
        return new ContextImpl(NullDeadLetterQueueWriter.getInstance(), new NamespacedMetricImpl(ctx, plugins));
    }

    /**
     * Logstash's metric tree over a collector that stores the real metric types (Logstash's own
     * Ruby collector needs gems logstash-core does not carry), the {@link ContextImpl} plugins get,
     * and the namespace the pipeline gives filter delegators.
     */
    static final class Metrics {
        private static final String COLLECTOR = String.join("\n",
                "require 'logstash/instrument/metric_type'",
                "class SlackAlertTestCollector",
                "  def initialize; @store = {}; @lock = Mutex.new; end",
                "  def get(namespaces, key, type)",
                "    @lock.synchronize { @store[Array(namespaces).map(&:to_s) << key.to_s] ||="
                        + " LogStash::Instrument::MetricType.create(type, namespaces, key) }",
                "  end",
                "  def push(namespaces, key, type, *args)",
                "    m = get(namespaces, key, type)",
                "    return m.execute(*args) if m.respond_to?(:execute)",
                "    type == :gauge ? m.set(args[1]) : m.increment(*args[1..])",
                "  end",
                "  def register(namespaces, key, &block)",
                "    @lock.synchronize { @store[Array(namespaces).map(&:to_s) << key.to_s] ||= block.call }",
                "  end",
                "  def snapshot; @lock.synchronize { @store.map { |k, m| [k.join('/'), m.value] }.to_h }; end",
                "end",
                "SlackAlertTestCollector.new");

        final IRubyObject collector;
        final Context context;
        final AbstractNamespacedMetricExt filters;

        Metrics() {
            ThreadContext ctx = RUBY.getCurrentContext();
            collector = RUBY.evalScriptlet(COLLECTOR);
            AbstractMetricExt metric = (AbstractMetricExt) RubyUtil.METRIC_CLASS.newInstance(ctx, collector,
                    Block.NULL_BLOCK);
            AbstractNamespacedMetricExt plugins = metric.namespace(ctx, RubyArray.newArray(RUBY, List.of(
                    RUBY.newSymbol("stats"), RUBY.newSymbol("pipelines"), RUBY.newSymbol("main"),
                    RUBY.newSymbol("plugins"))));
            context = new ContextImpl(NullDeadLetterQueueWriter.getInstance(), new NamespacedMetricImpl(ctx, plugins));
            filters = new PluginMetricsFactoryExt(RUBY, RubyUtil.PLUGIN_METRICS_FACTORY_CLASS)
                    .initialize(ctx, RUBY.newString("main"), metric).create(ctx, RUBY.newString("filter"));
        }

        /** Every metric as {@code stats/pipelines/main/plugins/filters/<id>/<name>} → value. */
        Map<?, ?> snapshot() {
            ThreadContext ctx = RUBY.getCurrentContext();
            return (Map<?, ?>) collector.callMethod(ctx, "snapshot").toJava(Map.class);
        }

        /** One metric of filter {@code id} (the plugin's, or the delegator's such as {@code events/in}), or null. */
        Object filterMetric(String id, String name) {
            return snapshot().get("stats/pipelines/main/plugins/filters/" + id + "/" + name);
        }
    }

    /** The delegator the pipeline wraps {@code plugin} in, as {@code PluginFactoryExt} builds it. */
    static JavaFilterDelegatorExt delegator(String id, SlackAlert plugin, Map<String, Object> args, Metrics metrics) {
        return JavaFilterDelegatorExt.create("slack_alert", id, metrics.filters, plugin, args);
    }

    /** One batch through the delegator: the events that come out (all of them, changed or not). */
    static List<Event> multiFilter(JavaFilterDelegatorExt delegator, Collection<Event> batch) {
        List<IRubyObject> in = new ArrayList<>(batch.size());
        for (Event e : batch) {
            in.add(JrubyEventExtLibrary.RubyEvent.newRubyEvent(RUBY, e));
        }
        RubyArray<?> out = delegator.multiFilter(RubyArray.newArray(RUBY, in));
        List<Event> events = new ArrayList<>();
        for (int i = 0; i < out.size(); i++) {
            events.add(((JrubyEventExtLibrary.RubyEvent) out.eltInternal(i)).getEvent());
        }
        return events;
    }

    /** The periodic (or final) flush the pipeline makes. */
    static void flush(JavaFilterDelegatorExt delegator, boolean last) {
        RubyHash options = RubyHash.newHash(RUBY);
        options.put(RUBY.newSymbol("final"), RUBY.newBoolean(last));
        delegator.flush(options);
    }

    static void close(JavaFilterDelegatorExt delegator) {
        delegator.close(RUBY.getCurrentContext());
    }

    /** Every line of the sample logs the demo uses, as the json codec makes events of them. */
    static List<Event> sampleEvents() throws IOException {
        Path dir = Paths.get(System.getProperty("slackalert.samples", "../../logstash-config/sample-logs"));
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> listing = Files.newDirectoryStream(dir, "*.jsonl")) {
            listing.forEach(files::add);
        }
        files.sort(null);
        List<Event> events = new ArrayList<>();
        for (Path file : files) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    for (Event e : Event.fromJson(line)) {
                        events.add(e);
                    }
                }
            }
        }
        if (events.isEmpty()) {
            fail("no sample events under " + dir.toAbsolutePath());
        }
        return events;
    }

    /** One event from a line of JSON, as the json codec makes it. */
    static Event event(String json) {
        try {
            return Event.fromJson(json)[0];
        } catch (IOException e) {
            throw new IllegalArgumentException(json, e);
        }
    }

    /** This process's OS threads, Java and native: the entries of /proc/self/task. */
    static int osThreads() {
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Paths.get("/proc/self/task"))) {
            int n = 0;
            for (Path ignored : tasks) {
                n++;
            }
            return n;
        } catch (IOException e) {
            throw new IllegalStateException("cannot list /proc/self/task", e);
        }
    }
}
