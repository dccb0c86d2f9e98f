package io.slackalert.logstash;

import static io.slackalert.logstash.Fixtures.dryRun;
import static io.slackalert.logstash.Fixtures.mixedBatch;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;

import co.elastic.logstash.api.Configuration;
import co.elastic.logstash.api.Context;
import co.elastic.logstash.api.Filter;
import io.slackalert.logstash.testkit.CountingMatchListener;
import io.slackalert.logstash.testkit.TestContext;
import java.net.URL;
import java.net.URLClassLoader;
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
