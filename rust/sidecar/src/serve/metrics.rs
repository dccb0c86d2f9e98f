//! `GET /metrics`: the engine's counters and the sidecar's own, in the
//! Prometheus text exposition format (version 0.0.4).
//!
//! Every engine counter is `slack_alert_<name>_total`; every per-rule counter
//! is `slack_alert_rule_<name>_total{rule="<rule>"}`, one sample per rule; the
//! sidecar adds its connection and input counters. Each family has `# HELP`
//! and `# TYPE`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use slack_alert_engine::{CounterDoc, COUNTER_DOCS, RULE_COUNTER_DOCS};

use super::Hub;

/// The exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

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
    for (CounterDoc { name, help }, value) in COUNTER_DOCS.iter().zip(hub.engine().counters()) {
        family(
            &mut out,
            &format!("slack_alert_{name}_total"),
            "counter",
            help,
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
/// [`RULE_COUNTER_DOCS`], row-major.
fn rules(out: &mut String, names: &[String], values: &[u64]) {
    let width = RULE_COUNTER_DOCS.len();
    for (
        c,
        CounterDoc {
            name: counter,
            help,
        },
    ) in RULE_COUNTER_DOCS.iter().enumerate()
    {
        let metric = format!("slack_alert_rule_{counter}_total");
        family(out, &metric, "counter", help);
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
    fn rule_counters_are_one_sample_per_rule() {
        let width = RULE_COUNTER_DOCS.len();
        let names = vec!["payments".to_string(), "db.primary".to_string()];
        let values: Vec<u64> = (0..2 * width as u64).collect();
        let mut out = String::new();
        rules(&mut out, &names, &values);
        let CounterDoc { name: first, help } = RULE_COUNTER_DOCS[0];
        assert!(out.starts_with(&format!(
            "# HELP slack_alert_rule_{first}_total {help}\n\
             # TYPE slack_alert_rule_{first}_total counter\n\
             slack_alert_rule_{first}_total{{rule=\"payments\"}} 0\n\
             slack_alert_rule_{first}_total{{rule=\"db.primary\"}} {width}\n"
        )));
        let last = RULE_COUNTER_DOCS[width - 1].name;
        assert!(out.ends_with(&format!(
            "slack_alert_rule_{last}_total{{rule=\"db.primary\"}} {}\n",
            2 * width - 1
        )));
        assert_eq!(label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
