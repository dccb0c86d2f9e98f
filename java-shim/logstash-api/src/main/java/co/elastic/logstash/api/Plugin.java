package co.elastic.logstash.api;

import java.util.Collection;

/** Base interface of every Logstash Java plugin. */
public interface Plugin {

    /** @return every setting this plugin accepts; Logstash validates the user's settings against it */
    Collection<PluginConfigSpec<?>> configSchema();

    /** @return the name from {@link LogstashPlugin}, else the class name */
    default String getName() {
        LogstashPlugin annotation = getClass().getDeclaredAnnotation(LogstashPlugin.class);
        return (annotation != null && !annotation.name().equals(""))
                ? annotation.name()
                : getClass().getName();
    }

    /** @return the id given to the plugin at construction */
    String getId();
}
