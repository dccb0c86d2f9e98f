/**
 * A compile-only copy of Logstash's Java plugin API.
 *
 * <p>Logstash ships this package only inside {@code logstash-core.jar}; it is not published to
 * Maven Central. These declarations reproduce the real signatures exactly so that a plugin
 * compiled against them links against Logstash's own classes at run time. This module is a
 * {@code provided} dependency of the plugin and is never packaged with it.
 */
package co.elastic.logstash.api;
