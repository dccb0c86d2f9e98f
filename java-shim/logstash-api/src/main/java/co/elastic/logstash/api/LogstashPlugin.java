package co.elastic.logstash.api;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** Marks a Logstash Java plugin; {@link #name()} is the name used in pipeline configurations. */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface LogstashPlugin {
    /** @return the plugin's name as written in a pipeline configuration */
    String name();
}
