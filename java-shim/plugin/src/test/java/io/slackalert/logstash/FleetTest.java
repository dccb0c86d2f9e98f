package io.slackalert.logstash;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.slackalert.logstash.testkit.Await;
import io.slackalert.logstash.testkit.ReceiverProcess;
import io.slackalert.opensearch.OpenSearchFixture;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.Socket;
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
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Fleet-wide coordination (issue 16) across processes: three Logstash nodes, each the real
 * plugin in a JVM of its own ({@link FleetNode}), or two of them and a {@code slack-alert run}
 * sidecar, sharing one OpenSearch node ({@link OpenSearchFixture}, one for the class) and one
 * fake Slack. Each scenario has an index of its own. Nothing waits on wall-clock time but the
 * ceilings of polls; windows are real ({@value #WINDOW}), the lease short ({@value #LEASE}).
 *
 * <p>The OpenSearch node runs on the class path {@code scripts/opensearch-fixture build} writes
 * ({@code java-shim/opensearch-fixture/target/classpath.txt}) unless {@code
 * -Dopensearch.fixture.classpath} says otherwise: the plugin's test class path has the fixture's
 * class only (its log4j is the plugin's, not OpenSearch's).
 */
class FleetTest {

    /**
     * Each incident's window: long enough for a storm to be filtered inside it on a loaded
     * machine (it takes well under a second), short enough for the class to stay quick.
     */
    static final String WINDOW = "10s";
    static final String LEASE = "1s";
    static final String STORE_TIMEOUT = "2s";
    /** How long the test waits for something that should happen; it runs out only when it never does. */
    static final Duration CEILING = Duration.ofSeconds(90);
    /**
     * Problems in the storm. Not 50: a node posts to one webhook at most once a second (the
     * engine's pace, as Slack allows), so an alert and a report for each of 50 problems take
     * 100 s to deliver, past this class's budget; 20 take 40 s.
     */
    static final int PROBLEMS = 20;
    private static final Pattern REPEATED = Pattern.compile("Repeated ([\\d,]+)");

    private static Path dir;
    private static OpenSearchFixture os;
    private static ReceiverProcess slack;
    private final List<Node> nodes = new ArrayList<>();
    private Sidecar sidecar;

    @BeforeAll
    static void start() throws IOException {
        dir = Files.createTempDirectory("fleet-test");
        if (System.getProperty(OpenSearchFixture.CLASSPATH_PROPERTY) == null) {
            Path module = Paths.get("..", "opensearch-fixture", "target").toAbsolutePath().normalize();
            Path file = module.resolve("classpath.txt");
            if (!Files.isRegularFile(file)) {
                throw new IllegalStateException(file + " is missing: run scripts/opensearch-fixture build");
            }
            String cp = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).trim();
            System.setProperty(OpenSearchFixture.CLASSPATH_PROPERTY,
                    module.resolve("classes") + File.pathSeparator + cp);
        }
        os = OpenSearchFixture.start(dir.resolve("opensearch"));
        slack = ReceiverProcess.start();
    }

    @AfterAll
    static void stop() throws IOException {
        if (slack != null) {
            slack.close();
        }
        if (os != null) {
            os.close();
        }
        if (dir != null) {
            try (Stream<Path> paths = Files.walk(dir)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @BeforeEach
    void reset() {
        slack.reset();
    }

    @AfterEach
    void killLeftovers() {
        for (Node n : nodes) {
            n.process.destroyForcibly();
        }
        if (sidecar != null) {
            sidecar.process.destroyForcibly();
        }
    }

    @Test
    void threeJvmsPostOneAlertPerProblemAndReportTheFleetsExactCount() throws Exception {
        for (int i = 0; i < 3; i++) {
            nodes.add(new Node("storm", i));
        }
        int[] times = {3, 5, 7};
        interleave(0, PROBLEMS, times, null, 0);
        Await.until("an alert and a report per problem", CEILING, () -> slack.messages().size() >= 2 * PROBLEMS);
        List<Map<String, Long>> counters = new ArrayList<>();
        for (Node n : nodes) {
            counters.add(n.close());
        }
        long total = times[0] + times[1] + times[2];
        Map<Integer, Seen> seen = byProblem(slack.messages(), PROBLEMS);
        assertEquals(PROBLEMS, seen.size(), seen::toString);
        for (Map.Entry<Integer, Seen> e : seen.entrySet()) {
            assertEquals(1, e.getValue().alerts, "problem " + e.getKey() + ": one alert across the fleet");
            assertEquals(List.of(total - 1), e.getValue().repeats, () -> "problem " + e.getKey()
                    + ": the fleet's exact count; all: " + seen + "; counters " + counters + "; logs:\n" + logs());
        }
        assertEquals(2 * PROBLEMS, slack.messages().size(), "nothing more at shutdown");
        assertEquals(3 * PROBLEMS, sum(counters, "alerts"), "every node's core opened each incident");
        assertTrue(sum(counters, "coordination_deferred") > 0, counters::toString);
        assertEquals(0, sum(counters, "coordination_failures"), counters::toString);
        assertEquals(0, sum(counters, "coordination_fallbacks"), counters::toString);
    }

    @Test
    void aKilledOwnersIncidentsAreReportedByAnotherNodeWithinTheBound() throws Exception {
        for (int i = 0; i < 3; i++) {
            nodes.add(new Node("kill", i));
        }
        // Node 0 sees every problem first: it owns them all once its claims are in.
        nodes.get(0).command("storm 0 10 1");
        Await.until("10 alerts", CEILING, () -> slack.messages().size() >= 10);
        int[] times = {2, 4, 4};
        interleave(0, 10, times, null, 0);
        // Node 0 counts 3 more per problem and dies, before or after flushing them.
        nodes.get(0).command("storm 0 10 3");
        nodes.get(0).process.destroyForcibly();
        assertTrue(nodes.get(0).process.waitFor(CEILING.toMillis(), TimeUnit.MILLISECONDS));
        // The windows close; the survivors wait for the owner's report until its lease ends,
        // then one of them takes each incident over and reports it.
        slack.awaitMessages(20, CEILING);
        List<Map<String, Long>> counters = new ArrayList<>();
        for (Node n : nodes.subList(1, 3)) {
            counters.add(n.close());
        }
        long total = 1 + times[0] + times[1] + times[2] + 3;
        // What node 0 may not have flushed: at most what it counted after its alert.
        long unflushed = times[0] + 3;
        Map<Integer, Seen> seen = byProblem(slack.messages(), 10);
        assertEquals(10, seen.size(), seen::toString);
        for (Map.Entry<Integer, Seen> e : seen.entrySet()) {
            String p = "problem " + e.getKey();
            assertEquals(1, e.getValue().alerts, p);
            assertEquals(1, e.getValue().repeats.size(), p + ": one report, by the new owner");
            long count = e.getValue().repeats.get(0);
            assertTrue(count >= total - 1 - unflushed && count <= total - 1,
                    p + ": " + count + " repeats, bound " + (total - 1 - unflushed) + "..=" + (total - 1));
        }
        assertEquals(10, sum(counters, "coordination_takeovers"), counters::toString);
        assertEquals(20, slack.messages().size(), "nothing more at shutdown");
    }

    @Test
    void twoPluginJvmsAndASidecarPostOneAlertPerProblem() throws Exception {
        nodes.add(new Node("mixed", 0));
        nodes.add(new Node("mixed", 1));
        sidecar = new Sidecar("mixed");
        int[] times = {3, 4, 5};
        try (Socket tcp = new Socket(sidecar.tcpHost, sidecar.tcpPort)) {
            interleave(0, 10, times, tcp.getOutputStream(), 2);
            tcp.getOutputStream().flush();
            Await.until("the sidecar's 50 events", CEILING, () -> sidecar.metric("slack_alert_events_total") >= 50);
        }
        slack.awaitMessages(20, CEILING);
        List<Map<String, Long>> counters = new ArrayList<>();
        for (Node n : nodes) {
            counters.add(n.close());
        }
        sidecar.stop();
        long total = times[0] + times[1] + times[2];
        Map<Integer, Seen> seen = byProblem(slack.messages(), 10);
        assertEquals(10, seen.size(), seen::toString);
        for (Map.Entry<Integer, Seen> e : seen.entrySet()) {
            assertEquals(1, e.getValue().alerts, "problem " + e.getKey() + ": one alert across the fleet");
            assertEquals(List.of(total - 1), e.getValue().repeats, "problem " + e.getKey() + ": the fleet's exact count");
        }
        assertEquals(20, slack.messages().size(), "nothing more at shutdown");
        assertEquals(0, sum(counters, "coordination_fallbacks"), counters::toString);
    }

    /**
     * Round by round, each node (node {@code i} for {@code times[i]} rounds) filters problems
     * {@code from} to {@code to - 1} once; with {@code sidecarOut}, position {@code sidecarAt}
     * of {@code times} is the sidecar's, which gets the same events as JSON lines.
     */
    private void interleave(int from, int to, int[] times, OutputStream sidecarOut, int sidecarAt) throws IOException {
        int rounds = 0;
        for (int t : times) {
            rounds = Math.max(rounds, t);
        }
        for (int round = 0; round < rounds; round++) {
            for (int i = 0; i < times.length; i++) {
                if (round >= times[i]) {
                    continue;
                }
                if (sidecarOut != null && i == sidecarAt) {
                    StringBuilder lines = new StringBuilder();
                    for (int p = from; p < to; p++) {
                        lines.append("{\"@timestamp\":\"2024-05-01T12:00:00.000Z\",\"log.level\":\"ERROR\",\"message\":\"")
                                .append(FleetNode.problem(p)).append("\",\"service\":{\"name\":\"checkout\"}}\n");
                    }
                    sidecarOut.write(lines.toString().getBytes(StandardCharsets.UTF_8));
                    sidecarOut.flush();
                } else {
                    nodes.get(i).command("storm " + from + " " + to + " 1");
                }
            }
        }
    }

    private String logs() {
        StringBuilder s = new StringBuilder();
        for (Node n : nodes) {
            s.append("--- ").append(n.log.getFileName()).append('\n').append(n.tail()).append('\n');
        }
        return s.toString();
    }

    private static long sum(List<Map<String, Long>> counters, String name) {
        long total = 0;
        for (Map<String, Long> c : counters) {
            total += c.get(name);
        }
        return total;
    }

    /** Alerts and repeat counts of one problem in Slack. */
    static final class Seen {
        int alerts;
        final List<Long> repeats = new ArrayList<>();

        @Override
        public String toString() {
            return alerts + " alerts, repeats " + repeats;
        }
    }

    private static Map<Integer, Seen> byProblem(List<Map<String, Object>> messages, int problems) {
        Map<Integer, Seen> out = new TreeMap<>();
        for (Map<String, Object> message : messages) {
            String text = message.toString();
            Integer problem = null;
            for (int p = 0; p < problems; p++) {
                if (text.contains("code " + Fixtures.letters(p) + " end")) {
                    problem = p;
                    break;
                }
            }
            if (problem == null) {
                throw new AssertionError("a message about no problem: " + text);
            }
            Seen seen = out.computeIfAbsent(problem, p -> new Seen());
            Matcher m = REPEATED.matcher(text);
            if (m.find()) {
                seen.repeats.add(Long.parseLong(m.group(1).replace(",", "")));
            } else {
                seen.alerts++;
            }
        }
        return out;
    }

    private static String config(String index) {
        return "{\"webhook_url\": \"" + slack.webhookUrl() + "\", \"allow_custom_webhook\": true,"
                + " \"dedup_window\": \"" + WINDOW + "\", \"rate_limit\": 3600, \"burst\": 1000,"
                + " \"timeout\": \"2s\", \"shutdown_timeout\": \"5s\","
                + " \"coordination_hosts\": [\"" + os.url() + "\"], \"coordination_index\": \"fleet-java-" + index + "\","
                + " \"coordination_lease\": \"" + LEASE + "\", \"coordination_timeout\": \"" + STORE_TIMEOUT + "\"}";
    }

    private static Path javaBinary() {
        return Paths.get(System.getProperty("java.home"), "bin", "java");
    }

    /** One {@link FleetNode} JVM; its stderr goes to a file in the class's directory. */
    private static final class Node {
        final Process process;
        final PrintStream in;
        final BlockingQueue<String> replies = new LinkedBlockingQueue<>();
        final Path log;

        Node(String index, int i) throws IOException {
            log = dir.resolve(index + "-node-" + i + ".log");
            ProcessBuilder pb = new ProcessBuilder(javaBinary().toString(), "-Xmx128m", "-XX:+UseSerialGC",
                    "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                    FleetNode.class.getName(), config(index));
            pb.redirectError(log.toFile());
            process = pb.start();
            in = new PrintStream(process.getOutputStream(), true, "UTF-8");
            Thread reader = new Thread(() -> {
                try (BufferedReader out = new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line = out.readLine(); line != null; line = out.readLine()) {
                        if (line.startsWith(FleetNode.REPLY)) {
                            replies.add(line.substring(FleetNode.REPLY.length()));
                        }
                    }
                } catch (IOException e) {
                    // The process died; command() says so.
                }
            }, "fleet-node-" + index + "-" + i);
            reader.setDaemon(true);
            reader.start();
        }

        /** Sends one command and returns its answer. */
        String command(String command) {
            in.println(command);
            return reply(command);
        }

        private String reply(String what) {
            try {
                String answer = replies.poll(CEILING.toMillis(), TimeUnit.MILLISECONDS);
                if (answer == null) {
                    throw new AssertionError("no answer to " + what + " within " + CEILING + "; log:\n" + tail());
                }
                if (answer.startsWith("unknown")) {
                    throw new AssertionError(answer);
                }
                return answer;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }

        /** Closes the plugin; returns its counters as they were just before. */
        Map<String, Long> close() throws InterruptedException {
            in.println("close");
            Map<String, Long> counters = parseCounters(reply("close"));
            assertEquals("closed", reply("close"));
            assertTrue(process.waitFor(CEILING.toMillis(), TimeUnit.MILLISECONDS), "the node exits");
            return counters;
        }

        private String tail() {
            try {
                List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
                return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
            } catch (IOException e) {
                return e.toString();
            }
        }
    }

    private static Map<String, Long> parseCounters(String line) {
        Map<String, Long> out = new HashMap<>();
        for (String pair : line.split(" ")) {
            int eq = pair.indexOf('=');
            out.put(pair.substring(0, eq), Long.parseLong(pair.substring(eq + 1)));
        }
        return out;
    }

    /** {@code slack-alert run} from the build that made the fake Slack, TCP and HTTP on free ports. */
    private static final class Sidecar {
        final Process process;
        final String tcpHost;
        final int tcpPort;
        final URI http;

        Sidecar(String index) throws IOException {
            Path binary = ReceiverProcess.binary().resolveSibling("slack-alert");
            Path config = dir.resolve(index + "-sidecar.yml");
            String yaml = "webhook_url: \"" + slack.webhookUrl() + "\"\n"
                    + "allow_custom_webhook: true\n"
                    + "dedup_window: " + WINDOW + "\n"
                    + "rate_limit: 3600\nburst: 1000\ntimeout: 2s\nshutdown_timeout: 5s\n"
                    + "coordination_hosts: [\"" + os.url() + "\"]\n"
                    + "coordination_index: fleet-java-" + index + "\n"
                    + "coordination_lease: " + LEASE + "\n"
                    + "coordination_timeout: " + STORE_TIMEOUT + "\n";
            Files.write(config, yaml.getBytes(StandardCharsets.UTF_8));
            ProcessBuilder pb = new ProcessBuilder(binary.toString(), "run", "--config", config.toString(),
                    "--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0");
            pb.redirectError(dir.resolve(index + "-sidecar.log").toFile());
            pb.redirectInput(ProcessBuilder.Redirect.PIPE);
            process = pb.start();
            BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            String tcp = out.readLine();
            String web = out.readLine();
            if (tcp == null || web == null || !tcp.startsWith("listening tcp ") || !web.startsWith("listening http ")) {
                throw new IOException("slack-alert run printed " + tcp + " / " + web);
            }
            String addr = tcp.substring("listening tcp ".length());
            tcpHost = addr.substring(0, addr.lastIndexOf(':'));
            tcpPort = Integer.parseInt(addr.substring(addr.lastIndexOf(':') + 1));
            http = URI.create("http://" + web.substring("listening http ".length()));
        }

        long metric(String name) {
            try {
                HttpResponse<String> r = HttpClient.newHttpClient().send(
                        HttpRequest.newBuilder(http.resolve("/metrics")).timeout(CEILING).build(),
                        HttpResponse.BodyHandlers.ofString());
                for (String line : r.body().split("\n")) {
                    if (line.startsWith(name + " ")) {
                        return (long) Double.parseDouble(line.substring(name.length() + 1).trim());
                    }
                }
                throw new AssertionError("no metric " + name);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }

        /** SIGTERM: it delivers what is queued and exits 0. */
        void stop() throws InterruptedException {
            process.destroy();
            assertTrue(process.waitFor(CEILING.toMillis(), TimeUnit.MILLISECONDS), "the sidecar exits");
            assertEquals(0, process.exitValue());
        }
    }
}
