package io.slackalert.logstash.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Runs the Rust {@code fake-slack} (a local Slack-compatible server: incoming webhooks and the Web
 * API a bot token calls) as a child process and drives its control API.
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
    private List<Map<String, Object>> objects(String path) {
        return objectsOf(LogstashJson.parseArray(get(path)));
    }

    /** The items of a JSON array of objects. */
    @SuppressWarnings("unchecked")
    public static List<Map<String, Object>> objectsOf(Object array) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Object o : (List<Object>) array) {
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

    // ---- The Web API (Slack app mode): see "Control API" in rust/fake-slack/src/lib.rs. ----

    /** The Web API's base URL, {@code http://127.0.0.1:PORT/api}: what {@code slack_api_url} is set to. */
    public String apiUrl() {
        return baseUrl + "/api";
    }

    /**
     * Every Web API call (uploads as method {@code upload}) in arrival order, whatever was answered:
     * {@code method, status, ok, error, channel, ts, thread_ts, retry_after, at_ms, body, detail},
     * {@code at_ms} since the receiver started.
     */
    public List<Map<String, Object>> apiCalls() {
        return objects("api/calls");
    }

    /** {@code calls, ok, errors, rate_limited, posts, updates, files_shared}. */
    public Map<String, Object> apiStats() {
        return LogstashJson.parseObject(get("api/stats"));
    }

    /**
     * Every channel with what a person sees in it now, in creation order: {@code id, name, member,
     * archived, private, messages, files}; see {@link #channel}.
     */
    public List<Map<String, Object>> channels() {
        return objects("api/channels");
    }

    /**
     * What a person sees in the channel named ({@code "#alerts"} or {@code "alerts"}) or identified
     * ({@code "C…"}) by {@code channel}, or null if there is no such channel: {@code id, name, member,
     * archived, private}, {@code messages} (top-level, oldest first, each {@code ts, text, blocks,
     * attachments} as they are now, {@code edits}, {@code versions}, {@code replies} (its thread, the
     * same shape) and {@code files}) and {@code files}.
     */
    public Map<String, Object> channel(String channel) {
        String answer = send(HttpRequest.newBuilder(URI.create(baseUrl + "/_receiver/api/channels/"
                + URLEncoder.encode(channel, StandardCharsets.UTF_8))).GET(), true);
        return answer == null ? null : LogstashJson.parseObject(answer);
    }

    /** The top-level messages of {@code channel} as {@link #channel} shows them; empty if there is no such channel. */
    public List<Map<String, Object>> messagesIn(String channel) {
        Map<String, Object> found = channel(channel);
        return found == null ? List.of() : objectsOf(found.get("messages"));
    }

    /**
     * Every file announced by {@code files.getUploadURLExternal}: {@code id, title, filename, length,
     * snippet_type, text, state} ({@code pending, uploaded, private, shared}), {@code channel, ts,
     * thread_ts}.
     */
    public List<Map<String, Object>> files() {
        return objects("api/files");
    }

    /**
     * Answers the next {@code count} calls of {@code method} (e.g. {@code "chat.update"}) with Slack
     * error {@code error} ({@code {"ok":false,"error":...}}); every call until cleared if
     * {@code count} is null. Replaces what was forced on that method before.
     */
    public void setApiError(String method, String error, Integer count) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("method", method);
        body.put("error", error);
        if (count != null) {
            body.put("count", count);
        }
        post("api/errors", LogstashJson.write(body));
    }

    /**
     * Forces a mode (any {@link #setMode} takes, e.g. {@code {"mode":"hang"}} or
     * {@code {"mode":"status","status":429,"retry_after":30}}) on the next {@code count} calls of
     * {@code method}, every call until cleared if null. Other methods are unaffected: posts can
     * succeed while updates hang.
     */
    public void setApiFailure(String method, String modeJson, Integer count) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("method", method);
        body.put("mode", LogstashJson.parseObject(modeJson));
        if (count != null) {
            body.put("count", count);
        }
        post("api/errors", LogstashJson.write(body));
    }

    /** Clears what was forced on {@code method} (every method if null), letting go of calls it hung. */
    public void clearApiFailures(String method) {
        Map<String, Object> body = new LinkedHashMap<>();
        if (method != null) {
            body.put("method", method);
        }
        body.put("clear", true);
        post("api/errors", LogstashJson.write(body));
    }

    /**
     * Declares {@code token}: {@code state} one of {@code ok, revoked, invalid, inactive} (null: ok),
     * its {@code scopes} (null: the defaults every {@code xoxb-} token has).
     */
    public void setToken(String token, String state, List<String> scopes) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("token", token);
        if (state != null) {
            body.put("state", state);
        }
        if (scopes != null) {
            body.put("scopes", scopes);
        }
        post("api/tokens", LogstashJson.write(body));
    }

    /**
     * Creates these channels, or changes the flags of those that exist; with {@code autoCreate}
     * non-null, also sets whether a post by name to a channel not seen before creates it (on by
     * default; off, such a post answers {@code channel_not_found}). Returns the channels' ids, in order.
     */
    public List<String> declareChannels(Boolean autoCreate, ChannelSpec... channels) {
        Map<String, Object> body = new LinkedHashMap<>();
        if (autoCreate != null) {
            body.put("auto_create", autoCreate);
        }
        List<Map<String, Object>> specs = new ArrayList<>();
        for (ChannelSpec c : channels) {
            specs.add(c.toMap());
        }
        body.put("channels", specs);
        List<String> ids = new ArrayList<>();
        for (Map<String, Object> c : objectsOf(LogstashJson.parseObject(post("api/channels",
                LogstashJson.write(body))).get("channels"))) {
            ids.add((String) c.get("id"));
        }
        return ids;
    }

    /** Sets the rate tier of {@code method} ({@code "*"}: every method); its buckets start empty. */
    public void setTier(String method, double perMinute, int burst) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("method", method);
        body.put("per_minute", perMinute);
        body.put("burst", burst);
        post("api/tiers", LogstashJson.write(body));
    }

    /** Lifts the rate tier of {@code method} ({@code "*"}: every method). */
    public void liftTier(String method) {
        post("api/tiers", LogstashJson.write(Map.of("method", method, "off", true)));
    }

    /**
     * Every method's rate tier: {@code {"chat.update": {"per_minute": 50.0, "burst": 20, "per":
     * "workspace"}, ...}}, null for a method without one.
     */
    public Map<String, Object> tiers() {
        return LogstashJson.parseObject(get("api/tiers"));
    }

    /** Forgets message {@code ts} of {@code channel} (a name or an id); false if there was none. */
    public boolean deleteMessage(String channel, String ts) {
        String answer = send(HttpRequest.newBuilder(URI.create(baseUrl + "/_receiver/api/delete"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(LogstashJson.write(Map.of("channel", channel, "ts", ts)))),
                true);
        return answer != null;
    }

    /** A channel for {@link #declareChannels}: a public channel the bot is in unless said otherwise. */
    public static final class ChannelSpec {
        private final String name;
        private final boolean member;
        private final boolean archived;
        private final boolean isPrivate;

        private ChannelSpec(String name, boolean member, boolean archived, boolean isPrivate) {
            this.name = name;
            this.member = member;
            this.archived = archived;
            this.isPrivate = isPrivate;
        }

        /** A public channel called {@code name} (no {@code #}), with the bot in it. */
        public static ChannelSpec named(String name) {
            return new ChannelSpec(name, true, false, false);
        }

        /** This channel without the bot in it. */
        public ChannelSpec notMember() {
            return new ChannelSpec(name, false, archived, isPrivate);
        }

        /** This channel, archived. */
        public ChannelSpec archived() {
            return new ChannelSpec(name, member, true, isPrivate);
        }

        /** This channel, private. */
        public ChannelSpec privateChannel() {
            return new ChannelSpec(name, member, archived, true);
        }

        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", name);
            m.put("member", member);
            m.put("archived", archived);
            m.put("private", isPrivate);
            return m;
        }

        @Override
        public String toString() {
            return toMap().toString();
        }
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
        return send(request, false);
    }

    /** The answer's body; null for a 404 if {@code notFoundIsNull}. */
    private String send(HttpRequest.Builder request, boolean notFoundIsNull) {
        try {
            HttpResponse<String> response = http.send(request.timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            if (notFoundIsNull && response.statusCode() == 404) {
                return null;
            }
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
