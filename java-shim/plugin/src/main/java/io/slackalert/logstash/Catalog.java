package io.slackalert.logstash;

import co.elastic.logstash.api.Configuration;
import co.elastic.logstash.api.Password;
import co.elastic.logstash.api.PluginConfigSpec;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the native library says about the engine ({@link NativeEngine#catalog}): every option of its
 * one option table ({@code rust/engine/src/config/table.rs}) with the type Logstash delivers, where
 * it may be set and its default; the counter names; the bound on one string value. The shim's
 * settings are built from it, so no option name, type or default is written a second time in Java.
 *
 * <p>Read once per class loader, when {@link NativeLibrary#load} has loaded the library: which
 * library that is depends on the {@code native_library} setting, which is why that one setting is
 * declared in Java ({@link SlackAlert#NATIVE_LIBRARY}).
 */
final class Catalog {

    /** Scope names of the catalog; see {@code Scope} in {@code table.rs}. */
    static final String ENGINE = "engine";
    static final String RULE = "rule";
    static final String RULE_ONLY = "rule_only";
    static final String SHIM = "shim";

    /** What the reader hands out for a default of each type (a password's is its text). */
    private static final Map<String, Class<?>> TYPES = Map.of("string", String.class, "password", String.class,
            "number", Long.class, "boolean", Boolean.class, "array", List.class, "hash", Map.class);

    private static volatile Catalog loaded;

    /** The option rows, each checked: a name, a type and scope this shim knows, a default that fits. */
    private final List<Map<String, Object>> options;
    /** Names of the engine's counters, in {@link NativeEngine#counters} order. */
    final String[] counterNames;
    /** Names of the per-rule counters, in the order of each row of {@link NativeEngine#ruleCounters}. */
    final String[] ruleCounterNames;
    /** Most characters of one string value the engine keeps; it cuts longer ones. */
    final int maxValueChars;
    /** Built on first use; guarded by {@code this}. */
    private Settings settings;

    private Catalog(List<Map<String, Object>> options, String[] counterNames, String[] ruleCounterNames,
            int maxValueChars) {
        this.options = options;
        this.counterNames = counterNames;
        this.ruleCounterNames = ruleCounterNames;
        this.maxValueChars = maxValueChars;
    }

    /**
     * The loaded library's catalog.
     *
     * @throws IllegalStateException if the library's catalog cannot be read
     * @throws UnsatisfiedLinkError  if no library is loaded yet
     */
    static Catalog get() {
        Catalog c = loaded;
        if (c == null) {
            synchronized (Catalog.class) {
                c = loaded;
                if (c == null) {
                    c = read(NativeEngine.catalog());
                    loaded = c;
                }
            }
        }
        return c;
    }

    /** The filter's settings, built on first use (with {@link SlackAlert#NATIVE_LIBRARY} as the shim's). */
    synchronized Settings settings() {
        if (settings == null) {
            settings = settings(List.of(SlackAlert.NATIVE_LIBRARY));
        }
        return settings;
    }

    /**
     * The settings of this catalog's top-level options. {@code shimSettings} are the ones the shim
     * reads itself, declared in Java: a {@code shim} row stands for the one of the same name, and a
     * {@code shim} row the shim has no declaration for is left out, so that Logstash refuses it
     * rather than the shim ignoring it.
     */
    Settings settings(Collection<PluginConfigSpec<?>> shimSettings) {
        List<PluginConfigSpec<?>> engineOptions = new ArrayList<>();
        List<PluginConfigSpec<?>> all = new ArrayList<>();
        for (Map<String, Object> row : options) {
            String name = (String) row.get("name");
            switch ((String) row.get("scope")) {
                case ENGINE:
                case RULE:
                    PluginConfigSpec<?> spec = spec(name, (String) row.get("type"), row.get("default"));
                    engineOptions.add(spec);
                    all.add(spec);
                    break;
                case SHIM:
                    for (PluginConfigSpec<?> own : shimSettings) {
                        if (own.name().equals(name)) {
                            all.add(own);
                        }
                    }
                    break;
                default:
                    // Rule-only: set inside `rules`, which reach the engine whole; no setting of its own.
            }
        }
        return new Settings(engineOptions, all);
    }

    /**
     * Reads and checks a catalog document (as {@link NativeEngine#catalog} hands it over: maps, lists
     * and values), without Logstash's API: the library loads, and its value bound is learnt, before
     * anything needs a {@link PluginConfigSpec}.
     *
     * @throws IllegalStateException if the document is not a catalog this shim can declare the
     *     settings of (an unknown type or scope, a default of the wrong type): a library and a shim
     *     that disagree must not start
     */
    static Catalog read(Object document) {
        Map<String, Object> doc = asMap(document, "the catalog");
        List<Map<String, Object>> options = new ArrayList<>();
        for (Object item : asList(doc.get("options"), "options")) {
            Map<String, Object> row = asMap(item, "an option");
            String name = asString(row.get("name"), "an option's name");
            String type = asString(row.get("type"), name + ": type");
            String scope = asString(row.get("scope"), name + ": scope");
            if (!List.of(ENGINE, RULE, RULE_ONLY, SHIM).contains(scope)) {
                throw drift(name + ": scope \"" + scope + "\" is not one this shim knows");
            }
            Class<?> delivered = TYPES.get(type);
            if (delivered == null) {
                throw drift(name + ": type \"" + type + "\" is not one Logstash delivers to this shim");
            }
            Object value = row.get("default");
            if (value != null && !delivered.isInstance(value)) {
                throw drift(name + ": default " + value + " is not a " + type);
            }
            options.add(row);
        }
        return new Catalog(options, names(doc.get("counters"), "counters"),
                names(doc.get("rule_counters"), "rule_counters"), asInt(doc.get("max_value_chars")));
    }

    /** The setting Logstash declares for an option of {@code type}, with {@code value} (or none) as default. */
    @SuppressWarnings("unchecked")
    private static PluginConfigSpec<?> spec(String name, String type, Object value) {
        switch (type) {
            case "string":
                return value == null ? PluginConfigSpec.stringSetting(name)
                        : PluginConfigSpec.stringSetting(name, (String) value);
            case "number":
                return value == null ? PluginConfigSpec.numSetting(name)
                        : PluginConfigSpec.numSetting(name, (Long) value);
            case "boolean":
                return value == null ? PluginConfigSpec.booleanSetting(name)
                        : PluginConfigSpec.booleanSetting(name, (Boolean) value);
            case "array":
                return PluginConfigSpec.arraySetting(name,
                        value == null ? null : Collections.unmodifiableList((List<Object>) value), false, false);
            case "hash":
                return PluginConfigSpec.hashSetting(name,
                        value == null ? null : Collections.unmodifiableMap((Map<String, Object>) value), false, false);
            default:
                // "password", the one type left: parse refused any other.
                return value == null ? PluginConfigSpec.passwordSetting(name)
                        : PluginConfigSpec.passwordSetting(name, (String) value, false, false);
        }
    }

    /**
     * The Logstash settings of a catalog; apart from it, so that the library loads without Logstash's
     * API on the class path.
     */
    static final class Settings {
        /**
         * The options the engine reads at the top level, in the table's order; each is passed on only
         * if the user set it, so that the engine applies its own defaults.
         */
        final List<PluginConfigSpec<?>> engineOptions;
        /** Every top-level setting: {@link #engineOptions} and the shim's own. */
        final List<PluginConfigSpec<?>> all;

        private Settings(List<PluginConfigSpec<?>> engineOptions, List<PluginConfigSpec<?>> all) {
            this.engineOptions = Collections.unmodifiableList(engineOptions);
            this.all = Collections.unmodifiableList(all);
        }

        /**
         * Refuses a setting {@code schema} does not name with the words Logstash uses when it validates
         * the pipeline ({@code PluginUtil.validateConfig}), which it does only after constructing the
         * filter.
         *
         * @throws IllegalArgumentException naming every unknown setting
         */
        static void refuseUnknown(Configuration config, Collection<PluginConfigSpec<?>> schema) {
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
                message.append("Unknown setting '").append(key).append("' specified for plugin '").append(SlackAlert.NAME)
                        .append('\'');
            }
            throw new IllegalArgumentException(message.toString());
        }

        /**
         * The engine's configuration as JSON: only the options the user set, so the engine applies its
         * own defaults and its own validation. The result contains the webhook URL or the bot token: never log it.
         */
        String engineJson(Configuration config) {
            StringBuilder json = new StringBuilder("{");
            for (PluginConfigSpec<?> spec : engineOptions) {
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

        /** The top-level setting called {@code name}, or null. */
        PluginConfigSpec<?> get(String name) {
            for (PluginConfigSpec<?> spec : all) {
                if (spec.name().equals(name)) {
                    return spec;
                }
            }
            return null;
        }
    }

    private static IllegalStateException drift(String what) {
        return new IllegalStateException("slack_alert: the native library's option catalog does not fit this"
                + " plugin's Java classes (" + what + "); the library and the jar must come from one build");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> asMap(Object value, String what) {
        if (!(value instanceof Map)) {
            throw drift(what + " is not an object");
        }
        return (Map<String, Object>) value;
    }

    private static List<?> asList(Object value, String what) {
        if (!(value instanceof List)) {
            throw drift(what + " is not an array");
        }
        return (List<?>) value;
    }

    private static String asString(Object value, String what) {
        if (!(value instanceof String)) {
            throw drift(what + " is not a string");
        }
        return (String) value;
    }

    private static long asLong(Object value, String what) {
        if (!(value instanceof Long)) {
            throw drift(what + " is not a whole number");
        }
        return (Long) value;
    }

    private static int asInt(Object value) {
        long n = asLong(value, "max_value_chars");
        if (n <= 0 || n > Integer.MAX_VALUE) {
            throw drift("max_value_chars " + n + " is out of range");
        }
        return (int) n;
    }

    private static String[] names(Object value, String what) {
        List<?> list = asList(value, what);
        String[] out = new String[list.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = asString(list.get(i), what + "[" + i + "]");
        }
        return out;
    }
}
