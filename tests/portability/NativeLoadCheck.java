package io.slackalert.logstash;

import java.util.Arrays;

/**
 * Loads the plugin jar's bundled JNI library exactly as the filter does at pipeline start and
 * drives one engine through its whole life. tests/test_native_portability.py runs it on each
 * bundled platform's own JVM (the aarch64 one under qemu-user), with the plugin jar on the class
 * path; it lives in the plugin's package to reach {@link NativeLibrary} and {@link NativeEngine}.
 */
public final class NativeLoadCheck {

    private NativeLoadCheck() {
    }

    public static void main(String[] args) {
        System.out.println("platform " + NativeLibrary.platform());
        System.out.println("loaded " + NativeLibrary.load(null));
        System.out.println("counters " + Arrays.toString(Catalog.get().counterNames));
        // create starts the engine's threads and close joins them: the calls into glibc's
        // threading that a library linked against the wrong glibc gets wrong.
        long handle = NativeEngine.create("{\"dry_run\":true,\"shutdown_timeout\":\"1s\"}");
        System.out.println("values " + Arrays.toString(((long[]) NativeEngine.poll(handle, false)[NativeEngine.REPORT_COUNTERS])));
        NativeEngine.close(handle);
        System.out.println("closed");
    }
}
