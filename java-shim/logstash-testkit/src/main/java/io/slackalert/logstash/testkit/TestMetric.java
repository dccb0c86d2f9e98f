package io.slackalert.logstash.testkit;

import co.elastic.logstash.api.CounterMetric;
import co.elastic.logstash.api.Metric;
import co.elastic.logstash.api.NamespacedMetric;
import co.elastic.logstash.api.TimerMetric;
import co.elastic.logstash.api.UserMetric;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * A {@link NamespacedMetric} that records what a plugin publishes: gauges, counters, timers and
 * user metrics, per namespace. Namespaces share one store, keyed by the namespace path and the
 * metric name as a list, as Logstash keys its metric store: a key may contain dots (a rule named
 * {@code db.primary}) without being mistaken for a deeper namespace. As in Logstash,
 * {@code namespace("a", "b")} and {@code namespace("a").namespace("b")} are the same namespace.
 * Logstash's store is a tree, so a name is either a metric or a namespace: a metric named like an
 * existing namespace (or inside an existing metric) is lost from its monitoring API; here it throws
 * {@link IllegalStateException}.
 */
public final class TestMetric implements NamespacedMetric {

    private final Store store;
    private final String[] namespace;

    /** A root namespace with an empty store. */
    public TestMetric() {
        this(new Store(), new String[0]);
    }

    private TestMetric(Store store, String[] namespace) {
        this.store = store;
        this.namespace = namespace;
    }

    private List<String> key(String metric) {
        List<String> key = new ArrayList<>(namespace.length + 1);
        Collections.addAll(key, namespace);
        key.add(metric);
        return Collections.unmodifiableList(key);
    }

    /** Returns true if and only if {@code key} is a metric directly in this namespace. */
    private boolean directlyIn(List<String> key) {
        return key.size() == namespace.length + 1 && key.subList(0, namespace.length).equals(Arrays.asList(namespace));
    }

    /** The last value written to a gauge in this namespace, or null. */
    public Object gaugeValue(String metric) {
        return store.gauges.get(key(metric));
    }

    /** A snapshot of this namespace's gauges (not of nested ones), by name, in first-written order. */
    public Map<String, Object> gauges() {
        Map<String, Object> out = new LinkedHashMap<>();
        synchronized (store.gauges) {
            store.gauges.forEach((k, v) -> {
                if (directlyIn(k)) {
                    out.put(k.get(namespace.length), v);
                }
            });
        }
        return out;
    }

    /**
     * The names of the namespaces directly below this one that hold a gauge (at any depth), in
     * first-written order: e.g. the rule names under a plugin's {@code rules} namespace.
     */
    public Set<String> children() {
        Set<String> out = new LinkedHashSet<>();
        List<String> self = Arrays.asList(namespace);
        synchronized (store.gauges) {
            for (List<String> k : store.gauges.keySet()) {
                if (k.size() > namespace.length + 1 && k.subList(0, namespace.length).equals(self)) {
                    out.add(k.get(namespace.length));
                }
            }
        }
        return out;
    }

    /** A counter's value in this namespace; 0 if it was never touched. */
    public long counterValue(String metric) {
        TestCounter c = store.counters.get(key(metric));
        return c == null ? 0 : c.getValue();
    }

    @Override
    public void gauge(String metric, Object value) {
        List<String> key = store.claim(key(metric));
        store.gauges.put(key, value);
    }

    @Override
    public CounterMetric counter(String metric) {
        return store.counters.computeIfAbsent(store.claim(key(metric)), k -> new TestCounter());
    }

    @Override
    public TimerMetric timer(String metric) {
        CounterMetric millis = counter(metric);
        return new TimerMetric() {
            @Override
            public <T, E extends Throwable> T time(ExceptionalSupplier<T, E> supplier) throws E {
                long start = System.nanoTime();
                try {
                    return supplier.get();
                } finally {
                    millis.increment((System.nanoTime() - start) / 1_000_000);
                }
            }

            @Override
            public void reportUntrackedMillis(long untrackedMillis) {
                millis.increment(untrackedMillis);
            }
        };
    }

    @Override
    public void increment(String metric) {
        counter(metric).increment();
    }

    @Override
    public void increment(String metric, int delta) {
        counter(metric).increment(delta);
    }

    @Override
    public <T> T time(String metric, Supplier<T> callable) {
        long start = System.nanoTime();
        try {
            return callable.get();
        } finally {
            reportTime(metric, (System.nanoTime() - start) / 1_000_000);
        }
    }

    @Override
    public void reportTime(String metric, long duration) {
        counter(metric).increment(duration);
    }

    @Override
    public String[] namespaceName() {
        return namespace.clone();
    }

    @Override
    public Metric root() {
        return new TestMetric(store, new String[0]);
    }

    @Override
    public NamespacedMetric namespace(String... key) {
        String[] nested = Arrays.copyOf(namespace, namespace.length + key.length);
        System.arraycopy(key, 0, nested, namespace.length, key.length);
        return new TestMetric(store, nested);
    }

    @Override
    public <USER_METRIC extends UserMetric<?>> USER_METRIC register(String metric,
            UserMetric.Factory<USER_METRIC> userMetricFactory) {
        Object existing = store.userMetrics.computeIfAbsent(store.claim(key(metric)),
                k -> userMetricFactory.create(metric));
        return userMetricFactory.getType().cast(existing);
    }

    /** A counter backed by an {@link AtomicLong}. */
    static final class TestCounter implements CounterMetric {
        private final AtomicLong value = new AtomicLong();

        @Override
        public void increment() {
            value.incrementAndGet();
        }

        @Override
        public void increment(long delta) {
            value.addAndGet(delta);
        }

        @Override
        public long getValue() {
            return value.get();
        }

        @Override
        public void reset() {
            value.set(0);
        }
    }

    private static final class Store {
        final Map<List<String>, Object> gauges = Collections.synchronizedMap(new LinkedHashMap<>());
        final Map<List<String>, TestCounter> counters = new ConcurrentHashMap<>();
        final Map<List<String>, Object> userMetrics = new ConcurrentHashMap<>();
        /** Every metric's key, to keep the tree shape Logstash's store has. */
        private final Set<List<String>> keys = ConcurrentHashMap.newKeySet();

        /**
         * Returns {@code key} once it is known to be a metric that is neither a namespace of
         * another metric nor inside one.
         *
         * @throws IllegalStateException if it is
         */
        List<String> claim(List<String> key) {
            if (keys.contains(key)) {
                return key;
            }
            synchronized (keys) {
                for (List<String> other : keys) {
                    List<String> shorter = other.size() < key.size() ? other : key;
                    List<String> longer = shorter == other ? key : other;
                    if (shorter.size() < longer.size() && longer.subList(0, shorter.size()).equals(shorter)) {
                        throw new IllegalStateException("metric " + String.join("/", key) + " collides with "
                                + String.join("/", other) + ": Logstash's metric store keeps a name as either a"
                                + " metric or a namespace, and loses the other from its monitoring API");
                    }
                }
                keys.add(key);
            }
            return key;
        }
    }
}
