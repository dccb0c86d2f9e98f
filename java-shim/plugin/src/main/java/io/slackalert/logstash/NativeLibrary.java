package io.slackalert.logstash;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads the Rust JNI library once per class loader.
 *
 * <p>The plugin jar carries the library as resources under {@code /native/<os>-<arch>/}. Each load
 * extracts it to a fresh temporary file: a native library can be bound to only one class loader per
 * JVM, and with {@code pipeline.plugin_classloaders} each plugin gets its own loader, so two loads
 * of one path would fail with "already loaded in another classloader". On Linux the file is deleted
 * as soon as it is loaded (the mapping outlives the name), so nothing stays in the temporary
 * directory, not even after a crash.
 */
final class NativeLibrary {

    static final String LIBRARY_FILE = "libslack_alert_jni.so";

    /**
     * <b>Test-only</b> overrides of {@code os.name} / {@code os.arch} for the platform mapping, so a
     * test can see what a user on an unsupported platform sees.
     */
    static final String OS_NAME_OVERRIDE = "slackalert.test.os.name";
    static final String OS_ARCH_OVERRIDE = "slackalert.test.os.arch";

    private static String loadedFrom;

    private NativeLibrary() {
    }

    /**
     * Loads the library unless this class loader already did.
     *
     * @param explicitPath the {@code native_library} option, or null to use the bundled library
     * @return where the library was loaded from (by this or an earlier call)
     * @throws IllegalArgumentException if {@code native_library} names no readable file
     * @throws IllegalStateException    if there is no library for this platform or it cannot load
     */
    static synchronized String load(String explicitPath) {
        Path explicit = null;
        if (explicitPath != null) {
            explicit = Paths.get(explicitPath);
            if (!Files.isRegularFile(explicit) || !Files.isReadable(explicit)) {
                throw new IllegalArgumentException("native_library: no readable file at "
                        + explicitPath + "; build it with `cargo build --release -p slack-alert-jni`"
                        + " and point native_library at target/release/" + LIBRARY_FILE);
            }
        }
        if (loadedFrom != null) {
            return loadedFrom;
        }
        String platform = platform();
        Path file = explicit != null ? explicit.toAbsolutePath() : extract(platform);
        try {
            System.load(file.toString());
        } catch (UnsatisfiedLinkError e) {
            throw new IllegalStateException("slack_alert could not load its native library "
                    + file + " (" + e.getMessage() + "). " + advice(), e);
        } finally {
            if (explicit == null) {
                forget(file);
            }
        }
        NativeEngine.learnValueBound();
        loadedFrom = file.toString();
        return loadedFrom;
    }

    /**
     * @return the resource path of the bundled library for this platform
     * @throws IllegalStateException if this platform has no bundled library
     */
    static String resourcePath(String platform) {
        String path = "/native/" + platform + "/" + LIBRARY_FILE;
        if (NativeLibrary.class.getResource(path) == null) {
            throw unsupported(platform);
        }
        return path;
    }

    /**
     * @return {@code linux-x86_64} or {@code linux-aarch64}
     * @throws IllegalStateException on any other platform
     */
    static String platform() {
        String os = System.getProperty(OS_NAME_OVERRIDE, System.getProperty("os.name", ""));
        String arch = System.getProperty(OS_ARCH_OVERRIDE, System.getProperty("os.arch", ""));
        String platform = mapPlatform(os, arch);
        if (platform == null) {
            throw unsupportedPlatform(os, arch);
        }
        return platform;
    }

    /** @return the bundle directory for an {@code os.name}/{@code os.arch} pair, or null */
    static String mapPlatform(String osName, String osArch) {
        String os = osName.toLowerCase(Locale.ROOT);
        String arch = osArch.toLowerCase(Locale.ROOT);
        if (!os.startsWith("linux")) {
            return null;
        }
        switch (arch) {
            case "amd64":
            case "x86_64":
                return "linux-x86_64";
            case "aarch64":
            case "arm64":
                return "linux-aarch64";
            default:
                return null;
        }
    }

    private static Path extract(String platform) {
        String resource = resourcePath(platform);
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw unsupported(platform);
            }
            Path file = Files.createTempFile("slack_alert_jni-", ".so");
            if (!unlinksLoadedFiles()) {
                file.toFile().deleteOnExit();
            }
            try {
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                Files.deleteIfExists(file);
                throw e;
            }
            return file;
        } catch (IOException e) {
            throw new IllegalStateException("slack_alert could not extract its native library to the"
                    + " temporary directory (" + e.getMessage() + "). Set java.io.tmpdir to a writable"
                    + " directory, or " + advice(), e);
        }
    }

    /**
     * True on Linux, where a loaded library stays mapped once its file is deleted. (Windows locks
     * a loaded DLL; there the file waits for the JVM's exit.)
     */
    private static boolean unlinksLoadedFiles() {
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux");
    }

    /** Deletes an extracted library once it is loaded (or failed to load), where the OS allows it. */
    private static void forget(Path extracted) {
        if (!unlinksLoadedFiles()) {
            return;
        }
        try {
            Files.deleteIfExists(extracted);
        } catch (IOException | SecurityException e) {
            // Left for the temporary directory's own cleaning; the library is loaded either way.
        }
    }

    private static IllegalStateException unsupported(String platform) {
        int dash = platform.indexOf('-');
        return unsupportedPlatform(platform.substring(0, dash), platform.substring(dash + 1));
    }

    private static IllegalStateException unsupportedPlatform(String os, String arch) {
        return new IllegalStateException("slack_alert has no bundled native library for "
                + os + "/" + arch + ". " + advice());
    }

    private static String advice() {
        // The file the build produces on this platform: .so, .dylib or .dll.
        return "Build it with `cargo build --release -p slack-alert-jni` from the plugin's source and set"
                + " native_library => \"/path/to/" + System.mapLibraryName("slack_alert_jni") + "\"";
    }
}
