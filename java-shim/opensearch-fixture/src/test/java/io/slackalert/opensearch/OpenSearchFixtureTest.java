package io.slackalert.opensearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.opensearch.common.xcontent.XContentHelper;
import org.opensearch.common.xcontent.json.JsonXContent;

/**
 * The document APIs the coordination store relies on, against one real node (started once for
 * the class: a start costs seconds); the kill/restart and close tests run last, in order.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OpenSearchFixtureTest {

    @TempDir
    static Path dataDir;

    private static OpenSearchFixture os;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @BeforeAll
    static void start() throws IOException {
        os = OpenSearchFixture.start(dataDir);
    }

    @AfterAll
    static void close() throws IOException {
        if (os != null) {
            os.close();
        }
    }

    /** A status and the parsed JSON body. */
    private static final class Answer {
        final int status;
        final Map<String, Object> body;

        Answer(int status, Map<String, Object> body) {
            this.status = status;
            this.body = body;
        }

        @SuppressWarnings("unchecked")
        <T> T at(String... path) {
            Object node = body;
            for (String key : path) {
                node = ((Map<String, Object>) node).get(key);
            }
            return (T) node;
        }

        long number(String... path) {
            return ((Number) at(path)).longValue();
        }

        @Override
        public String toString() {
            return status + " " + body;
        }
    }

    private static Answer call(String method, String path, String json) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(os.url().resolve(path)).timeout(Duration.ofSeconds(60));
        if (json == null) {
            request.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            request.header("Content-Type", "application/json")
                    .method(method, HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8));
        }
        HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        return new Answer(response.statusCode(), XContentHelper.convertToMap(JsonXContent.jsonXContent, response.body(), false));
    }

    @Test
    @Order(1)
    void servesGreenWithNoReplicas() throws Exception {
        assertTrue(os.url().toString().matches("http://127\\.0\\.0\\.1:\\d+"), os.url().toString());
        Answer settings = call("GET", "/_cluster/settings", null);
        assertEquals("0", settings.at("persistent", "cluster", "default_number_of_replicas"), settings.toString());
        Answer indexed = call("PUT", "/docs/_doc/1?refresh=true", "{\"n\":1}");
        assertEquals(201, indexed.status, indexed.toString());
        Answer health = call("GET", "/_cluster/health?wait_for_status=green&timeout=60s", null);
        assertEquals("green", health.at("status"), health.toString());
    }

    @Test
    @Order(2)
    void createTwiceIsAConflict() throws Exception {
        Answer first = call("PUT", "/docs/_create/claim", "{\"owner\":\"a\"}");
        assertEquals(201, first.status, first.toString());
        Answer second = call("PUT", "/docs/_create/claim", "{\"owner\":\"b\"}");
        assertEquals(409, second.status, second.toString());
        assertEquals("version_conflict_engine_exception", second.at("error", "type"));
        assertEquals("a", call("GET", "/docs/_doc/claim", null).at("_source", "owner"));
    }

    @Test
    @Order(3)
    void scriptedUpdateWithRetryOnConflict() throws Exception {
        assertEquals(201, call("PUT", "/docs/_create/counter", "{\"count\":0}").status);
        String script = "{\"script\":{\"lang\":\"painless\",\"source\":\"ctx._source.count += params.delta\","
                + "\"params\":{\"delta\":5}}}";
        for (int i = 0; i < 3; i++) {
            Answer updated = call("POST", "/docs/_update/counter?retry_on_conflict=5", script);
            assertEquals(200, updated.status, updated.toString());
        }
        assertEquals(15, call("GET", "/docs/_doc/counter", null).number("_source", "count"));
    }

    @Test
    @Order(4)
    void compareAndSetRefusesAStaleSeqNo() throws Exception {
        assertEquals(201, call("PUT", "/docs/_create/lease", "{\"owner\":\"a\"}").status);
        Answer read = call("GET", "/docs/_doc/lease", null);
        long seqNo = read.number("_seq_no");
        long primaryTerm = read.number("_primary_term");
        String cas = "/docs/_doc/lease?if_seq_no=" + seqNo + "&if_primary_term=" + primaryTerm;
        Answer won = call("PUT", cas, "{\"owner\":\"b\"}");
        assertEquals(200, won.status, won.toString());
        Answer stale = call("PUT", cas, "{\"owner\":\"c\"}");
        assertEquals(409, stale.status, stale.toString());
        assertEquals("b", call("GET", "/docs/_doc/lease", null).at("_source", "owner"));
    }

    @Test
    @Order(5)
    void deleteByQueryOnARange() throws Exception {
        assertEquals(200, call("PUT", "/expiring", "{\"settings\":{\"number_of_shards\":1},"
                + "\"mappings\":{\"properties\":{\"expires_at\":{\"type\":\"date\",\"format\":\"epoch_millis\"}}}}").status);
        for (int i = 1; i <= 4; i++) {
            assertEquals(201, call("PUT", "/expiring/_doc/" + i + "?refresh=true", "{\"expires_at\":" + (i * 1000) + "}").status);
        }
        Answer deleted = call("POST", "/expiring/_delete_by_query?refresh=true&conflicts=proceed",
                "{\"query\":{\"range\":{\"expires_at\":{\"lt\":2500}}}}");
        assertEquals(200, deleted.status, deleted.toString());
        assertEquals(2, deleted.number("deleted"), deleted.toString());
        assertEquals(404, call("GET", "/expiring/_doc/2", null).status);
        assertEquals(200, call("GET", "/expiring/_doc/3", null).status);
        assertEquals(2, call("GET", "/expiring/_count", null).number("count"));
    }

    @Test
    @Order(6)
    void stopAndRestartKeepTheDataAndThePort() throws Exception {
        URI before = os.url();
        long pid = os.pid();
        os.stop();
        assertEquals(Integer.valueOf(0), os.lastExitCode(), "the node exits 0 when its stdin closes");
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        os.restart();
        assertEquals(before, os.url());
        assertEquals(15, call("GET", "/docs/_doc/counter", null).number("_source", "count"));
    }

    @Test
    @Order(7)
    void aKilledNodeStartsAgainOnItsData() throws Exception {
        assertEquals(201, call("PUT", "/docs/_doc/unflushed", "{\"n\":7}").status);
        long pid = os.pid();
        os.kill();
        assertEquals(Integer.valueOf(137), os.lastExitCode(), "SIGKILL");
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        os.restart();
        Answer doc = call("GET", "/docs/_doc/unflushed", null);
        assertEquals(7, doc.number("_source", "n"), doc.toString());
        assertEquals(409, call("PUT", "/docs/_create/claim", "{\"owner\":\"c\"}").status);
        assertEquals("green", call("GET", "/_cluster/health?wait_for_status=green&timeout=60s", null).at("status"));
    }

    @Test
    @Order(8)
    void closeLeavesNoProcessAndNoData() throws Exception {
        long pid = os.pid();
        Optional<ProcessHandle> child = ProcessHandle.of(pid);
        assertTrue(child.isPresent() && child.get().isAlive());
        List<ProcessHandle> grandchildren = child.get().descendants().collect(Collectors.toList());
        os.close();
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "pid " + pid + " still runs");
        for (ProcessHandle p : grandchildren) {
            assertFalse(p.isAlive(), "pid " + p.pid() + " still runs");
        }
        try (Stream<Path> left = Files.list(dataDir)) {
            assertEquals(List.of(), left.collect(Collectors.toList()));
        }
        os.close();
    }
}
