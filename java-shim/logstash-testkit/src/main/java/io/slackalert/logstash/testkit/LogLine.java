package io.slackalert.logstash.testkit;

import org.apache.logging.log4j.Level;

/** One line a {@link CapturingLogger} recorded. */
public final class LogLine {

    private final String logger;
    private final Level level;
    private final String message;
    private final Throwable thrown;

    LogLine(String logger, Level level, String message, Throwable thrown) {
        this.logger = logger;
        this.level = level;
        this.message = message;
        this.thrown = thrown;
    }

    public String logger() {
        return logger;
    }

    public Level level() {
        return level;
    }

    /** The formatted message, placeholders filled in. */
    public String message() {
        return message;
    }

    /** The throwable logged with the line, or null. */
    public Throwable thrown() {
        return thrown;
    }

    /** The whole line as it would be written, including the throwable's text if any. */
    public String text() {
        return thrown == null ? message : message + " " + thrown;
    }

    @Override
    public String toString() {
        return level + " " + text();
    }
}
