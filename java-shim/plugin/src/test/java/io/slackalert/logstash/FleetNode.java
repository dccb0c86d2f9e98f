package io.slackalert.logstash;

import co.elastic.logstash.api.Event;
import io.slackalert.logstash.testkit.CountingMatchListener;
import io.slackalert.logstash.testkit.TestConfiguration;
import io.slackalert.logstash.testkit.TestContext;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One Logstash node of {@link FleetTest}, in a JVM of its own: the real {@link SlackAlert} built
 * from the configuration in {@code args[0]} (JSON, as {@link TestConfiguration#fromJson} takes
 * it), driven by commands on stdin, one a line, each answered on stdout by one line starting
 * with {@value #REPLY}:
 *
 * <ul>
 *   <li>{@code storm FROM TO TIMES}: {@code TIMES} rounds over problems {@code FROM} to {@code
 *       TO - 1} ({@link #problem}), through {@code filter()} in batches of {@value #BATCH} as a
 *       pipeline worker hands them over; answers {@code ok} once filtered;
 *   <li>{@code counters}: answers the engine's counters, {@code name=value} separated by spaces;
 *   <li>{@code close}: answers the counters, closes the plugin (its shutdown delivers what is
 *       queued), answers {@code closed} and exits.
 * </ul>
 *
 * <p>It exits when stdin closes, so it dies with the test's JVM.
 */
public final class FleetNode {

    static final String REPLY = "fleet-node: ";
    static final int BATCH = 125;

    private FleetNode() {
    }

    /** Problem {@code p}'s message: the normaliser keeps them apart (letters, not digits). */
    static String problem(int p) {
        return "payment gateway failure code " + Fixtures.letters(p) + " end";
    }

    /** The event a node sees for problem {@code p} (the sidecar gets the same as JSON). */
    static Event event(int p) {
        return Fixtures.event("ERROR", problem(p));
    }

    public static void main(String[] args) throws IOException {
        PrintStream out = new PrintStream(System.out, true, "UTF-8");
        TestContext context = new TestContext();
        SlackAlert filter = Fixtures.filter(TestConfiguration.fromJson(args[0]), context);
        CountingMatchListener listener = new CountingMatchListener();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            String[] words = line.trim().split("\\s+");
            switch (words[0]) {
                case "storm":
                    storm(filter, listener, Integer.parseInt(words[1]), Integer.parseInt(words[2]),
                            Integer.parseInt(words[3]));
                    out.println(REPLY + "ok");
                    break;
                case "counters":
                    out.println(REPLY + counters(filter));
                    break;
                case "close":
                    out.println(REPLY + counters(filter));
                    filter.close();
                    out.println(REPLY + "closed");
                    return;
                default:
                    out.println(REPLY + "unknown command " + line);
            }
        }
        filter.close();
    }

    private static void storm(SlackAlert filter, CountingMatchListener listener, int from, int to, int times) {
        List<Event> batch = new ArrayList<>(BATCH);
        for (int round = 0; round < times; round++) {
            for (int p = from; p < to; p++) {
                batch.add(event(p));
                if (batch.size() == BATCH) {
                    filter.filter(batch, listener);
                    batch = new ArrayList<>(BATCH);
                }
            }
        }
        if (!batch.isEmpty()) {
            filter.filter(batch, listener);
        }
    }

    private static String counters(SlackAlert filter) {
        String[] names = Catalog.get().counterNames;
        StringBuilder s = new StringBuilder();
        for (String name : names) {
            if (s.length() > 0) {
                s.append(' ');
            }
            s.append(name).append('=').append(Fixtures.counter(filter, name));
        }
        return s.toString();
    }
}
