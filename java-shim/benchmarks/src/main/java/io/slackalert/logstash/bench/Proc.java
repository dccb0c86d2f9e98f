package io.slackalert.logstash.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Paths;

/** This process's memory as Linux reports it in {@code /proc/self/status}. */
final class Proc {

    private Proc() {
    }

    /** Resident memory now, in KiB. */
    static long rssKb() {
        return statusKb("VmRSS:");
    }

    /** Peak resident memory so far, in KiB. */
    static long peakRssKb() {
        return statusKb("VmHWM:");
    }

    /** Forgets the peak so far ({@code /proc/self/clear_refs} 5), so the next peak is this phase's. */
    static void resetPeak() {
        try {
            Files.write(Paths.get("/proc/self/clear_refs"), "5".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long statusKb(String key) {
        try {
            for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
                if (line.startsWith(key)) {
                    return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new IllegalStateException("no " + key + " in /proc/self/status");
    }

    static String mb(long kb) {
        return String.format("%.1f MB", kb / 1024.0);
    }
}
