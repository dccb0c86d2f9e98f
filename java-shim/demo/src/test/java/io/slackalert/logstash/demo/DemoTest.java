package io.slackalert.logstash.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoTest {

    @TempDir
    Path dir;

    private String[] run(int expectedStatus, String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Demo.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(expectedStatus, status, err.toString(StandardCharsets.UTF_8));
        return new String[] {out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void runsTheFilterOverJsonLinesAndPrintsTheCounters() throws Exception {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            String level = i % 10 == 0 ? "ERROR" : "INFO";
            lines.add("{\"log.level\":\"" + level + "\",\"message\":\"disk full on db-1\"}");
        }
        lines.add("not json at all");
        Path log = Files.write(dir.resolve("app.log"), lines);
        Path config = Files.writeString(dir.resolve("slack.properties"), "dry_run=true\nshutdown_timeout=1s\n");

        String[] result = run(0, "--config", config.toString(), "--set", "levels=[\"ERROR\"]", log.toString());

        assertTrue(result[0].startsWith(
                "demo: 1001 events handed to filter(), 100 reported to filterMatched; the filter's gauges:\n"),
                result[0]);
        assertTrue(result[0].contains("\nevents_seen 1001\nmatched 100\n"), result[0]);
        assertTrue(result[0].contains("alerts 1\n"), result[0]);
        assertTrue(result[0].contains("repeats 99\n"), result[0]);
        assertTrue(result[1].contains("would post to Slack"), result[1]);
    }

    @Test
    void badConfigurationNamesTheOption() throws Exception {
        Path log = Files.writeString(dir.resolve("app.log"), "{\"level\":\"ERROR\"}\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> run(2, "--set", "dry_run=true", "--set", "rate_limit=-1", log.toString()));
        assertTrue(e.getMessage().startsWith("rate_limit: "), e.getMessage());
        // The filter refuses an unknown setting itself, in its constructor, in Logstash's words.
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> run(2, "--set", "dry_run=true", "--set", "webhok_url=x", log.toString()));
        assertEquals("Unknown setting 'webhok_url' specified for plugin 'slack_alert'", unknown.getMessage());
        assertThrows(Demo.UsageException.class, () -> run(2));
    }
}
