//! The docs rendered from the engine's tables: the gem's
//! `docs/index.asciidoc` from [`OPTION_TABLE`], in the layout of Logstash's
//! plugin docs, and the README's generated tables: options, counters and
//! per-rule counters ([`crate::counters`]).
//!
//! `cargo run -q -p slack-alert-engine --example option-docs -- asciidoc`
//! prints the AsciiDoc (`scripts/build-gem` puts it into the gem);
//! `-- readme README.md` rewrites every generated table of the README
//! between its marker lines ([`README_BEGIN`] and [`README_END`] for the
//! options). A test below fails when the committed README differs from what
//! the tables render.

use super::table::{DefaultValue, OptionDoc, Required, Scope, OPTION_TABLE};
use crate::counters::{CounterDoc, COUNTER_DOCS, RULE_COUNTER_DOCS};

/// The line before the README's generated Options table.
pub const README_BEGIN: &str =
    "<!-- options:begin (generated from rust/engine/src/config/table.rs; edit there) -->";
/// The line after it.
pub const README_END: &str = "<!-- options:end -->";

/// One generated block of the README: the marker lines around it and what
/// goes between them.
struct ReadmeBlock {
    begin: &'static str,
    end: &'static str,
    render: fn() -> String,
}

const README_BLOCKS: &[ReadmeBlock] = &[
    ReadmeBlock {
        begin: README_BEGIN,
        end: README_END,
        render: markdown_table,
    },
    ReadmeBlock {
        begin: "<!-- counters:begin (generated from rust/engine/src/counters.rs; edit there) -->",
        end: "<!-- counters:end -->",
        render: || counter_table(COUNTER_DOCS),
    },
    ReadmeBlock {
        begin:
            "<!-- rule-counters:begin (generated from rust/engine/src/counters.rs; edit there) -->",
        end: "<!-- rule-counters:end -->",
        render: || counter_table(RULE_COUNTER_DOCS),
    },
];

/// The README's Options table, one row per option, in table order.
pub fn markdown_table() -> String {
    let mut out = String::from("| Option | Type | Default | Meaning |\n|---|---|---|---|\n");
    for o in OPTION_TABLE {
        let ty = match o.scope {
            Scope::RuleOnly => format!("{} (in a rule)", o.input_type.as_str()),
            _ => o.input_type.as_str().to_string(),
        };
        let default = match (o.default, o.required) {
            (DefaultValue::Value(v), _) => format!("`{v}`"),
            (DefaultValue::Described(d), _) => d.to_string(),
            (DefaultValue::None, Required::Yes) => "required".to_string(),
            (DefaultValue::None, Required::When(w)) => format!("– (required {w})"),
            (DefaultValue::None, Required::No) => "–".to_string(),
        };
        out.push_str(&format!(
            "| `{}` | {ty} | {default} | {} |\n",
            o.name, o.doc
        ));
    }
    out
}

/// A README table of counters, one row per counter, in snapshot order.
pub fn counter_table(docs: &[CounterDoc]) -> String {
    let mut out = String::from("| Counter | Meaning |\n|---|---|\n");
    for d in docs {
        out.push_str(&format!("| `{}` | {} |\n", d.name, d.help));
    }
    out
}

/// `readme` with the text between each generated block's marker lines
/// replaced by what its table renders now.
///
/// Occurs as an error when a marker line is missing or a pair is out of
/// order.
pub fn with_readme_table(readme: &str) -> Result<String, String> {
    README_BLOCKS
        .iter()
        .try_fold(readme.to_string(), |text, block| {
            replace_block(&text, block.begin, block.end, &(block.render)())
        })
}

fn replace_block(readme: &str, begin: &str, end: &str, body: &str) -> Result<String, String> {
    let at = readme
        .find(begin)
        .ok_or_else(|| format!("the README has no line {begin}"))?;
    let after_begin = at + begin.len();
    let until = readme[after_begin..]
        .find(end)
        .map(|i| after_begin + i)
        .ok_or_else(|| format!("the README has no line {end} after {begin}"))?;
    Ok(format!(
        "{}\n{body}{}",
        &readme[..after_begin],
        &readme[until..]
    ))
}

const ASCIIDOC_HEAD: &str = r#":plugin: slack_alert
:type: filter

///////////////////////////////////////////
START - GENERATED VARIABLES, DO NOT EDIT!
///////////////////////////////////////////
:version: %VERSION%
:release_date: %RELEASE_DATE%
:changelog_url: %CHANGELOG_URL%
:include_path: ../../../../logstash/docs/include
///////////////////////////////////////////
END - GENERATED VARIABLES, DO NOT EDIT!
///////////////////////////////////////////

[id="plugins-{type}s-{plugin}"]

=== Slack alert filter plugin

include::{include_path}/plugin_header.asciidoc[]

==== Description

Posts log events of chosen levels (by default ERROR and FATAL) to Slack, one
message per problem: repeats within `dedup_window` are counted and reported
once the window closes, messages are rate-limited per webhook, and what a limit
held back is summarised rather than lost. Level matching, deduplication, rate
limiting and delivery run in a native (Rust) library inside the plugin, on
background threads: the pipeline never waits for Slack, and events pass through
unchanged. Events that alerted are the ones the common options (`add_field`,
`add_tag`, ...) apply to.

Every option is checked when the pipeline starts; a bad value stops the
pipeline with a message that names the option and what it accepts. Durations
are written `250ms`, `30s`, `5m`, `1h`, `1d` (a bare number is seconds).

Without `rules` the options make one rule, named `default`. With `rules`, each
rule sets its own conditions and destination, and inherits the top-level rule
options it does not set.

[source,ruby]
-----
filter {
  slack_alert {
    webhook_url  => "${SLACK_WEBHOOK_URL}"
    min_level    => "WARN"
    dedup_window => "15m"
  }
}
-----

"#;

const ASCIIDOC_TAIL: &str = r#"[id="plugins-{type}s-{plugin}-common-options"]
include::{include_path}/{type}.asciidoc[]
"#;

/// The gem's `docs/index.asciidoc`: the description, the `Filter
/// Configuration Options` table (setting, input type, required), one section
/// per option with its type and default, then the rule-only options, then
/// Logstash's common options.
pub fn asciidoc() -> String {
    let top: Vec<&OptionDoc> = OPTION_TABLE
        .iter()
        .filter(|o| o.scope != Scope::RuleOnly)
        .collect();
    let in_rules: Vec<&OptionDoc> = OPTION_TABLE
        .iter()
        .filter(|o| o.scope == Scope::RuleOnly)
        .collect();
    let mut out = String::from(ASCIIDOC_HEAD);
    out.push_str(
        "[id=\"plugins-{type}s-{plugin}-options\"]\n\
         ==== Slack Alert Filter Configuration Options\n\n\
         This plugin supports the following configuration options plus the \
         <<plugins-{type}s-{plugin}-common-options>> described later.\n\n",
    );
    options_table(&mut out, &top);
    out.push_str(
        "\nAlso see <<plugins-{type}s-{plugin}-common-options>> for a list of options \
         supported by all filter plugins.\n\n&nbsp;\n\n",
    );
    top.iter().for_each(|o| option_section(&mut out, o));
    out.push_str(
        "[id=\"plugins-{type}s-{plugin}-rule-options\"]\n\
         ==== Rule-only options\n\n\
         These options are valid only inside a rule of \
         <<plugins-{type}s-{plugin}-rules>>; every rule option above may also be set there, \
         overriding the top-level value.\n\n",
    );
    options_table(&mut out, &in_rules);
    out.push('\n');
    in_rules.iter().for_each(|o| option_section(&mut out, o));
    out.push_str(ASCIIDOC_TAIL);
    out
}

fn options_table(out: &mut String, options: &[&OptionDoc]) {
    out.push_str(
        "[cols=\"<,<,<\",options=\"header\",]\n\
         |=======================================================================\n\
         |Setting |Input type|Required\n",
    );
    for o in options {
        let required = match o.required {
            Required::No => "No".to_string(),
            Required::Yes => "Yes".to_string(),
            Required::When(w) => format!("Yes, {}", inline(w)),
        };
        let ty = o.input_type.as_str();
        out.push_str(&format!(
            "| <<plugins-{{type}}s-{{plugin}}-{}>> |<<{ty},{ty}>>|{required}\n",
            o.name
        ));
    }
    out.push_str("|=======================================================================\n");
}

fn option_section(out: &mut String, o: &OptionDoc) {
    let ty = o.input_type.as_str();
    out.push_str(&format!(
        "[id=\"plugins-{{type}}s-{{plugin}}-{0}\"]\n===== `{0}`\n\n",
        o.name
    ));
    match o.required {
        Required::Yes => out.push_str("  * This is a required setting.\n"),
        Required::When(w) => {
            out.push_str(&format!("  * This setting is required {}.\n", inline(w)))
        }
        Required::No => {}
    }
    out.push_str(&format!("  * Value type is <<{ty},{ty}>>\n"));
    match o.default {
        DefaultValue::None => out.push_str("  * There is no default value for this setting.\n"),
        DefaultValue::Value(v) => out.push_str(&format!(
            "  * Default value is {}\n",
            inline(&format!("`{v}`"))
        )),
        DefaultValue::Described(d) => {
            out.push_str(&format!("  * Default value is {}\n", inline(d)))
        }
    }
    match o.scope {
        Scope::Engine => out.push_str("  * Set once, at the top level (not inside `rules`).\n"),
        Scope::Rule => out.push_str(
            "  * A rule option: at the top level it applies to every rule that does not set it.\n",
        ),
        Scope::RuleOnly => out.push_str("  * Only inside a rule of `rules`.\n"),
        Scope::Shim => {}
    }
    out.push('\n');
    out.push_str(&inline(o.doc));
    out.push_str("\n\n");
}

/// Markdown inline text as AsciiDoc: code spans become literal monospace
/// (`` `+…+` ``, or `` `pass:c[…]` `` when the code holds a `+`, so
/// `%{message}` is not taken for an attribute nor `=>` for an arrow), external
/// links become `url[text]`, a link within the README becomes its text, and
/// a `{` elsewhere is escaped for the same reason.
fn inline(md: &str) -> String {
    let mut out = String::new();
    let mut rest = md;
    while let Some(c) = rest.chars().next() {
        if c == '`' {
            if let Some(end) = rest[1..].find('`') {
                let code = &rest[1..1 + end];
                if code.contains('+') {
                    out.push_str(&format!("`pass:c[{}]`", code.replace(']', "\\]")));
                } else {
                    out.push_str(&format!("`+{code}+`"));
                }
                rest = &rest[end + 2..];
                continue;
            }
        }
        if c == '[' {
            if let Some((text, url, len)) = link(rest) {
                if url.starts_with('#') {
                    out.push_str(&inline(text));
                } else {
                    out.push_str(&format!("{url}[{}]", inline(text)));
                }
                rest = &rest[len..];
                continue;
            }
        }
        if c == '{' {
            out.push('\\');
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A Markdown link at the start of `s`: its text, its target and its
/// length. The text may hold code spans, not brackets.
fn link(s: &str) -> Option<(&str, &str, usize)> {
    let close = s.find("](")?;
    let text = &s[1..close];
    if text.contains('[') || text.contains(']') {
        return None;
    }
    let url_start = close + 2;
    let url_len = s[url_start..].find(')')?;
    let url = &s[url_start..url_start + url_len];
    if url.contains(' ') || url.is_empty() {
        return None;
    }
    Some((text, url, url_start + url_len + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const README_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");

    #[test]
    fn the_readme_tables_are_the_rendered_ones() {
        let readme = std::fs::read_to_string(README_PATH).expect("README.md");
        let fresh = with_readme_table(&readme).unwrap();
        assert!(
            readme == fresh,
            "README.md's generated tables differ from rust/engine/src/config/table.rs or \
             rust/engine/src/counters.rs: regenerate them with `cargo run -q -p \
             slack-alert-engine --example option-docs -- readme README.md` (edit the tables, \
             not the README)"
        );
    }

    #[test]
    fn readme_table_has_a_row_per_option() {
        let table = markdown_table();
        assert_eq!(table.lines().count(), 2 + OPTION_TABLE.len());
        for o in OPTION_TABLE {
            assert!(table.contains(&format!("\n| `{}` |", o.name)), "{}", o.name);
        }
    }

    #[test]
    fn replacing_the_blocks_keeps_the_rest() {
        let [options, counters, rules] = README_BLOCKS else {
            panic!("three generated blocks")
        };
        let old = format!(
            "intro\n{README_BEGIN}\nstale\n{README_END}\nmiddle\n{}\nstale\n{}\n{}\n{}\nafter\n",
            counters.begin, counters.end, rules.begin, rules.end
        );
        let new = with_readme_table(&old).unwrap();
        assert!(new.starts_with(&format!("intro\n{README_BEGIN}\n| Option |")));
        assert!(new.contains(&format!(
            "|\n{README_END}\nmiddle\n{}\n| Counter |",
            counters.begin
        )));
        assert!(new.contains("| `internal_errors` | "), "{new}");
        assert!(new.ends_with(&format!("|\n{}\nafter\n", rules.end)));
        assert!(new.contains("| `flatline_alerts` | "), "{new}");
        assert_eq!(with_readme_table(&new).unwrap(), new);
        assert!(with_readme_table("no markers").is_err());
        assert!(with_readme_table(&format!("{README_END}\n{README_BEGIN}")).is_err());
        let only_options = format!("{}\n{}\n", options.begin, options.end);
        assert!(with_readme_table(&only_options)
            .unwrap_err()
            .contains("counters:begin"));
    }

    #[test]
    fn counter_tables_have_a_row_per_counter() {
        for docs in [COUNTER_DOCS, RULE_COUNTER_DOCS] {
            let table = counter_table(docs);
            assert_eq!(table.lines().count(), 2 + docs.len());
            for d in docs {
                assert!(table.contains(&format!("\n| `{}` | {} |", d.name, d.help)));
            }
        }
    }

    #[test]
    fn asciidoc_has_logstashs_layout_and_every_option() {
        let doc = asciidoc();
        assert!(doc.starts_with(":plugin: slack_alert\n:type: filter\n"));
        for part in [
            "[id=\"plugins-{type}s-{plugin}\"]",
            "==== Description",
            "[id=\"plugins-{type}s-{plugin}-options\"]\n==== Slack Alert Filter Configuration Options",
            "|Setting |Input type|Required",
            "include::{include_path}/{type}.asciidoc[]",
        ] {
            assert!(doc.contains(part), "{part}");
        }
        for o in OPTION_TABLE {
            let ty = o.input_type.as_str();
            let row = format!(
                "| <<plugins-{{type}}s-{{plugin}}-{}>> |<<{ty},{ty}>>|",
                o.name
            );
            assert_eq!(doc.matches(&row).count(), 1, "{row}");
            let section = format!(
                "[id=\"plugins-{{type}}s-{{plugin}}-{0}\"]\n===== `{0}`\n\n",
                o.name
            );
            assert_eq!(doc.matches(&section).count(), 1, "{section}");
        }
        assert_eq!(
            doc.matches("\n===== `").count(),
            OPTION_TABLE.len(),
            "a section for an option the table does not have"
        );
    }

    #[test]
    fn inline_markdown_becomes_asciidoc() {
        assert_eq!(inline("use `%{message}` here"), "use `+%{message}+` here");
        assert_eq!(inline("a {b}"), "a \\{b}");
        assert_eq!(
            inline("([Rust `regex` syntax](https://docs.rs/regex/#syntax), x)"),
            "(https://docs.rs/regex/#syntax[Rust `+regex+` syntax], x)"
        );
        assert_eq!(inline("see [Rules](#rules)."), "see Rules.");
        assert_eq!(inline("`\\d+ [a]`"), "`pass:c[\\d+ [a\\]]`");
        assert_eq!(inline("[not a link] `x`"), "[not a link] `+x+`");
    }
}
