package io.slackalert.logstash.testkit;

import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.util.Objects;

/** Stands in for Logstash's {@code org.logstash.Timestamp}: immutable, ISO-8601 in UTC. */
public final class TestTimestamp implements Comparable<TestTimestamp> {

    private static final DateTimeFormatter ISO = new DateTimeFormatterBuilder().appendInstant(3).toFormatter();

    private final Instant instant;

    public TestTimestamp(Instant instant) {
        this.instant = Objects.requireNonNull(instant, "instant");
    }

    /** Parses ISO-8601, e.g. {@code 2024-05-01T12:00:00.123Z}. */
    public static TestTimestamp parse(String iso) {
        return new TestTimestamp(Instant.parse(iso));
    }

    public static TestTimestamp now() {
        return new TestTimestamp(Instant.now());
    }

    public Instant toInstant() {
        return instant;
    }

    @Override
    public int compareTo(TestTimestamp other) {
        return instant.compareTo(other.instant);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TestTimestamp && ((TestTimestamp) o).instant.equals(instant);
    }

    @Override
    public int hashCode() {
        return instant.hashCode();
    }

    /** ISO-8601 with milliseconds, e.g. {@code 2024-05-01T12:00:00.000Z}, as Logstash prints it. */
    @Override
    public String toString() {
        return ISO.format(instant);
    }
}
