package io.slackalert.logstash.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {

    @Test
    void parsesEveryValueType() {
        Map<String, Object> m = Json.parseObject(
                "{\"s\":\"a\\\"b\\u00e9\\ud83d\\udd25\",\"i\":-12,\"big\":12345678901234567890,\"d\":1.5e3,"
                        + "\"t\":true,\"f\":false,\"n\":null,\"a\":[1,[2]],\"o\":{}}");
        assertEquals("a\"bé🔥", m.get("s"));
        assertEquals(-12L, m.get("i"));
        assertEquals(1.2345678901234567e19, m.get("big"));
        assertEquals(1500.0, m.get("d"));
        assertEquals(Boolean.TRUE, m.get("t"));
        assertEquals(Boolean.FALSE, m.get("f"));
        assertNull(m.get("n"));
        assertEquals(Arrays.asList(1L, List.of(2L)), m.get("a"));
        assertEquals(Map.of(), m.get("o"));
    }

    @Test
    void rejectsWhatIsNotJson() {
        for (String bad : new String[] {"", "{", "{\"a\":}", "[1,]", "tru", "\"x", "{} x", "{a:1}", "01x"}) {
            assertThrows(IllegalArgumentException.class, () -> Json.parse(bad), bad);
        }
    }

    @Test
    void writesWhatItReads() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "line\nbreak \"q\" \u0001");
        m.put("l", 3L);
        m.put("d", 0.25);
        m.put("list", Arrays.asList(true, null));
        String json = Json.write(m);
        assertEquals("{\"s\":\"line\\nbreak \\\"q\\\" \\u0001\",\"l\":3,\"d\":0.25,\"list\":[true,null]}", json);
        assertEquals(m, Json.parse(json));
    }
}
