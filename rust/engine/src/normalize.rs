//! Masks the variable parts of a message so that one problem is one alert.
//!
//! "timeout after 3012 ms for user 8812" and "timeout after 2990 ms for user
//! 17" differ only in numbers; after masking both read `"timeout after <n> ms
//! for user <n>"`. UUIDs, IPv4 addresses (with an optional port), hex ids and
//! numbers are masked; words are kept.

/// The first line of `message`, masked, and cut to at most `max_chars`.
pub fn normalize_first_line(message: &str, max_chars: usize) -> String {
    let mut out = String::new();
    normalize_first_line_into(message, max_chars, &mut out);
    out
}

/// [`normalize_first_line`], appended to `out` (no allocation of its own).
pub fn normalize_first_line_into(message: &str, max_chars: usize, out: &mut String) {
    let line = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    out.reserve(line.len().min(max_chars * 4));
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
        // A run of ASCII that the per-character rules would copy unchanged:
        // no digit, and no hex letter where a token starts (every masked
        // token starts with a hex digit). Byte i itself already passed the
        // token check above.
        let first = CLASS[usize::from(bytes[i])];
        if first & STOP == 0 {
            let limit = bytes.len().min(i + (max_chars - chars));
            let (mut j, mut prev) = (i + 1, first);
            while j < limit {
                let class = CLASS[usize::from(bytes[j])];
                if class & STOP != 0 || (class & HEX_LETTER != 0 && prev & WORD == 0) {
                    break;
                }
                prev = class;
                j += 1;
            }
            out.push_str(&line[i..j]);
            chars += j - i;
            i = j;
            continue;
        }
        // Copy one whole UTF-8 character.
        let ch = line[i..].chars().next().expect("in bounds");
        out.push(ch);
        chars += 1;
        i += ch.len_utf8();
    }
}

/// [`CLASS`] bits: a byte that ends a run of plain text (a digit, or not ASCII).
const STOP: u8 = 1;
/// A hex letter: may start a masked token.
const HEX_LETTER: u8 = 2;
/// A word character (letter, digit, `_`): what follows it starts no token.
const WORD: u8 = 4;

/// The class of every byte, for the plain-text runs of `normalize_first_line_into`.
static CLASS: [u8; 256] = {
    let mut class = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        class[b] = if !c.is_ascii() || c.is_ascii_digit() {
            STOP | if c.is_ascii_digit() { WORD } else { 0 }
        } else if c.is_ascii_hexdigit() {
            HEX_LETTER | WORD
        } else if c.is_ascii_alphabetic() || c == b'_' {
            WORD
        } else {
            0
        };
        b += 1;
    }
    class
};

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A token that is wholly variable, with its length and mask.
///
/// Every such token starts with a hex digit, so most words are turned away
/// by their first byte, and the rest by one scan of their leading hex digits.
fn masked_token(s: &[u8]) -> Option<(usize, &'static str)> {
    let first = *s.first()?;
    if !first.is_ascii_hexdigit() {
        return None;
    }
    let hex_run = s.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    // A UUID's first group is exactly 8 hex digits and a dash.
    if hex_run == 8 && s.get(8) == Some(&b'-') {
        if let Some(len) = uuid_len(s) {
            return Some((len, "<uuid>"));
        }
    }
    if first.is_ascii_digit() {
        if let Some(len) = ipv4_len(s) {
            return Some((len, "<ip>"));
        }
    }
    if s.len() > 2 && first == b'0' && (s[1] == b'x' || s[1] == b'X') {
        let len = 2 + s[2..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if len > 2 && !s.get(len).copied().is_some_and(is_word) {
            return Some((len, "<hex>"));
        }
    }
    // Long hex strings with at least one digit are ids (commit hashes, trace
    // ids): the word is all hex iff its hex digits run to its end.
    if hex_run >= 8
        && !s.get(hex_run).copied().is_some_and(is_word)
        && s[..hex_run].iter().any(u8::is_ascii_digit)
    {
        return Some((hex_run, "<hex>"));
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

    /// The token masking before it turned words away by their first byte.
    fn old_masked_token(s: &[u8]) -> Option<(usize, &'static str)> {
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
        if run >= 8 && word.iter().all(u8::is_ascii_hexdigit) && word.iter().any(u8::is_ascii_digit)
        {
            return Some((run, "<hex>"));
        }
        let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 {
            let mut len = digits;
            while len + 1 < s.len()
                && (s[len] == b'.' || s[len] == b',')
                && s[len + 1].is_ascii_digit()
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

    /// The normaliser before runs of plain text were copied whole, one
    /// character at a time, with the masking of the time. The fast path must give
    /// exactly its output.
    fn one_char_at_a_time(message: &str, max_chars: usize) -> String {
        let line = message
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        let mut out = String::new();
        let bytes = line.as_bytes();
        let (mut i, mut chars) = (0, 0);
        while i < bytes.len() && chars < max_chars {
            let rest = &bytes[i..];
            if i == 0 || !is_word(bytes[i - 1]) {
                if let Some((len, mask)) = old_masked_token(rest) {
                    out.push_str(mask);
                    chars += mask.len();
                    i += len;
                    continue;
                }
            }
            if bytes[i].is_ascii_digit() {
                i += rest.iter().take_while(|b| b.is_ascii_digit()).count();
                out.push_str("<n>");
                chars += 3;
                continue;
            }
            let ch = line[i..].chars().next().unwrap();
            out.push(ch);
            chars += 1;
            i += ch.len_utf8();
        }
        out
    }

    #[test]
    fn the_fast_paths_change_nothing() {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "_",
            "word",
            "x9",
            "42",
            "3.5",
            "1,000",
            " ",
            "-",
            ".",
            ":",
            "/",
            "0x1f",
            "deadbeef1",
            "cafe",
            "10.0.0.1:80",
            "123e4567-e89b-12d3-a456-426614174000",
            "é",
            "가",
            "😀",
            "\t",
            "\n",
            "user_8812",
            "__",
            "v2",
            "(",
            ")",
            "=",
            "abcdef12",
            "ABCDEF0123",
            "0X1F",
            "0x",
            "deadbeef-",
            "12345678-1234",
            "f",
            "9",
            "a1b2c3d4e5",
            "beef",
            "1.",
            ",5",
            "255.255.255.255:",
            "1.2.3",
            "Cafe1234",
        ];
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            let mut message = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let pieces = 1 + (seed % 12) as usize;
            let mut r = seed;
            for _ in 0..pieces {
                r = r.rotate_left(7).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                message.push_str(PIECES[(r >> 33) as usize % PIECES.len()]);
            }
            let max = (seed >> 40) as usize % 40;
            assert_eq!(
                normalize_first_line(&message, max),
                one_char_at_a_time(&message, max),
                "{message:?} cut at {max}"
            );
        }
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
