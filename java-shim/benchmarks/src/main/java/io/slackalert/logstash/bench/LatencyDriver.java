package io.slackalert.logstash.bench;

import co.elastic.logstash.api.Event;
import co.elastic.logstash.api.FilterMatchListener;
import com.sun.net.httpserver.HttpServer;
import io.slackalert.logstash.SlackAlert;
import io.slackalert.logstash.testkit.TestConfiguration;
import io.slackalert.logstash.testkit.TestContext;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Alert latency: from handing a batch with one ERROR event to {@code SlackAlert.filter} to the
 * Slack POST for it arriving, while under the rate limit. The webhook is an HTTP server in this
 * JVM, so both ends read the same clock ({@link System#nanoTime}).
 *
 * <p>One probe every {@code --interval-ms} (default 1100: Slack allows about one post a second,
 * and the sender paces at that), {@code --samples} probes (default 200), each a batch of 124
 * INFO/DEBUG/WARN events and one ERROR with a message of its own (a new fingerprint, so it
 * alerts), after {@code --warm-up} probes (default 5) that warm the alert path and are reported
 * apart. The filter runs with {@code rate_limit => 60} so that one alert a second is under the
 * limit (the default 20 a minute would hold every third probe back for a summary).
 */
public final class LatencyDriver {

    private static final FilterMatchListener NO_OP = event -> { };
    private static final Pattern PROBE = Pattern.compile("latency probe ([a-j]+)");

    private LatencyDriver() {
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        int samples = (int) args.getLong("samples", 200);
        long intervalMs = args.getLong("interval-ms", 1100);

        Map<String, Long> arrivals = new ConcurrentHashMap<>();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/services/", exchange -> {
            long at = System.nanoTime();
            String body;
            try (InputStream in = exchange.getRequestBody()) {
                body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            Matcher m = PROBE.matcher(body);
            if (m.find()) {
                arrivals.putIfAbsent(m.group(1), at);
            }
            byte[] ok = "ok".getBytes(StandardCharsets.US_ASCII);
            exchange.sendResponseHeaders(200, ok.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(ok);
            }
        });
        server.start();
        String webhook = "http://127.0.0.1:" + server.getAddress().getPort() + "/services/T000/B000/latency";

        SlackAlert filter = new SlackAlert("latency", StormDriver.withLibrary(TestConfiguration.of(
                "webhook_url", webhook, "allow_custom_webhook", true, "rate_limit", 60L, "burst", 5L)),
                new TestContext());
        BenchEvents data = new BenchEvents(3L);
        List<Event> quiet = data.batches(1, 0.0, 1).get(0);
        // Warm the JIT on quiet traffic (no alerts).
        for (int i = 0; i < 20_000; i++) {
            filter.filter(quiet, NO_OP);
        }

        // The first probes also warm the alert path (JIT, the HTTP connection): they are reported
        // on their own, not in the percentiles.
        int warmUp = (int) args.getLong("warm-up", 5);
        double[] first = new double[warmUp];
        double[] latencies = new double[samples];
        long nextAt = System.nanoTime();
        for (int i = 0; i < warmUp + samples; i++) {
            nextAt += intervalMs * 1_000_000L;
            String id = BenchEvents.letters(i);
            Map<String, Object> fields = data.error(i % BenchEvents.MAX_FINGERPRINTS);
            fields.put("message", "latency probe " + id + " failed");
            List<Event> batch = new ArrayList<>(quiet.subList(0, BenchEvents.BATCH - 1));
            batch.add(i % BenchEvents.BATCH, data.event(fields));
            long sent = System.nanoTime();
            filter.filter(batch, NO_OP);
            long deadline = sent + 10_000_000_000L;
            Long arrived;
            while ((arrived = arrivals.get(id)) == null && System.nanoTime() < deadline) {
                Thread.sleep(0, 200_000);
            }
            if (arrived == null) {
                throw new IllegalStateException("probe " + i + " never arrived");
            }
            double ms = (arrived - sent) / 1e6;
            if (i < warmUp) {
                first[i] = ms;
            } else {
                latencies[i - warmUp] = ms;
            }
            long wait = nextAt - System.nanoTime();
            if (wait > 0) {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            }
        }
        filter.close();
        server.stop(0);

        Arrays.sort(latencies);
        System.out.printf("alert latency, event -> Slack POST, %d samples, one every %d ms:%n", samples, intervalMs);
        System.out.printf("| p50 | p90 | p99 | max | mean |%n|---|---|---|---|---|%n");
        System.out.printf("| %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2f ms |%n", pct(latencies, 50),
                pct(latencies, 90), pct(latencies, 99), latencies[samples - 1], Arrays.stream(latencies).average().orElse(0));
        StringBuilder slowest = new StringBuilder();
        for (int i = samples - 1; i >= Math.max(0, samples - 5); i--) {
            slowest.append(String.format(" %.1f", latencies[i]));
        }
        System.out.printf("slowest (ms):%s%n", slowest);
        StringBuilder cold = new StringBuilder();
        for (double ms : first) {
            cold.append(String.format(" %.1f", ms));
        }
        System.out.printf("the %d warm-up probes before them, in order (ms):%s%n", warmUp, cold);
    }

    /** The nearest-rank percentile. */
    static double pct(double[] sorted, double p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length, rank) - 1)];
    }
}
