//! `slack-alert import-elastalert`: ElastAlert / ElastAlert 2 rule files
//! into this plugin's `rules`, as a Logstash filter block or sidecar YAML.
//!
//! A rule is converted only as far as it means the same inside a pipeline;
//! what cannot run there (rule types that query history, non-Slack alerters,
//! scripted filters, aggregation schedules, Jinja) is named with the reason
//! and the rule left out, or with `--partial` converted without it. Settings
//! that only steer ElastAlert's queries (`index`, `run_every`, ...) are
//! reported as not needed. Webhook URLs never reach the output: each
//! distinct one becomes `${SLACK_WEBHOOK_URL}`, `${SLACK_WEBHOOK_URL_2}`, ...
//! and the report says which variable to set. The result is validated by the
//! engine exactly as `slack-alert check` validates a file.
//!
//! Filters become a `query` in the Lucene subset (`query_language:
//! lucene`), because ElastAlert's `query_string` filters already are Lucene.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::config_file;

/// Where the converted rules go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A `filter { slack_alert { rules => [...] } }` block.
    Logstash,
    /// The sidecar's YAML configuration.
    Yaml,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportArgs {
    /// Rule files and folders of rule files.
    pub inputs: Vec<PathBuf>,
    pub to: Target,
    pub output: Option<PathBuf>,
    /// Convert rules without what cannot be converted, naming each key.
    pub partial: bool,
}

/// Exit codes: every rule converted, some skipped or partial, bad input.
pub const EXIT_OK: u8 = 0;
pub const EXIT_SOME_LEFT_OUT: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;

/// The variable the first distinct webhook URL becomes.
pub const WEBHOOK_VARIABLE: &str = "SLACK_WEBHOOK_URL";
/// The variable a `command` alerter's JSON replacement posts to.
pub const JSON_VARIABLE: &str = "ALERT_JSON_URL";

/// Most rule files read from one folder, and the largest file.
const MAX_FILES: usize = 1000;
const MAX_FILE_BYTES: u64 = 1 << 20;

/// Why one thing of a rule was not converted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub why: String,
}

fn problem(key: impl Into<String>, why: impl Into<String>) -> Problem {
    Problem {
        key: key.into(),
        why: why.into(),
    }
}

/// What became of one rule.
#[derive(Clone, Debug)]
pub struct RuleReport {
    pub file: PathBuf,
    pub name: String,
    /// The converted rule's options (webhook still raw), if converted.
    options: Option<Map<String, Value>>,
    /// Raw webhook URLs, one rule per URL.
    webhooks: Vec<String>,
    /// What stops a full conversion; with `--partial`, what was dropped.
    pub unsupported: Vec<Problem>,
    /// Can never be converted (the rule's type, no alerter left).
    pub fatal: Vec<Problem>,
    /// Query-time settings that the filter does not need.
    pub not_needed: Vec<String>,
    /// How the converted rule differs from ElastAlert's, where it does.
    pub notes: Vec<String>,
    pub partial: bool,
}

/// Settings that steer ElastAlert's searches of Elasticsearch.
const QUERY_TIME: &[&str] = &[
    "index",
    "run_every",
    "buffer_time",
    "timestamp_field",
    "timestamp_type",
    "timestamp_format",
    "timestamp_format_expr",
    "query_delay",
    "use_strftime_index",
    "use_count_query",
    "use_terms_query",
    "use_local_time",
    "doc_type",
    "scan_entire_timeframe",
    "max_query_size",
    "max_scrolling_count",
    "scroll_keepalive",
    "es_host",
    "es_port",
    "es_username",
    "es_password",
    "es_url_prefix",
    "es_conn_timeout",
    "es_send_get_body_as",
    "use_ssl",
    "verify_certs",
    "ca_certs",
    "client_cert",
    "client_key",
    "include",
    "include_match_in_root",
    "fields",
    "query_key_uses_keyword",
    "is_enabled_check",
    "realert_key",
];

/// Keys that describe a rule to people, or choose ElastAlert's text layout.
const DESCRIPTIVE: &[&str] = &["description", "owner", "priority", "category", "is_enabled"];

/// Slack options and what they become.
const SLACK_OPTIONS: &[(&str, &str)] = &[
    ("slack_channel_override", "channel"),
    ("slack_username_override", "username"),
    ("slack_emoji_override", "icon_emoji"),
    ("slack_icon_url_override", "icon_url"),
];

const LEVELS_ALL: &str = "TRACE";

/// Reads the rule files, converts them and writes the result; returns the
/// exit code. `out` receives the converted rules unless `--output` is
/// given; `err` the report.
pub fn import(args: &ImportArgs, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<u8> {
    let mut bad_input = false;
    let mut files = Vec::new();
    for input in &args.inputs {
        match collect_files(input, &mut files) {
            Ok(()) => {}
            Err(e) => {
                writeln!(err, "{}: {e}", input.display())?;
                bad_input = true;
            }
        }
    }
    let mut reports = Vec::new();
    for file in &files {
        match read_rule(file) {
            Ok(doc) => reports.push(convert(file, &doc, args.partial)),
            Err(e) => {
                writeln!(err, "{e}")?;
                bad_input = true;
            }
        }
    }
    if files.is_empty() && !bad_input {
        writeln!(err, "no rule files (*.yaml, *.yml) found")?;
        bad_input = true;
    }
    let rules = assign(&mut reports);
    // Each rule on its own first, so one the engine refuses is named and
    // left out rather than failing the others.
    let mut kept: Vec<Value> = Vec::new();
    let mut variables: Vec<(String, Vec<String>)> = Vec::new();
    for assigned in rules {
        let doc = document(std::slice::from_ref(&assigned.rule));
        if let Err(e) = validate(&doc) {
            reports[assigned.report].fatal.push(problem(
                "(engine)",
                format!("the converted rule is refused: {e}"),
            ));
            continue;
        }
        match variables.iter_mut().find(|(v, _)| *v == assigned.variable) {
            Some((_, names)) => names.push(assigned.name),
            None => variables.push((assigned.variable, vec![assigned.name])),
        }
        kept.push(assigned.rule);
    }
    let mut left_out = false;
    for report in &reports {
        write_report(report, err)?;
        // Partial or not, a rule with something unsupported is not all there.
        left_out |= !report.fatal.is_empty() || !report.unsupported.is_empty();
    }
    let converted = reports
        .iter()
        .filter(|r| r.fatal.is_empty() && (r.unsupported.is_empty() || r.partial))
        .count();
    if !kept.is_empty() {
        let doc = document(&kept);
        if let Err(e) = validate(&doc) {
            writeln!(err, "the converted rules together are refused: {e}")?;
            return Ok(EXIT_BAD_INPUT);
        }
        let text = match args.to {
            Target::Yaml => yaml_text(&doc),
            Target::Logstash => logstash_text(&kept),
        };
        match &args.output {
            Some(path) => {
                if let Err(e) = std::fs::write(path, &text) {
                    writeln!(err, "--output: cannot write {}: {e}", path.display())?;
                    return Ok(EXIT_BAD_INPUT);
                }
            }
            None => out.write_all(text.as_bytes())?,
        }
        for (var, names) in &variables {
            writeln!(
                err,
                "set {var} to the webhook URL of {} (the output names it as ${{{var}}}, never the URL)",
                names.join(", ")
            )?;
        }
    }
    writeln!(
        err,
        "converted {converted} of {} rules; validated as `slack-alert check` does: {}",
        reports.len(),
        if kept.is_empty() {
            "nothing to validate"
        } else {
            "ok"
        }
    )?;
    Ok(if bad_input {
        EXIT_BAD_INPUT
    } else if left_out || kept.len() < reports.len() {
        EXIT_SOME_LEFT_OUT
    } else {
        EXIT_OK
    })
}

fn collect_files(path: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if meta.is_file() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    let mut found = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("cannot read: {e}"))?;
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                found.push(p);
            }
            if found.len() > MAX_FILES {
                return Err(format!("holds more than {MAX_FILES} rule files"));
            }
        }
    }
    found.sort();
    files.extend(found);
    Ok(())
}

/// A rule file as a map, or an error naming the file (and line).
fn read_rule(file: &Path) -> Result<Map<String, Value>, String> {
    let show = file.display();
    let meta = std::fs::metadata(file).map_err(|e| format!("{show}: cannot read: {e}"))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{show}: larger than {MAX_FILE_BYTES} bytes: not a rule file"
        ));
    }
    let text = std::fs::read_to_string(file).map_err(|e| format!("{show}: cannot read: {e}"))?;
    let value: Value = serde_yaml_ng::from_str(&text).map_err(|e| match e.location() {
        Some(at) => format!(
            "{show}: line {}: not valid YAML: {}",
            at.line(),
            strip_location(&e.to_string())
        ),
        None => format!("{show}: not valid YAML: {e}"),
    })?;
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Err(format!("{show}: empty: not a rule")),
        other => Err(format!(
            "{show}: a rule file is a map of settings, found {}",
            kind(&other)
        )),
    }
}

fn strip_location(message: &str) -> &str {
    message.split_once(" at line ").map_or(message, |(m, _)| m)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// Converts one rule file's settings. Never panics on odd values: every
/// shape that is not understood becomes a [`Problem`].
fn convert(file: &Path, doc: &Map<String, Value>, partial: bool) -> RuleReport {
    let name = match doc.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        _ => file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "rule".into()),
    };
    let mut r = RuleReport {
        file: file.to_path_buf(),
        name,
        options: None,
        webhooks: Vec::new(),
        unsupported: Vec::new(),
        fatal: Vec::new(),
        not_needed: Vec::new(),
        notes: Vec::new(),
        partial: false,
    };
    if !doc.contains_key("name") {
        r.fatal
            .push(problem("name", "is missing: every ElastAlert rule has one"));
    }
    let mut o = Map::new();
    let mut handled: Vec<&str> = vec!["name"];

    if doc.get("is_enabled") == Some(&Value::Bool(false)) {
        r.fatal.push(problem(
            "is_enabled",
            "is false: the rule is disabled in ElastAlert, so it is left out",
        ));
    }

    // The rule type.
    handled.extend([
        "type",
        "num_events",
        "timeframe",
        "threshold",
        "compare_key",
        "blacklist",
        "whitelist",
        "ignore_null",
    ]);
    let rule_type = match doc.get("type") {
        Some(Value::String(s)) => s.trim().to_string(),
        None => String::new(),
        Some(v) => {
            r.fatal.push(problem(
                "type",
                format!("must be a string, found {}", kind(v)),
            ));
            String::new()
        }
    };
    let mut conditions: Vec<String> = Vec::new();
    let timeframe = || doc.get("timeframe").map(duration);
    match rule_type.as_str() {
        "" => r
            .fatal
            .push(problem("type", "is missing: every ElastAlert rule has one")),
        "any" => {}
        "frequency" => {
            let events = match doc.get("num_events").map(Value::as_u64) {
                Some(Some(n)) if n >= 1 => n,
                Some(_) => {
                    r.fatal
                        .push(problem("num_events", "must be a whole number of 1 or more"));
                    1
                }
                None => {
                    r.fatal
                        .push(problem("num_events", "is required by a frequency rule"));
                    1
                }
            };
            match timeframe() {
                Some(Ok(secs)) if events > 1 => {
                    o.insert("threshold".into(), json!(events));
                    o.insert(
                        "threshold_window".into(),
                        json!(show_secs(secs, &mut r.notes)),
                    );
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => r.fatal.push(problem("timeframe", e)),
                None => r
                    .fatal
                    .push(problem("timeframe", "is required by a frequency rule")),
            }
        }
        "flatline" => {
            o.insert("type".into(), json!("flatline"));
            match timeframe() {
                Some(Ok(secs)) => {
                    o.insert("silence".into(), json!(show_secs(secs, &mut r.notes)));
                }
                Some(Err(e)) => r.fatal.push(problem("timeframe", e)),
                None => r
                    .fatal
                    .push(problem("timeframe", "is required by a flatline rule")),
            }
            match doc.get("threshold").map(Value::as_u64) {
                None | Some(Some(1)) => {}
                Some(_) => r.unsupported.push(problem(
                    "threshold",
                    "\"fewer than N events\" with N above 1: a flatline rule here alerts when a group logs nothing at all for the timeframe",
                )),
            }
            r.notes.push(
                "a flatline rule alerts for a group that was logging and went silent; one that never logged is not reported".into(),
            );
        }
        "blacklist" | "whitelist" => {
            let list_key = rule_type.as_str();
            match (doc.get("compare_key"), doc.get(list_key).map(strings)) {
                (Some(Value::String(field)), Some(Ok(values))) if !values.is_empty() => {
                    let list = values
                        .iter()
                        .map(|v| phrase(v))
                        .collect::<Vec<_>>()
                        .join(" OR ");
                    let f = lucene_field(field);
                    conditions.push(if list_key == "blacklist" {
                        format!("{f}:({list})")
                    } else if doc.get("ignore_null") == Some(&Value::Bool(true)) {
                        format!("(_exists_:{f} AND NOT {f}:({list}))")
                    } else {
                        format!("NOT {f}:({list})")
                    });
                }
                _ => r.fatal.push(problem(
                    list_key,
                    format!("needs `compare_key` (a field) and `{list_key}` (a list of values)"),
                )),
            }
            if doc
                .get(list_key)
                .map(strings)
                .is_some_and(|l| l.is_ok_and(|l| l.iter().any(|v| v.starts_with("!file "))))
            {
                r.unsupported.push(problem(
                    list_key,
                    "`!file` lists are read by ElastAlert at start; paste the values",
                ));
            }
        }
        other => r.fatal.push(problem("type", unsupported_type(other))),
    }

    // Which events: the filter.
    handled.push("filter");
    match doc.get("filter") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match filter_item(item, 0) {
                    Ok(Some(q)) => conditions.push(q),
                    Ok(None) => r.not_needed.push(format!("filter[{i}] (a document type)")),
                    Err(why) => r.unsupported.push(problem(
                        format!("filter[{i}]"),
                        format!("{why} (without it the rule would match more events)"),
                    )),
                }
            }
        }
        Some(v) => r.fatal.push(problem(
            "filter",
            format!("must be a list of filters, found {}", kind(v)),
        )),
    }
    if !conditions.is_empty() {
        let query = if conditions.len() == 1 {
            conditions.pop().expect("one")
        } else {
            conditions
                .iter()
                .map(|c| format!("({c})"))
                .collect::<Vec<_>>()
                .join(" AND ")
        };
        o.insert("query_language".into(), json!("lucene"));
        o.insert("query".into(), json!(query));
    }
    if rule_type != "flatline" {
        // ElastAlert's filter sees every document, whatever its level.
        o.insert("min_level".into(), json!(LEVELS_ALL));
        r.notes.push(
            "takes events of every level (min_level TRACE); an event without a readable level is not seen by an alert rule".into(),
        );
    }

    // Groups and repeats.
    handled.extend(["query_key", "realert"]);
    match doc.get("query_key").map(strings) {
        None => {}
        Some(Ok(keys)) if keys.is_empty() => {}
        Some(Ok(keys)) => {
            let refs: Vec<String> = keys.iter().map(|k| field_ref(k)).collect();
            if rule_type == "frequency" || rule_type == "flatline" {
                if refs.len() == 1 {
                    o.insert("group_by".into(), json!(refs[0]));
                } else {
                    r.unsupported.push(problem(
                        "query_key",
                        "a compound key groups by several fields; `group_by` takes one (add a field that joins them in the pipeline)",
                    ));
                }
            }
            if rule_type != "flatline" {
                o.insert("dedup_fields".into(), json!(refs));
            }
        }
        Some(Err(e)) => r.fatal.push(problem("query_key", e)),
    }
    if rule_type != "flatline" {
        match doc.get("realert").map(duration) {
            None => {
                o.insert("dedup_window".into(), json!("1m"));
            }
            Some(Ok(secs)) => {
                o.insert("dedup_window".into(), json!(show_secs(secs, &mut r.notes)));
            }
            Some(Err(e)) => r.fatal.push(problem("realert", e)),
        }
        if !doc.contains_key("query_key") {
            r.notes.push(
                "realert silences the whole rule in ElastAlert; here repeats of one problem (its fingerprint) are counted within dedup_window and reported".into(),
            );
        }
    } else if doc.contains_key("realert") {
        r.not_needed
            .push("realert (a flatline alert is sent once per silence)".into());
    }

    // Where alerts go.
    handled.push("alert");
    let alerters = match doc.get("alert").map(strings) {
        Some(Ok(list)) => list,
        Some(Err(_)) => {
            // ElastAlert 2 also accepts a list of one-key maps.
            match doc.get("alert") {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|i| match i {
                        Value::Object(m) => m.keys().next().cloned(),
                        Value::String(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            }
        }
        None => Vec::new(),
    };
    if alerters.is_empty() {
        r.fatal.push(problem("alert", "names no alerter"));
    }
    let mut slack = false;
    let mut command = false;
    for a in &alerters {
        match a.as_str() {
            "slack" => slack = true,
            "debug" => r.notes.push(
                "alert: debug only logs matches in ElastAlert; `slack-alert check` shows what would be sent".into(),
            ),
            "command" => {
                command = true;
                r.unsupported.push(problem(
                    "alert: command",
                    format!(
                        "runs a program for each match, which a pipeline filter never does; instead post the alert as JSON to your own endpoint: \"destination\" => \"json\" with a \"body_template\"{}",
                        if partial { " (done: set ${ALERT_JSON_URL})" } else { " (--partial writes it, posting to ${ALERT_JSON_URL})" }
                    ),
                ));
            }
            "post" | "post2" => r.unsupported.push(problem(
                format!("alert: {a}"),
                "HTTP POST alerters: use \"destination\" => \"json\" with a \"body_template\" and the URL as webhook_url",
            )),
            other => r.unsupported.push(problem(
                format!("alert: {other}"),
                "not Slack: this plugin posts to Slack or, with destination json, to a JSON webhook",
            )),
        }
    }
    handled.push("command");
    handled.push("pipe_match_json");
    handled.push("pipe_alert_text");
    handled.push("fail_on_non_zero_exit");
    handled.push("slack_webhook_url");
    if slack {
        match doc.get("slack_webhook_url").map(strings) {
            Some(Ok(urls)) if !urls.is_empty() => {
                for u in urls {
                    if !r.webhooks.contains(&u) {
                        r.webhooks.push(u);
                    }
                }
            }
            _ => r.fatal.push(problem(
                "slack_webhook_url",
                "is required by the slack alerter (a URL or a list of URLs)",
            )),
        }
    } else if command {
        if partial {
            o.insert("destination".into(), json!("json"));
            o.insert(
                "body_template".into(),
                json!({
                    "rule": "%{[@alert][rule]}",
                    "title": "%{[@alert][title]}",
                    "text": "%{[@alert][text]}",
                    "level": "%{[@alert][level]}",
                    "count": "%{[@alert][count]}",
                }),
            );
            r.webhooks.push(format!("${{{JSON_VARIABLE}}}"));
        }
    } else if !alerters.is_empty() {
        r.fatal.push(problem(
            "alert",
            "no Slack alerter: there is nothing this plugin can post for the rule",
        ));
    }
    for (from, to) in SLACK_OPTIONS {
        handled.push(from);
        match doc.get(*from) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                o.insert((*to).into(), json!(s));
            }
            Some(Value::Array(items)) if !items.is_empty() => {
                if let Some(Value::String(s)) = items.first() {
                    o.insert((*to).into(), json!(s));
                }
                if items.len() > 1 {
                    r.unsupported.push(problem(
                        *from,
                        "several values: a rule posts one message; only the first is used",
                    ));
                }
            }
            Some(v) => r.unsupported.push(problem(
                *from,
                format!("must be a string, found {}", kind(v)),
            )),
        }
    }
    handled.push("slack_title_link");
    if let Some(Value::String(link)) = doc.get("slack_title_link") {
        if link.starts_with("https://") || link.starts_with("http://") {
            o.insert("link_template".into(), json!(link));
        } else {
            r.unsupported
                .push(problem("slack_title_link", "is not an http(s) URL"));
        }
    }
    handled.push("slack_msg_color");
    if doc.contains_key("slack_msg_color") {
        r.notes
            .push("slack_msg_color: the message's colour follows the event's level".into());
    }
    handled.push("slack_proxy");
    if doc.contains_key("slack_proxy") {
        r.notes.push(
            "slack_proxy: there is no per-rule proxy; the sender uses the HTTPS_PROXY environment variable of the process".into(),
        );
    }

    // The text.
    handled.extend([
        "alert_subject",
        "alert_subject_args",
        "alert_text",
        "alert_text_args",
        "alert_text_kw",
        "alert_text_type",
    ]);
    let text_type = doc
        .get("alert_text_type")
        .and_then(Value::as_str)
        .unwrap_or("");
    if text_type == "alert_text_jinja" {
        r.unsupported.push(problem(
            "alert_text_type: alert_text_jinja",
            "Jinja templates run Python at alert time; write the text with %{[field]} references",
        ));
    }
    let kw = match doc.get("alert_text_kw") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    if let Some(Value::String(subject)) = doc.get("alert_subject") {
        let args = doc
            .get("alert_subject_args")
            .map(strings)
            .and_then(Result::ok)
            .unwrap_or_default();
        match python_format(subject, &args, &Map::new()) {
            Ok(t) => {
                o.insert("title".into(), json!(t));
            }
            Err(e) => r.unsupported.push(problem("alert_subject", e)),
        }
    }
    if let Some(Value::String(text)) = doc.get("alert_text") {
        if text_type != "alert_text_jinja" {
            let args = doc
                .get("alert_text_args")
                .map(strings)
                .and_then(Result::ok)
                .unwrap_or_default();
            match python_format(text, &args, &kw) {
                Ok(t) => {
                    o.insert("format".into(), json!(t));
                    if text_type != "alert_text_only" {
                        r.notes.push("format: the event fields ElastAlert appends after alert_text are not added".into());
                    }
                }
                Err(e) => r.unsupported.push(problem("alert_text", e)),
            }
        }
    }

    // Everything else.
    for (key, _) in doc {
        let key = key.as_str();
        if handled.contains(&key) || DESCRIPTIVE.contains(&key) {
            continue;
        }
        if QUERY_TIME.contains(&key) {
            r.not_needed.push(key.to_string());
        } else if let Some(why) = unsupported_key(key) {
            r.unsupported.push(problem(key, why));
        } else if key.starts_with("slack_") {
            r.unsupported
                .push(problem(key, "no matching option in this plugin"));
        } else if alerters.iter().any(|a| key.starts_with(&format!("{a}_"))) || key == "email" {
            // Settings of an alerter already reported.
        } else if r.fatal.is_empty() {
            // (Beside an unsupported type, its own settings are no news.)
            r.unsupported
                .push(problem(key, "not known to the converter, so left out"));
        }
    }
    for key in DESCRIPTIVE {
        if doc.contains_key(*key) && *key != "is_enabled" {
            r.notes
                .push(format!("{key}: kept only in the ElastAlert file"));
        }
    }
    if r.fatal.is_empty() && (r.unsupported.is_empty() || partial) {
        r.partial = !r.unsupported.is_empty();
        r.options = Some(o);
    }
    r
}

fn unsupported_type(t: &str) -> String {
    let why = match t {
        "spike" | "spike_aggregation" => "compares the event rate of two windows read from the index; a threshold (more than N in T) is the nearest rule here",
        "change" => "remembers each key's last value across the index's history",
        "new_term" => "needs the terms seen over weeks of history in Elasticsearch",
        "cardinality" => "counts distinct values in a window, not events",
        "metric_aggregation" => "aggregates a numeric field in Elasticsearch",
        "percentage_match" => "compares two counts that Elasticsearch aggregates",
        _ if t.contains('.') => "a custom rule type is Python code run by ElastAlert",
        _ => "is not an ElastAlert rule type this converter knows",
    };
    format!("{t}: {why}; it cannot run inside a pipeline")
}

fn unsupported_key(key: &str) -> Option<&'static str> {
    Some(match key {
        "aggregation" | "aggregation_key" | "aggregate_by_match_time" | "summary_table_fields" => {
            "aggregation schedules collect matches and send them later; here each alert is sent when it happens and repeats are counted"
        }
        "top_count_keys" | "top_count_number" | "raw_count_keys" => {
            "top counts are Elasticsearch aggregations run at alert time"
        }
        "exponential_realert" => "no exponential back-off of repeats: dedup_window is fixed",
        "query_string" | "eql" | "esql" | "query_language" => {
            "a rule-level query language other than filters runs in Elasticsearch"
        }
        "import" => "the imported file's settings are not read: convert it too, or copy its settings here",
        "match_enhancements" | "run_enhancements_first" => "enhancements are Python code run by ElastAlert",
        "generate_kibana_link" | "use_kibana4_dashboard" | "kibana4_start_timedelta" | "kibana4_end_timedelta" => {
            "Kibana dashboard links: write a link_template instead"
        }
        k if k.starts_with("kibana_discover_") || k.starts_with("opensearch_discover_") => {
            "discover links: write a link_template with %{[field]} references instead"
        }
        _ => return None,
    })
}

/// One entry of `filter`: Lucene query text, `None` for what needs no
/// condition (a document type), or why it cannot be converted.
fn filter_item(item: &Value, depth: usize) -> Result<Option<String>, String> {
    if depth > 16 {
        return Err("nested too deep".into());
    }
    let Value::Object(map) = item else {
        return Err(format!(
            "a filter is a map such as {{term: {{field: value}}}}, found {}",
            kind(item)
        ));
    };
    let Some((kind_key, body)) = map.iter().next().filter(|_| map.len() == 1) else {
        return Err("a filter names one query type (term, match, range, bool, ...)".into());
    };
    let field_value = |body: &Value, inner: &str| -> Result<(String, Value), String> {
        match body {
            Value::Object(m) => {
                let (f, v) = m
                    .iter()
                    .find(|(k, _)| !matches!(k.as_str(), "boost" | "_name" | "case_insensitive"))
                    .ok_or_else(|| format!("{kind_key}: names no field"))?;
                let v = match v {
                    Value::Object(o) => o
                        .get(inner)
                        .cloned()
                        .ok_or_else(|| format!("{kind_key}: {f}: expected `{inner}`"))?,
                    v => v.clone(),
                };
                Ok((f.clone(), v))
            }
            _ => Err(format!("{kind_key}: expected a map of field to value")),
        }
    };
    let scalar = |v: &Value| -> Result<String, String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(format!(
                "{kind_key}: a value must be text, a number or a boolean, found {}",
                kind(other)
            )),
        }
    };
    Ok(Some(match kind_key.as_str() {
        "query" => return filter_item(body, depth + 1),
        "type" => return Ok(None),
        "match_all" => "*:*".into(),
        "query_string" => {
            let q = match body {
                Value::Object(m) => m.get("query").and_then(Value::as_str),
                _ => None,
            }
            .ok_or("query_string: expected {query: \"...\"}")?;
            if let Value::Object(m) = body {
                if m.get("default_operator").and_then(Value::as_str).is_some_and(|o| o.eq_ignore_ascii_case("and")) {
                    return Err("query_string with default_operator AND: write AND between the terms".into());
                }
                if m.contains_key("default_field") || m.contains_key("fields") {
                    return Err("query_string over chosen fields: name the field in the query (field:value)".into());
                }
            }
            q.trim().to_string()
        }
        "term" | "match_phrase" => {
            let (f, v) = field_value(body, if kind_key == "term" { "value" } else { "query" })?;
            format!("{}:{}", lucene_field(&f), phrase(&scalar(&v)?))
        }
        "match" => {
            let (f, v) = field_value(body, "query")?;
            let text = scalar(&v)?;
            let words: Vec<&str> = text.split_whitespace().collect();
            if words.len() <= 1 {
                format!("{}:{}", lucene_field(&f), phrase(&text))
            } else {
                format!(
                    "{}:({})",
                    lucene_field(&f),
                    words.iter().map(|w| phrase(w)).collect::<Vec<_>>().join(" OR ")
                )
            }
        }
        "terms" => {
            let (f, v) = field_value(body, "__no_inner__")
                .map_err(|_| "terms: expected {field: [values]}".to_string())?;
            let Value::Array(items) = v else {
                return Err("terms: expected a list of values".into());
            };
            if items.is_empty() {
                return Err("terms: an empty list matches nothing".into());
            }
            let values = items.iter().map(|v| scalar(v).map(|s| phrase(&s))).collect::<Result<Vec<_>, _>>()?;
            format!("{}:({})", lucene_field(&f), values.join(" OR "))
        }
        "wildcard" | "prefix" => {
            let (f, v) = field_value(body, "value")?;
            let mut pattern = wildcard_text(&scalar(&v)?);
            if kind_key == "prefix" {
                pattern = format!("{}*", escape_term(&scalar(&v)?));
            }
            format!("{}:{pattern}", lucene_field(&f))
        }
        "exists" => match body {
            Value::Object(m) => match m.get("field") {
                Some(Value::String(f)) => format!("_exists_:{}", lucene_field(f)),
                _ => return Err("exists: expected {field: name}".into()),
            },
            _ => return Err("exists: expected {field: name}".into()),
        },
        "range" => {
            let Value::Object(m) = body else {
                return Err("range: expected {field: {gte: ..., lt: ...}}".into());
            };
            let Some((f, Value::Object(bounds))) = m.iter().next() else {
                return Err("range: expected {field: {gte: ..., lt: ...}}".into());
            };
            let get = |k: &str| -> Result<Option<String>, String> {
                match bounds.get(k) {
                    None | Some(Value::Null) => Ok(None),
                    Some(v) => {
                        let s = scalar(v)?;
                        if s.contains("now") || s.contains("||") {
                            return Err("range: date math (now-1h, ||) is evaluated by Elasticsearch at query time".into());
                        }
                        Ok(Some(s))
                    }
                }
            };
            let (gte, gt, lte, lt) = (get("gte")?, get("gt")?, get("lte")?, get("lt")?);
            if bounds.keys().any(|k| !matches!(k.as_str(), "gte" | "gt" | "lte" | "lt" | "boost")) {
                return Err("range: only gte, gt, lte and lt are converted (no format or time_zone)".into());
            }
            let f = lucene_field(f);
            let lower = gte.clone().or(gt.clone());
            let upper = lte.clone().or(lt.clone());
            match (lower, upper) {
                (None, None) => return Err("range: names no bound".into()),
                (Some(l), None) => format!("{f}:{}{}", if gte.is_some() { ">=" } else { ">" }, range_value(&l)),
                (None, Some(u)) => format!("{f}:{}{}", if lte.is_some() { "<=" } else { "<" }, range_value(&u)),
                (Some(l), Some(u)) => format!(
                    "{f}:{}{} TO {}{}",
                    if gte.is_some() { "[" } else { "{" },
                    range_value(&l),
                    range_value(&u),
                    if lte.is_some() { "]" } else { "}" }
                ),
            }
        }
        "bool" => {
            let Value::Object(m) = body else {
                return Err("bool: expected a map of must, filter, should, must_not".into());
            };
            let list = |k: &str| -> Result<Vec<String>, String> {
                let items: Vec<&Value> = match m.get(k) {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(a)) => a.iter().collect(),
                    Some(v) => vec![v],
                };
                items
                    .into_iter()
                    .filter_map(|i| filter_item(i, depth + 1).transpose())
                    .collect()
            };
            if let Some(k) = m.keys().find(|k| !matches!(k.as_str(), "must" | "filter" | "should" | "must_not" | "minimum_should_match" | "boost")) {
                return Err(format!("bool: `{k}` is not converted"));
            }
            let mut all: Vec<String> = list("must")?;
            all.extend(list("filter")?);
            let should = list("should")?;
            let min_should = m.get("minimum_should_match").and_then(Value::as_u64);
            if min_should.is_some_and(|n| n > 1) {
                return Err("bool: minimum_should_match above 1 is not converted".into());
            }
            if !should.is_empty() && (all.is_empty() || min_should == Some(1)) {
                all.push(format!("({})", should.iter().map(|s| format!("({s})")).collect::<Vec<_>>().join(" OR ")));
            }
            let must_not = list("must_not")?;
            let mut parts: Vec<String> = all.iter().map(|s| format!("({s})")).collect();
            parts.extend(must_not.iter().map(|s| format!("NOT ({s})")));
            if parts.is_empty() {
                "*:*".into()
            } else {
                parts.join(" AND ")
            }
        }
        "regexp" => return Err("regexp: write it as the rule's `regex` option (the Rust regex syntax; anchor it with ^...$)".into()),
        "script" => return Err("script: scripted filters run in Elasticsearch".into()),
        "eql" | "esql" => return Err(format!("{kind_key}: EQL and ES|QL queries run in Elasticsearch")),
        "nested" | "has_child" | "has_parent" => return Err(format!("{kind_key}: joins between documents need the index")),
        other => return Err(format!("{other}: this query type is not converted")),
    }))
}

/// A field name for a Lucene query.
fn lucene_field(f: &str) -> String {
    escape_term(f)
}

/// A quoted Lucene phrase.
fn phrase(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn range_value(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
        && !s.is_empty()
    {
        s.to_string()
    } else {
        phrase(s)
    }
}

/// Escapes every character special in a Lucene term.
fn escape_term(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_whitespace() || "+-!(){}[]^\"~*?:\\/&|".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// An ES wildcard value as a Lucene term: `*` and `?` stay wildcards.
fn wildcard_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_whitespace() || "+-!(){}[]^\"~:\\/&|".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A field name as the Logstash reference templates and groups use.
/// ElastAlert's dotted names become the flat key, as ECS encoders emit it.
fn field_ref(name: &str) -> String {
    if name.starts_with('[') {
        name.to_string()
    } else {
        format!("[{name}]")
    }
}

/// A string or list of strings.
fn strings(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(format!(
                    "expected a list of strings, found {} in it",
                    kind(other)
                )),
            })
            .collect(),
        other => Err(format!(
            "expected a string or a list of strings, found {}",
            kind(other)
        )),
    }
}

/// ElastAlert's `{minutes: 5, hours: 1}`, in seconds.
fn duration(v: &Value) -> Result<f64, String> {
    let Value::Object(m) = v else {
        return Err(format!(
            "expected a time such as {{minutes: 5}}, found {}",
            kind(v)
        ));
    };
    if m.contains_key("schedule") {
        return Err("a cron schedule is not a duration".into());
    }
    let mut secs = 0.0;
    for (unit, n) in m {
        let n = n
            .as_f64()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| format!("{unit}: expected a number of 0 or more"))?;
        secs += n * match unit.as_str() {
            "weeks" => 604_800.0,
            "days" => 86_400.0,
            "hours" => 3600.0,
            "minutes" => 60.0,
            "seconds" => 1.0,
            "milliseconds" => 0.001,
            other => {
                return Err(format!(
                    "{other}: not a unit (weeks, days, hours, minutes, seconds, milliseconds)"
                ))
            }
        };
    }
    if secs > 1e12 {
        return Err("is far too long".into());
    }
    Ok(secs)
}

/// Seconds as the plugin's duration text, whole seconds (a fraction is
/// rounded up, with a note).
fn show_secs(secs: f64, notes: &mut Vec<String>) -> String {
    let whole = secs.ceil() as u64;
    if (whole as f64 - secs).abs() > 1e-9 {
        notes.push(format!(
            "{secs}s rounded up to {whole}s: durations here are whole seconds"
        ));
    }
    for (unit, n) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if whole > 0 && whole.is_multiple_of(n) {
            return format!("{}{unit}", whole / n);
        }
    }
    format!("{whole}s")
}

/// Python `str.format` text with `{}`, `{0}` and `{name}` into a `%{}`
/// template over the args' fields.
fn python_format(text: &str, args: &[String], kw: &Map<String, Value>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut next = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut inner = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => inner.push(c),
                        None => return Err("a '{' without its '}'".into()),
                    }
                }
                let key = inner.split([':', '!']).next().unwrap_or("").trim();
                let field = if key.is_empty() {
                    next += 1;
                    args.get(next - 1)
                        .cloned()
                        .ok_or_else(|| format!("{{}} number {next} has no argument"))?
                } else if let Ok(i) = key.parse::<usize>() {
                    args.get(i)
                        .cloned()
                        .ok_or_else(|| format!("{{{i}}} has no argument"))?
                } else {
                    kw.iter()
                        .find(|(_, name)| name.as_str() == Some(key))
                        .map(|(field, _)| field.clone())
                        .ok_or_else(|| format!("{{{key}}} is not in alert_text_kw"))?
                };
                let _ = write!(out, "%{{{}}}", field_ref(&field));
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// One rule of the output and where it came from.
struct Assigned {
    /// Index of its [`RuleReport`].
    report: usize,
    rule: Value,
    /// The webhook variable it names and the rule's name.
    variable: String,
    name: String,
}

/// Turns each convertible report into rules (one per webhook URL), names
/// them uniquely and replaces the webhook URLs with variables.
fn assign(reports: &mut [RuleReport]) -> Vec<Assigned> {
    let mut urls: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut rules = Vec::new();
    for (i, report) in reports.iter_mut().enumerate() {
        let Some(options) = report.options.clone() else {
            continue;
        };
        let base = rule_name(&report.name);
        if base != report.name {
            report.notes.push(format!(
                "named {base:?}: a rule name is letters, digits, `_`, `.` and `-`"
            ));
        }
        let webhooks = report.webhooks.clone();
        for (k, url) in webhooks.iter().enumerate() {
            let mut name = if k == 0 {
                base.clone()
            } else {
                format!("{base}-{}", k + 1)
            };
            let mut n = 2;
            while names.contains(&name) {
                name = format!("{base}-{n}");
                n += 1;
            }
            names.push(name.clone());
            let variable = if url.starts_with("${") {
                url.trim_start_matches("${")
                    .trim_end_matches('}')
                    .to_string()
            } else {
                let index = match urls.iter().position(|u| u == url) {
                    Some(i) => i,
                    None => {
                        urls.push(url.clone());
                        urls.len() - 1
                    }
                };
                if index == 0 {
                    WEBHOOK_VARIABLE.to_string()
                } else {
                    format!("{WEBHOOK_VARIABLE}_{}", index + 1)
                }
            };
            let mut rule = Map::new();
            rule.insert("name".into(), json!(name));
            rule.insert("webhook_url".into(), json!(format!("${{{variable}}}")));
            for (key, value) in &options {
                rule.insert(key.clone(), value.clone());
            }
            if webhooks.len() > 1 && k == 1 {
                report.notes.push(format!(
                    "{} webhooks: one rule per webhook ({base}, {base}-2, ...)",
                    webhooks.len()
                ));
            }
            rules.push(Assigned {
                report: i,
                rule: Value::Object(rule),
                variable,
                name,
            });
        }
    }
    rules
}

/// A rule name the engine accepts: `^[A-Za-z0-9_.-]{1,64}$`.
fn rule_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.trim_matches('-').chars().take(64).collect();
    if out.is_empty() {
        "rule".into()
    } else {
        out
    }
}

fn document(rules: &[Value]) -> Value {
    json!({ "rules": rules })
}

/// Validates as `check` does: the YAML text through the config file
/// reader, with a stand-in for each webhook variable.
fn validate(doc: &Value) -> Result<(), String> {
    let text = yaml_text(doc);
    let stand_in = |name: &str| {
        (name.starts_with(WEBHOOK_VARIABLE) || name == JSON_VARIABLE)
            .then(|| "https://hooks.slack.com/services/T00000000/B00000000/placeholder".to_string())
    };
    config_file::parse(&text, Path::new("converted rules"), &stand_in)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The rules as sidecar YAML, each rule's name, type and webhook first.
fn yaml_text(doc: &Value) -> String {
    let mut out = String::from(
        "# Converted by `slack-alert import-elastalert`; check it with\n# `slack-alert check --config FILE --input SAMPLE.jsonl`.\nrules:\n",
    );
    let rules = doc["rules"].as_array().cloned().unwrap_or_default();
    for rule in &rules {
        let Value::Object(map) = rule else { continue };
        for (i, (key, value)) in ordered(map).into_iter().enumerate() {
            let mut one = Map::new();
            one.insert(key.clone(), value.clone());
            let text = serde_yaml_ng::to_string(&Value::Object(one)).unwrap_or_default();
            for (j, line) in text.lines().enumerate() {
                out.push_str(if i == 0 && j == 0 { "- " } else { "  " });
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// A rule's options with `name`, `type` and `webhook_url` first, as people
/// read a rule; the rest in name order.
fn ordered(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    const FIRST: [&str; 3] = ["name", "type", "webhook_url"];
    let mut entries: Vec<(&String, &Value)> =
        FIRST.iter().filter_map(|k| map.get_key_value(*k)).collect();
    entries.extend(map.iter().filter(|(k, _)| !FIRST.contains(&k.as_str())));
    entries
}

/// The rules as a Logstash filter block.
fn logstash_text(rules: &[Value]) -> String {
    let mut out = String::from(
        "# Converted by `slack-alert import-elastalert`.\nfilter {\n  slack_alert {\n    rules => [\n",
    );
    for (i, rule) in rules.iter().enumerate() {
        out.push_str("      ");
        logstash_value(rule, 6, &mut out);
        out.push_str(if i + 1 < rules.len() { ",\n" } else { "\n" });
    }
    out.push_str("    ]\n  }\n}\n");
    out
}

fn logstash_value(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Null => out.push_str("\"\""),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(&logstash_string(s)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                logstash_value(item, indent, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push_str("{\n");
            for (k, v) in ordered(map) {
                out.push_str(&" ".repeat(indent + 2));
                out.push_str(&logstash_string(k));
                out.push_str(" => ");
                logstash_value(v, indent + 2, out);
                out.push('\n');
            }
            out.push_str(&" ".repeat(indent));
            out.push('}');
        }
    }
}

/// A Logstash string literal. Logstash does not unescape by default
/// (`config.support_escapes`), so a value with `"` is single-quoted.
fn logstash_string(s: &str) -> String {
    if !s.contains('"') && !s.ends_with('\\') {
        format!("\"{s}\"")
    } else if !s.contains('\'') && !s.ends_with('\\') {
        format!("'{s}'")
    } else {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

fn write_report(r: &RuleReport, err: &mut dyn Write) -> io::Result<()> {
    let state = if !r.fatal.is_empty() || (!r.unsupported.is_empty() && !r.partial) {
        "left out"
    } else if r.partial {
        "converted partially (--partial)"
    } else {
        "converted"
    };
    writeln!(err, "{} ({}): {state}", r.name, r.file.display())?;
    for p in &r.fatal {
        writeln!(err, "  not supported: {}: {}", p.key, p.why)?;
    }
    for p in &r.unsupported {
        let verb = if r.partial {
            "dropped"
        } else {
            "not supported"
        };
        writeln!(err, "  {verb}: {}: {}", p.key, p.why)?;
    }
    if r.fatal.is_empty() && !r.unsupported.is_empty() && !r.partial {
        writeln!(err, "  (--partial converts the rest, without these)")?;
    }
    if !r.not_needed.is_empty() {
        writeln!(
            err,
            "  not needed: {} (they steer ElastAlert's searches; the filter sees each event as it arrives)",
            r.not_needed.join(", ")
        )?;
    }
    if r.options.is_some() {
        for n in &r.notes {
            writeln!(err, "  note: {n}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(yaml: &str) -> Map<String, Value> {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn python_format_becomes_field_references() {
        let args = vec!["host.hostname".to_string(), "user.name".to_string()];
        assert_eq!(
            python_format("On {} by {}", &args, &Map::new()).unwrap(),
            "On %{[host.hostname]} by %{[user.name]}"
        );
        assert_eq!(
            python_format("{1} {0:>5} {{x}}\nend", &args, &Map::new()).unwrap(),
            "%{[user.name]} %{[host.hostname]} {x}\\nend"
        );
        let kw: Map<String, Value> =
            serde_json::from_value(json!({"service.name": "svc"})).unwrap();
        assert_eq!(
            python_format("in {svc}", &[], &kw).unwrap(),
            "in %{[service.name]}"
        );
        assert!(python_format("{2}", &args, &Map::new()).is_err());
        assert!(python_format("{", &args, &Map::new()).is_err());
    }

    #[test]
    fn durations_and_names() {
        let mut notes = Vec::new();
        assert_eq!(
            show_secs(duration(&json!({"hours": 4})).unwrap(), &mut notes),
            "4h"
        );
        assert_eq!(
            show_secs(duration(&json!({"weeks": 1})).unwrap(), &mut notes),
            "7d"
        );
        assert_eq!(
            show_secs(
                duration(&json!({"minutes": 1, "seconds": 30})).unwrap(),
                &mut notes
            ),
            "90s"
        );
        assert_eq!(
            show_secs(duration(&json!({"minutes": 0})).unwrap(), &mut notes),
            "0s"
        );
        assert!(notes.is_empty());
        assert_eq!(
            show_secs(
                duration(&json!({"milliseconds": 1500})).unwrap(),
                &mut notes
            ),
            "2s"
        );
        assert_eq!(notes.len(), 1);
        assert!(duration(&json!({"fortnights": 1})).is_err());
        assert!(duration(&json!("5m")).is_err());
        assert_eq!(
            rule_name("SSH abuse (ElastAlert 3.0.1) - 2"),
            "SSH-abuse-ElastAlert-3.0.1-2"
        );
        assert_eq!(rule_name("!!!"), "rule");
    }

    #[test]
    fn filters_become_lucene() {
        let q = |y: &str| filter_item(&serde_yaml_ng::from_str(y).unwrap(), 0);
        assert_eq!(
            q("term: {service.name: pay}").unwrap().unwrap(),
            "service.name:\"pay\""
        );
        assert_eq!(
            q("term: {status: {value: 500}}").unwrap().unwrap(),
            "status:\"500\""
        );
        assert_eq!(
            q("terms: {code: [a, 'b c']}").unwrap().unwrap(),
            "code:(\"a\" OR \"b c\")"
        );
        assert_eq!(
            q("query: {query_string: {query: 'message: ERROR'}}")
                .unwrap()
                .unwrap(),
            "message: ERROR"
        );
        assert_eq!(
            q("range: {status: {gte: 500, lt: 600}}").unwrap().unwrap(),
            "status:[500 TO 600}"
        );
        assert_eq!(
            q("range: {status: {gt: 499}}").unwrap().unwrap(),
            "status:>499"
        );
        assert_eq!(
            q("exists: {field: trace.id}").unwrap().unwrap(),
            "_exists_:trace.id"
        );
        assert_eq!(
            q("wildcard: {host: 'web-*'}").unwrap().unwrap(),
            "host:web\\-*"
        );
        assert_eq!(
            q("bool: {must: [{term: {a: x}}], must_not: {term: {b: y}}, should: [{term: {c: z}}]}").unwrap().unwrap(),
            "(a:\"x\") AND NOT (b:\"y\")"
        );
        assert_eq!(q("type: {value: doc}").unwrap(), None);
        assert!(q("script: {script: 'doc.x > 1'}")
            .unwrap_err()
            .contains("Elasticsearch"));
        assert!(q("range: {ts: {gte: now-1h}}")
            .unwrap_err()
            .contains("date math"));
        assert!(q("- 1").is_err());
        assert!(q("{}").is_err());
        // Every converted filter compiles.
        for f in [
            "term: {a: 'x \"y\"'}",
            "terms: {a: [1, 2]}",
            "wildcard: {a: 'x y*'}",
            "match: {message: 'db down'}",
        ] {
            let text = q(f).unwrap().unwrap();
            slack_alert_engine::query::parse(&text, slack_alert_engine::query::Language::Lucene)
                .unwrap_or_else(|e| panic!("{text}: {e}"));
        }
    }

    #[test]
    fn odd_rules_never_panic_and_say_why() {
        for y in [
            "name: x\ntype: [1]\nalert: 7",
            "name: x\ntype: frequency\nnum_events: -3\ntimeframe: 5\nalert: slack",
            "name: x\ntype: any\nfilter: {a: 1}\nalert: [slack]\nslack_webhook_url: 5",
            "name: x\ntype: flatline\nthreshold: big\ntimeframe: {minutes: x}\nalert: [{slack: {}}]",
            "name: 5\ntype: any\nalert: slack\nslack_webhook_url: [https://hooks.slack.com/services/A/B/C]\nalert_text: '{'",
        ] {
            let r = convert(Path::new("x.yaml"), &doc(y), true);
            assert!(!r.fatal.is_empty() || !r.unsupported.is_empty(), "{y}: {r:?}");
        }
    }

    #[test]
    fn partial_drops_and_names_what_is_not_supported() {
        let rule = "name: pay\ntype: any\nfilter:\n- term: {service.name: pay}\n- script: {script: x}\nalert: [slack, jira]\nslack_webhook_url: https://hooks.slack.com/services/A/B/C\ntop_count_keys: [host]\n";
        let whole = convert(Path::new("pay.yaml"), &doc(rule), false);
        assert!(whole.options.is_none(), "left out without --partial");
        let keys: Vec<&str> = whole.unsupported.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["filter[1]", "alert: jira", "top_count_keys"]);
        assert!(whole.unsupported[0].why.contains("would match more events"));
        let part = convert(Path::new("pay.yaml"), &doc(rule), true);
        assert!(part.partial);
        let options = part.options.unwrap();
        assert_eq!(options["query"], json!("service.name:\"pay\""));
        assert_eq!(part.webhooks, ["https://hooks.slack.com/services/A/B/C"]);
    }

    #[test]
    fn the_command_line_takes_files_folders_and_flags() {
        use crate::cli::{parse, Command};
        let args = |a: &[&str]| parse(a.iter().map(|s| s.to_string()));
        let Ok(Command::ImportElastalert(i)) = args(&[
            "import-elastalert",
            "a.yaml",
            "--to=yaml",
            "rules/",
            "--partial",
            "-o",
            "out.yml",
        ]) else {
            panic!()
        };
        assert_eq!(i.inputs, [PathBuf::from("a.yaml"), PathBuf::from("rules/")]);
        assert_eq!((i.to, i.partial), (Target::Yaml, true));
        assert_eq!(i.output, Some(PathBuf::from("out.yml")));
        let Ok(Command::ImportElastalert(i)) = args(&["import-elastalert", "x.yaml"]) else {
            panic!()
        };
        assert_eq!((i.to, i.partial, i.output), (Target::Logstash, false, None));
        for (bad, says) in [
            (
                &["import-elastalert"][..],
                "import-elastalert: name at least one rule file",
            ),
            (
                &["import-elastalert", "--to", "xml", "a"],
                "--to: \"xml\" is not a target",
            ),
            (
                &["import-elastalert", "--quiet", "a"],
                "--quiet: unknown argument",
            ),
        ] {
            let e = args(bad).unwrap_err().to_string();
            assert!(e.starts_with(says), "{bad:?}: {e}");
        }
    }

    #[test]
    fn logstash_strings_survive_without_escapes() {
        assert_eq!(logstash_string("a"), "\"a\"");
        assert_eq!(logstash_string("m:\"x\""), "'m:\"x\"'");
    }
}
