package io.slackalert.logstash;

import static io.slackalert.logstash.Fixtures.dryRun;
import static io.slackalert.logstash.Fixtures.filter;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Password;
import co.elastic.logstash.api.PluginConfigSpec;
import co.elastic.logstash.api.PluginHelper;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.slackalert.logstash.testkit.TestContext;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The filter's settings come from the library's catalog (the engine's option table): these read
 * the real library's catalog through Jackson's tree, apart from the shim's {@link Catalog}, and
 * hold the filter's {@code configSchema()} to it.
 */
class CatalogTest {

    private static final ObjectMapper JACKSON = new ObjectMapper();
    /** Makes of a JSON tree the values the library hands over: whole numbers as Long. */
    private static final ObjectMapper AS_NATIVE = new ObjectMapper().enable(DeserializationFeature.USE_LONG_FOR_INTS);
    /** The class of the value Logstash hands over for each catalog type, as its docs name them. */
    private static final Map<String, Class<?>> LOGSTASH_TYPES = Map.of("string", String.class, "number", Long.class,
            "boolean", Boolean.class, "array", List.class, "hash", Map.class, "password", Password.class);

    private static JsonNode catalog;

    @BeforeAll
    static void readTheRealCatalog() throws Exception {
        NativeLibrary.load(null);
        catalog = JACKSON.valueToTree(NativeEngine.catalog());
    }

    /** The library hands its document over as the Java values a JSON library would make. */
    @Test
    void theNativeDocumentIsMadeOfPlainJavaValues() {
        Map<?, ?> doc = (Map<?, ?>) NativeEngine.catalog();
        assertEquals(Set.of("options", "counters", "rule_counters", "max_value_chars", "layout"), doc.keySet());
        assertEquals(Long.class, doc.get("max_value_chars").getClass());
        assertEquals(ArrayList.class, doc.get("counters").getClass());
        Set<String> kinds = new HashSet<>();
        for (Object item : (List<?>) doc.get("options")) {
            Map<?, ?> row = (Map<?, ?>) item;
            assertEquals(LinkedHashMap.class, row.getClass());
            Object value = row.get("default");
            if (value != null) {
                Class<?> expected = Map.of("string", String.class, "password", String.class, "number", Long.class,
                        "boolean", Boolean.class, "array", ArrayList.class, "hash", LinkedHashMap.class)
                        .get((String) row.get("type"));
                assertEquals(expected, value.getClass(), row.toString());
                kinds.add((String) row.get("type"));
            }
        }
        assertTrue(kinds.containsAll(Set.of("string", "number", "boolean", "array")), kinds.toString());
    }

    private static List<JsonNode> rows(String scope) {
        List<JsonNode> rows = new ArrayList<>();
        for (JsonNode row : catalog.get("options")) {
            if (scope == null || row.get("scope").asText().equals(scope)) {
                rows.add(row);
            }
        }
        return rows;
    }

    /** {@code configSchema()} less the settings Logstash gives every filter, by name. */
    private static Map<String, PluginConfigSpec<?>> ownSettings() {
        Set<String> common = new HashSet<>();
        for (PluginConfigSpec<?> spec : PluginHelper.commonFilterSettings(List.of())) {
            common.add(spec.name());
        }
        SlackAlert f = filter(dryRun(), new TestContext());
        try {
            Map<String, PluginConfigSpec<?>> own = new LinkedHashMap<>();
            for (PluginConfigSpec<?> spec : f.configSchema()) {
                if (!common.contains(spec.name())) {
                    assertNull(own.put(spec.name(), spec), "twice in configSchema(): " + spec.name());
                }
            }
            return own;
        } finally {
            f.close();
        }
    }

    /** A catalog default as Logstash would type it: whole numbers as Long, arrays as lists, and so on. */
    private static Object logstashValue(JsonNode node) throws Exception {
        return node.isIntegralNumber() ? Long.valueOf(node.asLong()) : JACKSON.treeToValue(node, Object.class);
    }

    @Test
    void configSchemaNamesExactlyTheCatalogsTopLevelOptionsWithLogstashsTypesAndDefaults() throws Exception {
        Map<String, Class<?>> expected = new LinkedHashMap<>();
        for (JsonNode row : rows(null)) {
            if (!row.get("scope").asText().equals("rule_only")) {
                expected.put(row.get("name").asText(), LOGSTASH_TYPES.get(row.get("type").asText()));
            }
        }
        assertFalse(expected.containsValue(null), "a catalog type without a Logstash type: " + expected);
        Map<String, PluginConfigSpec<?>> own = ownSettings();
        Map<String, Class<?>> actual = new LinkedHashMap<>();
        own.forEach((name, spec) -> actual.put(name, spec.type()));
        assertEquals(expected, actual);

        int defaults = 0;
        for (JsonNode row : rows(null)) {
            PluginConfigSpec<?> spec = own.get(row.get("name").asText());
            if (spec == null || row.get("scope").asText().equals("shim")) {
                continue;
            }
            JsonNode value = row.get("default");
            assertEquals(value == null ? null : logstashValue(value), spec.defaultValue(), spec.name());
            defaults += value == null ? 0 : 1;
            assertFalse(spec.required(), spec.name() + ": the engine says what is required, in its words");
        }
        assertTrue(defaults >= 10, defaults + " defaults");
        assertEquals(List.of("ERROR", "FATAL"), own.get("levels").defaultValue());
    }

    @Test
    void ruleOnlyOptionsAreNoSettingsOfTheirOwn() {
        List<JsonNode> ruleOnly = rows("rule_only");
        assertFalse(ruleOnly.isEmpty(), "the table has options only a rule may set (name, type, silence)");
        Map<String, PluginConfigSpec<?>> own = ownSettings();
        for (JsonNode row : ruleOnly) {
            assertFalse(own.containsKey(row.get("name").asText()), row.toString());
        }
        assertTrue(own.containsKey("rules"));
    }

    /**
     * {@code native_library} is the one setting the shim declares itself (it picks the library the
     * catalog comes from): the catalog must say the same, and nothing else may be the shim's.
     */
    @Test
    void theNativeLibraryRowIsTheShimsOwnDeclaration() {
        List<JsonNode> shim = rows("shim");
        assertEquals(1, shim.size(), "the shim reads native_library and nothing else: " + shim);
        assertEquals("native_library", shim.get(0).get("name").asText());
        assertEquals(SlackAlert.NATIVE_LIBRARY.name(), shim.get(0).get("name").asText());
        assertEquals(SlackAlert.NATIVE_LIBRARY.type(), LOGSTASH_TYPES.get(shim.get(0).get("type").asText()));
        assertSame(SlackAlert.NATIVE_LIBRARY, ownSettings().get("native_library"));
        assertFalse(Catalog.get().settings().engineOptions.contains(SlackAlert.NATIVE_LIBRARY),
                "never passed to the engine");
    }

    @Test
    void countersAndTheValueBoundAreTheCatalogs() {
        assertArrayEquals(JACKSON.convertValue(catalog.get("counters"), String[].class), Catalog.get().counterNames);
        assertArrayEquals(JACKSON.convertValue(catalog.get("rule_counters"), String[].class),
                Catalog.get().ruleCounterNames);
        assertTrue(List.of(Catalog.get().counterNames).contains("events"));
        assertEquals(catalog.get("max_value_chars").asInt(), Catalog.get().maxValueChars);
        assertEquals(Catalog.get().maxValueChars, NativeEngine.valueBound());
        long handle = NativeEngine.create("{\"dry_run\":true,\"shutdown_timeout\":\"1s\"}");
        try {
            assertEquals(Catalog.get().counterNames.length, NativeCalls.counters(handle).length);
            assertEquals(Catalog.get().ruleCounterNames.length, NativeCalls.ruleCounters(handle).length,
                    "one rule, default");
        } finally {
            NativeEngine.close(handle);
        }
    }

    private static ObjectNode document(ObjectNode... options) {
        ObjectNode doc = JACKSON.createObjectNode();
        ArrayNode rows = doc.putArray("options");
        for (ObjectNode o : options) {
            rows.add(o);
        }
        doc.putArray("counters").add("events");
        doc.putArray("rule_counters").add("matched");
        doc.put("max_value_chars", 16384);
        return doc;
    }

    private static ObjectNode row(String name, String type, String scope) {
        ObjectNode row = JACKSON.createObjectNode();
        row.put("name", name);
        row.put("type", type);
        row.put("scope", scope);
        return row;
    }

    private static Catalog parse(ObjectNode doc) {
        return Catalog.read(AS_NATIVE.convertValue(doc, Object.class));
    }

    /** A library whose catalog this shim cannot declare stops the filter, saying so. */
    @Test
    void aCatalogThisShimCannotDeclareIsRefused() {
        ObjectNode[] unfit = {
            document(row("ratio", "float", "engine")),
            document(row("x", "string", "pipeline")),
            document(row("rate_limit", "number", "rule").put("default", "20")),
            document(row("rate_limit", "number", "rule").put("default", 1.5)),
            document(row("dry_run", "boolean", "engine").put("default", "false")),
            document(row("levels", "array", "rule").put("default", "ERROR")),
            document(row("mentions", "hash", "rule").set("default", JACKSON.createArrayNode())),
            document(row("title", "string", "rule").put("default", 5)),
        };
        for (ObjectNode doc : unfit) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> parse(doc), doc.toString());
            assertTrue(e.getMessage().startsWith("slack_alert: the native library's option catalog does not fit"),
                    e.getMessage());
            assertTrue(e.getMessage().contains(doc.get("options").get(0).get("name").asText() + ": "), e.getMessage());
        }
        Object[] notCatalogs = {null, "{}", List.of(), Map.of("options", "x"), Map.of("options", List.of("row")),
            Map.of("options", List.of(Map.of("name", 5)))};
        for (Object notCatalog : notCatalogs) {
            assertThrows(IllegalStateException.class, () -> Catalog.read(notCatalog), String.valueOf(notCatalog));
        }
        ObjectNode noCounters = document();
        noCounters.remove("counters");
        assertThrows(IllegalStateException.class, () -> parse(noCounters));
    }

    @Test
    void aShimRowOnlyStandsForASettingTheShimDeclares() {
        Catalog.Settings c = parse(document(row("native_library", "string", "shim"),
                row("sidecar_port", "number", "shim"), row("name", "string", "rule_only"),
                row("channel", "string", "rule"))).settings(List.of(SlackAlert.NATIVE_LIBRARY));
        assertSame(SlackAlert.NATIVE_LIBRARY, c.get("native_library"));
        assertNull(c.get("sidecar_port"), "left for Logstash to refuse, not accepted and ignored");
        assertNull(c.get("name"));
        assertEquals(List.of("channel"), names(c.engineOptions));
        assertEquals(List.of("native_library", "channel"), names(c.all));
    }

    /** Every kind of default, nested values and any text included, becomes its setting's default. */
    @Test
    void everyKindOfDefaultBecomesItsSettingsDefault() {
        ObjectNode hash = JACKSON.createObjectNode();
        hash.put("FATAL", "<!here> \"quoted\" \\ / \t\n\u0001 é 🔥");
        hash.putArray("list").add(-7).add(true).addNull().addObject();
        Catalog c = parse(document(
                row("mentions", "hash", "rule").set("default", hash),
                row("levels", "array", "rule").set("default", JACKSON.createArrayNode().add("ERROR").add("é")),
                row("rate_limit", "number", "rule").put("default", Long.MIN_VALUE),
                row("dry_run", "boolean", "engine").put("default", true),
                row("webhook_url", "password", "rule")));
        Catalog.Settings settings = c.settings(List.of());
        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("FATAL", "<!here> \"quoted\" \\ / \t\n\u0001 é 🔥");
        List<Object> list = new ArrayList<>();
        list.add(-7L);
        list.add(true);
        list.add(null);
        list.add(Map.of());
        expected.put("list", list);
        assertEquals(expected, settings.get("mentions").defaultValue());
        assertEquals(List.of("ERROR", "é"), settings.get("levels").defaultValue());
        assertEquals(Long.MIN_VALUE, settings.get("rate_limit").defaultValue());
        assertEquals(Boolean.TRUE, settings.get("dry_run").defaultValue());
        assertEquals(Password.class, settings.get("webhook_url").type());
        assertArrayEquals(new String[] {"events"}, c.counterNames);
        assertEquals(16384, c.maxValueChars);
    }

    private static List<String> names(List<PluginConfigSpec<?>> specs) {
        List<String> names = new ArrayList<>();
        for (PluginConfigSpec<?> spec : specs) {
            names.add(spec.name());
        }
        return names;
    }
}
