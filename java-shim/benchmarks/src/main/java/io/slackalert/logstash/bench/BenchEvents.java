package io.slackalert.logstash.bench;

import co.elastic.logstash.api.Event;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Realistic ECS events, as the logback/log4j2 ECS encoders write them (flat dotted keys, string
 * levels), generated deterministically from a seed. Error events come from a fixed set of
 * fingerprints (10 messages × 5 loggers), each occurrence with its own numbers, ids and
 * addresses, which the default fingerprint masks. The same templates are used by the Rust
 * benchmarks in {@code rust/engine/benches/engine.rs}.
 */
public final class BenchEvents {

    /** Logstash's default {@code pipeline.batch.size}. */
    public static final int BATCH = 125;

    /** Distinct error fingerprints the templates can produce. */
    public static final int MAX_FINGERPRINTS = 50;

    private static final String[] LOGGERS = {
        "com.shop.checkout.OrderController",
        "com.shop.payment.PaymentClient",
        "com.shop.inventory.StockRepository",
        "com.shop.auth.TokenVerifier",
        "org.hibernate.engine.jdbc.spi.SqlExceptionHelper",
    };

    private static final String[] INFO_LOGGERS = {
        "com.shop.checkout.OrderController",
        "com.shop.catalog.ProductService",
        "org.springframework.web.servlet.DispatcherServlet",
        "com.zaxxer.hikari.pool.HikariPool",
    };

    private final SplittableRandom random;
    private final BenchEvent.Model model;

    public BenchEvents(long seed) {
        this(seed, BenchEvent.Model.CONVERTING);
    }

    public BenchEvents(long seed, BenchEvent.Model model) {
        this.random = new SplittableRandom(seed);
        this.model = model;
    }

    /** An event of this generator's model. */
    public BenchEvent event(Map<String, Object> fields) {
        return new BenchEvent(fields, model);
    }

    /**
     * {@code count} batches of {@link #BATCH} events; each event is an error with probability
     * {@code errorRate} (from the first {@code fingerprints} fingerprints), else INFO, DEBUG or
     * WARN (60/25/15).
     */
    public List<List<Event>> batches(int count, double errorRate, int fingerprints) {
        List<List<Event>> batches = new ArrayList<>(count);
        for (int b = 0; b < count; b++) {
            List<Event> batch = new ArrayList<>(BATCH);
            for (int i = 0; i < BATCH; i++) {
                batch.add(random.nextDouble() < errorRate
                        ? event(error(random.nextInt(fingerprints)))
                        : event(ordinary()));
            }
            batches.add(batch);
        }
        return batches;
    }

    /** The fields every event of the service carries. */
    private Map<String, Object> common(String level, String logger) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("@timestamp", "2024-05-01T12:00:00.123Z");
        e.put("log.level", level);
        e.put("message", "");
        e.put("ecs.version", "1.2.0");
        e.put("service.name", "checkout");
        e.put("service.environment", "prod");
        e.put("event.dataset", "checkout.log");
        e.put("process.thread.name", "http-nio-8080-exec-" + random.nextInt(200));
        e.put("log.logger", logger);
        e.put("trace.id", hex(16) + hex(16));
        e.put("transaction.id", hex(16));
        e.put("host.name", "checkout-7d9f8b-x2k4p");
        return e;
    }

    /** An INFO (60%), DEBUG (25%) or WARN (15%) event. */
    public Map<String, Object> ordinary() {
        int p = random.nextInt(100);
        String level = p < 60 ? "INFO" : p < 85 ? "DEBUG" : "WARN";
        Map<String, Object> e = common(level, INFO_LOGGERS[random.nextInt(INFO_LOGGERS.length)]);
        int n = random.nextInt(100_000);
        switch (random.nextInt(4)) {
            case 0:
                e.put("message", "Completed order " + n + " in " + random.nextInt(900) + " ms");
                break;
            case 1:
                e.put("message", "GET /api/v1/products/" + n + " 200 " + random.nextInt(400) + "ms");
                break;
            case 2:
                e.put("message", "HikariPool-1 - Pool stats (total=10, active=" + random.nextInt(10)
                        + ", idle=" + random.nextInt(10) + ", waiting=0)");
                break;
            default:
                e.put("message", "Cache miss for product " + n + "; loading from database");
        }
        return e;
    }

    /** An ERROR event of fingerprint {@code fp} (0..49) with fresh variable parts. */
    public Map<String, Object> error(int fp) {
        String logger = LOGGERS[fp / 10 % LOGGERS.length];
        Map<String, Object> e = common("ERROR", logger);
        String[] messageAndType = errorMessage(fp % 10);
        String message = messageAndType[0];
        String type = messageAndType[1];
        e.put("message", message);
        e.put("error.type", type);
        e.put("error.message", message);
        String cls = logger.substring(logger.lastIndexOf('.') + 1);
        e.put("error.stack_trace", type + ": " + message
                + "\n\tat " + logger + ".handle(" + cls + ".java:" + random.nextInt(400) + ")"
                + "\n\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:883)"
                + "\n\tat javax.servlet.http.HttpServlet.service(HttpServlet.java:764)"
                + "\n\tat org.apache.tomcat.util.threads.TaskThread$WrappingRunnable.run(TaskThread.java:61)"
                + "\n\tat java.base/java.lang.Thread.run(Thread.java:833)");
        return e;
    }

    /** An ERROR event whose fingerprint is {@code n}'s own: its message spells n in letters. */
    public Map<String, Object> distinctError(long n) {
        Map<String, Object> e = common("ERROR", LOGGERS[0]);
        e.put("message", "Unhandled failure kind " + letters(n) + " for order " + random.nextInt(100_000));
        e.put("error.type", "java.lang.IllegalStateException");
        return e;
    }

    /** {@code n} in letters ({@code 0 → a}), so the fingerprint does not mask it as a number. */
    public static String letters(long n) {
        String digits = Long.toString(n);
        StringBuilder out = new StringBuilder(digits.length());
        for (int i = 0; i < digits.length(); i++) {
            out.append((char) ('a' + digits.charAt(i) - '0'));
        }
        return out.toString();
    }

    private String[] errorMessage(int template) {
        int n = random.nextInt(100_000);
        int m = random.nextInt(1000);
        switch (template) {
            case 0:
                return new String[] {"Read timed out after " + m + " ms calling payment-service for order " + n,
                    "java.net.SocketTimeoutException"};
            case 1:
                return new String[] {"Connection refused: db-" + m + ".internal/10.0." + (m % 255) + "." + (n % 255)
                    + ":5432", "java.net.ConnectException"};
            case 2:
                return new String[] {"Could not commit JPA transaction for order " + n
                    + "; nested exception is javax.persistence.RollbackException",
                    "org.springframework.transaction.TransactionSystemException"};
            case 3:
                return new String[] {"Token 0x" + Integer.toHexString(n) + Integer.toHexString(m) + "ff expired at "
                    + n + " for user " + m, "com.shop.auth.TokenExpiredException"};
            case 4:
                return new String[] {"Insufficient stock for sku-" + n + ": requested " + m + ", available 0",
                    "com.shop.inventory.OutOfStockException"};
            case 5:
                return new String[] {"HikariPool-1 - Connection is not available, request timed out after " + m
                    + "ms.", "java.sql.SQLTransientConnectionException"};
            case 6:
                return new String[] {"Unexpected response 503 from https://api.partner.example/v2/orders/" + n,
                    "org.springframework.web.client.HttpServerErrorException"};
            case 7:
                return new String[] {"Duplicate entry '" + n + "' for key 'orders.PRIMARY'",
                    "java.sql.SQLIntegrityConstraintViolationException"};
            case 8:
                return new String[] {"Failed to deserialize message " + String.format("%08x-%04x", n, m)
                    + "-4a2b-8c3d-1e2f3a4b5c6d from topic orders",
                    "com.fasterxml.jackson.databind.JsonMappingException"};
            default:
                return new String[] {"NullPointerException while pricing cart " + n + " (items=" + m + ")",
                    "java.lang.NullPointerException"};
        }
    }

    private String hex(int digits) {
        StringBuilder out = new StringBuilder(digits);
        for (int i = 0; i < digits; i++) {
            out.append(Character.forDigit(random.nextInt(16), 16));
        }
        return out.toString();
    }
}
