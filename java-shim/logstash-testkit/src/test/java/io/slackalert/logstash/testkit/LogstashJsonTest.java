package io.slackalert.logstash.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.math.BigInteger;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LogstashJsonTest {

    @Test
    void valuesHaveTheTypesLogstashHandsToPlugins() {
        Map<String, Object> m = LogstashJson.parseObject(
                "{\"s\":\"a\\\"b\\u00e9\\ud83d\\udd25\",\"i\":-12,\"big\":12345678901234567890,\"d\":1.5e3,"
                        + "\"t\":true,\"f\":false,\"n\":null,\"a\":[1,[2]],\"o\":{\"z\":1,\"a\":2}}");
        assertEquals("a\"bé🔥", m.get("s"));
        assertEquals(-12L, m.get("i"));
        assertEquals(new BigInteger("12345678901234567890"), m.get("big"));
        assertEquals(1500.0, m.get("d"));
        assertEquals(Boolean.TRUE, m.get("t"));
        assertEquals(Boolean.FALSE, m.get("f"));
        assertNull(m.get("n"));
        assertEquals(Arrays.asList(1L, List.of(2L)), m.get("a"));
        assertInstanceOf(LinkedHashMap.class, m.get("o"));
        assertEquals(List.of("z", "a"), List.copyOf(((Map<?, ?>) m.get("o")).keySet()), "keys keep their order");
    }

    @Test
    void rejectsWhatIsNotOneJsonValue() {
        for (String bad : new String[] {"", "{", "{\"a\":}", "[1,]", "tru", "\"x", "{} x", "20 apples", "{a:1}",
            "01", "NaN", "'a'"}) {
            assertThrows(IllegalArgumentException.class, () -> LogstashJson.parse(bad), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> LogstashJson.parseObject("[1]"));
        assertThrows(IllegalArgumentException.class, () -> LogstashJson.parseArray("{}"));
    }

    @Test
    void writesWhatItReadsAndTimestampsAsLogstashPrintsThem() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "line\nbreak \"q\" \u0001");
        m.put("l", 3L);
        m.put("d", 0.25);
        m.put("list", Arrays.asList(true, null));
        String json = LogstashJson.write(m);
        assertEquals("{\"s\":\"line\\nbreak \\\"q\\\" \\u0001\",\"l\":3,\"d\":0.25,\"list\":[true,null]}", json);
        assertEquals(m, LogstashJson.parse(json));
        assertEquals("{\"@timestamp\":\"2024-05-01T12:00:00.000Z\"}",
                LogstashJson.write(Map.of("@timestamp", new TestTimestamp(Instant.parse("2024-05-01T12:00:00Z")))));
    }
}
