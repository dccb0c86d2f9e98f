//! Mentions: who an alert pings, from configuration only.
//!
//! A mention is the one piece of mrkdwn control syntax an alert may carry on
//! purpose (`<!here>` for FATAL, the on-call user group for payments), so it
//! is validated token by token: a typo such as `@here` or `<here>` would
//! otherwise post silently without paging anyone, and free text here would
//! be a way to put arbitrary links into every alert.

use std::fmt;

use crate::render::MENTION_MAX;
use crate::truncate::char_len;

/// A validated mention: one or more space-separated Slack mention tokens.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mention(String);

/// What [`Mention::parse`] accepts, for error messages.
const ALLOWED: &str = "`<!here>`, `<!channel>`, `<!everyone>`, a user as `<@U…>` or `<@W…>` \
                       and a user group as `<!subteam^S…>` (user and group ids as Slack shows them, \
                       optionally followed by `|label`), separated by spaces";

/// The most characters a `|label` may have.
const LABEL_MAX: usize = 80;

impl Mention {
    /// Parses operator-written mention text.
    ///
    /// Each space-separated token must be `<!here>`, `<!channel>`,
    /// `<!everyone>`, `<@U…>` / `<@W…>` (a user id: upper-case letters and
    /// digits), or `<!subteam^S…>` (a user-group id); the user and group
    /// forms may end with `|label` (Slack's documented `<!subteam^ID|handle>`
    /// form; the label is letters, digits and `._@-`). Whitespace between
    /// tokens is normalised to one space. At most [`MENTION_MAX`]
    /// characters.
    pub fn parse(s: &str) -> Result<Mention, String> {
        let tokens: Vec<&str> = s.split_whitespace().collect();
        if tokens.is_empty() {
            return Err(format!("the mention is empty; allowed: {ALLOWED}"));
        }
        for token in &tokens {
            if !valid_token(token) {
                return Err(format!("`{token}` is not a mention; allowed: {ALLOWED}"));
            }
        }
        let text = tokens.join(" ");
        let chars = char_len(&text);
        if chars > MENTION_MAX {
            return Err(format!(
                "the mention has {chars} characters (at most {MENTION_MAX})"
            ));
        }
        Ok(Mention(text))
    }

    /// The mention text, ready to lead a mrkdwn text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Mention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn valid_token(token: &str) -> bool {
    let Some(inner) = token.strip_prefix('<').and_then(|t| t.strip_suffix('>')) else {
        return false;
    };
    if matches!(inner, "!here" | "!channel" | "!everyone") {
        return true;
    }
    let (target, label) = match inner.split_once('|') {
        Some((target, label)) => (target, Some(label)),
        None => (inner, None),
    };
    if let Some(label) = label {
        let ok = !label.is_empty()
            && char_len(label) <= LABEL_MAX
            && label
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'));
        if !ok {
            return false;
        }
    }
    let id = |prefixes: &[char], id: &str| {
        id.len() >= 2
            && id.len() <= 32
            && id.starts_with(prefixes)
            && id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    if let Some(user) = target.strip_prefix('@') {
        return id(&['U', 'W'], user);
    }
    if let Some(group) = target.strip_prefix("!subteam^") {
        return id(&['S'], group);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_form_is_accepted() {
        for text in [
            "<!here>",
            "<!channel>",
            "<!everyone>",
            "<@U024BE7LH>",
            "<@W0123ABC>",
            "<!subteam^SAZ94GDB8>",
            "<!subteam^S123|@oncall>",
            "<@U123|ann.lee>",
            "<!here> <@U1A> <!subteam^S9|payments-oncall>",
        ] {
            let m = Mention::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(m.as_str(), text);
        }
        assert_eq!(
            Mention::parse("  <!here>\t <@U1>\n").unwrap().to_string(),
            "<!here> <@U1>"
        );
    }

    #[test]
    fn anything_else_is_refused_with_what_is_allowed() {
        for text in [
            "@here",
            "<here>",
            "<!here",
            "<!HERE>",
            "<!here|now>",
            "<@u123>",
            "<@C123>",
            "<@U>",
            "<!subteam^G12>",
            "<!subteam^S1|>",
            "<!subteam^S1|a b>",
            "<@U1|<x>",
            "<@U1|a|b>",
            "<https://evil|click>",
            "<#C123>",
            "<!date^1|x>",
            "<!here> please look",
            "&lt;!here&gt;",
        ] {
            let e = Mention::parse(text).expect_err(text);
            assert!(e.contains("allowed: `<!here>`"), "{text}: {e}");
            assert!(e.contains("`<!subteam^S…>`"), "{e}");
        }
        assert!(Mention::parse("  ")
            .unwrap_err()
            .starts_with("the mention is empty"));
        let many = vec!["<!here>"; 30].join(" ");
        let e = Mention::parse(&many).unwrap_err();
        assert!(e.contains(&format!("at most {MENTION_MAX}")), "{e}");
    }
}
