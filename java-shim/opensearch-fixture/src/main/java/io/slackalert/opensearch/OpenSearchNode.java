package io.slackalert.opensearch;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.appender.ConsoleAppender;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.config.builder.api.ConfigurationBuilder;
import org.apache.logging.log4j.core.config.builder.api.ConfigurationBuilderFactory;
import org.apache.logging.log4j.core.config.builder.impl.BuiltConfiguration;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.common.transport.TransportAddress;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * A single-node OpenSearch in this JVM: the process {@link OpenSearchFixture} starts, and the one
 * the Rust tests and pytest start through {@code scripts/opensearch-fixture}.
 *
 * <pre>
 * java -Xmx512m -cp target/classes:$(cat target/classpath.txt) io.slackalert.opensearch.OpenSearchNode \
 *     --data DIR [--port PORT] [--delete-data-on-exit]
 * </pre>
 *
 * <p>It listens on 127.0.0.1 (plain HTTP; port 0, the default, lets the system choose), with
 * {@code discovery.type=single-node}, the disk watermarks off and the cluster setting
 * {@code cluster.default_number_of_replicas} 0 (so every index is green on one node). Once
 * {@code GET /_cluster/health} is green or yellow, its first and only stdout line is
 * {@code http://127.0.0.1:PORT}; the log goes to stderr. It stops the node and exits 0 when its
 * stdin closes, so a parent that dies, even by SIGKILL, never leaves it running; SIGTERM stops
 * it too. It exits 1 if the node cannot start, 2 on bad arguments.
 *
 * <p>Data ({@code DIR/data}) outlives the process: a new start on the same directory finds the
 * indices again, also after a SIGKILL. With {@code --delete-data-on-exit} the node deletes
 * {@code DIR} once it has stopped (not after a SIGKILL): for a parent that shares one node
 * until it exits and has no hook to clean up. The log level is {@code -Dopensearch.fixture.log=warn}
 * (default {@code info}).
 */
public final class OpenSearchNode extends Node {

    /** The plugins the coordination store needs: HTTP, painless, {@code _delete_by_query}. */
    static final List<Class<? extends Plugin>> PLUGINS =
            List.of(Netty4Plugin.class, PainlessPlugin.class, ReindexPlugin.class);

    private static final Duration READY_TIMEOUT = Duration.ofSeconds(120);

    private OpenSearchNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
        super(environment, plugins, true);
    }

    /** The settings of a node whose home (config, data, logs) is {@code home}. */
    static Settings settings(Path home, int port) {
        return Settings.builder()
                .put("cluster.name", "slack-alert-fixture")
                .put("node.name", "fixture")
                .put("path.home", home.toString())
                .put("path.data", home.resolve("data").toString())
                .put("path.logs", home.resolve("logs").toString())
                .put("network.host", "127.0.0.1")
                .put("http.port", Integer.toString(port))
                .put("transport.port", "0")
                .put("discovery.type", "single-node")
                // A test machine's disk can be fuller than a server's: never refuse shards for it.
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                .build();
    }

    /** Runs the node until stdin closes; see the class comment. */
    public static void main(String[] args) {
        // Only the URL goes to the real stdout: anything else that prints there goes to stderr.
        PrintStream urlOut = System.out;
        System.setOut(System.err);
        Path home = null;
        int port = 0;
        boolean deleteOnExit = false;
        try {
            for (int i = 0; i < args.length; i++) {
                String value = i + 1 < args.length ? args[i + 1] : null;
                if ("--data".equals(args[i]) && value != null) {
                    home = Paths.get(value).toAbsolutePath().normalize();
                    i++;
                } else if ("--delete-data-on-exit".equals(args[i])) {
                    deleteOnExit = true;
                } else if ("--port".equals(args[i]) && value != null) {
                    port = Integer.parseInt(value);
                    i++;
                } else {
                    throw new IllegalArgumentException("unknown argument " + args[i]);
                }
            }
            if (home == null) {
                throw new IllegalArgumentException("--data DIR is required");
            }
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("--port " + port + " is not a port");
            }
        } catch (IllegalArgumentException e) {
            System.err.println("opensearch-fixture: " + e.getMessage()
                    + "\nusage: OpenSearchNode --data DIR [--port PORT] [--delete-data-on-exit]");
            System.exit(2);
            return;
        }
        configureLogging(System.getProperty("opensearch.fixture.log", "info"));
        Node node;
        URI url;
        try {
            Files.createDirectories(home.resolve("data"));
            Files.createDirectories(home.resolve("logs"));
            Environment environment = InternalSettingsPreparer.prepareEnvironment(
                    settings(home, port), Map.of(), null, () -> "fixture");
            node = new OpenSearchNode(environment, PLUGINS);
            Path data = deleteOnExit ? home : null;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                closeQuietly(node);
                if (data != null) {
                    deleteQuietly(data);
                }
            }, "opensearch-fixture-stop"));
            node.start();
            url = URI.create("http://127.0.0.1:" + boundPort(node));
            prepare(url);
        } catch (Exception e) {
            e.printStackTrace();
            System.exit(1);
            return;
        }
        urlOut.println(url);
        urlOut.flush();
        waitForEof(System.in);
        System.exit(0);
    }

    private static void configureLogging(String level) {
        ConfigurationBuilder<BuiltConfiguration> builder = ConfigurationBuilderFactory.newConfigurationBuilder();
        builder.setStatusLevel(Level.ERROR);
        builder.setConfigurationName("opensearch-fixture");
        builder.add(builder.newAppender("stderr", "Console")
                .addAttribute("target", ConsoleAppender.Target.SYSTEM_ERR)
                .add(builder.newLayout("PatternLayout").addAttribute("pattern", "[%d{ISO8601}][%-5p][%c{1.}] %m%n")));
        builder.add(builder.newRootLogger(Level.toLevel(level.toUpperCase(Locale.ROOT), Level.INFO))
                .add(builder.newAppenderRef("stderr")));
        Configurator.initialize(builder.build());
    }

    private static int boundPort(Node node) {
        HttpServerTransport http = node.injector().getInstance(HttpServerTransport.class);
        for (TransportAddress address : http.boundAddress().boundAddresses()) {
            InetAddress inet = address.address().getAddress();
            if (inet.isLoopbackAddress() && inet.getAddress().length == 4) {
                return address.getPort();
            }
        }
        return http.boundAddress().publishAddress().getPort();
    }

    /**
     * Sets {@code cluster.default_number_of_replicas} to 0 (persistent, so it holds after a
     * restart) and waits until the cluster is green or yellow.
     */
    private static void prepare(URI url) throws IOException, InterruptedException {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        String settings = "{\"persistent\":{\"cluster.default_number_of_replicas\":0}}";
        HttpResponse<String> put = http.send(HttpRequest.newBuilder(url.resolve("/_cluster/settings"))
                .timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(settings)).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        if (put.statusCode() != 200) {
            throw new IOException("PUT /_cluster/settings answered " + put.statusCode() + ": " + put.body());
        }
        Pattern status = Pattern.compile("\"status\"\\s*:\\s*\"(green|yellow|red)\"");
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            HttpResponse<String> health = http.send(HttpRequest.newBuilder(
                    url.resolve("/_cluster/health?wait_for_status=yellow&timeout=10s"))
                    .timeout(Duration.ofSeconds(30)).GET().build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            last = health.body();
            Matcher m = status.matcher(last);
            if (health.statusCode() == 200 && m.find() && !"red".equals(m.group(1))) {
                return;
            }
        }
        throw new IOException("the cluster did not turn green or yellow within " + READY_TIMEOUT + ": " + last);
    }

    private static void waitForEof(InputStream in) {
        byte[] buffer = new byte[256];
        try {
            while (in.read(buffer) >= 0) {
                // Whatever the parent writes is ignored: only the end of the stream counts.
            }
        } catch (IOException e) {
            // A broken stdin is a closed one.
        }
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            System.err.println("opensearch-fixture: cannot delete " + dir + ": " + e);
        }
    }

    private static void closeQuietly(Node node) {
        try {
            node.close();
            if (!node.awaitClose(30, TimeUnit.SECONDS)) {
                System.err.println("opensearch-fixture: the node did not stop within 30 s");
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            e.printStackTrace();
        }
    }
}
