//! HTML escaping: every byte of a payload reaches the page through here.
//!
//! Log lines end up in these payloads, so a `<script>` or `<img onerror>` in
//! one must show as text. [`text`] is used for element content and
//! [`attribute`] for quoted attribute values; both escape the same five
//! characters, so either is safe anywhere the page puts text.

use std::borrow::Cow;

/// `&`, `<`, `>`, `"` and `'` as entities; borrowed if nothing changes.
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The same escaping as [`text`], for a value inside double quotes.
pub fn attribute(s: &str) -> Cow<'_, str> {
    text(s)
}

/// A colour a payload gave an attachment, as CSS: Slack's three names or a
/// `#rgb`/`#rrggbb` code. Anything else is no colour (`None`), so a payload
/// cannot write its own CSS into the page.
pub fn color(value: &str) -> Option<String> {
    let value = value.trim();
    let named = match value.to_ascii_lowercase().as_str() {
        "good" => Some("#2eb886"),
        "warning" => Some("#daa038"),
        "danger" => Some("#a30200"),
        _ => None,
    };
    if let Some(named) = named {
        return Some(named.to_string());
    }
    // Slack takes the code with or without its `#`.
    let hex = value.strip_prefix('#').unwrap_or(value);
    (matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("#{}", hex.to_ascii_lowercase()))
}

/// Returns true if and only if a link to `url` may be followed from the
/// page: `http:`, `https:` and `mailto:` only (no `javascript:`, no `data:`).
pub fn is_safe_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    ["http://", "https://", "mailto:"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            text(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(
            attribute(r#"x" onmouseover="y"#),
            "x&quot; onmouseover=&quot;y"
        );
        assert!(matches!(text("plain 한국어 🚨"), Cow::Borrowed(_)));
    }

    #[test]
    fn only_real_colours_reach_the_css() {
        assert_eq!(color("#D00000").as_deref(), Some("#d00000"));
        assert_eq!(color("d00000").as_deref(), Some("#d00000"));
        assert_eq!(color("#abc").as_deref(), Some("#abc"));
        assert_eq!(color("danger").as_deref(), Some("#a30200"));
        assert_eq!(color("red; background:url(//x)"), None);
        assert_eq!(color("#12345g"), None);
        assert_eq!(color(""), None);
    }

    #[test]
    fn only_web_and_mail_links_are_followed() {
        assert!(is_safe_url("https://kibana.example.com/app?q=1"));
        assert!(is_safe_url("HTTP://x.test"));
        assert!(is_safe_url("mailto:ops@example.com"));
        assert!(!is_safe_url("javascript:alert(1)"));
        assert!(!is_safe_url(" data:text/html,<script>"));
        assert!(!is_safe_url("//evil.test"));
    }
}
