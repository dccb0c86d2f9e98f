package co.elastic.logstash.api;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/** The settings Logstash adds to every plugin of a kind. */
public final class PluginHelper {

    public static final PluginConfigSpec<Map<String, Object>> ADD_FIELD_CONFIG =
            PluginConfigSpec.hashSetting("add_field");

    public static final PluginConfigSpec<List<Object>> ADD_TAG_CONFIG =
            PluginConfigSpec.arraySetting("add_tag");

    public static final PluginConfigSpec<Codec> CODEC_CONFIG =
            PluginConfigSpec.codecSetting("codec");

    public static final PluginConfigSpec<Boolean> ENABLE_METRIC_CONFIG =
            PluginConfigSpec.booleanSetting("enable_metric");

    public static final PluginConfigSpec<String> ID_CONFIG =
            PluginConfigSpec.stringSetting("id");

    public static final PluginConfigSpec<Boolean> PERIODIC_FLUSH_CONFIG =
            PluginConfigSpec.booleanSetting("periodic_flush");

    public static final PluginConfigSpec<List<Object>> REMOVE_FIELD_CONFIG =
            PluginConfigSpec.arraySetting("remove_field");

    public static final PluginConfigSpec<List<Object>> REMOVE_TAG_CONFIG =
            PluginConfigSpec.arraySetting("remove_tag");

    public static final PluginConfigSpec<List<Object>> TAGS_CONFIG =
            PluginConfigSpec.arraySetting("tags");

    public static final PluginConfigSpec<String> TYPE_CONFIG =
            PluginConfigSpec.stringSetting("type");

    private PluginHelper() {
    }

    /** @return the settings common to all inputs */
    public static Collection<PluginConfigSpec<?>> commonInputSettings() {
        return commonInputSettings(Collections.emptyList());
    }

    /**
     * @param settings the plugin's own settings
     * @return the plugin's settings plus the common input settings it does not already have
     */
    public static Collection<PluginConfigSpec<?>> commonInputSettings(Collection<PluginConfigSpec<?>> settings) {
        return combineSettings(settings, Arrays.asList(ADD_FIELD_CONFIG, ENABLE_METRIC_CONFIG,
                CODEC_CONFIG, ID_CONFIG, TAGS_CONFIG, TYPE_CONFIG));
    }

    /** @return the settings common to all outputs */
    public static Collection<PluginConfigSpec<?>> commonOutputSettings() {
        return commonOutputSettings(Collections.emptyList());
    }

    /**
     * @param settings the plugin's own settings
     * @return the plugin's settings plus the common output settings it does not already have
     */
    public static Collection<PluginConfigSpec<?>> commonOutputSettings(Collection<PluginConfigSpec<?>> settings) {
        return combineSettings(settings, Arrays.asList(ENABLE_METRIC_CONFIG, CODEC_CONFIG, ID_CONFIG));
    }

    /** @return the settings common to all filters */
    public static Collection<PluginConfigSpec<?>> commonFilterSettings() {
        return commonFilterSettings(Collections.emptyList());
    }

    /**
     * @param settings the plugin's own settings
     * @return the plugin's settings plus the common filter settings ({@code add_field},
     *     {@code add_tag}, {@code enable_metric}, {@code id}, {@code periodic_flush},
     *     {@code remove_field}, {@code remove_tag}) it does not already have
     */
    public static Collection<PluginConfigSpec<?>> commonFilterSettings(Collection<PluginConfigSpec<?>> settings) {
        return combineSettings(settings, Arrays.asList(ADD_FIELD_CONFIG, ADD_TAG_CONFIG,
                ENABLE_METRIC_CONFIG, ID_CONFIG, PERIODIC_FLUSH_CONFIG, REMOVE_FIELD_CONFIG,
                REMOVE_TAG_CONFIG));
    }

    private static Collection<PluginConfigSpec<?>> combineSettings(
            Collection<PluginConfigSpec<?>> providedSettings,
            Collection<PluginConfigSpec<?>> commonSettings) {
        List<PluginConfigSpec<?>> settings = new ArrayList<>(providedSettings);
        for (PluginConfigSpec<?> pcs : commonSettings) {
            if (!settings.contains(pcs)) {
                settings.add(pcs);
            }
        }
        return settings;
    }
}
