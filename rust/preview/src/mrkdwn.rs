//! Slack's `mrkdwn` as HTML.
//!
//! What Slack formats, and so what this renders: `*bold*`, `_italic_`,
//! `~strike~` (on one line, opened before a word and closed after one, so
//! `snake_case_names` stay as they are), `` `code` ``, ```` ``` ```` blocks,
//! `>` quotes, `<https://x|label>` links, `<!here>`, `<!channel>`,
//! `<!everyone>`, `<@U1>`, `<#C1|ops>` and `<!subteam^S1|@oncall>` mentions,
//! and the common `:emoji:` codes. The entities `&lt;`, `&gt;` and `&amp;`
//! are text (a log line's `<!channel>` arrives as `&lt;!channel&gt;` and
//! shows as `<!channel>`, pinging no one); everything reaches the page
//! through [`crate::html::text`], so no text can become markup.
//!
//! The HTML keeps the text's newlines: it goes in an element styled
//! `white-space: pre-wrap`, as Slack keeps line breaks and indentation.
//!
//! Emphasis is matched in time linear in the line's length (each opener
//! takes the nearest closer), so a hostile line of `*_~` cannot slow the
//! page down.

use slack_alert_render::escape::{replace_controls, unescape_mrkdwn};

use crate::html;

/// A mrkdwn text object's text as HTML.
pub fn to_html(text: &str) -> String {
    let text = replace_controls(text);
    let parts: Vec<&str> = text.split("```").collect();
    // An even number of parts: the last fence is never closed, and Slack
    // shows it as typed.
    let closed = parts.len() % 2 == 1;
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        let code = i % 2 == 1 && (closed || i + 1 < parts.len());
        if code {
            let code = part.strip_prefix('\n').unwrap_or(part);
            let code = code.strip_suffix('\n').unwrap_or(code);
            out.push_str("<pre class=\"code\">");
            out.push_str(&html::text(&unescape_mrkdwn(code)));
            out.push_str("</pre>");
            continue;
        }
        let mut part = *part;
        let unclosed = i % 2 == 1;
        if unclosed {
            out.push_str("```");
        } else {
            // The line break next to a fence is the code block's own.
            if i > 0 {
                part = part.strip_prefix('\n').unwrap_or(part);
            }
            if i + 1 < parts.len() {
                part = part.strip_suffix('\n').unwrap_or(part);
            }
        }
        text_html(part, &mut out);
    }
    out
}

/// Text outside code blocks: lines, `>` quotes grouped into one quote.
fn text_html(text: &str, out: &mut String) {
    let mut quote: Vec<String> = Vec::new();
    // Whether the last thing written was a line (not a block), so the next
    // line needs a line break first.
    let mut after_line = false;
    let flush = |quote: &mut Vec<String>, out: &mut String| {
        if !quote.is_empty() {
            out.push_str("<blockquote>");
            out.push_str(&quote.join("\n"));
            out.push_str("</blockquote>");
            quote.clear();
        }
    };
    for line in text.split('\n') {
        let quoted = line.strip_prefix("&gt;").or_else(|| line.strip_prefix('>'));
        match quoted {
            Some(rest) => {
                let rest = rest.strip_prefix(' ').unwrap_or(rest);
                quote.push(inline(rest));
                after_line = false;
            }
            None => {
                let had_quote = !quote.is_empty();
                flush(&mut quote, out);
                if after_line {
                    out.push('\n');
                }
                if !(had_quote && line.is_empty()) {
                    out.push_str(&inline(line));
                }
                after_line = true;
            }
        }
    }
    flush(&mut quote, out);
}

/// One piece of a line: a character still to be formatted, or finished HTML
/// (a code span, a link, a mention, an emoji).
#[derive(Clone, Debug, PartialEq)]
enum Atom {
    Char(char),
    Html(String),
}

/// The emphasis marks and their elements.
const EMPHASIS: [(char, &str, &str); 3] = [
    ('*', "<b>", "</b>"),
    ('_', "<i>", "</i>"),
    ('~', "<s>", "</s>"),
];

/// One line of mrkdwn as HTML.
fn inline(line: &str) -> String {
    let atoms = atoms(line);
    let closers: Vec<Vec<usize>> = EMPHASIS
        .iter()
        .map(|(mark, _, _)| nearest_closers(&atoms, *mark))
        .collect();
    let mut out = String::new();
    emphasis(&atoms, &closers, 0, atoms.len(), &mut out);
    out
}

/// Splits a line into characters and finished pieces, decoding entities.
fn atoms(line: &str) -> Vec<Atom> {
    let mut atoms = Vec::new();
    let mut rest = line;
    // Once a search for a closing `>` or backtick failed, later ones would
    // too: remembering it keeps a line of a thousand `<` linear.
    let (mut no_more_gt, mut no_more_tick) = (false, false);
    'next: while let Some(c) = rest.chars().next() {
        match c {
            '`' if !no_more_tick => {
                let end = rest[1..].find('`');
                no_more_tick = end.is_none();
                if let Some(end) = end.filter(|end| *end > 0) {
                    let code = unescape_mrkdwn(&rest[1..1 + end]);
                    atoms.push(Atom::Html(format!("<code>{}</code>", html::text(&code))));
                    rest = &rest[end + 2..];
                    continue;
                }
            }
            '<' if !no_more_gt => {
                let end = rest[1..].find('>');
                no_more_gt = end.is_none();
                if let Some(end) = end.filter(|end| *end > 0) {
                    atoms.push(Atom::Html(control(&rest[1..1 + end])));
                    rest = &rest[end + 2..];
                    continue;
                }
            }
            '&' => {
                for (entity, decoded) in [("&lt;", '<'), ("&gt;", '>'), ("&amp;", '&')] {
                    if let Some(after) = rest.strip_prefix(entity) {
                        atoms.push(Atom::Char(decoded));
                        rest = after;
                        continue 'next;
                    }
                }
            }
            ':' => {
                if let Some((emoji, len)) = emoji_code(rest) {
                    atoms.push(Atom::Html(emoji.to_string()));
                    rest = &rest[len..];
                    continue;
                }
            }
            _ => {}
        }
        atoms.push(Atom::Char(c));
        rest = &rest[c.len_utf8()..];
    }
    atoms
}

fn is_space(atom: Option<&Atom>) -> bool {
    matches!(atom, Some(Atom::Char(c)) if c.is_whitespace())
}

fn is_word(atom: Option<&Atom>) -> bool {
    matches!(atom, Some(Atom::Char(c)) if c.is_alphanumeric())
}

/// A mark that can open emphasis: not inside a word, before a non-space.
fn opens(atoms: &[Atom], i: usize, mark: char) -> bool {
    let before = i.checked_sub(1).and_then(|b| atoms.get(b));
    let after = atoms.get(i + 1);
    atoms[i] == Atom::Char(mark)
        && !is_word(before)
        && after.is_some()
        && !is_space(after)
        && after != Some(&Atom::Char(mark))
}

/// A mark that can close emphasis: after a non-space, not inside a word.
fn closes(atoms: &[Atom], j: usize, mark: char) -> bool {
    let before = j.checked_sub(1).and_then(|b| atoms.get(b));
    atoms[j] == Atom::Char(mark)
        && before.is_some()
        && !is_space(before)
        && !is_word(atoms.get(j + 1))
}

/// For every index, the first closing `mark` at or after it (`usize::MAX`
/// if none), one entry past the end included.
fn nearest_closers(atoms: &[Atom], mark: char) -> Vec<usize> {
    let mut next = vec![usize::MAX; atoms.len() + 1];
    for j in (0..atoms.len()).rev() {
        next[j] = if closes(atoms, j, mark) {
            j
        } else {
            next[j + 1]
        };
    }
    next
}

/// Writes `atoms[lo..hi]`, each opener taking the nearest closer before `hi`.
///
/// Within a pair no mark of the same kind can pair (its nearest closer is
/// the pair's own, at `hi`), so this recurses at most once per kind.
fn emphasis(atoms: &[Atom], closers: &[Vec<usize>], lo: usize, hi: usize, out: &mut String) {
    let mut i = lo;
    while i < hi {
        match &atoms[i] {
            Atom::Html(h) => out.push_str(h),
            Atom::Char(c) => {
                let pair = EMPHASIS
                    .iter()
                    .enumerate()
                    .find_map(|(k, (mark, open, close))| {
                        if mark != c || !opens(atoms, i, *mark) {
                            return None;
                        }
                        let j = closers[k].get(i + 2).copied().unwrap_or(usize::MAX);
                        (j < hi).then_some((j, *open, *close))
                    });
                if let Some((j, open, close)) = pair {
                    out.push_str(open);
                    emphasis(atoms, closers, i + 1, j, out);
                    out.push_str(close);
                    i = j + 1;
                    continue;
                }
                let mut buf = [0; 4];
                out.push_str(&html::text(c.encode_utf8(&mut buf)));
            }
        }
        i += 1;
    }
}

/// What Slack shows for `<inner>`: a mention, a channel, a link.
fn control(inner: &str) -> String {
    let (target, label) = match inner.split_once('|') {
        Some((target, label)) => (target, Some(unescape_mrkdwn(label).into_owned())),
        None => (inner, None),
    };
    if let Some(special) = target.strip_prefix('!') {
        let name = special.split('^').next().unwrap_or("");
        return match (name, label) {
            ("here" | "channel" | "everyone", _) => mention("broadcast", &format!("@{name}")),
            ("subteam", label) => {
                let label = label.unwrap_or_else(|| "group".to_string());
                mention("user", &format!("@{}", label.trim_start_matches('@')))
            }
            // `<!date^…|fallback>` and the like: Slack shows the fallback.
            (_, Some(label)) => html::text(&label).into_owned(),
            (name, None) => mention("broadcast", &format!("@{name}")),
        };
    }
    if let Some(id) = target.strip_prefix('@') {
        let shown = label.as_deref().unwrap_or(id).trim_start_matches('@');
        return mention("user", &format!("@{shown}"));
    }
    if let Some(id) = target.strip_prefix('#') {
        let shown = label.as_deref().unwrap_or(id).trim_start_matches('#');
        return mention("channel", &format!("#{shown}"));
    }
    let url = unescape_mrkdwn(target);
    let shown = label.unwrap_or_else(|| url.to_string());
    if html::is_safe_url(&url) {
        format!(
            "<a href=\"{}\" rel=\"noopener noreferrer\" target=\"_blank\">{}</a>",
            html::attribute(&url),
            html::text(&shown)
        )
    } else {
        format!("<span class=\"link\">{}</span>", html::text(&shown))
    }
}

fn mention(kind: &str, shown: &str) -> String {
    format!(
        "<span class=\"mention {kind}\">{}</span>",
        html::text(shown)
    )
}

/// A known `:code:` at the start of `text`: the emoji and the code's length.
fn emoji_code(text: &str) -> Option<(&'static str, usize)> {
    let name_len = text[1..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-')))
        .filter(|n| *n > 0 && *n <= 40)?;
    if !text[1 + name_len..].starts_with(':') {
        return None;
    }
    emoji(&text[1..1 + name_len]).map(|e| (e, name_len + 2))
}

/// The emoji a few common codes stand for; Slack knows thousands, a preview
/// needs those alerts use.
pub fn emoji(name: &str) -> Option<&'static str> {
    Some(match name {
        "rotating_light" => "🚨",
        "fire" => "🔥",
        "warning" => "⚠️",
        "information_source" => "ℹ️",
        "repeat" => "🔁",
        "bar_chart" => "📊",
        "mute" => "🔇",
        "white_check_mark" => "✅",
        "heavy_check_mark" => "✔️",
        "x" => "❌",
        "boom" => "💥",
        "skull" => "💀",
        "bell" => "🔔",
        "red_circle" => "🔴",
        "large_green_circle" => "🟢",
        "large_yellow_circle" => "🟡",
        "eyes" => "👀",
        "rocket" => "🚀",
        "robot_face" => "🤖",
        "hourglass" => "⌛",
        "zap" => "⚡",
        "bug" => "🐛",
        "+1" | "thumbsup" => "👍",
        "-1" | "thumbsdown" => "👎",
        _ => return None,
    })
}

/// Plain text with `:code:` emoji replaced, as Slack shows a `plain_text`
/// object with `"emoji": true`; HTML-escaped.
pub fn plain_with_emoji(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(':') {
        out.push_str(&html::text(&rest[..i]));
        rest = &rest[i..];
        match emoji_code(rest) {
            Some((emoji, len)) => {
                out.push_str(emoji);
                rest = &rest[len..];
            }
            None => {
                out.push(':');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(&html::text(rest));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emphasis_code_and_strike() {
        assert_eq!(
            to_html("*bold* _it_ ~gone~ `x < y`"),
            "<b>bold</b> <i>it</i> <s>gone</s> <code>x &lt; y</code>"
        );
        assert_eq!(to_html("*Service:* api"), "<b>Service:</b> api");
        assert_eq!(
            to_html("*bold _and italic_*"),
            "<b>bold <i>and italic</i></b>"
        );
        // Inside words and around spaces the marks are text, as in Slack.
        assert_eq!(to_html("snake_case_name"), "snake_case_name");
        assert_eq!(to_html("2 * 3 * 4"), "2 * 3 * 4");
        assert_eq!(to_html("a*b*c"), "a*b*c");
        assert_eq!(to_html("**"), "**");
        assert_eq!(to_html("*unclosed"), "*unclosed");
        // Emphasis stays on its line.
        assert_eq!(to_html("*one\ntwo*"), "*one\ntwo*");
        // A code span is never formatted inside.
        assert_eq!(to_html("`*not bold*`"), "<code>*not bold*</code>");
    }

    #[test]
    fn code_blocks_keep_their_text() {
        assert_eq!(
            to_html("trace:\n```\nat a.B(<init>)\n  *x*\n```\nafter"),
            "trace:<pre class=\"code\">at a.B(&lt;init&gt;)\n  *x*</pre>after"
        );
        assert_eq!(
            to_html("```a &lt;b&gt; &amp;amp;```"),
            "<pre class=\"code\">a &lt;b&gt; &amp;amp;</pre>"
        );
        // An unclosed fence is shown as typed.
        assert_eq!(to_html("a ``` b"), "a ``` b");
    }

    #[test]
    fn entities_are_text_and_markup_never_passes() {
        // What an escaped log line carries shows as what it said.
        assert_eq!(
            to_html("&lt;!channel&gt; &amp;amp; &lt;script&gt;alert(1)&lt;/script&gt;"),
            "&lt;!channel&gt; &amp;amp; &lt;script&gt;alert(1)&lt;/script&gt;"
        );
        // Even raw markup a payload should never hold stays text.
        assert_eq!(
            to_html("<img src=x onerror=alert(1)>"),
            "<span class=\"link\">img src=x onerror=alert(1)</span>"
        );
        assert_eq!(to_html("a \" ' b"), "a &quot; &#39; b");
        assert_eq!(to_html("bell\u{7}"), "bell\u{FFFD}");
    }

    #[test]
    fn mentions_and_links_show_as_slack_shows_them() {
        assert_eq!(
            to_html("<!here> and <!channel>"),
            "<span class=\"mention broadcast\">@here</span> and \
             <span class=\"mention broadcast\">@channel</span>"
        );
        assert_eq!(
            to_html("<@U123|ann> <@U9> <#C1|ops> <!subteam^S1|@oncall>"),
            "<span class=\"mention user\">@ann</span> <span class=\"mention user\">@U9</span> \
             <span class=\"mention channel\">#ops</span> <span class=\"mention user\">@oncall</span>"
        );
        assert_eq!(
            to_html("<https://k.test/a?b=1&amp;c=\"2\"|Open *logs*>"),
            "<a href=\"https://k.test/a?b=1&amp;c=&quot;2&quot;\" rel=\"noopener noreferrer\" \
             target=\"_blank\">Open *logs*</a>"
        );
        assert_eq!(
            to_html("<javascript:alert(1)|click>"),
            "<span class=\"link\">click</span>"
        );
        assert_eq!(
            to_html("*<https://x.test>*"),
            "<b><a href=\"https://x.test\" rel=\"noopener noreferrer\" target=\"_blank\">https://x.test</a></b>"
        );
        assert_eq!(to_html("<!date^1392734382^{date}|Feb 18>"), "Feb 18");
    }

    #[test]
    fn quotes_and_emoji() {
        assert_eq!(
            to_html("before\n&gt; quoted\n> more\nafter"),
            "before<blockquote>quoted\nmore</blockquote>after"
        );
        assert_eq!(to_html(":rotating_light: :nope: a:b:"), "🚨 :nope: a:b:");
        assert_eq!(plain_with_emoji(":fire: <b>:x:"), "🔥 &lt;b&gt;❌");
    }

    #[test]
    fn hostile_lines_render_quickly_and_safely() {
        let storm = "*_~`<&".repeat(20_000);
        let html = to_html(&storm);
        assert!(!html.contains("<script"));
        let stars = "*a ".repeat(30_000);
        assert_eq!(to_html(&stars), stars);
        // Each `<` looks for its `>` once at most.
        let opens = "<".repeat(100_000);
        assert_eq!(to_html(&opens), "&lt;".repeat(100_000));
    }
}
