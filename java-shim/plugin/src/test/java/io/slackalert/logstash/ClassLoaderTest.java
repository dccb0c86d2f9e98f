package io.slackalert.logstash;

import static io.slackalert.logstash.Fixtures.dryRun;
import static io.slackalert.logstash.Fixtures.mixedBatch;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Configuration;
import co.elastic.logstash.api.Context;
import co.elastic.logstash.api.Filter;
import io.slackalert.logstash.testkit.CountingMatchListener;
import io.slackalert.logstash.testkit.LogstashJson;
import io.slackalert.logstash.testkit.ReceiverProcess;
import io.slackalert.logstash.testkit.TestContext;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * With {@code pipeline.plugin_classloaders} Logstash loads each plugin in its own class loader, and
 * a native library binds to one class loader per JVM: each loader must get its own copy.
 */
class ClassLoaderTest {

    /** Loads the plugin's own classes itself and everything else (the API, the test kit) from the parent. */
    private static final class PluginClassLoader extends URLClassLoader {
        PluginClassLoader(URL pluginClasses, ClassLoader parent) {
            super(new URL[] {pluginClasses}, parent);
        }

        @Override
        protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
            if (!name.startsWith("io.slackalert.logstash.") || name.startsWith("io.slackalert.logstash.testkit.")) {
                return super.loadClass(name, resolve);
            }
            synchronized (getClassLoadingLock(name)) {
                Class<?> c = findLoadedClass(name);
                if (c == null) {
                    c = findClass(name);
                }
                if (resolve) {
                    resolveClass(c);
                }
                return c;
            }
        }
    }

    /**
     * The library is extracted to a temporary file for each class loader; on Linux that file is
     * deleted as soon as it is loaded, and the loaded library keeps working: an engine it starts
     * posts to the fake Slack.
     */
    @Test
    void theExtractedLibraryIsDeletedOnceLoadedAndStillPosts() throws Exception {
        URL pluginClasses = SlackAlert.class.getProtectionDomain().getCodeSource().getLocation();
        try (PluginClassLoader loader = new PluginClassLoader(pluginClasses, getClass().getClassLoader());
                ReceiverProcess receiver = ReceiverProcess.start()) {
            Method load = loader.loadClass(NativeLibrary.class.getName()).getDeclaredMethod("load", String.class);
            load.setAccessible(true);
            Path extracted = Paths.get((String) load.invoke(null, (Object) null));
            assertTrue(extracted.getFileName().toString().startsWith("slack_alert_jni-"), extracted.toString());
            assertFalse(Files.exists(extracted), extracted + " is still on disk after loading");
            String maps = new String(Files.readAllBytes(Paths.get("/proc/self/maps")), StandardCharsets.UTF_8);
            assertTrue(maps.contains(extracted + " (deleted)"), "the library stays mapped from the deleted file");

            Filter filter = (Filter) loader.loadClass(SlackAlert.class.getName())
                    .getConstructor(String.class, Configuration.class, Context.class)
                    .newInstance("deleted_library", Fixtures.posting(receiver, "shutdown_timeout", "5s"), new TestContext());
            try {
                filter.filter(List.of(Fixtures.event("ERROR", "loaded from a deleted file")), new CountingMatchListener());
                List<Map<String, Object>> messages = receiver.awaitMessages(1, Duration.ofSeconds(60));
                assertEquals(1, messages.size(), "the engine of the loaded library posted");
                assertTrue(LogstashJson.write(messages.get(0)).contains("loaded from a deleted file"),
                        messages.toString());
            } finally {
                filter.close();
            }
        }
    }

    @Test
    void twoPluginClassLoadersEachLoadTheirOwnCopyOfTheLibrary() throws Exception {
        URL pluginClasses = SlackAlert.class.getProtectionDomain().getCodeSource().getLocation();
        for (int i = 0; i < 2; i++) {
            try (PluginClassLoader loader = new PluginClassLoader(pluginClasses, getClass().getClassLoader())) {
                Class<?> isolated = loader.loadClass(SlackAlert.class.getName());
                assertNotSame(SlackAlert.class, isolated);
                Filter filter = (Filter) isolated.getConstructor(String.class, Configuration.class, Context.class)
                        .newInstance("isolated" + i, dryRun(), new TestContext());
                CountingMatchListener listener = new CountingMatchListener();
                filter.filter(mixedBatch(125, "isolated"), listener);
                filter.close();
                assertEquals(50, listener.count());
            }
        }
    }
}
