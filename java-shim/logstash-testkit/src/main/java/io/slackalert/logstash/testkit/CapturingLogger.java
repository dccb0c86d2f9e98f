package io.slackalert.logstash.testkit;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.Marker;
import org.apache.logging.log4j.message.Message;
import org.apache.logging.log4j.spi.AbstractLogger;

/**
 * A log4j {@link org.apache.logging.log4j.Logger} that records every line at every level, fully
 * formatted, so tests can assert on what a plugin logged (and on what it must never log).
 * Optionally echoes lines at or above a level to a stream, for the demo.
 */
public final class CapturingLogger extends AbstractLogger {

    private static final long serialVersionUID = 1L;

    private final transient List<LogLine> lines = new ArrayList<>();
    private final transient PrintStream echo;
    private final Level echoLevel;

    /** A logger that only records. */
    public CapturingLogger(String name) {
        this(name, null, Level.OFF);
    }

    /** A logger that records and prints lines at {@code echoLevel} or more severe to {@code echo}. */
    public CapturingLogger(String name, PrintStream echo, Level echoLevel) {
        super(name);
        this.echo = echo;
        this.echoLevel = echoLevel;
    }

    /** Every line recorded so far, oldest first. */
    public List<LogLine> lines() {
        synchronized (lines) {
            return new ArrayList<>(lines);
        }
    }

    /** The lines at one level. */
    public List<LogLine> lines(Level level) {
        return lines().stream().filter(l -> l.level().equals(level)).collect(Collectors.toList());
    }

    /** Every line's text, joined by newlines: handy for "never contains" assertions. */
    public String allText() {
        return lines().stream().map(LogLine::toString).collect(Collectors.joining("\n"));
    }

    public void clear() {
        synchronized (lines) {
            lines.clear();
        }
    }

    @Override
    public void logMessage(String fqcn, Level level, Marker marker, Message message, Throwable t) {
        LogLine line = new LogLine(getName(), level, message.getFormattedMessage(), t);
        synchronized (lines) {
            lines.add(line);
        }
        if (echo != null && level.isMoreSpecificThan(echoLevel)) {
            echo.println(line);
        }
    }

    @Override
    public Level getLevel() {
        return Level.ALL;
    }

    @Override
    public boolean isEnabled(Level level, Marker marker, Message message, Throwable t) {
        return true;
    }

    @Override
    public boolean isEnabled(Level level, Marker marker, CharSequence message, Throwable t) {
        return true;
    }

    @Override
    public boolean isEnabled(Level level, Marker marker, Object message, Throwable t) {
        return true;
    }

    @Override
    public boolean isEnabled(Level level, Marker marker, String message, Throwable t) {
        return true;
    }

    @Override
    public boolean isEnabled(Level level, Marker marker, String message) {
        return true;
    }

    @Override
    public boolean isEnabled(Level level, Marker marker, String message, Object... params) {
        return true;
    }

    @Override
    public boolean isEnabled(Level level, Marker marker, String message, Object p0) {
        return true;
    }

    @Override
    public boolean isEnabled(Level level, Marker marker, String message, Object p0, Object p1) {
        return true;
    }

    @Override
    public boolean isEnabled(Level level, Marker marker, String message, Object p0, Object p1, Object p2) {
        return true;
    }

    @Override
    public boolean isEnabled(Level level, Marker marker, String message, Object p0, Object p1, Object p2,
            Object p3) {
        return true;
    }

    @Override
    public boolean isEnabled(Level level, Marker marker, String message, Object p0, Object p1, Object p2,
            Object p3, Object p4) {
        return true;
    }

    @Override
    public boolean isEnabled(Level level, Marker marker, String message, Object p0, Object p1, Object p2,
            Object p3, Object p4, Object p5) {
        return true;
    }

    @Override
    public boolean isEnabled(Level level, Marker marker, String message, Object p0, Object p1, Object p2,
            Object p3, Object p4, Object p5, Object p6) {
        return true;
    }

    @Override
    public boolean isEnabled(Level level, Marker marker, String message, Object p0, Object p1, Object p2,
            Object p3, Object p4, Object p5, Object p6, Object p7) {
        return true;
    }

    @Override
    public boolean isEnabled(Level level, Marker marker, String message, Object p0, Object p1, Object p2,
            Object p3, Object p4, Object p5, Object p6, Object p7, Object p8) {
        return true;
    }

    @Override
    public boolean isEnabled(Level level, Marker marker, String message, Object p0, Object p1, Object p2,
            Object p3, Object p4, Object p5, Object p6, Object p7, Object p8, Object p9) {
        return true;
    }
}
