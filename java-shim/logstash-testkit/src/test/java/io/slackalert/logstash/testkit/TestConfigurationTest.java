package io.slackalert.logstash.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.logstash.api.Password;
import co.elastic.logstash.api.PluginConfigSpec;
import co.elastic.logstash.api.PluginHelper;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import org.junit.jupiter.api.Test;

class TestConfigurationTest {

    private static final PluginConfigSpec<Password> SECRET = PluginConfigSpec.passwordSetting("secret");
    private static final PluginConfigSpec<Long> COUNT = PluginConfigSpec.numSetting("count", 7);
    private static final PluginConfigSpec<Boolean> FLAG = PluginConfigSpec.booleanSetting("flag", false);
    private static final PluginConfigSpec<List<Object>> ITEMS = PluginConfigSpec.arraySetting("items");
    private static final PluginConfigSpec<String> NEEDED = PluginConfigSpec.requiredStringSetting("needed");

    @Test
    void valuesAreTypedAsLogstashDeliversThem() {
        TestConfiguration c = TestConfiguration.fromJson(
                "{\"secret\":\"s3cr3t\",\"count\":3,\"flag\":\"true\",\"items\":[\"a\",1]}");
        Password p = c.get(SECRET);
        assertEquals("s3cr3t", p.getValue());
        assertEquals("<password>", p.toString());
        assertEquals(3L, c.get(COUNT));
        assertEquals(Boolean.TRUE, c.get(FLAG));
        assertEquals(Arrays.asList("a", 1L), c.get(ITEMS));
        assertEquals(Integer.valueOf(3).longValue(), TestConfiguration.of("count", 3).getRawValue(COUNT));
    }

    @Test
    void absentSettingsGiveTheDefault() {
        TestConfiguration c = TestConfiguration.of();
        assertEquals(7L, c.get(COUNT));
        assertFalse(c.contains(COUNT));
        assertThrows(IllegalStateException.class, () -> c.get(NEEDED));
    }

    @Test
    void incompatibleTypesFailLikeLogstash() {
        TestConfiguration c = TestConfiguration.of("count", "many");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.get(COUNT));
        assertTrue(e.getMessage().contains("'count'"), e.getMessage());
    }

    @Test
    void validationReportsUnknownAndMissingSettings() {
        Collection<PluginConfigSpec<?>> schema = PluginHelper.commonFilterSettings(Arrays.asList(COUNT, NEEDED));
        TestConfiguration c = TestConfiguration.of("cuont", 1L, "add_tag", List.of("x"), "id", "f1");
        assertEquals(Arrays.asList("Unknown setting 'cuont' specified for plugin 'p'",
                "Required setting 'needed' not specified for plugin 'p'"), c.validate("p", schema));
        assertTrue(c.without("cuont").with("needed", "y").validate("p", schema).isEmpty());
    }

    @Test
    void toStringShowsNoValues() {
        assertEquals("TestConfiguration[secret]", TestConfiguration.of("secret", "s3cr3t").toString());
    }
}
