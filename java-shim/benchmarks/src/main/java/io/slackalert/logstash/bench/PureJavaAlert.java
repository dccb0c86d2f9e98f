package io.slackalert.logstash.bench;

import co.elastic.logstash.api.Event;
import co.elastic.logstash.api.Filter;
import co.elastic.logstash.api.FilterMatchListener;
import co.elastic.logstash.api.PluginConfigSpec;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * The pure-Java peer: what a Java developer would write to do SlackAlert's job without native code,
 * idiomatically and without waste. Same level vocabulary (for ERROR and FATAL), same default
 * fingerprint (level, logger, error type, first message line with numbers, hex ids, UUIDs and IP
 * addresses masked, by regular expressions), a dedup window of 5 minutes over at most 10,000
 * fingerprints (oldest evicted), a token bucket of 20 a minute with a burst of 5, a message rendered
 * for each first occurrence and handed to a bounded queue drained by a sender thread, repeat
 * reports when a window closes. It posts nothing: the sender thread drops what it takes, as a
 * dry run does. Benchmark-only.
 */
public final class PureJavaAlert implements Filter, AutoCloseable {

    private static final String[] LEVEL_REFS = {"[log.level]", "[log][level]", "[level]"};
    /** Every name (and syslog/pino number) of ERROR and FATAL that the engine knows. */
    private static final String[] ALERTING = {
        "ERROR", "ERR", "FATAL", "CRITICAL", "CRIT", "ALERT", "EMERG", "EMERGENCY", "PANIC", "DPANIC",
        "3", "2", "1", "0", "50", "60",
    };
    private static final String[] LOGGER = {"[log.logger]", "[log][logger]", "[logger_name]"};
    private static final String[] ERROR_TYPE = {"[error.type]", "[error][type]"};
    private static final String[] MESSAGE = {"[message]", "[error.message]", "[error][message]"};
    private static final String[] SERVICE = {"[service.name]", "[service][name]"};
    private static final String[][] SHOWN = {
        {"Time", "[@timestamp]"}, {"Logger", "[log.logger]"}, {"Thread", "[process.thread.name]"},
        {"Trace ID", "[trace.id]"}, {"Service", "[service.name]"}, {"Host", "[host.name]"},
        {"Error type", "[error.type]"}, {"Error message", "[error.message]"},
        {"Stack trace", "[error.stack_trace]"}, {"Environment", "[service.environment]"},
    };

    private static final Pattern UUID = Pattern.compile(
            "\\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\\b");
    private static final Pattern IPV4 = Pattern.compile("\\b\\d{1,3}(?:\\.\\d{1,3}){3}(?::\\d+)?\\b");
    private static final Pattern HEX = Pattern.compile(
            "\\b0[xX][0-9a-fA-F]+\\b|\\b(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{8,}\\b");
    private static final Pattern NUMBER = Pattern.compile("[0-9]+(?:[.,][0-9]+)*");

    private static final long WINDOW_NANOS = TimeUnit.MINUTES.toNanos(5);
    private static final int MAX_TRACKED = 10_000;
    private static final long TOKEN_NANOS = TimeUnit.SECONDS.toNanos(3);
    private static final int BURST = 5;

    /** One tracked fingerprint. */
    private static final class Tracked {
        final String label;
        final String service;
        final long expires;
        long repeats;

        Tracked(String label, String service, long expires) {
            this.label = label;
            this.service = service;
            this.expires = expires;
        }
    }

    private final Object lock = new Object();
    /** Insertion order is expiry order: every window has the same length. */
    private final LinkedHashMap<String, Tracked> window = new LinkedHashMap<String, Tracked>() {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Tracked> eldest) {
            if (size() > MAX_TRACKED) {
                evicted++;
                pendingRepeats += eldest.getValue().repeats;
                return true;
            }
            return false;
        }
    };
    private long tokensNanos = BURST * TOKEN_NANOS;
    private long lastRefill = System.nanoTime();
    private long suppressed;
    private long pendingRepeats;
    private long evicted;

    private final BlockingQueue<String> queue = new ArrayBlockingQueue<>(1000);
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong matched = new AtomicLong();
    private final Thread sender;
    private final ScheduledExecutorService timer;

    public PureJavaAlert() {
        ThreadFactory daemon = r -> {
            Thread t = new Thread(r, "pure-java-alert");
            t.setDaemon(true);
            return t;
        };
        sender = daemon.newThread(() -> {
            try {
                while (true) {
                    queue.take();
                }
            } catch (InterruptedException stop) {
                Thread.currentThread().interrupt();
            }
        });
        sender.start();
        timer = Executors.newSingleThreadScheduledExecutor(daemon);
        timer.scheduleAtFixedRate(this::tick, 250, 250, TimeUnit.MILLISECONDS);
    }

    @Override
    public Collection<Event> filter(Collection<Event> events, FilterMatchListener matchListener) {
        for (Event event : events) {
            String level = level(event);
            if (level == null || !alerts(level)) {
                continue;
            }
            matched.incrementAndGet();
            String logger = text(event, LOGGER);
            String errorType = text(event, ERROR_TYPE);
            String firstLine = normalize(firstLine(text(event, MESSAGE)));
            String label = "ERROR" + (logger.isEmpty() ? "" : " " + logger)
                    + (errorType.isEmpty() ? "" : " " + errorType) + ": " + firstLine;
            decide(label, event);
            matchListener.filterMatched(event);
        }
        return events;
    }

    private static String level(Event event) {
        for (String ref : LEVEL_REFS) {
            Object value = event.getField(ref);
            if (value != null) {
                return value instanceof String ? ((String) value).trim() : value.toString();
            }
        }
        return null;
    }

    private static boolean alerts(String level) {
        for (String name : ALERTING) {
            if (name.equalsIgnoreCase(level)) {
                return true;
            }
        }
        return false;
    }

    private static String text(Event event, String[] candidates) {
        for (String ref : candidates) {
            Object value = event.getField(ref);
            if (value != null && !"".equals(value)) {
                return value.toString();
            }
        }
        return "";
    }

    private static String firstLine(String message) {
        for (String line : message.split("\n")) {
            String trimmed = line.trim();
            if (!trimmed.isEmpty()) {
                return trimmed.length() > 120 ? trimmed.substring(0, 120) : trimmed;
            }
        }
        return "";
    }

    static String normalize(String line) {
        String s = UUID.matcher(line).replaceAll("<uuid>");
        s = IPV4.matcher(s).replaceAll("<ip>");
        s = HEX.matcher(s).replaceAll("<hex>");
        return NUMBER.matcher(s).replaceAll("<n>");
    }

    private void decide(String label, Event event) {
        long now = System.nanoTime();
        synchronized (lock) {
            expire(now);
            Tracked tracked = window.get(label);
            if (tracked != null) {
                tracked.repeats++;
                return;
            }
            window.put(label, new Tracked(label, text(event, SERVICE), now + WINDOW_NANOS));
            if (suppressed + pendingRepeats > 0 || !takeToken(now)) {
                suppressed++;
                return;
            }
        }
        if (!queue.offer(render(label, event))) {
            dropped.incrementAndGet();
        }
    }

    private boolean takeToken(long now) {
        tokensNanos = Math.min(BURST * TOKEN_NANOS, tokensNanos + (now - lastRefill));
        lastRefill = now;
        if (tokensNanos >= TOKEN_NANOS) {
            tokensNanos -= TOKEN_NANOS;
            return true;
        }
        return false;
    }

    /** Closes ended windows (under the lock); returns the repeat reports to send. */
    private List<String> expire(long now) {
        List<String> reports = new ArrayList<>();
        Iterator<Tracked> it = window.values().iterator();
        while (it.hasNext()) {
            Tracked t = it.next();
            if (t.expires > now) {
                break;
            }
            it.remove();
            if (t.repeats > 0) {
                if (suppressed + pendingRepeats == 0 && takeToken(now)) {
                    reports.add("{\"text\":\"" + escape("🔁 Repeated " + t.repeats + " more times in " + t.service
                            + ": " + t.label) + "\"}");
                } else {
                    pendingRepeats += t.repeats;
                }
            }
        }
        return reports;
    }

    private void tick() {
        List<String> out;
        long now = System.nanoTime();
        synchronized (lock) {
            out = expire(now);
            if (suppressed + pendingRepeats > 0 && takeToken(now)) {
                out.add("{\"text\":\"summary: " + (suppressed + pendingRepeats) + " events, " + evicted
                        + " evicted\"}");
                suppressed = 0;
                pendingRepeats = 0;
            }
        }
        for (String message : out) {
            if (!queue.offer(message)) {
                dropped.incrementAndGet();
            }
        }
    }

    private static String render(String label, Event event) {
        StringBuilder json = new StringBuilder(1024);
        json.append("{\"text\":\"").append(escape("ERROR: " + label)).append("\",\"blocks\":[");
        json.append("{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":\"")
                .append(escape(text(event, MESSAGE))).append("\"}}");
        for (String[] field : SHOWN) {
            Object value = event.getField(field[1]);
            if (value != null) {
                json.append(",{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":\"*")
                        .append(field[0]).append(":* ").append(escape(value.toString())).append("\"}}");
            }
        }
        return json.append("]}").toString();
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")
                .replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    public long matched() {
        return matched.get();
    }

    @Override
    public void close() {
        timer.shutdownNow();
        sender.interrupt();
    }

    @Override
    public Collection<PluginConfigSpec<?>> configSchema() {
        return Collections.emptyList();
    }

    @Override
    public String getId() {
        return "pure_java";
    }
}
