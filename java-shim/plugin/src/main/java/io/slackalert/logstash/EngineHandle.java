package io.slackalert.logstash;

import java.lang.ref.Cleaner;
import org.apache.logging.log4j.Logger;

/**
 * A running engine as the shim holds it: its handle, what it asked for when it started
 * ({@link NativeEngine#describe}), and how it is closed: by {@code close()}, or by a
 * {@link Cleaner} once the filter that started it is unreachable without having been closed (a
 * pipeline that failed to start after this filter started, or a leaked instance).
 */
final class EngineHandle {

    /** One daemon thread for every engine of this class loader; made with the first engine. */
    private static final Cleaner CLEANER = Cleaner.create();

    final long handle;
    final String[] levelRefs;
    final String[] keyRefs;
    final String[] eventRefs;
    /** For each of {@link #eventRefs}: the engine's bound on its strings. */
    final int[] eventBounds;
    /** What a heartbeat carries; empty without flatline rules. */
    final String[] heartbeatRefs;
    /** Rule names, for the gauges under {@code rules.<name>}. */
    final String[] ruleNames;
    /** The engine's answers for the usual spellings of its levels. */
    final UsualLevels usualLevels;
    private final Closer closer;
    private final Cleaner.Cleanable cleanable;

    private EngineHandle(long handle, Object[] described, Closer closer, Cleaner.Cleanable cleanable) {
        this.handle = handle;
        this.levelRefs = (String[]) described[NativeEngine.DESCRIBE_LEVEL_REFS];
        this.keyRefs = (String[]) described[NativeEngine.DESCRIBE_KEY_REFS];
        this.eventRefs = (String[]) described[NativeEngine.DESCRIBE_EVENT_REFS];
        this.eventBounds = (int[]) described[NativeEngine.DESCRIBE_EVENT_BOUNDS];
        this.heartbeatRefs = (String[]) described[NativeEngine.DESCRIBE_HEARTBEAT_REFS];
        this.ruleNames = (String[]) described[NativeEngine.DESCRIBE_RULE_NAMES];
        this.usualLevels = new UsualLevels((String[]) described[NativeEngine.DESCRIBE_USUAL_LEVELS],
                (byte[]) described[NativeEngine.DESCRIBE_USUAL_ANSWERS]);
        this.closer = closer;
        this.cleanable = cleanable;
    }

    /**
     * Starts an engine on {@code configJson} for {@code owner}, closed by the {@link Cleaner} if
     * {@code owner} becomes unreachable first.
     *
     * @throws RuntimeException if the engine cannot start; nothing is left running
     */
    static EngineHandle start(String configJson, Object owner, Logger logger, String id) {
        long handle = NativeEngine.create(configJson);
        try {
            Object[] described = NativeEngine.describe(handle);
            if (described == null) {
                throw new IllegalStateException("slack_alert: the engine closed while starting");
            }
            Closer closer = new Closer(handle, logger, id);
            return new EngineHandle(handle, described, closer, CLEANER.register(owner, closer));
        } catch (RuntimeException | Error e) {
            NativeEngine.close(handle);
            throw e;
        }
    }

    /** Log lines and counters now ({@code REPORT_*}); null once closed. */
    Object[] poll() {
        return NativeEngine.poll(handle, true);
    }

    /** Closes the engine: the shutdown report, last log lines and counters; null if it failed. */
    Object[] close() {
        closer.byOwner = true;
        cleanable.clean();
        return closer.result;
    }

    /** Writes {@code [level, message, ...]} to {@code logger}. */
    static void log(Logger logger, String[] pairs) {
        for (int i = 0; pairs != null && i + 1 < pairs.length; i += 2) {
            String message = pairs[i + 1];
            switch (pairs[i]) {
                case "ERROR":
                    logger.error("slack_alert: {}", message);
                    break;
                case "WARN":
                    logger.warn("slack_alert: {}", message);
                    break;
                case "DEBUG":
                    logger.debug("slack_alert: {}", message);
                    break;
                default:
                    logger.info("slack_alert: {}", message);
            }
        }
    }

    /**
     * The engine's LEVELS answers for the usual spellings of the levels it knows, as it published
     * them when it started ({@link NativeEngine#describe}); fixed for its life, so a chunk sends the
     * engine only other texts. A lookup goes by length, first and last character, then one
     * {@code contentEquals}, on a String or on the JRuby string Logstash holds: it reads no more of
     * a level than comparing it does.
     */
    static final class UsualLevels {
        /** A power of two, at least four times the spellings an engine publishes (about 90). */
        private static final int SLOTS = 512;
        private final String[] texts = new String[SLOTS];
        private final byte[] answers = new byte[SLOTS];

        UsualLevels(String[] spellings, byte[] answersOf) {
            for (int k = 0; k < spellings.length && k < answersOf.length && k < SLOTS / 4; k++) {
                int i = slot(spellings[k]);
                while (texts[i] != null) {
                    i = (i + 1) & (SLOTS - 1);
                }
                texts[i] = spellings[k];
                answers[i] = answersOf[k];
            }
        }

        /** The engine's answer for {@code text}, or -1 if it did not publish one. */
        int of(CharSequence text) {
            for (int i = slot(text);; i = (i + 1) & (SLOTS - 1)) {
                String t = texts[i];
                if (t == null) {
                    return -1;
                }
                if (t.contentEquals(text)) {
                    return answers[i];
                }
            }
        }

        private static int slot(CharSequence text) {
            int n = text.length();
            return n == 0 ? 0 : (n * 31 + text.charAt(0) * 7 + text.charAt(n - 1)) & (SLOTS - 1);
        }
    }

    /** Closes one engine, once. It holds no reference to the filter, so that it can be its Cleaner action. */
    private static final class Closer implements Runnable {
        private final long handle;
        private final Logger logger;
        private final String id;
        volatile boolean byOwner;
        volatile Object[] result;

        Closer(long handle, Logger logger, String id) {
            this.handle = handle;
            this.logger = logger;
            this.id = id;
        }

        @Override
        public void run() {
            Object[] closed;
            try {
                closed = NativeEngine.close(handle);
            } catch (RuntimeException | LinkageError e) {
                logger.error("slack_alert: stopping the alert engine failed: {}", e.toString());
                return;
            }
            result = closed;
            if (!byOwner && closed != null) {
                logger.warn("slack_alert: filter {} was dropped without being closed; its alert engine is stopped",
                        id);
                log(logger, (String[]) closed[NativeEngine.REPORT_LOGS]);
            }
        }
    }
}
