package io.slackalert.logstash.testkit;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A parsed Logstash field reference.
 *
 * <p>{@code [log][level]} is the nested path log → level; {@code [log.level]} is one top-level key
 * literally named {@code log.level}; a bare {@code log.level} (no brackets) is that same one key.
 * {@code [@metadata][x]} addresses the event's metadata. Anything else with brackets (e.g.
 * {@code a[b]}, {@code [a][b}) is rejected, as Logstash's strict parser does.
 */
final class FieldReference {

    static final String METADATA = "@metadata";

    private final List<String> path;
    private final boolean metadata;

    private FieldReference(List<String> path, boolean metadata) {
        this.path = Collections.unmodifiableList(path);
        this.metadata = metadata;
    }

    /** The segments below the root (data or metadata); empty for the metadata root itself. */
    List<String> path() {
        return path;
    }

    boolean isMetadata() {
        return metadata;
    }

    static FieldReference parse(String reference) {
        if (reference == null || reference.isEmpty()) {
            throw new IllegalArgumentException("empty field reference");
        }
        List<String> segments = new ArrayList<>();
        if (reference.indexOf('[') < 0 && reference.indexOf(']') < 0) {
            segments.add(reference);
        } else {
            int i = 0;
            while (i < reference.length()) {
                if (reference.charAt(i) != '[') {
                    throw invalid(reference);
                }
                int close = reference.indexOf(']', i + 1);
                if (close < 0) {
                    throw invalid(reference);
                }
                String segment = reference.substring(i + 1, close);
                if (segment.isEmpty() || segment.indexOf('[') >= 0) {
                    throw invalid(reference);
                }
                segments.add(segment);
                i = close + 1;
            }
        }
        if (segments.get(0).equals(METADATA)) {
            return new FieldReference(new ArrayList<>(segments.subList(1, segments.size())), true);
        }
        return new FieldReference(segments, false);
    }

    private static IllegalArgumentException invalid(String reference) {
        return new IllegalArgumentException("Invalid FieldReference: `" + reference + "`");
    }
}
