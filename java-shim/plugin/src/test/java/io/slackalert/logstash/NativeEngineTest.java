package io.slackalert.logstash;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.slackalert.logstash.testkit.TestContext;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The JNI protocol itself: buffer layout, argument checks, value encoding. */
class NativeEngineTest {

    @BeforeAll
    static void load() {
        NativeLibrary.load(null);
    }

    private static void slot(ByteBuffer buf, int i, String level) {
        int base = i * NativeEngine.SLOT_SIZE;
        if (level == null) {
            buf.put(base, NativeEngine.NO_LEVEL);
            return;
        }
        byte[] bytes = level.getBytes(StandardCharsets.US_ASCII);
        buf.put(base, (byte) bytes.length);
        for (int j = 0; j < bytes.length; j++) {
            buf.put(base + 1 + j, bytes[j]);
        }
    }

    /** Every constant of the batch layout, as the loaded library declares it, equals the shim's. */
    @Test
    void layoutConstantsMatchTheNativeSide() throws Exception {
        JsonNode layout = new ObjectMapper().valueToTree(NativeEngine.catalog()).get("layout");
        Map<String, Integer> shim = new LinkedHashMap<>();
        shim.put("slot_size", NativeEngine.SLOT_SIZE);
        shim.put("max_level_len", NativeEngine.MAX_LEVEL_LEN);
        shim.put("max_batch", NativeEngine.MAX_BATCH);
        shim.put("mask_offset", NativeEngine.MASK_OFFSET);
        shim.put("values_offset", NativeEngine.VALUES_OFFSET);
        shim.put("no_level", NativeEngine.NO_LEVEL & 0xFF);
        shim.put("logs_pending", NativeEngine.LOGS_PENDING);
        shim.put("closed", NativeEngine.CLOSED);
        shim.put("stage_levels", NativeEngine.STAGE_LEVELS);
        shim.put("stage_heartbeats", NativeEngine.STAGE_HEARTBEATS);
        shim.put("stage_keys", NativeEngine.STAGE_KEYS);
        shim.put("stage_events", NativeEngine.STAGE_EVENTS);
        shim.put("not_candidate", (int) NativeEngine.NOT_CANDIDATE);
        shim.put("alert_candidate", (int) NativeEngine.ALERT_CANDIDATE);
        shim.put("heartbeat_only", (int) NativeEngine.HEARTBEAT_ONLY);
        shim.put("decided_unmatched", (int) NativeEngine.DECIDED_UNMATCHED);
        shim.put("undecided", (int) NativeEngine.UNDECIDED);
        shim.put("decided_matched", (int) NativeEngine.DECIDED_MATCHED);
        Map<String, Integer> library = new LinkedHashMap<>();
        layout.properties().forEach(e -> library.put(e.getKey(), e.getValue().intValue()));
        assertEquals(library, shim, "the library's layout and the shim's constants");
    }

    /** The usual levels the engine publishes are answered as LEVELS would answer them. */
    @Test
    void theUsualLevelsAreTheEnginesOwnAnswers() {
        long h = NativeEngine.create("{\"dry_run\":true,\"shutdown_timeout\":\"1s\",\"rules\":["
                + "{\"name\":\"errors\"},{\"name\":\"quiet\",\"type\":\"flatline\",\"silence\":\"10m\","
                + "\"levels\":[\"INFO\"]}]}");
        try {
            Object[] d = NativeEngine.describe(h);
            String[] texts = (String[]) d[NativeEngine.DESCRIBE_USUAL_LEVELS];
            byte[] published = (byte[]) d[NativeEngine.DESCRIBE_USUAL_ANSWERS];
            assertEquals(texts.length, published.length);
            assertTrue(Arrays.asList(texts).containsAll(List.of("ERROR", "error", "Error", "INFO", "warning")));
            ByteBuffer buf = ByteBuffer.allocateDirect(NativeEngine.VALUES_OFFSET);
            for (int i = 0; i < texts.length; i++) {
                slot(buf, i, texts[i]);
            }
            NativeCalls.matchBatch(h, buf, texts.length);
            EngineHandle.UsualLevels usual = new EngineHandle.UsualLevels(texts, published);
            for (int i = 0; i < texts.length; i++) {
                assertEquals(buf.get(NativeEngine.MASK_OFFSET + i), published[i], texts[i]);
                assertEquals(published[i], usual.of(new String(texts[i].toCharArray())), texts[i]);
            }
            assertEquals(NativeEngine.HEARTBEAT_ONLY, usual.of("Info"), "only a flatline rule takes INFO");
            assertEquals(-1, usual.of(" Error "), "any other text is the engine's to answer");
            assertEquals(-1, usual.of(""));
        } finally {
            NativeEngine.close(h);
        }
    }

    /** What describe, poll and close answer sits at the indices the shim reads. */
    @Test
    void describeAndReportsHaveTheirLayout() {
        long h = NativeEngine.create("{\"dry_run\":true,\"shutdown_timeout\":\"1s\",\"rules\":["
                + "{\"name\":\"errors\"},{\"name\":\"quiet\",\"type\":\"flatline\",\"silence\":\"10m\"}]}");
        Object[] d = NativeEngine.describe(h);
        assertEquals(8, d.length);
        int[] bounds = (int[]) d[NativeEngine.DESCRIBE_EVENT_BOUNDS];
        assertEquals(((String[]) d[NativeEngine.DESCRIBE_EVENT_REFS]).length, bounds.length, "a bound per event field");
        for (int bound : bounds) {
            assertEquals(Catalog.get().maxValueChars, bound, "a webhook rule keeps no value longer");
        }
        assertEquals("[log.level]", ((String[]) d[NativeEngine.DESCRIBE_LEVEL_REFS])[0]);
        assertTrue(Arrays.asList((String[]) d[NativeEngine.DESCRIBE_EVENT_REFS])
                .containsAll(Arrays.asList((String[]) d[NativeEngine.DESCRIBE_KEY_REFS])), "keys are event fields");
        assertEquals(List.of("[service.name]", "[service][name]"),
                Arrays.asList((String[]) d[NativeEngine.DESCRIBE_HEARTBEAT_REFS]));
        assertEquals(List.of("errors", "quiet"), Arrays.asList((String[]) d[NativeEngine.DESCRIBE_RULE_NAMES]));
        Object[] polled = NativeEngine.poll(h, false);
        assertEquals(4, polled.length);
        assertNull(polled[NativeEngine.REPORT_SUMMARY], "only close reports");
        assertEquals(0, ((String[]) polled[NativeEngine.REPORT_LOGS]).length, "logs stay unless taken");
        assertEquals(Catalog.get().counterNames.length, ((long[]) polled[NativeEngine.REPORT_COUNTERS]).length);
        assertEquals(2 * Catalog.get().ruleCounterNames.length,
                ((long[]) polled[NativeEngine.REPORT_RULE_COUNTERS]).length, "two rules, row after row");
        NativeEngine.close(h);
        assertNull(NativeEngine.describe(h));
        assertNull(NativeEngine.poll(h, true));
    }

    /**
     * In app mode a stack trace is uploaded whole into the incident's thread, so the engine asks for
     * it longer than any other value (and the shim cuts it there, not at the usual bound).
     */
    @Test
    void appModeAsksForTheStackTraceLongerThanOtherValues() {
        long h = NativeEngine.create("{\"dry_run\":true,\"shutdown_timeout\":\"1s\",\"slack_token\":\"xoxb-1-t\","
                + "\"channel\":\"#alerts\"}");
        try {
            Object[] d = NativeEngine.describe(h);
            List<String> refs = Arrays.asList((String[]) d[NativeEngine.DESCRIBE_EVENT_REFS]);
            int[] bounds = (int[]) d[NativeEngine.DESCRIBE_EVENT_BOUNDS];
            int trace = refs.indexOf("[error][stack_trace]");
            assertTrue(trace >= 0 && refs.contains("[error.stack_trace]"), refs.toString());
            assertTrue(bounds[trace] >= 1 << 20, "a stack trace is kept up to 1 MiB: " + bounds[trace]);
            assertEquals(bounds[trace], bounds[refs.indexOf("[error.stack_trace]")]);
            assertEquals(Catalog.get().maxValueChars, bounds[refs.indexOf("[message]")], "the message is not");
        } finally {
            NativeEngine.close(h);
        }
    }

    @Test
    void matchBatchWritesTheMaskAfterTheSlots() {
        long h = NativeEngine.create("{\"dry_run\":true,\"shutdown_timeout\":\"1s\"}");
        try {
            ByteBuffer buf = ByteBuffer.allocateDirect(NativeEngine.VALUES_OFFSET);
            String[] levels = {"INFO", "ERROR", null, "fatal", "", "3", "WARN"};
            for (int i = 0; i < levels.length; i++) {
                slot(buf, i, levels[i]);
            }
            buf.put(NativeEngine.MASK_OFFSET + levels.length, (byte) 7);
            int r = NativeCalls.matchBatch(h, buf, levels.length);
            assertEquals(3, r & ~NativeEngine.LOGS_PENDING);
            byte[] mask = new byte[levels.length + 1];
            for (int i = 0; i < mask.length; i++) {
                mask[i] = buf.get(NativeEngine.MASK_OFFSET + i);
            }
            assertEquals(Arrays.toString(new byte[] {0, 1, 0, 1, 0, 1, 0, 7}), Arrays.toString(mask));
            assertEquals(levels.length, NativeCalls.counters(h)[0], "events counter");
        } finally {
            NativeEngine.close(h);
        }
    }

    @Test
    void withAFlatlineRuleTheMaskTellsAlertCandidatesFromHeartbeats() {
        long h = NativeEngine.create("{\"dry_run\":true,\"shutdown_timeout\":\"1s\",\"rules\":["
                + "{\"name\":\"errors\"},{\"name\":\"quiet\",\"type\":\"flatline\",\"silence\":\"10m\"}]}");
        try {
            ByteBuffer buf = ByteBuffer.allocateDirect(NativeEngine.VALUES_OFFSET);
            String[] levels = {"INFO", "ERROR", null, "nonsense"};
            for (int i = 0; i < levels.length; i++) {
                slot(buf, i, levels[i]);
            }
            int r = NativeCalls.matchBatch(h, buf, levels.length);
            assertEquals(4, r & ~NativeEngine.LOGS_PENDING, "candidates of either kind");
            byte[] mask = new byte[levels.length];
            for (int i = 0; i < mask.length; i++) {
                mask[i] = buf.get(NativeEngine.MASK_OFFSET + i);
            }
            assertEquals(Arrays.toString(new byte[] {NativeEngine.HEARTBEAT_ONLY, NativeEngine.ALERT_CANDIDATE,
                    NativeEngine.HEARTBEAT_ONLY, NativeEngine.HEARTBEAT_ONLY}), Arrays.toString(mask));

            assertEquals(List.of("[service.name]", "[service][name]"), Arrays.asList(NativeCalls.heartbeatRefs(h)));
            // Two heartbeats: checkout standing for three events, search for one.
            byte[] text = "\"checkout\"\nnull\n3\nnull\n\"search\"\n1\n".getBytes(StandardCharsets.UTF_8);
            ByteBuffer fields = ByteBuffer.allocateDirect(text.length).put(text);
            assertEquals(2, NativeCalls.heartbeats(h, fields, text.length, 2) & ~NativeEngine.LOGS_PENDING);
            String[] rules = NativeCalls.ruleNames(h);
            long[] counters = NativeCalls.ruleCounters(h);
            int width = Catalog.get().ruleCounterNames.length;
            int matched = Arrays.asList(Catalog.get().ruleCounterNames).indexOf("matched");
            assertEquals("quiet", rules[1]);
            assertEquals(4, counters[width + matched], "heartbeats count the events they stand for");
            assertEquals(0, counters[matched], "no alert rule saw them");

            byte[] noCount = "\"checkout\"\nnull\n".getBytes(StandardCharsets.UTF_8);
            ByteBuffer bad = ByteBuffer.allocateDirect(noCount.length).put(noCount);
            assertThrows(IllegalArgumentException.class, () -> NativeCalls.heartbeats(h, bad, noCount.length, 1));
            assertThrows(IllegalArgumentException.class,
                    () -> NativeCalls.heartbeats(h, ByteBuffer.allocate(8), 8, 1));
        } finally {
            NativeEngine.close(h);
        }
        assertEquals(NativeEngine.CLOSED, NativeCalls.heartbeats(h, ByteBuffer.allocateDirect(1), 0, 0));
        assertNull(NativeCalls.heartbeatRefs(h));
    }

    @Test
    void badArgumentsAreIllegalArgumentExceptions() {
        long h = NativeEngine.create("{\"dry_run\":true,\"shutdown_timeout\":\"1s\"}");
        try {
            ByteBuffer direct = ByteBuffer.allocateDirect(NativeEngine.VALUES_OFFSET);
            assertThrows(IllegalArgumentException.class, () -> NativeCalls.matchBatch(h, direct, 1025));
            assertThrows(IllegalArgumentException.class, () -> NativeCalls.matchBatch(h, direct, -1));
            assertThrows(IllegalArgumentException.class,
                    () -> NativeCalls.matchBatch(h, ByteBuffer.allocate(NativeEngine.VALUES_OFFSET), 1));
            assertThrows(IllegalArgumentException.class,
                    () -> NativeCalls.matchBatch(h, ByteBuffer.allocateDirect(NativeEngine.VALUES_OFFSET - 1), 1));
            assertThrows(IllegalArgumentException.class, () -> NativeCalls.matchBatch(h, null, 1));
            int width = NativeCalls.eventRefs(h).length;
            assertThrows(IllegalArgumentException.class, () -> NativeCalls.submit(h, new String[width + 1], 1));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.batch(h, NativeEngine.STAGE_EVENTS, null, 0, 0));
            assertEquals(0, NativeCalls.submit(h, new String[0], 0) & ~NativeEngine.LOGS_PENDING);
        } finally {
            NativeEngine.close(h);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NativeEngine.create("{"));
        assertTrue(e.getMessage().startsWith("config: is not valid JSON"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NativeEngine.create(null));
    }

    @Test
    void submitTakesJsonValuesAndPlainStrings() {
        long h = NativeEngine.create("{\"dry_run\":true,\"shutdown_timeout\":\"1s\"}");
        try {
            String[] refs = NativeCalls.eventRefs(h);
            String[] values = new String[refs.length * 2];
            values[0] = "\"ERROR\"";
            values[refs.length] = "ERROR"; // not JSON: taken as the plain string
            int r = NativeCalls.submit(h, values, 2);
            assertEquals(2, r & ~NativeEngine.LOGS_PENDING);
            long[] counters = NativeCalls.counters(h);
            List<String> names = Arrays.asList(Catalog.get().counterNames);
            assertEquals(2L, counters[names.indexOf("matched")]);
        } finally {
            Object[] closed = NativeEngine.close(h);
            String summary = (String) closed[NativeEngine.REPORT_SUMMARY];
            assertTrue(summary.startsWith("stopped in"), summary);
            assertEquals(Catalog.get().counterNames.length, ((long[]) closed[NativeEngine.REPORT_COUNTERS]).length);
            assertEquals(Catalog.get().ruleCounterNames.length,
                    ((long[]) closed[NativeEngine.REPORT_RULE_COUNTERS]).length,
                    "one rule (default): one row of rule counters");
            assertEquals(0, ((String[]) closed[NativeEngine.REPORT_LOGS]).length % 2);
        }
        assertNull(NativeEngine.close(h));
    }

    @Test
    void handlesAreNeverReused() {
        SlackAlert a = Fixtures.filter(Fixtures.dryRun(), new TestContext());
        long first = a.handle();
        a.close();
        SlackAlert b = Fixtures.filter(Fixtures.dryRun(), new TestContext());
        try {
            assertTrue(b.handle() > first);
            assertEquals(NativeEngine.CLOSED,
                    NativeCalls.matchBatch(first, ByteBuffer.allocateDirect(NativeEngine.VALUES_OFFSET), 0));
        } finally {
            b.close();
        }
    }

    @Test
    void toJsonEncodesEveryLogstashValueType() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("a", 1L);
        map.put("b", Arrays.asList("x", null, true, 2.5));
        assertEquals("{\"a\":1,\"b\":[\"x\",null,true,2.5]}", NativeEngine.toJson(map));
        assertEquals("\"q\\\" \\\\ \\n\\t\\u0001 에러 🔥\"", NativeEngine.toJson("q\" \\ \n\t\u0001 에러 🔥"));
        assertEquals("\"\uFFFD\"", NativeEngine.toJson("\uD800"));
        assertEquals("null", NativeEngine.toJson(null));
        assertEquals("42", NativeEngine.toJson(42));
        assertEquals("\"NaN\"", NativeEngine.toJson(Double.NaN));
        assertEquals("1.5", NativeEngine.toJson(new BigDecimal("1.5")));
        assertEquals("\"1E+400\"", NativeEngine.toJson(new BigDecimal("1E+400")));
        assertEquals("9223372036854775807", NativeEngine.toJson(java.math.BigInteger.valueOf(Long.MAX_VALUE)));
        assertEquals("\"123456789012345678901234567890\"",
                NativeEngine.toJson(new java.math.BigInteger("123456789012345678901234567890")));
        assertEquals("\"2024-05-01T12:00:00.000Z\"",
                NativeEngine.toJson(io.slackalert.logstash.testkit.TestTimestamp.parse("2024-05-01T12:00:00Z")));
        assertEquals("\"<password>\"", NativeEngine.toJson(new co.elastic.logstash.api.Password("s3cr3t")));
    }
}
