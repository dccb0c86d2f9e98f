package io.slackalert.logstash.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Event;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TestEventTest {

    private static final String ECS = "{\"@timestamp\":\"2024-05-01T12:00:00.123Z\",\"log.level\":\"ERROR\","
            + "\"log\":{\"logger\":\"app.db\",\"level\":\"warn\"},\"message\":\"disk full\",\"n\":42,"
            + "\"ratio\":0.5,\"ok\":false,\"tags\":[\"a\"],\"arr\":[1,2,3]}";

    @Test
    void bracketedPathsAreNestedAndDottedKeysAreFlat() {
        TestEvent e = TestEvent.fromJson(ECS);
        assertEquals("ERROR", e.getField("[log.level]"));
        assertEquals("ERROR", e.getField("log.level"));
        assertEquals("warn", e.getField("[log][level]"));
        assertEquals("app.db", e.getField("[log][logger]"));
        assertNull(e.getField("[log][missing]"));
        assertNull(e.getField("[nope][deeper]"));
        assertNull(e.getField("[message][x]"));
        assertEquals(2L, e.getField("[arr][1]"));
        assertEquals(3L, e.getField("[arr][-1]"));
    }

    @Test
    void valuesHaveLogstashTypes() {
        TestEvent e = TestEvent.fromJson(ECS);
        assertEquals(42L, e.getField("n"));
        assertEquals(0.5, e.getField("ratio"));
        assertEquals(Boolean.FALSE, e.getField("ok"));
        assertTrue(e.getField("tags") instanceof List);
        assertTrue(e.getField("log") instanceof Map);
        Object ts = e.getField("@timestamp");
        assertTrue(ts instanceof TestTimestamp);
        assertEquals("2024-05-01T12:00:00.123Z", ts.toString());
        assertEquals(Instant.parse("2024-05-01T12:00:00.123Z"), e.getEventTimestamp());
    }

    @Test
    void getFieldReturnsCopiesOfContainers() {
        TestEvent e = TestEvent.fromJson(ECS);
        @SuppressWarnings("unchecked")
        Map<String, Object> log = (Map<String, Object>) e.getField("log");
        log.put("logger", "changed");
        assertEquals("app.db", e.getField("[log][logger]"));
    }

    @Test
    void setIncludesRemoveAndMetadata() {
        TestEvent e = new TestEvent();
        e.setField("[a][b]", 1);
        e.setField("a.b", "flat");
        e.setField("[@metadata][seen]", true);
        assertEquals(1L, e.getField("[a][b]"));
        assertEquals("flat", e.getField("[a.b]"));
        assertEquals(Boolean.TRUE, e.getField("[@metadata][seen]"));
        assertTrue(e.includes("[a][b]"));
        assertFalse(e.includes("[a][c]"));
        assertFalse(e.toMap().containsKey("@metadata"));
        assertEquals(1L, e.remove("[a][b]"));
        assertFalse(e.includes("[a][b]"));
    }

    @Test
    void invalidReferencesAreRejected() {
        TestEvent e = new TestEvent();
        for (String bad : new String[] {"[a][b", "a[b]", "[]", "", "[a]b"}) {
            assertThrows(IllegalArgumentException.class, () -> e.getField(bad), bad);
        }
    }

    @Test
    void toMapAndCloneAreDeep() {
        TestEvent e = TestEvent.fromJson(ECS);
        Map<String, Object> before = e.toMap();
        Event copy = e.clone();
        copy.setField("[log][logger]", "other");
        copy.tag("t");
        assertEquals(before, e.toMap());
        assertNotSame(before, e.toMap());
        assertEquals(List.of("a", "t"), copy.getField("tags"));
    }

    @Test
    void sprintfReplacesReferences() {
        TestEvent e = TestEvent.fromJson(ECS);
        assertEquals("ERROR in app.db: disk full %{nope}",
                e.sprintf("%{[log.level]} in %{[log][logger]}: %{message} %{nope}"));
    }
}
