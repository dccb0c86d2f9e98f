//! Char-boundary truncation with a visible marker.
//!
//! Slack counts characters (Unicode scalar values), not bytes, and a breach
//! of any limit loses the whole message. Alerts routinely carry Korean text
//! and emoji, so cutting by bytes would either split a UTF-8 sequence or waste
//! most of the budget. A cut is always made visible: a reader must never
//! mistake a shortened stack trace for the whole one.

use std::borrow::Cow;

/// Appended to every truncated text.
pub const TRUNCATION_MARKER: &str = "… (truncated)";

/// The marker used when even [`TRUNCATION_MARKER`] does not fit.
const SHORT_MARKER: &str = "…";

/// The entities [`crate::escape::escape_mrkdwn`] produces; a cut must not
/// leave half of one (`&am`), which Slack would show as garbage.
const ENTITIES: [&str; 3] = ["&amp;", "&lt;", "&gt;"];

/// Returns `s` if it has at most `max_chars` characters; otherwise a prefix
/// of `s` followed by [`TRUNCATION_MARKER`], `max_chars` characters at most
/// in total.
///
/// Never splits a character and never cuts inside an `&amp;`, `&lt;` or
/// `&gt;` entity (the cut moves before its `&`), so it is safe on escaped
/// mrkdwn. A zero-width joiner left dangling at the cut is dropped too.
/// When `max_chars` is smaller than the marker, the result is a prefix
/// followed by a lone `…` instead (empty for `max_chars == 0`).
///
/// Borrowed if and only if `s` fits.
pub fn truncate_chars(s: &str, max_chars: usize) -> Cow<'_, str> {
    // At most one byte per char: short byte strings always fit.
    if s.len() <= max_chars {
        return Cow::Borrowed(s);
    }
    if s.char_indices().nth(max_chars).is_none() {
        return Cow::Borrowed(s);
    }
    let marker_chars = TRUNCATION_MARKER.chars().count();
    let (keep, marker) = if max_chars >= marker_chars {
        (max_chars - marker_chars, TRUNCATION_MARKER)
    } else if max_chars > 0 {
        (max_chars - 1, SHORT_MARKER)
    } else {
        return Cow::Owned(String::new());
    };
    let cut = safe_cut(s, keep);
    let prefix = s[..cut].trim_end_matches('\u{200D}');
    let mut out = String::with_capacity(prefix.len() + marker.len());
    out.push_str(prefix);
    out.push_str(marker);
    Cow::Owned(out)
}

/// The byte index at which to cut `s` so that the prefix has at most
/// `max_chars` characters and ends neither inside a character nor inside an
/// entity. May be 0 when an entity starts the text and does not fit.
pub(crate) fn safe_cut(s: &str, max_chars: usize) -> usize {
    let cut = s.char_indices().nth(max_chars).map_or(s.len(), |(i, _)| i);
    entity_safe_cut(s, cut)
}

/// Moves `cut` back to the `&` of an entity it would otherwise split.
fn entity_safe_cut(s: &str, cut: usize) -> usize {
    // The longest entity is 5 bytes, so its `&` is at most 4 bytes back.
    let window = cut.saturating_sub(4);
    let Some(pos) = s.as_bytes()[window..cut].iter().rposition(|&b| b == b'&') else {
        return cut;
    };
    let amp = window + pos;
    let splits_entity = ENTITIES
        .iter()
        .any(|e| s[amp..].starts_with(e) && amp + e.len() > cut);
    if splits_entity {
        amp
    } else {
        cut
    }
}

/// The number of characters (Unicode scalar values) in `s`, as Slack counts.
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escape::escape_mrkdwn;

    const MIXED: &str = "에러 발생! 🚨 데이터베이스 연결 실패 👨‍👩‍👧 at 서비스 💥🔥 끝";

    fn marker_len() -> usize {
        char_len(TRUNCATION_MARKER)
    }

    /// Checks the contract of `truncate_chars(s, max)` for one cut point.
    fn check(s: &str, max: usize) -> String {
        let out = truncate_chars(s, max);
        let total = char_len(s);
        assert!(char_len(&out) <= max || total <= max, "max {max}: {out:?}");
        if total <= max {
            assert_eq!(out, s);
            assert!(matches!(out, Cow::Borrowed(_)));
        } else if max >= marker_len() {
            let prefix = out
                .strip_suffix(TRUNCATION_MARKER)
                .unwrap_or_else(|| panic!("marker missing at {max}: {out:?}"));
            assert!(s.starts_with(prefix), "not a prefix at {max}");
        } else if max > 0 {
            let prefix = out.strip_suffix(SHORT_MARKER).expect("short marker");
            assert!(s.starts_with(prefix));
        } else {
            assert_eq!(out, "");
        }
        out.into_owned()
    }

    #[test]
    fn every_cut_point_of_korean_and_emoji_text() {
        for max in 0..char_len(MIXED) + 3 {
            check(MIXED, max);
        }
        // 4-byte emoji only: every cut lands between them.
        let emoji = "😀🚨🔥💥🧨".repeat(10);
        for max in 0..char_len(&emoji) + 2 {
            let out = check(&emoji, max);
            let prefix = out
                .trim_end_matches(TRUNCATION_MARKER)
                .trim_end_matches(SHORT_MARKER);
            assert!(prefix.chars().all(|c| c.len_utf8() == 4));
        }
    }

    #[test]
    fn the_marker_is_always_visible_and_total_never_exceeds() {
        let s = "x".repeat(100);
        assert_eq!(truncate_chars(&s, 100), s);
        let out = truncate_chars(&s, 99);
        assert_eq!(char_len(&out), 99);
        assert!(out.ends_with(TRUNCATION_MARKER));
        assert_eq!(truncate_chars(&s, 13), TRUNCATION_MARKER);
        assert_eq!(truncate_chars(&s, 5), "xxxx…");
        assert_eq!(truncate_chars(&s, 1), "…");
        assert_eq!(truncate_chars(&s, 0), "");
        assert_eq!(truncate_chars("", 0), "");
    }

    #[test]
    fn cuts_never_split_an_entity() {
        let raw = "<!channel> a&b <@U123> 한국어 <https://evil|click> & > <";
        let escaped = escape_mrkdwn(raw).repeat(3);
        for max in 0..char_len(&escaped) + 2 {
            let out = check(&escaped, max);
            let body = out
                .strip_suffix(TRUNCATION_MARKER)
                .or_else(|| out.strip_suffix(SHORT_MARKER))
                .unwrap_or(&out);
            for (i, _) in body.match_indices('&') {
                assert!(
                    ENTITIES.iter().any(|e| body[i..].starts_with(e)),
                    "split entity at max {max}: {body:?}"
                );
            }
        }
    }

    #[test]
    fn a_dangling_zero_width_joiner_is_dropped() {
        let family = format!("ab👨\u{200D}👩\u{200D}👧{}", "x".repeat(30));
        // keep = 16 - 13 = 3 chars: "ab👨", then the joiner would follow.
        let out = truncate_chars(&family, 16);
        assert_eq!(out, format!("ab👨{TRUNCATION_MARKER}"));
    }
}
