package io.slackalert.logstash;

import java.util.Arrays;

/** Per-batch filter latencies, for comparing a faulty setup with a healthy one. */
final class Latencies {

    private final String name;
    private long[] nanos = new long[256];
    private int n;

    Latencies(String name) {
        this.name = name;
    }

    void add(long elapsedNanos) {
        if (n == nanos.length) {
            nanos = Arrays.copyOf(nanos, n * 2);
        }
        nanos[n++] = elapsedNanos;
    }

    int count() {
        return n;
    }

    /** The {@code p}-th percentile in nanoseconds (nearest rank). */
    long percentile(double p) {
        if (n == 0) {
            return 0;
        }
        long[] sorted = Arrays.copyOf(nanos, n);
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(p / 100.0 * n) - 1;
        return sorted[Math.max(0, Math.min(n - 1, rank))];
    }

    long p50() {
        return percentile(50);
    }

    long p99() {
        return percentile(99);
    }

    long totalNanos() {
        long sum = 0;
        for (int i = 0; i < n; i++) {
            sum += nanos[i];
        }
        return sum;
    }

    /**
     * Returns true if and only if this p99 is within the bound the fault tests allow against
     * {@code healthy}: at most 3 times the healthy p99, or the healthy p99 plus 2 ms, whichever is
     * larger (a 2-core machine under load jitters by a millisecond or two at the tail).
     */
    boolean p99WithinBoundOf(Latencies healthy) {
        long h = healthy.p99();
        return p99() <= Math.max(3 * h, h + 2_000_000L);
    }

    @Override
    public String toString() {
        return String.format("%s: %d batches, p50 %.1f µs, p99 %.1f µs, total %.1f ms", name, n, p50() / 1e3,
                p99() / 1e3, totalNanos() / 1e6);
    }
}
