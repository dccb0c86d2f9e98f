package io.slackalert.logstash;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    @Test
    void layoutConstantsMatchTheNativeSide() {
        assertEquals(32, NativeEngine.SLOT_SIZE);
        assertEquals(1024, NativeEngine.MAX_BATCH);
        assertEquals(32 * 1024, NativeEngine.MASK_OFFSET);
        assertEquals(33 * 1024, NativeEngine.BUFFER_SIZE);
        assertEquals(0x40000000, NativeEngine.LOGS_PENDING);
    }

    @Test
    void matchBatchWritesTheMaskAfterTheSlots() {
        long h = NativeEngine.create("{\"dry_run\":true,\"shutdown_timeout\":\"1s\"}");
        try {
            ByteBuffer buf = ByteBuffer.allocateDirect(NativeEngine.BUFFER_SIZE);
            String[] levels = {"INFO", "ERROR", null, "fatal", "", "3", "WARN"};
            for (int i = 0; i < levels.length; i++) {
                slot(buf, i, levels[i]);
            }
            buf.put(NativeEngine.MASK_OFFSET + levels.length, (byte) 7);
            int r = NativeEngine.matchBatch(h, buf, levels.length);
            assertEquals(3, r & ~NativeEngine.LOGS_PENDING);
            byte[] mask = new byte[levels.length + 1];
            for (int i = 0; i < mask.length; i++) {
                mask[i] = buf.get(NativeEngine.MASK_OFFSET + i);
            }
            assertEquals(Arrays.toString(new byte[] {0, 1, 0, 1, 0, 1, 0, 7}), Arrays.toString(mask));
            assertEquals(levels.length, NativeEngine.counters(h)[0], "events counter");
        } finally {
            NativeEngine.close(h);
        }
    }

    @Test
    void withAFlatlineRuleTheMaskTellsAlertCandidatesFromHeartbeats() {
        long h = NativeEngine.create("{\"dry_run\":true,\"shutdown_timeout\":\"1s\",\"rules\":["
                + "{\"name\":\"errors\"},{\"name\":\"quiet\",\"type\":\"flatline\",\"silence\":\"10m\"}]}");
        try {
            assertTrue(NativeEngine.admitsMissingLevel(h));
            ByteBuffer buf = ByteBuffer.allocateDirect(NativeEngine.BUFFER_SIZE);
            String[] levels = {"INFO", "ERROR", null, "nonsense"};
            for (int i = 0; i < levels.length; i++) {
                slot(buf, i, levels[i]);
            }
            int r = NativeEngine.matchBatch(h, buf, levels.length);
            assertEquals(4, r & ~NativeEngine.LOGS_PENDING, "candidates of either kind");
            byte[] mask = new byte[levels.length];
            for (int i = 0; i < mask.length; i++) {
                mask[i] = buf.get(NativeEngine.MASK_OFFSET + i);
            }
            assertEquals(Arrays.toString(new byte[] {NativeEngine.HEARTBEAT_ONLY, NativeEngine.ALERT_CANDIDATE,
                    NativeEngine.HEARTBEAT_ONLY, NativeEngine.HEARTBEAT_ONLY}), Arrays.toString(mask));

            assertEquals(List.of("[service.name]", "[service][name]"), Arrays.asList(NativeEngine.heartbeatRefs(h)));
            assertEquals("[-1, 0]", Arrays.toString(NativeEngine.heartbeatFallbacks(h)),
                    "[service][name] is read only when [service.name] names nothing");
            // Two heartbeats: checkout standing for three events, search for one.
            byte[] text = "\"checkout\"\nnull\n3\nnull\n\"search\"\n1\n".getBytes(StandardCharsets.UTF_8);
            ByteBuffer fields = ByteBuffer.allocateDirect(text.length).put(text);
            assertEquals(2, NativeEngine.heartbeats(h, fields, text.length, 2) & ~NativeEngine.LOGS_PENDING);
            String[] rules = NativeEngine.ruleNames(h);
            long[] counters = NativeEngine.ruleCounters(h);
            int width = Catalog.get().ruleCounterNames.length;
            int matched = Arrays.asList(Catalog.get().ruleCounterNames).indexOf("matched");
            assertEquals("quiet", rules[1]);
            assertEquals(4, counters[width + matched], "heartbeats count the events they stand for");
            assertEquals(0, counters[matched], "no alert rule saw them");

            byte[] noCount = "\"checkout\"\nnull\n".getBytes(StandardCharsets.UTF_8);
            ByteBuffer bad = ByteBuffer.allocateDirect(noCount.length).put(noCount);
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.heartbeats(h, bad, noCount.length, 1));
            assertThrows(IllegalArgumentException.class,
                    () -> NativeEngine.heartbeats(h, ByteBuffer.allocate(8), 8, 1));
        } finally {
            NativeEngine.close(h);
        }
        assertEquals(NativeEngine.CLOSED, NativeEngine.heartbeats(h, ByteBuffer.allocateDirect(1), 0, 0));
        assertNull(NativeEngine.heartbeatRefs(h));
        assertNull(NativeEngine.heartbeatFallbacks(h));
    }

    @Test
    void badArgumentsAreIllegalArgumentExceptions() {
        long h = NativeEngine.create("{\"dry_run\":true,\"shutdown_timeout\":\"1s\"}");
        try {
            ByteBuffer direct = ByteBuffer.allocateDirect(NativeEngine.BUFFER_SIZE);
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.matchBatch(h, direct, 1025));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.matchBatch(h, direct, -1));
            assertThrows(IllegalArgumentException.class,
                    () -> NativeEngine.matchBatch(h, ByteBuffer.allocate(NativeEngine.BUFFER_SIZE), 1));
            assertThrows(IllegalArgumentException.class,
                    () -> NativeEngine.matchBatch(h, ByteBuffer.allocateDirect(NativeEngine.BUFFER_SIZE - 1), 1));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.matchBatch(h, null, 1));
            int width = NativeEngine.eventRefs(h).length;
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.submit(h, new String[width + 1], 1));
            assertThrows(IllegalArgumentException.class, () -> NativeEngine.submit(h, null, 0));
            assertEquals(0, NativeEngine.submit(h, new String[0], 0) & ~NativeEngine.LOGS_PENDING);
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
            String[] refs = NativeEngine.eventRefs(h);
            String[] values = new String[refs.length * 2];
            values[0] = "\"ERROR\"";
            values[refs.length] = "ERROR"; // not JSON: taken as the plain string
            int r = NativeEngine.submit(h, values, 2);
            assertEquals(2, r & ~NativeEngine.LOGS_PENDING);
            long[] counters = NativeEngine.counters(h);
            List<String> names = Arrays.asList(Catalog.get().counterNames);
            assertEquals(2L, counters[names.indexOf("matched")]);
        } finally {
            String[] closed = NativeEngine.close(h);
            assertTrue(closed[0].startsWith("stopped in"), closed[0]);
            assertEquals(Catalog.get().counterNames.length, closed[1].split(",").length);
            assertEquals(Catalog.get().ruleCounterNames.length, closed[2].split(",").length,
                    "one rule (default): one row of rule counters");
            assertEquals(0, (closed.length - 3) % 2);
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
                    NativeEngine.matchBatch(first, ByteBuffer.allocateDirect(NativeEngine.BUFFER_SIZE), 0));
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
