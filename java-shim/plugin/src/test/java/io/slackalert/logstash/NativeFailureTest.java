package io.slackalert.logstash;

import static io.slackalert.logstash.Fixtures.dryRun;
import static io.slackalert.logstash.Fixtures.filter;
import static io.slackalert.logstash.Fixtures.mixedBatch;
import static io.slackalert.logstash.Fixtures.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Event;
import io.slackalert.logstash.testkit.CountingMatchListener;
import io.slackalert.logstash.testkit.LogLine;
import io.slackalert.logstash.testkit.TestContext;
import io.slackalert.logstash.testkit.TestMetric;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.logging.log4j.Level;
import org.junit.jupiter.api.Test;

/** Failures inside native code are contained; platforms without a library get a clear message. */
class NativeFailureTest {

    @Test
    void anInjectedPanicPassesTheBatchThroughIsLoggedOnceAndCounted() {
        TestContext context = new TestContext();
        SlackAlert filter = filter(dryRun(), context);
        try {
            CountingMatchListener listener = new CountingMatchListener();
            NativeEngine.injectPanic(filter.handle(), 2);

            filter.filter(mixedBatch(125, "first"), listener);
            assertEquals(50, listener.count(), "the batch before the panic works");

            List<Event> failing = mixedBatch(125, "failing");
            List<Map<String, Object>> before = snapshot(failing);
            listener.reset();
            assertSame(failing, filter.filter(failing, listener));
            assertEquals(before, snapshot(failing), "the failing batch passes through unchanged");
            assertEquals(0, listener.count());

            filter.filter(mixedBatch(125, "after"), listener);
            assertEquals(50, listener.count(), "the next batch works");

            NativeEngine.injectPanic(filter.handle(), 1);
            filter.filter(mixedBatch(125, "again"), listener);

            List<LogLine> errors = context.logger().lines(Level.ERROR).stream()
                    .filter(l -> l.text().contains("slack_alert native failure"))
                    .collect(Collectors.toList());
            assertEquals(1, errors.size(), "logged once: " + context.logger().allText());
            assertTrue(errors.get(0).text().contains("injected panic"), errors.get(0).text());

            filter.flush(listener);
            TestMetric metric = context.metricOf("slack_alert_test");
            assertEquals(2L, metric.gaugeValue("internal_errors"));
            assertEquals(2L, metric.gaugeValue("filter_failures"));
        } finally {
            filter.close();
        }
    }

    @Test
    void aPanicSurfacesAsIllegalStateExceptionFromTheNativeCall() {
        SlackAlert filter = filter(dryRun(), new TestContext());
        try {
            NativeEngine.injectPanic(filter.handle(), 1);
            java.nio.ByteBuffer slots = java.nio.ByteBuffer.allocateDirect(NativeEngine.VALUES_OFFSET);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> NativeCalls.matchBatch(filter.handle(), slots, 0));
            assertTrue(e.getMessage().startsWith("slack_alert native failure: injected panic"), e.getMessage());
            assertEquals(0, NativeCalls.matchBatch(filter.handle(), slots, 0));
        } finally {
            filter.close();
        }
    }

    @Test
    void unsupportedPlatformsGetBuildAdvice() {
        String arch = System.getProperty(NativeLibrary.OS_ARCH_OVERRIDE);
        try {
            System.setProperty(NativeLibrary.OS_ARCH_OVERRIDE, "sparcv9");
            IllegalStateException e = assertThrows(IllegalStateException.class, NativeLibrary::platform);
            assertEquals("slack_alert has no bundled native library for " + System.getProperty("os.name")
                    + "/sparcv9. Build it with `cargo build --release -p slack-alert-jni` from the plugin's source"
                    + " and set native_library => \"/path/to/libslack_alert_jni.so\"", e.getMessage());
        } finally {
            if (arch == null) {
                System.clearProperty(NativeLibrary.OS_ARCH_OVERRIDE);
            } else {
                System.setProperty(NativeLibrary.OS_ARCH_OVERRIDE, arch);
            }
        }
        assertEquals("linux-x86_64", NativeLibrary.mapPlatform("Linux", "amd64"));
        assertEquals("linux-x86_64", NativeLibrary.mapPlatform("Linux", "x86_64"));
        assertEquals("linux-aarch64", NativeLibrary.mapPlatform("Linux", "aarch64"));
        assertEquals("linux-aarch64", NativeLibrary.mapPlatform("Linux", "arm64"));
        assertEquals(null, NativeLibrary.mapPlatform("Mac OS X", "aarch64"));
        assertEquals(null, NativeLibrary.mapPlatform("Windows 11", "amd64"));
        if (NativeLibrary.class.getResource("/native/linux-aarch64/libslack_alert_jni.so") == null) {
            IllegalStateException missing = assertThrows(IllegalStateException.class,
                    () -> NativeLibrary.resourcePath("linux-aarch64"));
            assertTrue(missing.getMessage().startsWith("slack_alert has no bundled native library for linux/aarch64."),
                    missing.getMessage());
        }
    }

    @Test
    void aNativeLibraryOptionNamingNoFileIsRejected() throws Exception {
        Path missing = Files.createTempDirectory("slack_alert").resolve("libslack_alert_jni.so");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> filter(dryRun("native_library", missing.toString()), new TestContext()));
        assertTrue(e.getMessage().startsWith("native_library: no readable file at " + missing), e.getMessage());
    }

    @Test
    void aNativeLibraryOptionAfterTheLibraryIsLoadedIsReportedNotLoadedTwice() throws Exception {
        Path copy = Files.createTempFile("slack_alert_jni-user-", ".so");
        try (java.io.InputStream in = NativeLibrary.class.getResourceAsStream(
                NativeLibrary.resourcePath(NativeLibrary.platform()))) {
            Files.copy(in, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        TestContext context = new TestContext();
        SlackAlert filter = filter(dryRun("native_library", copy.toString()), context);
        filter.close();
        assertTrue(context.logger().allText().contains("native_library " + copy + " is not used"),
                context.logger().allText());
        Files.delete(copy);
    }
}
