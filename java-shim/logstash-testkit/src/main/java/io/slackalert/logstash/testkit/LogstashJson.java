package io.slackalert.logstash.testkit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import java.util.List;
import java.util.Map;

/**
 * Jackson, set up to hand out the value types Logstash hands to plugins: objects as
 * {@code LinkedHashMap<String, Object>}, arrays as {@code ArrayList<Object>}, whole numbers as
 * {@link Long} (past its range {@link java.math.BigInteger}, as Logstash keeps them), other numbers
 * as {@link Double}, plus {@link String}, {@link Boolean} and null; a {@link TestTimestamp} is
 * written as its ISO-8601 text, as Logstash writes {@code @timestamp}.
 *
 * <p>Failures are {@link IllegalArgumentException}s, so that a caller can treat text that is not
 * JSON like any other bad input (a log line that is not an event, a setting that is a plain string).
 */
public final class LogstashJson {

    /** The mapper; shared, as Jackson's mappers are thread-safe once configured. */
    public static final ObjectMapper MAPPER = JsonMapper.builder()
            // "20 apples" is a string setting, not the number 20.
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .addModule(new SimpleModule().addSerializer(TestTimestamp.class, ToStringSerializer.instance))
            .build();

    private LogstashJson() {
    }

    /**
     * Parses one JSON document.
     *
     * @throws IllegalArgumentException if the text is not one JSON value
     */
    public static Object parse(String text) {
        try {
            return longs(MAPPER.readValue(text, Object.class));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("invalid JSON (" + e.getOriginalMessage() + "): " + abbreviate(text), e);
        }
    }

    /** Parses a JSON object. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(String text) {
        Object value = parse(text);
        if (!(value instanceof Map)) {
            throw new IllegalArgumentException("expected a JSON object, got: " + abbreviate(text));
        }
        return (Map<String, Object>) value;
    }

    /** Parses a JSON array. */
    @SuppressWarnings("unchecked")
    public static List<Object> parseArray(String text) {
        Object value = parse(text);
        if (!(value instanceof List)) {
            throw new IllegalArgumentException("expected a JSON array, got: " + abbreviate(text));
        }
        return (List<Object>) value;
    }

    /** Writes a value as JSON. */
    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write " + value.getClass().getName() + " as JSON", e);
        }
    }

    /**
     * {@code value} with Jackson's Integers as Longs: Logstash has no Integer values. (Jackson's
     * {@code USE_LONG_FOR_INTS} would refuse a number past the long range instead of keeping it as
     * a BigInteger.)
     */
    @SuppressWarnings("unchecked")
    private static Object longs(Object value) {
        if (value instanceof Integer) {
            return ((Integer) value).longValue();
        }
        if (value instanceof Map) {
            ((Map<String, Object>) value).replaceAll((key, item) -> longs(item));
        } else if (value instanceof List) {
            ((List<Object>) value).replaceAll(LogstashJson::longs);
        }
        return value;
    }

    private static String abbreviate(String s) {
        return s.length() <= 80 ? s : s.substring(0, 77) + "...";
    }
}
