package io.slackalert.logstash;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Finds Slack control sequences — {@code <!channel>}, {@code <!here>}, {@code <@U123>},
 * {@code <#C1>}, {@code <http…|label>}, {@code <mailto:…>} — in any string of a payload, as Slack
 * reads them: from a {@code <} to the next {@code >}, a {@code <} in between starting over. The
 * same rule as the receiver's {@code mentions} (rust/fake-slack/src/mentions.rs).
 */
final class Mentions {

    private Mentions() {
    }

    static List<String> in(Object payload) {
        List<String> found = new ArrayList<>();
        walk(payload, found);
        return found;
    }

    private static void walk(Object value, List<String> found) {
        if (value instanceof String) {
            scan((String) value, found);
        } else if (value instanceof Map) {
            ((Map<?, ?>) value).values().forEach(v -> walk(v, found));
        } else if (value instanceof Collection) {
            ((Collection<?>) value).forEach(v -> walk(v, found));
        }
    }

    private static void scan(String text, List<String> found) {
        int from = 0;
        while (true) {
            int open = text.indexOf('<', from);
            if (open < 0) {
                return;
            }
            int end = open + 1;
            while (end < text.length() && text.charAt(end) != '<' && text.charAt(end) != '>') {
                end++;
            }
            if (end == text.length()) {
                return;
            }
            if (text.charAt(end) == '>') {
                String inner = text.substring(open + 1, end);
                if (isControl(inner)) {
                    found.add("<" + inner + ">");
                }
                from = end + 1;
            } else {
                from = end;
            }
        }
    }

    private static boolean isControl(String inner) {
        if (inner.isEmpty()) {
            return false;
        }
        char first = inner.charAt(0);
        if (first == '!') {
            return inner.length() > 1;
        }
        if (first == '@' || first == '#') {
            return inner.length() > 1 && Character.isLetterOrDigit(inner.charAt(1)) && inner.charAt(1) < 0x80;
        }
        return inner.startsWith("http") || inner.startsWith("mailto:");
    }
}
