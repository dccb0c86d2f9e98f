package co.elastic.logstash.api;

/** A write-only timer in a plugin's metric namespace. */
public interface TimerMetric {
    <T, E extends Throwable> T time(ExceptionalSupplier<T, E> exceptionalSupplier) throws E;

    void reportUntrackedMillis(final long untrackedMillis);

    default <E extends Throwable> void time(final ExceptionalRunnable<E> exceptionalRunnable) throws E {
        this.<Void, E>time(() -> {
            exceptionalRunnable.run();
            return null;
        });
    }

    @FunctionalInterface
    interface ExceptionalSupplier<T, E extends Throwable> {
        T get() throws E;
    }

    @FunctionalInterface
    interface ExceptionalRunnable<E extends Throwable> {
        void run() throws E;
    }
}
