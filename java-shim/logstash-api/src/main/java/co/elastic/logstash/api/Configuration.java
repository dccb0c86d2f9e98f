package co.elastic.logstash.api;

import java.util.Collection;

/** A plugin's settings as read from the pipeline configuration. */
public interface Configuration {

    /**
     * @param configSpec the setting
     * @param <T>        the setting's type
     * @return the typed value, or the spec's default when the setting is absent
     */
    <T> T get(PluginConfigSpec<T> configSpec);

    /**
     * @param configSpec the setting
     * @return the value as given, untyped
     */
    Object getRawValue(PluginConfigSpec<?> configSpec);

    /**
     * @param configSpec the setting
     * @return true if and only if the user gave a value for it
     */
    boolean contains(PluginConfigSpec<?> configSpec);

    /** @return the names of every setting the user gave */
    Collection<String> allKeys();
}
