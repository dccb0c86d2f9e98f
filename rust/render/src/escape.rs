//! mrkdwn escaping.
//!
//! In Slack's `mrkdwn`, `&`, `<` and `>` are control characters: `<!channel>`
//! pings a whole channel and `<https://evil|click>` forges a link. Text that
//! comes from log events therefore always passes through [`escape_mrkdwn`]
//! before it reaches a payload; only operator-written configuration may carry
//! mentions and links.
//!
//! Control characters are replaced too: they cannot do harm in Slack, but
//! they make payloads unreadable in logs and terminals (the dry-run output
//! and the demo receiver print them).

use std::borrow::Cow;

/// Shown in place of a control character.
pub const REPLACEMENT: char = '\u{FFFD}';

/// Escapes `&`, `<` and `>` as `&amp;`, `&lt;` and `&gt;` (and nothing else,
/// so `*`, `_` and backticks keep working as formatting), and replaces ASCII
/// control characters other than `\n` and `\t` with U+FFFD.
///
/// A `\r\n` line ending counts as `\n`: stack traces from Windows hosts would
/// otherwise show U+FFFD at the end of every line.
///
/// Returns the input borrowed if and only if nothing had to change.
pub fn escape_mrkdwn(s: &str) -> Cow<'_, str> {
    rewrite(s, true)
}

/// Replaces ASCII control characters other than `\n` and `\t` with U+FFFD
/// (and `\r\n` with `\n`), leaving everything else as is.
///
/// For `plain_text` objects, which Slack does not parse, so `&`, `<` and `>`
/// must stay as they are. Borrowed if and only if nothing had to change.
pub fn replace_controls(s: &str) -> Cow<'_, str> {
    rewrite(s, false)
}

/// Undoes [`escape_mrkdwn`]'s entities for display outside Slack: `&lt;`,
/// `&gt;` and `&amp;` become `<`, `>` and `&`. Borrowed if nothing changes.
pub fn unescape_mrkdwn(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let (text, len) = if rest.starts_with("&lt;") {
            ("<", 4)
        } else if rest.starts_with("&gt;") {
            (">", 4)
        } else if rest.starts_with("&amp;") {
            ("&", 5)
        } else {
            ("&", 1)
        };
        out.push_str(text);
        rest = &rest[len..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn is_unwanted_control(c: char) -> bool {
    c.is_ascii_control() && c != '\n' && c != '\t'
}

fn needs_rewrite(c: char, entities: bool) -> bool {
    (entities && matches!(c, '&' | '<' | '>')) || is_unwanted_control(c)
}

fn rewrite(s: &str, entities: bool) -> Cow<'_, str> {
    let Some(first) = s.find(|c| needs_rewrite(c, entities)) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 16);
    out.push_str(&s[..first]);
    let mut chars = s[first..].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' if entities => out.push_str("&amp;"),
            '<' if entities => out.push_str("&lt;"),
            '>' if entities => out.push_str("&gt;"),
            '\r' if chars.peek() == Some(&'\n') => {}
            c if is_unwanted_control(c) => out.push(REPLACEMENT),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_and_links_from_events_are_defused() {
        assert_eq!(escape_mrkdwn("<!channel>"), "&lt;!channel&gt;");
        assert_eq!(escape_mrkdwn("<!here> now"), "&lt;!here&gt; now");
        assert_eq!(escape_mrkdwn("hi <@U123>"), "hi &lt;@U123&gt;");
        assert_eq!(
            escape_mrkdwn("<https://evil|click>"),
            "&lt;https://evil|click&gt;"
        );
        assert_eq!(escape_mrkdwn("<!everyone>"), "&lt;!everyone&gt;");
    }

    #[test]
    fn ampersands_are_escaped_even_when_they_look_like_entities() {
        // An event that already says `&amp;` must display `&amp;`, not `&`.
        assert_eq!(escape_mrkdwn("&amp;"), "&amp;amp;");
        assert_eq!(escape_mrkdwn("a & b"), "a &amp; b");
        assert_eq!(
            unescape_mrkdwn(&escape_mrkdwn("&amp; <x> &lt;")),
            "&amp; <x> &lt;"
        );
    }

    #[test]
    fn unchanged_text_is_borrowed() {
        for s in [
            "",
            "plain",
            "한국어 🚨 *bold* _it_ `code`",
            "tab\tand\nnewline",
        ] {
            assert!(matches!(escape_mrkdwn(s), Cow::Borrowed(_)), "{s:?}");
            assert!(matches!(replace_controls(s), Cow::Borrowed(_)), "{s:?}");
            assert!(matches!(unescape_mrkdwn(s), Cow::Borrowed(_)), "{s:?}");
        }
    }

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(
            escape_mrkdwn("a\u{0}b\u{1b}[31mc\u{7f}"),
            "a\u{FFFD}b\u{FFFD}[31mc\u{FFFD}"
        );
        assert_eq!(
            escape_mrkdwn("keep\ttab\nand newline"),
            "keep\ttab\nand newline"
        );
        assert_eq!(
            escape_mrkdwn("crlf\r\nline\rlone"),
            "crlf\nline\u{FFFD}lone"
        );
        assert_eq!(replace_controls("<b>\u{7}&"), "<b>\u{FFFD}&");
    }

    #[test]
    fn unescape_leaves_unknown_ampersands() {
        assert_eq!(
            unescape_mrkdwn("&lt;a&gt; &amp; &quot; & x&"),
            "<a> & &quot; & x&"
        );
    }
}
