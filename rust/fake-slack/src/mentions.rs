//! Finds Slack control sequences (mentions and links) in a payload.
//!
//! Text that comes from log data must reach Slack with `<`, `>` and `&` escaped, so that
//! a log line cannot ping a channel or forge a link. Tests post events carrying such
//! sequences and assert that [`mentions`] finds none in what the client sent, except
//! the ones the operator wrote in the configuration.

use serde_json::Value;

/// Returns every control sequence — `<!channel>`, `<!here>`, `<!everyone>` (any `<!…>`),
/// `<@U…>`, `<#C…>`, `<http…>`, `<http…|label>`, `<mailto:…>` — found in any string of
/// `payload`, in document order, each with its angle brackets.
///
/// ```
/// use serde_json::json;
/// use fake_slack::mentions;
///
/// let payload = json!({"text": "<!here> see <https://x.example|the graph>, not &lt;!channel&gt;"});
/// assert_eq!(mentions(&payload), vec!["<!here>", "<https://x.example|the graph>"]);
/// ```
pub fn mentions(payload: &Value) -> Vec<String> {
    let mut found = Vec::new();
    walk(payload, &mut found);
    found
}

fn walk(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::String(text) => scan(text, found),
        Value::Array(items) => items.iter().for_each(|item| walk(item, found)),
        Value::Object(fields) => fields.values().for_each(|v| walk(v, found)),
        _ => {}
    }
}

/// Slack reads a control sequence from `<` to the next `>`; a `<` in between starts over.
fn scan(text: &str, found: &mut Vec<String>) {
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        match after.find(['<', '>']) {
            Some(end) if after[end..].starts_with('>') => {
                let inner = &after[..end];
                if is_control(inner) {
                    found.push(format!("<{inner}>"));
                }
                rest = &after[end + 1..];
            }
            Some(end) => rest = &after[end..],
            None => break,
        }
    }
}

fn is_control(inner: &str) -> bool {
    let mut chars = inner.chars();
    match chars.next() {
        Some('!') => chars.next().is_some(),
        Some('@' | '#') => chars.next().is_some_and(|c| c.is_ascii_alphanumeric()),
        _ => inner.starts_with("http") || inner.starts_with("mailto:"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_every_kind_of_sequence() {
        let payload = json!({
            "text": "<!channel> <!here|here> <!everyone> <@U123ABC> <#C42|ops>",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "<http://a> <https://b|B> <mailto:x@y>"}}],
            "attachments": [{"fallback": "<!subteam^S1>"}]
        });
        let mut found = mentions(&payload);
        found.sort();
        let mut expected = vec![
            "<!channel>",
            "<!here|here>",
            "<!everyone>",
            "<@U123ABC>",
            "<#C42|ops>",
            "<http://a>",
            "<https://b|B>",
            "<mailto:x@y>",
            "<!subteam^S1>",
        ];
        expected.sort();
        assert_eq!(found, expected);
    }

    #[test]
    fn escaped_text_and_plain_angles_are_not_sequences() {
        let payload = json!({
            "text": "&lt;!channel&gt; a < b > c <> <@> <foo> <!> x<y",
            "n": 5,
            "keys_are_not_text<!here>": true
        });
        assert_eq!(mentions(&payload), Vec::<String>::new());
    }

    #[test]
    fn a_second_open_bracket_starts_over() {
        assert_eq!(mentions(&json!("<< <!here>")), vec!["<!here>"]);
        assert_eq!(mentions(&json!("<a <!here>")), vec!["<!here>"]);
        assert_eq!(mentions(&json!("<!here")), Vec::<String>::new());
    }
}
