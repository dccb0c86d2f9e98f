//! Link templates: a URL written by the operator, filled in from the event.
//!
//! An alert can carry a button to the logs around it, e.g. Kibana Discover
//! filtered on the event's trace id:
//! `https://kibana.example.com/app/discover#/?_a=(query:(query:'trace.id:"%{[trace.id]}"'))`.
//!
//! The URL is operator text, but the values substituted into it come from
//! log events, so they are percent-encoded (every byte but RFC 3986's
//! unreserved characters `A-Z a-z 0-9 - . _ ~`). An event therefore cannot
//! change where the link points (no reference is allowed before the path,
//! and an encoded value holds no `/`, `?`, `#` or `@`), cannot break out of
//! the URL with a space, `>` or `|`, and cannot turn `https://` into
//! `javascript:`.

use std::fmt;

use slack_alert_event::{value_text, Fields};

use crate::limits::{BUTTON_TEXT_MAX, BUTTON_URL_MAX};
use crate::template::{char_prefix, Part, Template, TemplateError};
use crate::truncate::char_len;

/// The button label when the operator sets none.
pub const DEFAULT_LINK_TEXT: &str = "Open logs";

/// The most characters a rendered link may have: Slack's limit for a
/// button's `url` (a longer one is a 400 and the whole alert is lost).
pub const LINK_MAX: usize = BUTTON_URL_MAX;

/// The most characters a button label may have (Slack's limit).
pub const LINK_TEXT_MAX: usize = BUTTON_TEXT_MAX;

/// A validated URL template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkTemplate {
    template: Template,
}

/// A link to render in a message: the URL template and the button label
/// (operator text, at most [`LINK_TEXT_MAX`] characters; longer is cut).
#[derive(Clone, Copy, Debug)]
pub struct Link<'a> {
    /// The URL template.
    pub template: &'a LinkTemplate,
    /// The button label.
    pub text: &'a str,
}

impl LinkTemplate {
    /// Parses and validates an operator-written URL template.
    ///
    /// The text must start with `http://` or `https://` (any case), name a
    /// host, have no `%{` reference before the path (scheme, host and port
    /// are fixed by the operator), contain no whitespace, control character,
    /// `<`, `>`, `|` or `"` outside references (write them percent-encoded,
    /// e.g. `%20`), and be at most [`LINK_MAX`] characters without its
    /// values. References follow [`Template`]'s syntax.
    pub fn parse(s: &str) -> Result<LinkTemplate, LinkError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(LinkError::Empty);
        }
        let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
        let rest = if lower.starts_with("https://") {
            &s[8..]
        } else if lower.starts_with("http://") {
            &s[7..]
        } else {
            return Err(LinkError::Scheme);
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if authority.contains("%{") {
            return Err(LinkError::ReferenceInHost);
        }
        if authority.is_empty() || authority.starts_with(':') || authority.ends_with('@') {
            return Err(LinkError::NoHost);
        }
        let template = Template::parse(s).map_err(LinkError::Template)?;
        let mut literal_chars = 0;
        for part in template.parts() {
            if let Part::Literal(text) = part {
                if let Some(c) = text.chars().find(|&c| forbidden(c)) {
                    return Err(LinkError::BadCharacter(c));
                }
                literal_chars += char_len(text);
            }
        }
        if literal_chars > LINK_MAX {
            return Err(LinkError::TooLong {
                chars: literal_chars,
            });
        }
        Ok(LinkTemplate { template })
    }

    /// The template as the operator wrote it (trimmed).
    pub fn as_str(&self) -> &str {
        self.template.as_str()
    }

    /// The canonical references the URL uses, in order of first use,
    /// without duplicates.
    pub fn references(&self) -> Vec<String> {
        self.template.references()
    }

    /// The URL for one event: operator text verbatim, each value (see
    /// [`value_text`]) percent-encoded; a missing or null field is an empty
    /// value.
    ///
    /// Returns `None` if and only if the URL would have more than
    /// [`LINK_MAX`] characters: Slack rejects the whole message then, and a
    /// cut URL would lead somewhere else.
    pub fn render(&self, fields: &dyn Fields) -> Option<String> {
        let mut url = String::new();
        let mut chars = 0;
        for part in self.template.parts() {
            match part {
                Part::Literal(text) => {
                    url.push_str(text);
                    chars += char_len(text);
                }
                Part::Field(reference) => {
                    let Some(value) = fields.get(reference).filter(|v| !v.is_null()) else {
                        continue;
                    };
                    let text = value_text(value);
                    // Every character encodes to at least one: no more than
                    // what could still fit is ever encoded.
                    let text = char_prefix(&text, LINK_MAX.saturating_sub(chars) + 1);
                    let before = url.len();
                    percent_encode(text, &mut url);
                    // The encoding is ASCII: bytes are characters.
                    chars += url.len() - before;
                }
            }
            if chars > LINK_MAX {
                return None;
            }
        }
        Some(url)
    }
}

impl fmt::Display for LinkTemplate {
    /// Prints the template as written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks an operator-written button label: not blank, no control
/// characters, at most [`LINK_TEXT_MAX`] characters.
pub fn check_text(text: &str) -> Result<(), LinkError> {
    if text.trim().is_empty() {
        return Err(LinkError::BlankText);
    }
    if text.chars().any(char::is_control) {
        return Err(LinkError::ControlInText);
    }
    let chars = char_len(text);
    if chars > LINK_TEXT_MAX {
        return Err(LinkError::TextTooLong { chars });
    }
    Ok(())
}

/// Characters an operator may not write outside references: they cannot
/// appear in a URL as such, and `<`, `>`, `|` would end a mrkdwn link.
fn forbidden(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '|' | '"')
}

/// Appends `text` to `out` with every byte but RFC 3986's unreserved
/// characters as `%XX`.
fn percent_encode(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in text.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        }
    }
}

/// Why a link template or label was refused. Messages name the problem
/// and never contain event data (templates are checked before any event).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkError {
    /// Occurs when the template is empty or blank.
    Empty,
    /// Occurs when the template does not start with `http://` or `https://`.
    Scheme,
    /// Occurs when nothing names a host after the scheme.
    NoHost,
    /// Occurs when a `%{...}` reference appears in the scheme, host or port,
    /// where an event could choose where the link leads.
    ReferenceInHost,
    /// Occurs when the operator text holds a character a URL cannot carry
    /// as such.
    BadCharacter(char),
    /// Occurs when the operator text alone exceeds [`LINK_MAX`] characters.
    TooLong {
        /// Characters of operator text.
        chars: usize,
    },
    /// Occurs when a reference is malformed or uses date formatting.
    Template(TemplateError),
    /// Occurs when a button label is blank.
    BlankText,
    /// Occurs when a button label holds a control character (a newline).
    ControlInText,
    /// Occurs when a button label exceeds [`LINK_TEXT_MAX`] characters.
    TextTooLong {
        /// Characters in the label.
        chars: usize,
    },
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkError::Empty => f.write_str("the link template is empty"),
            LinkError::Scheme => {
                f.write_str("the link must start with `http://` or `https://`")
            }
            LinkError::NoHost => f.write_str("the link names no host after `://`"),
            LinkError::ReferenceInHost => f.write_str(
                "the scheme, host and port of the link must be written out: move `%{...}` references after the first `/`, `?` or `#`",
            ),
            LinkError::BadCharacter(c) => {
                let what = match c {
                    ' ' => "a space".to_string(),
                    c if c.is_whitespace() || c.is_control() => {
                        format!("the control or whitespace character U+{:04X}", u32::from(*c))
                    }
                    c => format!("`{c}`"),
                };
                let mut utf8 = [0u8; 4];
                let encoded: String = c
                    .encode_utf8(&mut utf8)
                    .bytes()
                    .map(|b| format!("%{b:02X}"))
                    .collect();
                write!(
                    f,
                    "the link contains {what}, which a URL cannot carry as such; write it percent-encoded (`{encoded}`)"
                )
            }
            LinkError::TooLong { chars } => write!(
                f,
                "the link has {chars} characters without its values (Slack allows {LINK_MAX})"
            ),
            LinkError::Template(e) => write!(f, "{e}"),
            LinkError::BlankText => f.write_str("the link text is empty"),
            LinkError::ControlInText => {
                f.write_str("the link text must be one line without control characters")
            }
            LinkError::TextTooLong { chars } => write!(
                f,
                "the link text has {chars} characters (Slack allows {LINK_TEXT_MAX} on a button)"
            ),
        }
    }
}

impl std::error::Error for LinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LinkError::Template(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KIBANA: &str =
        "https://kibana.example.com/app/discover#/?_a=(query:(query:'trace.id:%{[trace.id]}'))";

    fn render(template: &str, event: &serde_json::Value) -> Option<String> {
        LinkTemplate::parse(template).unwrap().render(event)
    }

    #[test]
    fn a_kibana_link_is_filled_in() {
        let t = LinkTemplate::parse(KIBANA).unwrap();
        assert_eq!(t.references(), ["[trace.id]"]);
        assert_eq!(t.to_string(), KIBANA);
        let event = json!({"trace.id": "4bf92f35"});
        assert_eq!(
            t.render(&event).unwrap(),
            "https://kibana.example.com/app/discover#/?_a=(query:(query:'trace.id:4bf92f35'))"
        );
        // Numbers read as their JSON text; missing and null are empty.
        assert_eq!(
            render(
                "http://x.test/?n=%{n}&m=%{m}&z=%{z}",
                &json!({"n": 42, "z": null})
            )
            .unwrap(),
            "http://x.test/?n=42&m=&z="
        );
    }

    #[test]
    fn event_values_cannot_escape_the_url() {
        let t = LinkTemplate::parse("https://logs.test/search?q=%{message}").unwrap();
        for (value, encoded) in [
            ("x\" onclick", "x%22%20onclick"),
            ("https://evil", "https%3A%2F%2Fevil"),
            ("<!channel>", "%3C%21channel%3E"),
            ("a|b>c", "a%7Cb%3Ec"),
            (
                "../../admin?x=1#f@evil",
                "..%2F..%2Fadmin%3Fx%3D1%23f%40evil",
            ),
            ("한국어 😀", "%ED%95%9C%EA%B5%AD%EC%96%B4%20%F0%9F%98%80"),
            ("keep-._~AZaz09", "keep-._~AZaz09"),
            ("\n\r\t%", "%0A%0D%09%25"),
        ] {
            let url = t.render(&json!({ "message": value })).unwrap();
            assert_eq!(url, format!("https://logs.test/search?q={encoded}"));
            let value_part = &url["https://logs.test/search?q=".len()..];
            assert!(
                value_part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._~%".contains(c)),
                "{value_part}"
            );
        }
    }

    #[test]
    fn references_before_the_path_are_refused() {
        for template in [
            "https://%{host}/x",
            "https://kibana.%{domain}/x",
            "https://kibana:%{port}/",
            "https://kibana.test%{path}",
            "https://u%{user}@kibana.test/",
            "%{[url]}",
            "http%{s}://x.test/",
        ] {
            let e = LinkTemplate::parse(template).unwrap_err();
            assert!(
                matches!(e, LinkError::ReferenceInHost | LinkError::Scheme),
                "{template}: {e:?}"
            );
        }
        assert!(LinkTemplate::parse("https://kibana.test/%{a}").is_ok());
        assert!(LinkTemplate::parse("https://kibana.test?q=%{a}").is_ok());
        assert!(LinkTemplate::parse("HTTPS://kibana.test#%{a}").is_ok());
    }

    #[test]
    fn validation_says_what_is_wrong() {
        let message = |s: &str| LinkTemplate::parse(s).unwrap_err().to_string();
        assert_eq!(message("  "), "the link template is empty");
        assert!(message("javascript:alert(1)").contains("`http://` or `https://`"));
        assert!(message("ftp://x.test/").contains("`https://`"));
        assert!(message("https:///path").contains("no host"));
        assert!(message("https://%{h}/").contains("after the first `/`"));
        assert!(message("https://x.test/a b").contains("a space"));
        assert!(message("https://x.test/a b").contains("`%20`"));
        assert!(message("https://x.test/<a>").contains("`%3C`"));
        assert!(message("https://x.test/a|b").contains("`%7C`"));
        assert!(message(r"https://x.test/a\nb").contains("U+000A"));
        assert!(message("https://x.test/%{+yyyy}").contains("date formatting"));
        assert!(message("https://x.test/%{[a]b}").contains("not a valid reference"));
        let long = format!("https://x.test/{}", "a".repeat(LINK_MAX));
        assert!(message(&long).contains("characters"));
    }

    #[test]
    fn too_long_urls_render_as_none() {
        let base = "https://x.test/?q=";
        let t = LinkTemplate::parse(&format!("{base}%{{m}}")).unwrap();
        let fits = "a".repeat(LINK_MAX - base.len());
        assert_eq!(
            t.render(&json!({ "m": fits })).map(|u| u.len()),
            Some(LINK_MAX)
        );
        let over = "a".repeat(LINK_MAX - base.len() + 1);
        assert_eq!(t.render(&json!({ "m": over })), None);
        // Encoding triples a byte: 1000 Korean characters are 9000 characters.
        assert_eq!(t.render(&json!({ "m": "한".repeat(1000) })), None);
        assert_eq!(t.render(&json!({ "m": "x".repeat(10_000_000) })), None);
    }

    #[test]
    fn button_labels_are_checked() {
        assert!(check_text(DEFAULT_LINK_TEXT).is_ok());
        assert!(check_text(&"가".repeat(75)).is_ok());
        assert_eq!(
            check_text(&"가".repeat(76)),
            Err(LinkError::TextTooLong { chars: 76 })
        );
        assert_eq!(check_text(" "), Err(LinkError::BlankText));
        assert_eq!(check_text("a\nb"), Err(LinkError::ControlInText));
        assert!(LinkError::TextTooLong { chars: 76 }
            .to_string()
            .contains("75"));
    }
}
