package io.slackalert.logstash.testkit;

import co.elastic.logstash.api.Configuration;
import co.elastic.logstash.api.Password;
import co.elastic.logstash.api.Plugin;
import co.elastic.logstash.api.PluginConfigSpec;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A plugin's settings as Logstash delivers them to a Java plugin.
 *
 * <p>Values are stored typed the way the pipeline compiler hands them over: strings as
 * {@link String}, numbers as {@link Long} (or {@link Double} when fractional), booleans as
 * {@link Boolean}, arrays as {@link List}, hashes as {@link Map}, and a {@link Password} where
 * the caller put one. {@link #get} converts like Logstash does (a string for a password spec
 * becomes a {@link Password}, a string for a boolean spec is parsed, a Long for a float spec
 * widens) and returns the spec's default when the setting is absent. {@link #validate}
 * reproduces the checks Logstash makes at pipeline start ({@code PluginUtil.validateConfig}),
 * which it makes <em>after</em> constructing the plugin, and it never closes a plugin it refuses.
 *
 * <p>Where the real {@code ConfigurationImpl} differs (see logstash-core-it, which runs the plugin
 * against it): the pipeline hands booleans over as the Strings {@code "true"}/{@code "false"}
 * (LSCL has no boolean literal; pass Strings to get that), a hash option as a {@code HashMap}
 * (its written key order lost) and a hash inside an array as an {@code org.jruby.RubyHash} whose
 * arrays are {@code RubyArray}s; here both are insertion-ordered {@link Map}s and {@link List}s.
 * The plugin reads every one of them through the {@link Map} and {@link java.util.Collection}
 * interfaces only, which is what the difference would break.
 */
public final class TestConfiguration implements Configuration {

    private final Map<String, Object> settings;

    /** Settings from name → value; values are normalised to Logstash's types. */
    public TestConfiguration(Map<String, ?> settings) {
        Map<String, Object> copy = new LinkedHashMap<>();
        for (Map.Entry<String, ?> e : settings.entrySet()) {
            copy.put(e.getKey(), e.getValue() instanceof Password ? e.getValue() : TestEvent.normalize(e.getValue()));
        }
        this.settings = Collections.unmodifiableMap(copy);
    }

    /** Settings from a JSON object, e.g. {@code {"levels": ["ERROR"], "rate_limit": 20}}. */
    public static TestConfiguration fromJson(String json) {
        return new TestConfiguration(LogstashJson.parseObject(json));
    }

    /** Settings from alternating names and values. */
    public static TestConfiguration of(Object... namesAndValues) {
        if (namesAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("expected name, value pairs");
        }
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            map.put((String) namesAndValues[i], namesAndValues[i + 1]);
        }
        return new TestConfiguration(map);
    }

    /** A copy with one more (or a replaced) setting. */
    public TestConfiguration with(String name, Object value) {
        Map<String, Object> map = new LinkedHashMap<>(settings);
        map.put(name, value);
        return new TestConfiguration(map);
    }

    /** A copy with more settings, given as alternating names and values. */
    public TestConfiguration merge(Object... namesAndValues) {
        if (namesAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("expected name, value pairs");
        }
        Map<String, Object> map = new LinkedHashMap<>(settings);
        for (int i = 0; i < namesAndValues.length; i += 2) {
            map.put((String) namesAndValues[i], namesAndValues[i + 1]);
        }
        return new TestConfiguration(map);
    }

    /** A copy without a setting. */
    public TestConfiguration without(String name) {
        Map<String, Object> map = new LinkedHashMap<>(settings);
        map.remove(name);
        return new TestConfiguration(map);
    }

    @Override
    public <T> T get(PluginConfigSpec<T> spec) {
        Class<T> type = spec.type();
        if (settings.containsKey(spec.name())) {
            Object o = settings.get(spec.name());
            if (o == null || type.isAssignableFrom(o.getClass())) {
                return type.cast(o);
            }
            if (type == Double.class && o instanceof Long) {
                return type.cast(((Long) o).doubleValue());
            }
            if (type == Boolean.class && o instanceof String) {
                return type.cast(Boolean.parseBoolean((String) o));
            }
            if (type == URI.class && o instanceof String) {
                return type.cast(URI.create((String) o));
            }
            if (type == Password.class && o instanceof String) {
                return type.cast(new Password((String) o));
            }
            throw new IllegalStateException(String.format(
                    "Setting value for '%s' of type '%s' incompatible with defined type of '%s'",
                    spec.name(), o.getClass(), type));
        }
        if (spec.required() && spec.defaultValue() == null) {
            throw new IllegalStateException(String.format(
                    "Setting value for '%s' is required but was not provided", spec.name()));
        }
        if (type == Password.class && spec.getRawDefaultValue() != null) {
            return type.cast(new Password(spec.getRawDefaultValue()));
        }
        return spec.defaultValue();
    }

    @Override
    public Object getRawValue(PluginConfigSpec<?> spec) {
        return settings.get(spec.name());
    }

    @Override
    public boolean contains(PluginConfigSpec<?> spec) {
        return settings.containsKey(spec.name());
    }

    @Override
    public Collection<String> allKeys() {
        return settings.keySet();
    }

    /**
     * The errors Logstash reports at pipeline start for these settings: a key the schema does not
     * know ({@code Unknown setting 'x' specified for plugin 'y'}) and a required setting that is
     * missing ({@code Required setting 'x' not specified for plugin 'y'}). Empty if the
     * pipeline may start.
     */
    public List<String> validate(String pluginName, Collection<PluginConfigSpec<?>> schema) {
        Set<String> known = new HashSet<>();
        for (PluginConfigSpec<?> spec : schema) {
            known.add(spec.name());
        }
        List<String> errors = new ArrayList<>();
        for (String key : settings.keySet()) {
            if (!known.contains(key)) {
                errors.add(String.format("Unknown setting '%s' specified for plugin '%s'", key, pluginName));
            }
        }
        for (PluginConfigSpec<?> spec : schema) {
            if (spec.required() && !settings.containsKey(spec.name())) {
                errors.add(String.format("Required setting '%s' not specified for plugin '%s'",
                        spec.name(), pluginName));
            }
        }
        return errors;
    }

    /** {@link #validate} against a plugin's own name and schema. */
    public List<String> validate(Plugin plugin) {
        return validate(plugin.getName(), plugin.configSchema());
    }

    /**
     * Throws as Logstash refuses to start the pipeline if {@link #validate} finds errors.
     *
     * @throws IllegalStateException listing every error
     */
    public void validateOrThrow(String pluginName, Collection<PluginConfigSpec<?>> schema) {
        List<String> errors = validate(pluginName, schema);
        if (!errors.isEmpty()) {
            throw new IllegalStateException(String.join("; ", errors));
        }
    }

    /** Shows setting names only: values may be secrets. */
    @Override
    public String toString() {
        return "TestConfiguration" + settings.keySet();
    }
}
