package io.slackalert.opensearch;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A single-node OpenSearch in a child JVM, for JUnit tests.
 *
 * <pre>
 * try (OpenSearchFixture os = OpenSearchFixture.start(dataDir)) {
 *     URI url = os.url();   // http://127.0.0.1:PORT, green or yellow, replicas 0
 *     ...
 * }
 * </pre>
 *
 * <p>The child runs {@link OpenSearchNode#main} with {@code -Xms256m -Xmx512m} (heap:
 * {@code -Dopensearch.fixture.heap=384m}) on the JVM running the test, with this JVM's class path
 * unless {@code -Dopensearch.fixture.classpath=...} says otherwise. It exits when its stdin
 * closes, so it dies with this JVM whatever kills it; a shutdown hook kills it as well.
 *
 * <p>Its node lives in {@code dataDir} and logs to {@code dataDir/fixture.log}. {@link #stop()},
 * {@link #kill()} and {@link #restart()} keep the data, and a restart listens on the same port
 * (so clients configured with {@link #url()} reach it again); {@link #close()} stops the node
 * and deletes everything in {@code dataDir}. Starting takes a few seconds: share one fixture
 * per test class.
 */
public final class OpenSearchFixture implements AutoCloseable {

    /** A class path (entries separated by {@link File#pathSeparator}) for the child JVM. */
    public static final String CLASSPATH_PROPERTY = "opensearch.fixture.classpath";
    /** The child JVM's largest heap, as {@code -Xmx} takes it; default {@value #DEFAULT_HEAP}. */
    public static final String HEAP_PROPERTY = "opensearch.fixture.heap";
    /** Passed on to the child: see {@link OpenSearchNode}. */
    public static final String LOG_PROPERTY = "opensearch.fixture.log";
    static final String DEFAULT_HEAP = "512m";
    /**
     * {@link OpenSearchNode}'s name, spelled out: its class literal would load it, and with it
     * OpenSearch's {@code Node}, which a test class path holding only this class (the plugin's
     * FleetTest) lacks.
     */
    static final String NODE_CLASS = "io.slackalert.opensearch.OpenSearchNode";

    /** Ceiling for a start; one takes 5–10 s here, more on a loaded machine. */
    private static final Duration START_TIMEOUT = Duration.ofSeconds(180);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);

    private final Path dataDir;
    private final Path log;
    private final Thread shutdownHook;
    private Process process;
    private URI url;
    private int port;
    private Integer lastExitCode;
    private boolean closed;

    private OpenSearchFixture(Path dataDir) {
        this.dataDir = dataDir;
        this.log = dataDir.resolve("fixture.log");
        this.shutdownHook = new Thread(this::killQuietly, "opensearch-fixture-kill");
    }

    /**
     * Starts a node whose data lives in {@code dataDir} (created if missing; an earlier node's
     * data there is reused) and waits until it serves: green or yellow, replicas 0.
     *
     * @throws IOException if the node does not get there within a few minutes, with the end of
     *     its log
     */
    public static OpenSearchFixture start(Path dataDir) throws IOException {
        OpenSearchFixture fixture = new OpenSearchFixture(dataDir.toAbsolutePath().normalize());
        Files.createDirectories(fixture.dataDir);
        Runtime.getRuntime().addShutdownHook(fixture.shutdownHook);
        try {
            fixture.launch();
        } catch (IOException | RuntimeException e) {
            fixture.killQuietly();
            removeHook(fixture.shutdownHook);
            throw e;
        }
        return fixture;
    }

    /** {@code http://127.0.0.1:PORT}, the same across {@link #restart()}. */
    public synchronized URI url() {
        return url;
    }

    /** The HTTP port, the same across {@link #restart()}. */
    public synchronized int port() {
        return port;
    }

    /** The directory the node keeps its data and log in. */
    public Path dataDir() {
        return dataDir;
    }

    /** The child JVM's process id. */
    public synchronized long pid() {
        return process.pid();
    }

    /** True if and only if the child JVM is running. */
    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** The exit status of the last child that ended, or null while none has. */
    public synchronized Integer lastExitCode() {
        return lastExitCode;
    }

    /**
     * Stops the node the way a parent that goes away does, by closing its stdin, and waits for
     * its JVM to exit. The data stays. Does nothing if it is not running.
     *
     * @throws IOException if it did not exit within a minute (it is killed then)
     */
    public synchronized void stop() throws IOException {
        if (!isRunning()) {
            return;
        }
        try {
            process.getOutputStream().close();
        } catch (IOException e) {
            // Already closed: waiting is all there is to do.
        }
        if (!waitFor(process, STOP_TIMEOUT)) {
            process.destroyForcibly();
            waitFor(process, STOP_TIMEOUT);
            lastExitCode = process.isAlive() ? null : process.exitValue();
            throw new IOException("OpenSearch (pid " + process.pid() + ") did not stop within "
                    + STOP_TIMEOUT + " of its stdin closing; killed it");
        }
        lastExitCode = process.exitValue();
    }

    /** Kills the node's JVM with SIGKILL, as a crash would, and waits until it is gone. The data stays. */
    public synchronized void kill() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        if (!waitFor(process, STOP_TIMEOUT)) {
            throw new IllegalStateException("pid " + process.pid() + " still runs after SIGKILL");
        }
        lastExitCode = process.exitValue();
    }

    /**
     * Stops the node if it runs, then starts a new one on the same data directory and port.
     *
     * @throws IOException as {@link #start} and {@link #stop()}
     */
    public synchronized void restart() throws IOException {
        if (closed) {
            throw new IllegalStateException("the fixture was closed");
        }
        stop();
        launch();
    }

    /**
     * Stops the node (killing it if it does not stop) and deletes everything in the data
     * directory. Idempotent.
     */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            stop();
        } finally {
            kill();
            removeHook(shutdownHook);
            deleteContents(dataDir);
        }
    }

    private void launch() throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xms256m");
        command.add("-Xmx" + System.getProperty(HEAP_PROPERTY, DEFAULT_HEAP));
        String logLevel = System.getProperty(LOG_PROPERTY);
        if (logLevel != null) {
            command.add("-D" + LOG_PROPERTY + "=" + logLevel);
        }
        command.add("-cp");
        command.add(childClassPath());
        command.add(NODE_CLASS);
        command.add("--data");
        command.add(dataDir.toString());
        command.add("--port");
        command.add(Integer.toString(port));
        Process child = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        process = child;
        CompletableFuture<String> firstLine = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader out = new BufferedReader(
                    new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                firstLine.complete(out.readLine());
                while (out.readLine() != null) {
                    // Nothing else is expected; drained so the child never blocks on a full pipe.
                }
            } catch (IOException e) {
                firstLine.completeExceptionally(e);
            }
        }, "opensearch-fixture-stdout");
        reader.setDaemon(true);
        reader.start();
        String line;
        try {
            line = firstLine.get(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw failed("did not print its URL within " + START_TIMEOUT);
        } catch (ExecutionException e) {
            throw failed("could not be read: " + e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw failed("was interrupted while starting");
        }
        if (line == null || !line.startsWith("http://127.0.0.1:")) {
            waitFor(child, Duration.ofSeconds(10));
            throw failed(line == null
                    ? "exited with status " + (child.isAlive() ? "?" : child.exitValue()) + " before it served"
                    : "printed `" + line + "` instead of its URL");
        }
        url = URI.create(line.trim());
        port = url.getPort();
    }

    private IOException failed(String why) {
        Process child = process;
        child.destroyForcibly();
        waitFor(child, STOP_TIMEOUT);
        return new IOException("OpenSearch in " + dataDir + " " + why + "; the end of " + log + ":\n" + tail(log, 40));
    }

    /** The class path for the child JVM: the property, else this JVM's (a manifest-only jar unfolded). */
    static String childClassPath() {
        String given = System.getProperty(CLASSPATH_PROPERTY);
        if (given != null && !given.isBlank()) {
            return given;
        }
        List<String> entries = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            entries.add(entry);
            entries.addAll(manifestClassPath(entry));
        }
        return String.join(File.pathSeparator, entries);
    }

    /**
     * The {@code Class-Path} of the jar {@code entry} as file paths: Surefire (and some IDEs) start
     * tests with a class path of one jar that names the real entries in its manifest.
     */
    private static List<String> manifestClassPath(String entry) {
        List<String> paths = new ArrayList<>();
        Path jar = Paths.get(entry);
        if (!entry.endsWith(".jar") || !Files.isRegularFile(jar)) {
            return paths;
        }
        try (JarFile file = new JarFile(jar.toFile())) {
            Manifest manifest = file.getManifest();
            String classPath = manifest == null ? null : manifest.getMainAttributes().getValue("Class-Path");
            if (classPath == null) {
                return paths;
            }
            URI base = jar.toUri();
            for (String item : classPath.trim().split("\\s+")) {
                if (!item.isEmpty()) {
                    paths.add(Paths.get(base.resolve(new URI(item))).toString());
                }
            }
        } catch (IOException | URISyntaxException | IllegalArgumentException e) {
            throw new IllegalStateException("cannot read the class path of " + jar + ": " + e
                    + "; set -D" + CLASSPATH_PROPERTY, e);
        }
        return paths;
    }

    private static boolean waitFor(Process process, Duration timeout) {
        try {
            return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !process.isAlive();
        }
    }

    private synchronized void killQuietly() {
        if (process != null) {
            process.destroyForcibly();
        }
    }

    private static void removeHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // The JVM is shutting down: the hook runs anyway.
        }
    }

    private static String tail(Path file, int lines) {
        try {
            List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    private static void deleteContents(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        List<Path> paths;
        try (Stream<Path> walk = Files.walk(dir)) {
            paths = walk.filter(p -> !p.equals(dir)).sorted(Comparator.reverseOrder()).collect(Collectors.toList());
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        for (Path p : paths) {
            Files.deleteIfExists(p);
        }
    }
}
