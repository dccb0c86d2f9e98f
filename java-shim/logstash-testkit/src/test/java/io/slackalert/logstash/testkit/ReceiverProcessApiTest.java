package io.slackalert.logstash.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.slackalert.logstash.testkit.ReceiverProcess.ChannelSpec;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Web API helpers of {@link ReceiverProcess} against the real fake Slack, calling its Web API
 * as a bot would ({@code Authorization: Bearer}, JSON bodies): what each switch makes Slack answer,
 * and what the readers return.
 */
class ReceiverProcessApiTest {

    private static final String TOKEN = "xoxb-1-2-testkit";
    private static ReceiverProcess receiver;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws IOException {
        receiver = ReceiverProcess.start();
    }

    @AfterAll
    static void stop() {
        receiver.close();
    }

    @BeforeEach
    void reset() {
        receiver.reset();
    }

    /** Calls {@code method} with {@code body}; returns the HTTP status and the answer. */
    private Map<String, Object> call(String method, Map<String, Object> body) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(receiver.apiUrl() + "/" + method))
                .header("Authorization", "Bearer " + TOKEN)
                .header("Content-Type", "application/json; charset=utf-8")
                .timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofString(LogstashJson.write(body))).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        Map<String, Object> answer = LogstashJson.parseObject(response.body());
        answer.put("http_status", (long) response.statusCode());
        return answer;
    }

    private Map<String, Object> post(String channel, String text) throws Exception {
        return call("chat.postMessage", Map.of("channel", channel, "text", text));
    }

    @Test
    void whatIsPostedAndUpdatedIsWhatTheChannelShows() throws Exception {
        assertTrue(receiver.apiUrl().startsWith(receiver.baseUrl()) && receiver.apiUrl().endsWith("/api"));
        assertNull(receiver.channel("#alerts"), "no channel before the first post");
        assertTrue(receiver.messagesIn("#alerts").isEmpty());
        Map<String, Object> posted = post("#alerts", "disk full on db-1");
        assertEquals(true, posted.get("ok"), posted.toString());
        String ts = (String) posted.get("ts");
        Map<String, Object> updated = call("chat.update",
                Map.of("channel", posted.get("channel"), "ts", ts, "text", "disk full on db-1 (3×)"));
        assertEquals(true, updated.get("ok"), updated.toString());
        call("chat.postMessage", Map.of("channel", posted.get("channel"), "thread_ts", ts, "text", "still full"));

        Map<String, Object> alerts = receiver.channel("#alerts");
        assertEquals("alerts", alerts.get("name"));
        assertEquals(posted.get("channel"), alerts.get("id"));
        assertEquals(alerts, receiver.channel("alerts"), "with or without #");
        List<Map<String, Object>> messages = receiver.messagesIn("#alerts");
        assertEquals(1, messages.size());
        assertEquals("disk full on db-1 (3×)", messages.get(0).get("text"));
        assertEquals(1L, messages.get(0).get("edits"));
        List<Map<String, Object>> replies = ReceiverProcess.objectsOf(messages.get(0).get("replies"));
        assertEquals("still full", replies.get(0).get("text"));
        assertEquals(1, receiver.channels().size());
        assertTrue(receiver.files().isEmpty());

        List<Map<String, Object>> calls = receiver.apiCalls();
        assertEquals(List.of("chat.postMessage", "chat.update", "chat.postMessage"),
                calls.stream().map(c -> c.get("method")).collect(java.util.stream.Collectors.toList()));
        assertEquals(ts, calls.get(2).get("thread_ts"));
        assertEquals(2L, receiver.apiStats().get("posts"));
        assertEquals(1L, receiver.apiStats().get("updates"));

        assertTrue(receiver.deleteMessage("#alerts", ts));
        assertFalse(receiver.deleteMessage("#alerts", ts), "already gone");
        assertEquals("message_not_found", call("chat.update",
                Map.of("channel", posted.get("channel"), "ts", ts, "text", "x")).get("error"));
        assertTrue(receiver.violations().isEmpty(), receiver.violations().toString());
    }

    @Test
    void forcedErrorsAndFailuresHitTheirMethodOnlyAndClear() throws Exception {
        receiver.setApiError("chat.postMessage", "channel_not_found", 1);
        assertEquals("channel_not_found", post("#alerts", "a").get("error"));
        assertEquals(true, post("#alerts", "b").get("ok"), "only the next one");

        receiver.setApiFailure("chat.update", "{\"mode\":\"status\",\"status\":429,\"retry_after\":7}", null);
        Map<String, Object> limited = call("chat.update", Map.of("channel", "#alerts", "ts", "1.2", "text", "x"));
        assertEquals(429L, limited.get("http_status"));
        assertEquals("ratelimited", limited.get("error"));
        assertEquals(true, post("#alerts", "c").get("ok"), "posts go on while updates are limited");
        receiver.clearApiFailures("chat.update");
        receiver.clearApiFailures(null);
        assertThrows(IllegalStateException.class, () -> receiver.setApiError("chat.nothing", "x", null),
                "an unknown method is refused with what to fix");
    }

    @Test
    void tokensChannelsAndTiersAreDeclared() throws Exception {
        receiver.setToken(TOKEN, "revoked", null);
        assertEquals("token_revoked", post("#alerts", "a").get("error"));
        receiver.setToken(TOKEN, "ok", List.of("files:write"));
        Map<String, Object> scope = post("#alerts", "a");
        assertEquals("missing_scope", scope.get("error"));
        assertEquals("chat:write", scope.get("needed"));
        receiver.setToken(TOKEN, null, null);
        assertEquals(true, post("#alerts", "a").get("ok"));

        List<String> ids = receiver.declareChannels(false, ChannelSpec.named("old").archived(),
                ChannelSpec.named("vault").privateChannel().notMember());
        assertEquals(2, ids.size());
        assertTrue(ids.get(0).startsWith("C"), ids.toString());
        assertEquals("is_archived", post("#old", "a").get("error"));
        assertEquals("not_in_channel", post(ids.get(1), "a").get("error"));
        assertEquals("channel_not_found", post("#new", "a").get("error"), "auto-create is off");
        Map<String, Object> vault = receiver.channel("#vault");
        assertEquals(true, vault.get("private"));
        assertEquals(false, vault.get("member"));

        receiver.setTier("chat.postMessage", 1, 1);
        @SuppressWarnings("unchecked")
        Map<String, Object> tier = (Map<String, Object>) receiver.tiers().get("chat.postMessage");
        assertEquals(1.0, tier.get("per_minute"));
        assertEquals(1L, tier.get("burst"));
        assertEquals(true, post("#alerts", "one").get("ok"));
        assertEquals(429L, post("#alerts", "two").get("http_status"), "over the tier");
        receiver.liftTier("chat.postMessage");
        assertNull(receiver.tiers().get("chat.postMessage"));
        assertEquals(true, post("#alerts", "three").get("ok"));
        // The 429 was answered, not called into: a client that waited does no wrong.
        assertTrue(receiver.violations().isEmpty(), receiver.violations().toString());
    }
}
