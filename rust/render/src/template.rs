//! `%{...}` templates: Logstash's sprintf references inside operator text.
//!
//! Operators already know Logstash's `%{[field]}` syntax from `add_field`
//! and the `slack` output, and the seed pipeline's message was written in it,
//! so `title` and `format` use the same syntax instead of inventing one.
//!
//! The trust boundary is the point of this module: template text was written
//! by the operator and is passed through verbatim (it may carry `<!here>` or
//! `<https://runbook|runbook>` on purpose), while every value pulled from an
//! event is escaped, so a log line cannot ping a channel or forge a link.

use std::fmt;

use slack_alert_event::{value_text, FieldRef, FieldRefError, Fields};

use crate::escape::{escape_mrkdwn, replace_controls};

/// Shown for a reference whose field is missing or null, so a reader can
/// tell "no value" from "empty value".
pub const MISSING: &str = "-";

/// A parsed template: literal text and field references.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Field { canonical: String },
}

impl Template {
    /// Parses operator-written template text.
    ///
    /// - `%{[a][b]}`, `%{[a.b]}`, `%{a.b}` and `%{message}` are references,
    ///   with [`FieldRef`] semantics.
    /// - The two-character sequences `\n` and `\t` in the literal text become
    ///   a newline and a tab: Logstash delivers them literally unless
    ///   `config.support_escapes` is on, and configs are written with them.
    /// - An unterminated `%{` is kept as literal text.
    ///
    /// Returns an error for Logstash date formatting (`%{+yyyy.MM.dd}`,
    /// `%{{yyyy}}`), which is not supported, and for a malformed reference.
    pub fn parse(s: &str) -> Result<Template, TemplateError> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = s;
        while let Some(start) = rest.find("%{") {
            literal.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                literal.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let inner = after[..end].trim();
            if let Some(format) = inner.strip_prefix('+').or_else(|| inner.strip_prefix('{')) {
                return Err(TemplateError::DateFormat {
                    format: format.to_string(),
                });
            }
            let reference =
                FieldRef::parse(inner).map_err(|source| TemplateError::BadReference {
                    reference: after[..end].to_string(),
                    source,
                })?;
            flush(&mut pieces, &mut literal);
            pieces.push(Piece::Field {
                canonical: reference.canonical(),
            });
            rest = &after[end + 1..];
        }
        literal.push_str(rest);
        flush(&mut pieces, &mut literal);
        Ok(Template {
            source: s.to_string(),
            pieces,
        })
    }

    /// The template text as the operator wrote it.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The canonical references the template uses, in order of first use,
    /// without duplicates.
    pub fn references(&self) -> Vec<String> {
        let mut refs: Vec<String> = Vec::new();
        for piece in &self.pieces {
            if let Piece::Field { canonical } = piece {
                if !refs.contains(canonical) {
                    refs.push(canonical.clone());
                }
            }
        }
        refs
    }

    /// Renders for `mrkdwn`: literal text verbatim, each value rendered by
    /// [`value_text`] and escaped with [`escape_mrkdwn`]; a missing or null
    /// field renders as [`MISSING`].
    pub fn render(&self, fields: &dyn Fields) -> String {
        self.render_bounded(fields, true, usize::MAX)
    }

    /// Renders for `plain_text`, which Slack does not parse: like
    /// [`Template::render`] but values are not escaped (control characters
    /// are still replaced).
    pub fn render_plain(&self, fields: &dyn Fields) -> String {
        self.render_bounded(fields, false, usize::MAX)
    }

    /// Renders with each value cut to at most `max_value_chars + 1`
    /// characters before escaping, so a 10 MB message costs no more than
    /// the budget it will be truncated to anyway. The caller truncates the
    /// result (the extra character makes sure its marker appears).
    pub(crate) fn render_bounded(
        &self,
        fields: &dyn Fields,
        escape: bool,
        max_value_chars: usize,
    ) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Field { canonical } => {
                    match fields.get(canonical).filter(|v| !v.is_null()) {
                        None => out.push_str(MISSING),
                        Some(value) => {
                            let text = value_text(value);
                            let text = char_prefix(&text, max_value_chars.saturating_add(1));
                            if escape {
                                out.push_str(&escape_mrkdwn(text));
                            } else {
                                out.push_str(&replace_controls(text));
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

/// One piece of a parsed template, for the other renderers of this crate
/// (link URLs, JSON bodies) that substitute values their own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part<'a> {
    /// Operator text (with `\n` and `\t` already turned into newline and tab).
    Literal(&'a str),
    /// A canonical field reference.
    Field(&'a str),
}

impl Template {
    /// The pieces in order.
    pub(crate) fn parts(&self) -> impl Iterator<Item = Part<'_>> {
        self.pieces.iter().map(|piece| match piece {
            Piece::Literal(text) => Part::Literal(text),
            Piece::Field { canonical } => Part::Field(canonical),
        })
    }

    /// The canonical reference if and only if the template is exactly one
    /// reference and nothing else (`"%{[a]}"`, not `" %{[a]}"`).
    pub(crate) fn single_reference(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [Piece::Field { canonical }] => Some(canonical),
            _ => None,
        }
    }
}

impl fmt::Display for Template {
    /// Prints the template text as written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Moves pending literal text into `pieces`, turning `\n` and `\t` into
/// newline and tab.
fn flush(pieces: &mut Vec<Piece>, literal: &mut String) {
    if literal.is_empty() {
        return;
    }
    let text = literal.replace("\\n", "\n").replace("\\t", "\t");
    literal.clear();
    pieces.push(Piece::Literal(text));
}

/// The first `max_chars` characters of `s`.
pub(crate) fn char_prefix(s: &str, max_chars: usize) -> &str {
    if s.len() <= max_chars {
        return s;
    }
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Why a template could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemplateError {
    /// Occurs when the template uses Logstash date formatting, `%{+FORMAT}`
    /// or `%{{FORMAT}}`, which slack_alert does not implement.
    DateFormat {
        /// The format as written after `+` (or inside the inner braces).
        format: String,
    },
    /// Occurs when the text inside `%{...}` is not a field reference.
    BadReference {
        /// The text between `%{` and `}`.
        reference: String,
        /// What is wrong with it.
        source: FieldRefError,
    },
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::DateFormat { format } => write!(
                f,
                "date formatting `%{{+{format}}}` is not supported; use `%{{[@timestamp]}}` to show the event time"
            ),
            TemplateError::BadReference { reference, source } => {
                write!(f, "`%{{{reference}}}` is not a valid reference: {source}")
            }
        }
    }
}

impl std::error::Error for TemplateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TemplateError::DateFormat { .. } => None,
            TemplateError::BadReference { source, .. } => Some(source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::seed_event;
    use serde_json::{json, Value};

    /// The message format of the Logstash pipeline this plugin replaces,
    /// exactly as its config file spelled it (`\n` as two characters).
    const SEED_FORMAT: &str = r"🚨 *AnoniChat 에러 발생!*\n레벨: %{[log.level]}\n시간: %{[@timestamp]}\n스레드: %{[process.thread.name]}\n로거: %{[log.logger]}\n메시지: %{message}\nTrace ID: %{[trace.id]}\n서비스: %{[service.name]}";

    fn render(template: &str, event: &Value) -> String {
        Template::parse(template).unwrap().render(event)
    }

    fn flat_ecs_event() -> Value {
        seed_event(json!({"ecs.version": "1.2.0"}))
    }

    #[test]
    fn seed_format_with_flat_ecs_keys() {
        let out = render(SEED_FORMAT, &flat_ecs_event());
        assert_eq!(
            out,
            "🚨 *AnoniChat 에러 발생!*\n레벨: ERROR\n시간: 2024-05-01T12:34:56.789Z\n\
             스레드: http-nio-8080-exec-3\n로거: com.anonichat.chat.ChatService\n\
             메시지: 채팅방 저장 실패: roomId=42\nTrace ID: 4bf92f3577b34da6a3ce929d0e0e4736\n\
             서비스: anonichat-api"
        );
        // With `config.support_escapes` on, Logstash delivers real newlines.
        let unescaped = SEED_FORMAT.replace("\\n", "\n");
        assert_eq!(render(&unescaped, &flat_ecs_event()), out);
    }

    #[test]
    fn seed_format_with_nested_keys_shows_missing_for_flat_refs() {
        // `[log.level]` names a top-level key with a dot; nested data does not
        // have one. That is Logstash's own semantics, so we match it.
        let nested = json!({
            "@timestamp": "2024-05-01T12:34:56.789Z",
            "log": {"level": "ERROR", "logger": "com.anonichat.chat.ChatService"},
            "process": {"thread": {"name": "main"}},
            "message": "boom",
            "trace": {"id": "abc"},
            "service": {"name": "anonichat-api"}
        });
        let out = render(SEED_FORMAT, &nested);
        assert_eq!(
            out,
            "🚨 *AnoniChat 에러 발생!*\n레벨: -\n시간: 2024-05-01T12:34:56.789Z\n스레드: -\n\
             로거: -\n메시지: boom\nTrace ID: -\n서비스: -"
        );
        assert_eq!(
            render("%{[log][level]} %{[process][thread][name]}", &nested),
            "ERROR main"
        );
    }

    #[test]
    fn every_reference_form() {
        let event = json!({"a": {"b": 1}, "a.b": "flat", "message": "m", "@timestamp": "t"});
        assert_eq!(render("%{[a][b]}", &event), "1");
        assert_eq!(render("%{[a.b]}", &event), "flat");
        assert_eq!(render("%{a.b}", &event), "flat");
        assert_eq!(render("%{message}|%{[message]}", &event), "m|m");
        assert_eq!(render("%{@timestamp}", &event), "t");
        assert_eq!(
            render("%{ [a][b] }", &event),
            "1",
            "whitespace inside is ignored"
        );
    }

    #[test]
    fn missing_and_null_render_as_a_dash() {
        let event = json!({"n": null, "e": ""});
        assert_eq!(
            render("[%{nope}] [%{n}] [%{[x][y]}] [%{e}]", &event),
            "[-] [-] [-] []"
        );
    }

    #[test]
    fn values_are_escaped_but_template_text_is_not() {
        let event = json!({"message": "<!channel> & <https://evil|click> <@U123>"});
        let out = render("<!here> see <https://runbook|runbook>: %{message}", &event);
        assert_eq!(
            out,
            "<!here> see <https://runbook|runbook>: &lt;!channel&gt; &amp; &lt;https://evil|click&gt; &lt;@U123&gt;"
        );
        let plain = Template::parse("%{message}\u{1}").unwrap();
        let event = json!({"message": "<b>\u{7}"});
        assert_eq!(plain.render_plain(&event), "<b>\u{FFFD}\u{1}");
    }

    #[test]
    fn values_render_as_their_text_escaped() {
        let event = json!({"tags": ["x", "y"], "obj": {"a": "<b>"}});
        assert_eq!(render("%{tags} %{obj}", &event), r#"x,y {"a":"&lt;b&gt;"}"#);
    }

    #[test]
    fn backslash_n_and_t_become_newline_and_tab() {
        let event = json!({"a": "x\\ny"});
        // Only the template text is unescaped; values keep their backslashes.
        assert_eq!(render(r"a\nb\tc %{a}", &event), "a\nb\tc x\\ny");
    }

    #[test]
    fn date_formatting_is_rejected_with_a_suggestion() {
        let e = Template::parse("at %{+yyyy.MM.dd HH:mm}").unwrap_err();
        assert_eq!(
            e,
            TemplateError::DateFormat {
                format: "yyyy.MM.dd HH:mm".into()
            }
        );
        assert!(e.to_string().contains("`%{[@timestamp]}`"), "{e}");
        assert!(matches!(
            Template::parse("%{{yyyy}}"),
            Err(TemplateError::DateFormat { .. })
        ));
    }

    #[test]
    fn malformed_references_name_the_reference() {
        let e = Template::parse("x %{[a]b} y").unwrap_err();
        assert!(
            matches!(e, TemplateError::BadReference { ref reference, .. } if reference == "[a]b")
        );
        assert!(e.to_string().contains("`%{[a]b}`"), "{e}");
        assert!(std::error::Error::source(&e).is_some());
        assert!(Template::parse("%{}").is_err());
        assert!(Template::parse("%{[a][]}").is_err());
    }

    #[test]
    fn an_unterminated_reference_is_literal_text() {
        let event = json!({"a": "A"});
        assert_eq!(render("%{a} and %{b", &event), "A and %{b");
        assert_eq!(render("50%{", &event), "50%{");
        assert_eq!(render("100% done {x}", &event), "100% done {x}");
    }

    #[test]
    fn references_are_canonical_ordered_and_unique() {
        let t = Template::parse("%{message} %{[a][b]} %{a.b} %{[message]} %{@timestamp}").unwrap();
        assert_eq!(
            t.references(),
            ["[message]", "[a][b]", "[a.b]", "[@timestamp]"]
        );
        assert_eq!(
            t.as_str(),
            "%{message} %{[a][b]} %{a.b} %{[message]} %{@timestamp}"
        );
        assert!(Template::parse("no refs").unwrap().references().is_empty());
        assert_eq!(Template::parse("").unwrap().render(&json!({})), "");
    }

    #[test]
    fn bounded_rendering_cuts_values_before_escaping() {
        let event = json!({"m": "<".repeat(1000)});
        let t = Template::parse("x%{m}").unwrap();
        assert_eq!(
            t.render_bounded(&event, true, 3),
            format!("x{}", "&lt;".repeat(4))
        );
        assert_eq!(char_prefix("한국어", 2), "한국");
        assert_eq!(char_prefix("ab", 5), "ab");
    }
}
