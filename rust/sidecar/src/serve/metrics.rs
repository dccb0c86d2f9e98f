//! `GET /metrics`: the engine's counters and the sidecar's own, in the
//! Prometheus text exposition format (version 0.0.4).
//!
//! Every engine counter is `slack_alert_<name>_total`; every per-rule counter
//! is `slack_alert_rule_<name>_total{rule="<rule>"}`, one sample per rule; the
//! sidecar adds its connection and input counters. Each family has `# HELP`
//! and `# TYPE`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use slack_alert_engine::{COUNTER_NAMES, RULE_COUNTER_NAMES};

use super::Hub;

/// The exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What each engine counter means (the README's counter table).
pub fn engine_help(name: &str) -> &'static str {
    match name {
        "events" => "Events the matcher looked at.",
        "matched" => "Events whose level alerts.",
        "alerts" => "First occurrences queued as their own Slack message.",
        "repeats" => "Matched events folded into an earlier alert as repeats.",
        "rate_limited" => {
            "Matched events (and repeat reports) held back by the rate limit, to be summarised."
        }
        "dropped" => {
            "Messages dropped because the send queue was full (their events are summarised)."
        }
        "evicted" => "Fingerprints evicted from a full dedup table.",
        "sent" => "Messages Slack accepted.",
        "send_failures" => "Messages Slack did not accept after every retry.",
        "retries" => "Retried posts (429, 5xx, network).",
        "internal_errors" => "Failures inside the engine that were contained.",
        _ => "A slack_alert engine counter.",
    }
}

/// What each per-rule counter means (the README's rules section).
pub fn rule_help(name: &str) -> &'static str {
    match name {
        "matched" => "Events that matched the rule (level, conditions, not excluded).",
        "excluded" => "Events the rule's exclude patterns silenced.",
        "below_threshold" => "Matched events that did not (yet) reach the rule's threshold.",
        "alerts" => "Alerts the rule queued as their own message.",
        "repeats" => "Matched events folded into an earlier alert of the rule.",
        "rate_limited" => "Alerts of the rule held back by its rate limit, to be summarised.",
        "dropped" => "Messages of the rule dropped because the send queue was full.",
        "flatline_alerts" => "Groups the flatline rule reported as silent.",
        "recovered" => "Silent groups the flatline rule reported as logging again.",
        _ => "A slack_alert per-rule counter.",
    }
}

/// A rule name as a Prometheus label value: `\`, `"` and newlines escaped.
/// Rule names are `[A-Za-z0-9_.-]`, so this never changes one; it keeps the
/// format valid whatever the engine allows.
fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Renders every metric.
pub(crate) fn render(hub: &Hub) -> String {
    let mut out = String::new();
    for (name, value) in COUNTER_NAMES.iter().zip(hub.engine().counters()) {
        family(
            &mut out,
            &format!("slack_alert_{name}_total"),
            "counter",
            engine_help(name),
        );
        let _ = writeln!(out, "slack_alert_{name}_total {value}");
    }
    rules(
        &mut out,
        &hub.engine().rule_names(),
        &hub.engine().rule_counters(),
    );
    let stats = hub.stats();
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    family(
        &mut out,
        "slack_alert_connections_total",
        "counter",
        "Connections accepted, by listener.",
    );
    let _ = writeln!(
        out,
        "slack_alert_connections_total{{listener=\"tcp\"}} {}",
        load(&stats.tcp_connections)
    );
    let _ = writeln!(
        out,
        "slack_alert_connections_total{{listener=\"http\"}} {}",
        load(&stats.http_connections)
    );
    let simple = [
        (
            "slack_alert_connections_refused_total",
            "counter",
            "Connections closed at once because --max-connections were open.",
            load(&stats.refused_connections),
        ),
        (
            "slack_alert_open_connections",
            "gauge",
            "Connections open now.",
            load(&stats.open_connections),
        ),
        (
            "slack_alert_lines_rejected_total",
            "counter",
            "Lines or events skipped because they were not a JSON object (bad JSON, invalid UTF-8, another JSON type).",
            load(&stats.lines_rejected),
        ),
        (
            "slack_alert_oversized_lines_total",
            "counter",
            "Lines and request bodies over --max-line-bytes, discarded.",
            load(&stats.oversized_lines),
        ),
        (
            "slack_alert_http_requests_total",
            "counter",
            "HTTP requests answered.",
            load(&stats.http_requests),
        ),
    ];
    for (name, kind, help, value) in simple {
        family(&mut out, name, kind, help);
        let _ = writeln!(out, "{name} {value}");
    }
    out
}

/// One family per rule counter, one sample per rule; `values` is rules ×
/// [`RULE_COUNTER_NAMES`], row-major.
fn rules(out: &mut String, names: &[String], values: &[u64]) {
    let width = RULE_COUNTER_NAMES.len();
    for (c, counter) in RULE_COUNTER_NAMES.iter().enumerate() {
        let metric = format!("slack_alert_rule_{counter}_total");
        family(out, &metric, "counter", rule_help(counter));
        for (r, rule) in names.iter().enumerate() {
            let value = values.get(r * width + c).copied().unwrap_or(0);
            let _ = writeln!(out, "{metric}{{rule=\"{}\"}} {value}", label_value(rule));
        }
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_counter_has_its_own_help() {
        for name in COUNTER_NAMES {
            assert_ne!(
                engine_help(name),
                engine_help("no such counter"),
                "add a HELP text for the engine counter `{name}`"
            );
        }
        for name in RULE_COUNTER_NAMES {
            assert_ne!(
                rule_help(name),
                rule_help("no such counter"),
                "add a HELP text for the rule counter `{name}`"
            );
        }
    }

    #[test]
    fn rule_counters_are_one_sample_per_rule() {
        let width = RULE_COUNTER_NAMES.len();
        let names = vec!["payments".to_string(), "db.primary".to_string()];
        let values: Vec<u64> = (0..2 * width as u64).collect();
        let mut out = String::new();
        rules(&mut out, &names, &values);
        let first = RULE_COUNTER_NAMES[0];
        assert!(out.starts_with(&format!(
            "# HELP slack_alert_rule_{first}_total {}\n\
             # TYPE slack_alert_rule_{first}_total counter\n\
             slack_alert_rule_{first}_total{{rule=\"payments\"}} 0\n\
             slack_alert_rule_{first}_total{{rule=\"db.primary\"}} {width}\n",
            rule_help(first)
        )));
        let last = RULE_COUNTER_NAMES[width - 1];
        assert!(out.ends_with(&format!(
            "slack_alert_rule_{last}_total{{rule=\"db.primary\"}} {}\n",
            2 * width - 1
        )));
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
