//! Masks the variable parts of a message so that one problem is one alert.
//!
//! "timeout after 3012 ms for user 8812" and "timeout after 2990 ms for user
//! 17" differ only in numbers; after masking both read "timeout after <n> ms
//! for user <n>". UUIDs, IPv4 addresses (with an optional port), hex ids and
//! numbers are masked; words are kept.

/// The first line of `message`, masked, and cut to at most `max_chars`.
pub fn normalize_first_line(message: &str, max_chars: usize) -> String {
    let line = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut out = String::with_capacity(line.len().min(max_chars * 4));
    let bytes = line.as_bytes();
    let mut i = 0;
    let mut chars = 0;
    while i < bytes.len() && chars < max_chars {
        let rest = &bytes[i..];
        let starts_token = i == 0 || !is_word(bytes[i - 1]);
        if starts_token {
            if let Some((len, mask)) = masked_token(rest) {
                out.push_str(mask);
                chars += mask.len();
                i += len;
                continue;
            }
        }
        if bytes[i].is_ascii_digit() {
            // A number glued to a word: "user8812", "v2", "req-77".
            let len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            out.push_str("<n>");
            chars += 3;
            i += len;
            continue;
        }
        // Copy one whole UTF-8 character.
        let ch = line[i..].chars().next().expect("in bounds");
        out.push(ch);
        chars += 1;
        i += ch.len_utf8();
    }
    out
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A token that is wholly variable, with its length and mask.
fn masked_token(s: &[u8]) -> Option<(usize, &'static str)> {
    if let Some(len) = uuid_len(s) {
        return Some((len, "<uuid>"));
    }
    if let Some(len) = ipv4_len(s) {
        return Some((len, "<ip>"));
    }
    if s.len() > 2 && s[0] == b'0' && (s[1] == b'x' || s[1] == b'X') {
        let len = 2 + s[2..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if len > 2 && !s.get(len).copied().is_some_and(is_word) {
            return Some((len, "<hex>"));
        }
    }
    let run = s.iter().take_while(|b| is_word(**b)).count();
    let word = &s[..run];
    // Long hex strings with at least one digit are ids (commit hashes, trace ids).
    if run >= 8 && word.iter().all(u8::is_ascii_hexdigit) && word.iter().any(u8::is_ascii_digit) {
        return Some((run, "<hex>"));
    }
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 {
        // Decimals stay one number ("1.5", "3,012"); a unit stays a word ("1.5s").
        let mut len = digits;
        while len + 1 < s.len() && (s[len] == b'.' || s[len] == b',') && s[len + 1].is_ascii_digit()
        {
            len += 1 + s[len + 1..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
        }
        return Some((len, "<n>"));
    }
    None
}

fn uuid_len(s: &[u8]) -> Option<usize> {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let mut i = 0;
    for (g, n) in GROUPS.iter().enumerate() {
        if g > 0 {
            if s.get(i) != Some(&b'-') {
                return None;
            }
            i += 1;
        }
        if s.len() < i + n || !s[i..i + n].iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        i += n;
    }
    (!s.get(i).copied().is_some_and(is_word)).then_some(i)
}

fn ipv4_len(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    for part in 0..4 {
        if part > 0 {
            if s.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let digits = s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if !(1..=3).contains(&digits) {
            return None;
        }
        i += digits;
    }
    if s.get(i) == Some(&b':') {
        let port = s[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if port > 0 {
            i += 1 + port;
        }
    }
    (!s.get(i).copied().is_some_and(is_word)).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalize_first_line(s, 200)
    }

    #[test]
    fn numbers_are_masked_so_one_problem_is_one_alert() {
        assert_eq!(
            n("timeout after 3012 ms for user 8812"),
            "timeout after <n> ms for user <n>"
        );
        assert_eq!(
            n("timeout after 2990 ms for user 17"),
            n("timeout after 3012 ms for user 8812")
        );
        assert_eq!(
            n("took 1.5s, retry 3,012 times"),
            "took <n>s, retry <n> times"
        );
        assert_eq!(n("user8812 failed on v2"), "user<n> failed on v<n>");
        assert_eq!(n("took 3012ms"), "took <n>ms");
    }

    #[test]
    fn ids_and_addresses() {
        assert_eq!(
            n("order 123e4567-e89b-12d3-a456-426614174000 not found"),
            "order <uuid> not found"
        );
        assert_eq!(
            n("connect to 10.0.12.7:5432 refused"),
            "connect to <ip> refused"
        );
        assert_eq!(n("from 192.168.1.1 ok"), "from <ip> ok");
        assert_eq!(n("ptr 0x7ffee4b2c8a0 freed"), "ptr <hex> freed");
        assert_eq!(n("trace 4bf92f3577b34da6a3ce929d0e0e4736"), "trace <hex>");
        assert_eq!(n("commit deadbeef1"), "commit <hex>");
        // Words made of hex letters are words.
        assert_eq!(n("cafe faced a decade"), "cafe faced a decade");
    }

    #[test]
    fn only_the_first_non_empty_line_counts() {
        assert_eq!(
            n("\n  NullPointerException at line 42\n\tat com.x.Y(Y.java:10)"),
            "NullPointerException at line <n>"
        );
        assert_eq!(n(""), "");
    }

    #[test]
    fn unicode_is_kept_and_length_is_bounded() {
        assert_eq!(n("사용자 8812 요청 실패 🚨"), "사용자 <n> 요청 실패 🚨");
        let long = "가".repeat(1000);
        assert_eq!(normalize_first_line(&long, 80).chars().count(), 80);
        // Never splits a character, whatever the input.
        for cut in 0..20 {
            let s = normalize_first_line("a😀b가12c", cut);
            assert!(s.chars().count() <= cut + 3);
        }
    }
}
