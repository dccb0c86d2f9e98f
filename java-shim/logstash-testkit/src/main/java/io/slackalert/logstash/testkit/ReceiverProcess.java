package io.slackalert.logstash.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Runs the Rust {@code fake-slack} (a local Slack-compatible incoming-webhook server) as a child
 * process and drives its control API.
 *
 * <p>The binary comes from the system property {@code slackalert.receiver}, else
 * {@code ../../target/debug/fake-slack} relative to the working directory (java-shim/plugin
 * under Maven). It is started with {@code --exit-on-stdin-eof}, so it dies with the JVM even if
 * {@link #close()} is never called.
 */
public final class ReceiverProcess implements AutoCloseable {

    public static final String BINARY_PROPERTY = "slackalert.receiver";
    static final String DEFAULT_BINARY = "../../target/debug/fake-slack";

    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    private final Process process;
    private final String baseUrl;
    private final String webhookUrl;
    private final BlockingQueue<String> output;
    private final HttpClient http;

    private ReceiverProcess(Process process, String baseUrl, String webhookUrl, BlockingQueue<String> output) {
        this.process = process;
        this.baseUrl = baseUrl;
        this.webhookUrl = webhookUrl;
        this.output = output;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    }

    /** The binary {@link #start} runs. */
    public static Path binary() {
        return Paths.get(System.getProperty(BINARY_PROPERTY, DEFAULT_BINARY)).toAbsolutePath().normalize();
    }

    /**
     * Starts a receiver and waits until it listens.
     *
     * @param extraArgs e.g. {@code "--rate-limit", "1", "--burst", "25"} or {@code "--print"}
     */
    public static ReceiverProcess start(String... extraArgs) throws IOException {
        Path binary = binary();
        if (!Files.isExecutable(binary)) {
            throw new IllegalStateException("no fake-slack binary at " + binary + "; build it with"
                    + " `cargo build -p fake-slack` or set -D" + BINARY_PROPERTY + "=/path/to/fake-slack");
        }
        List<String> command = new ArrayList<>();
        command.add(binary.toString());
        command.add("--exit-on-stdin-eof");
        Collections.addAll(command, extraArgs);
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException ignored) {
                // The process is gone; nothing more to read.
            }
        }, "fake-slack-stdout");
        reader.setDaemon(true);
        reader.start();
        try {
            String listening = nextLine(lines, process, "listening http://");
            String webhook = nextLine(lines, process, "webhook ");
            return new ReceiverProcess(process, listening.substring("listening ".length()).trim(),
                    webhook.substring("webhook ".length()).trim(), lines);
        } catch (RuntimeException | IOException e) {
            process.destroyForcibly();
            throw e;
        }
    }

    private static String nextLine(BlockingQueue<String> lines, Process process, String prefix) throws IOException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                String line = lines.poll(100, TimeUnit.MILLISECONDS);
                if (line != null) {
                    if (!line.startsWith(prefix)) {
                        throw new IOException("fake-slack printed `" + line + "`, expected `" + prefix + "...`");
                    }
                    return line;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while starting fake-slack", e);
            }
            if (!process.isAlive() && lines.isEmpty()) {
                throw new IOException("fake-slack exited with status " + process.exitValue() + " before listening");
            }
        }
        throw new IOException("fake-slack did not print `" + prefix + "...` within " + START_TIMEOUT);
    }

    /** {@code http://127.0.0.1:PORT}. */
    public String baseUrl() {
        return baseUrl;
    }

    /** The incoming-webhook URL to configure (a secret in real life). */
    public String webhookUrl() {
        return webhookUrl;
    }

    /** Stdout lines after the two start-up lines (messages, with {@code --print}). */
    public List<String> drainOutput() {
        List<String> out = new ArrayList<>();
        output.drainTo(out);
        return out;
    }

    /** The bodies of accepted messages, oldest first, as JSON objects. */
    public List<Map<String, Object>> messages() {
        return objects("messages");
    }

    /** Every post received with its answer: {@code status, answer, body, raw_len, at_ms}. */
    public List<Map<String, Object>> received() {
        return objects("received");
    }

    /** The JSON array of objects at {@code /_receiver/<path>}. */
    @SuppressWarnings("unchecked")
    private List<Map<String, Object>> objects(String path) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object o : LogstashJson.parseArray(get(path))) {
            out.add((Map<String, Object>) o);
        }
        return out;
    }

    /** Breaches of Slack's limits seen so far; a correct client causes none. */
    public List<Object> violations() {
        return LogstashJson.parseArray(get("violations"));
    }

    /** {@code posts, accepted, rate_limited, max_posts_in_any_1s, violations}. */
    public Map<String, Object> stats() {
        return LogstashJson.parseObject(get("stats"));
    }

    /** Changes how posts are answered, e.g. {@code {"mode":"status","status":500}} or {@code {"mode":"hang"}}. */
    public void setMode(String modeJson) {
        post("mode", modeJson);
    }

    /** Forgets everything received; mode back to ok. */
    public void reset() {
        post("reset", "{}");
    }

    /**
     * Polls {@link #messages()} until {@code done} holds or {@code timeout} passes.
     *
     * @return the last messages seen
     */
    public List<Map<String, Object>> awaitMessages(Predicate<List<Map<String, Object>>> done, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<Map<String, Object>> seen = messages();
        while (!done.test(seen) && System.nanoTime() < deadline) {
            sleep(50);
            seen = messages();
        }
        return seen;
    }

    /** Waits until at least {@code n} messages were accepted; returns them (maybe fewer on timeout). */
    public List<Map<String, Object>> awaitMessages(int n, Duration timeout) {
        return awaitMessages(m -> m.size() >= n, timeout);
    }

    private String get(String path) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl + "/_receiver/" + path)).GET());
    }

    private String post(String path, String json) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl + "/_receiver/" + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    private String send(HttpRequest.Builder request) {
        try {
            HttpResponse<String> response = http.send(request.timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            if (response.statusCode() != 200) {
                throw new IllegalStateException("fake-slack answered " + response.statusCode() + ": "
                        + response.body());
            }
            return response.body();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    /** Stops the receiver: closes its stdin, then kills it if it lingers. */
    @Override
    public void close() {
        try {
            process.getOutputStream().close();
        } catch (IOException ignored) {
            // Already closed: the process is exiting anyway.
        }
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }
}
