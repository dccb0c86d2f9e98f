//! A parsed query compiled to matchers, and how one event is matched (the
//! rules are in the [module documentation](super)).

use std::cmp::Ordering;

use serde_json::Value;
use slack_alert_event::Fields;

use super::{Bound, Expr, Field, Pattern, Piece, QueryError, Test, MAX_TESTS};

/// A compiled `query`: matched against one event's fields, no parsing.
#[derive(Clone, Debug)]
pub struct Query {
    root: Node,
    references: Vec<String>,
}

impl Query {
    /// Returns true if and only if the event's fields satisfy the query.
    pub fn matches(&self, fields: &dyn Fields) -> bool {
        self.root.matches(fields)
    }

    /// Every field reference the query reads (canonical, de-duplicated).
    pub fn references(&self) -> impl Iterator<Item = &str> {
        self.references.iter().map(String::as_str)
    }
}

#[derive(Clone, Debug)]
enum Node {
    All(Vec<Node>),
    Any(Vec<Node>),
    Not(Box<Node>),
    Leaf(Vec<String>, Matcher),
}

#[derive(Clone, Debug)]
enum Matcher {
    Exists,
    /// A keyword value: the whole text, exact; `number` when it reads as one.
    Keyword {
        text: String,
        number: Option<f64>,
    },
    /// A keyword wildcard over the whole text.
    KeywordGlob(Glob),
    /// Text: the words, lower case, that must appear in a row.
    Words(Vec<String>),
    /// Text without a word character (`"!!"`): a lower-case substring.
    Substring(String),
    /// A text wildcard: one word or the whole (lower-case) text matches.
    TextGlob(Glob),
    Range {
        lower: Option<Limit>,
        upper: Option<Limit>,
    },
}

#[derive(Clone, Debug)]
enum Limit {
    Number(f64, bool),
    Text(String, bool),
}

pub(super) fn compile(expr: &Expr) -> Result<Query, QueryError> {
    let mut references = Vec::new();
    let mut tests = 0;
    let root = node(expr, &mut references, &mut tests)?;
    Ok(Query { root, references })
}

fn node(expr: &Expr, refs: &mut Vec<String>, tests: &mut usize) -> Result<Node, QueryError> {
    Ok(match expr {
        Expr::All(items) => Node::All(
            items
                .iter()
                .map(|e| node(e, refs, tests))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Any(items) => Node::Any(
            items
                .iter()
                .map(|e| node(e, refs, tests))
                .collect::<Result<_, _>>()?,
        ),
        Expr::Not(inner) => Node::Not(Box::new(node(inner, refs, tests)?)),
        Expr::Test(field, test) => {
            *tests += 1;
            if *tests > MAX_TESTS {
                return Err(QueryError::new(
                    1,
                    format!("has more than {MAX_TESTS} field tests"),
                ));
            }
            for c in &field.candidates {
                if !refs.contains(c) {
                    refs.push(c.clone());
                }
            }
            Node::Leaf(field.candidates.clone(), matcher(field, test))
        }
    })
}

fn matcher(field: &Field, test: &Test) -> Matcher {
    match test {
        Test::Exists => Matcher::Exists,
        Test::Range { lower, upper } => Matcher::Range {
            lower: lower.as_ref().map(limit),
            upper: upper.as_ref().map(limit),
        },
        Test::Value(p) if field.text && p.has_wildcards() => {
            Matcher::TextGlob(Glob::new(&lower_pattern(p)))
        }
        Test::Value(p) if field.text => {
            let text = p.text().to_lowercase();
            let words = words(&text);
            if words.is_empty() {
                Matcher::Substring(text)
            } else {
                Matcher::Words(words)
            }
        }
        Test::Value(p) if p.has_wildcards() => Matcher::KeywordGlob(Glob::new(p)),
        Test::Value(p) => {
            let text = p.text();
            Matcher::Keyword {
                number: number(&text),
                text,
            }
        }
    }
}

fn limit(b: &Bound) -> Limit {
    match number(&b.value) {
        Some(n) => Limit::Number(n, b.inclusive),
        None => Limit::Text(b.value.clone(), b.inclusive),
    }
}

fn lower_pattern(p: &Pattern) -> Pattern {
    Pattern(
        p.0.iter()
            .flat_map(|piece| match piece {
                Piece::Char(c) => c.to_lowercase().map(Piece::Char).collect::<Vec<_>>(),
                other => vec![other.clone()],
            })
            .collect(),
    )
}

/// A decimal number as written in a query or a log field (not `inf`, `nan`).
fn number(s: &str) -> Option<f64> {
    let s = s.trim();
    let plausible = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
        && s.bytes().any(|b| b.is_ascii_digit());
    plausible
        .then(|| s.parse::<f64>().ok())
        .flatten()
        .filter(|n| n.is_finite())
}

/// The words of analysed text: runs of letters, digits and `_`, lower case.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

impl Node {
    fn matches(&self, fields: &dyn Fields) -> bool {
        match self {
            Node::All(items) => items.iter().all(|n| n.matches(fields)),
            Node::Any(items) => items.iter().any(|n| n.matches(fields)),
            Node::Not(inner) => !inner.matches(fields),
            Node::Leaf(candidates, matcher) => candidates
                .iter()
                .find_map(|r| fields.get(r).filter(|v| !v.is_null()))
                .is_some_and(|v| matcher.matches(v)),
        }
    }
}

impl Matcher {
    fn matches(&self, value: &Value) -> bool {
        if let Value::Array(items) = value {
            return match self {
                Matcher::Exists => !items.is_empty(),
                _ => items.iter().any(|v| !v.is_array() && self.matches(v)),
            };
        }
        let scalar = match value {
            Value::Null => return false,
            Value::Object(_) => return matches!(self, Matcher::Exists),
            Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
            Value::Bool(b) => std::borrow::Cow::Borrowed(if *b { "true" } else { "false" }),
            Value::Number(n) => std::borrow::Cow::Owned(n.to_string()),
            Value::Array(_) => unreachable!("handled above"),
        };
        match self {
            Matcher::Exists => true,
            Matcher::Keyword { text, number: n } => {
                *scalar == **text || (value.is_number() && n.is_some() && value.as_f64() == *n)
            }
            Matcher::KeywordGlob(glob) => glob.matches(&scalar),
            Matcher::Words(needle) => {
                let hay = words(&scalar);
                hay.windows(needle.len()).any(|w| w == needle.as_slice())
            }
            Matcher::Substring(needle) => scalar.to_lowercase().contains(needle.as_str()),
            Matcher::TextGlob(glob) => {
                let lower = scalar.to_lowercase();
                glob.matches(&lower) || words(&lower).iter().any(|w| glob.matches(w))
            }
            Matcher::Range { lower, upper } => {
                let ok = |limit: &Limit, want: Ordering| -> bool {
                    let (ord, inclusive) = match limit {
                        Limit::Number(bound, inclusive) => {
                            let n = match value {
                                Value::Number(n) => n.as_f64(),
                                Value::String(s) => number(s),
                                _ => None,
                            };
                            match n.and_then(|n| n.partial_cmp(bound)) {
                                Some(ord) => (ord, *inclusive),
                                None => return false,
                            }
                        }
                        Limit::Text(bound, inclusive) => {
                            (scalar.as_ref().cmp(bound.as_str()), *inclusive)
                        }
                    };
                    ord == want || (inclusive && ord == Ordering::Equal)
                };
                lower.as_ref().is_none_or(|l| ok(l, Ordering::Greater))
                    && upper.as_ref().is_none_or(|u| ok(u, Ordering::Less))
            }
        }
    }
}

/// A wildcard pattern: literal segments between `*`s, `?` one character
/// in a segment. Matching finds the first segment at the start, the last at
/// the end and each one between at its leftmost place after the previous
/// one, which is correct for `*` and never backtracks. A segment without
/// `?` (every KQL pattern) is found with `str::find`, linear in the text; a
/// segment with `?` (Lucene) is tried at each character, at most the text's
/// length times the segment's.
#[derive(Clone, Debug)]
struct Glob {
    segments: Vec<Segment>,
}

#[derive(Clone, Debug)]
struct Segment {
    /// `None` is `?`.
    chars: Vec<Option<char>>,
    /// The text, when the segment has no `?`.
    literal: Option<String>,
}

impl Segment {
    fn new(chars: Vec<Option<char>>) -> Segment {
        let literal = chars.iter().copied().collect::<Option<String>>();
        Segment { chars, literal }
    }

    /// The bytes of `s` the segment matches at its start, if it does.
    fn at_start(&self, s: &str) -> Option<usize> {
        if let Some(lit) = &self.literal {
            return s.starts_with(lit.as_str()).then_some(lit.len());
        }
        let mut end = 0;
        let mut chars = s.chars();
        for want in &self.chars {
            let c = chars.next()?;
            if want.is_some_and(|w| w != c) {
                return None;
            }
            end += c.len_utf8();
        }
        Some(end)
    }

    /// The leftmost match in `s`: (start, end) in bytes.
    fn find(&self, s: &str) -> Option<(usize, usize)> {
        if let Some(lit) = &self.literal {
            return s.find(lit.as_str()).map(|i| (i, i + lit.len()));
        }
        s.char_indices()
            .find_map(|(i, _)| self.at_start(&s[i..]).map(|n| (i, i + n)))
    }
}

impl Glob {
    fn new(p: &Pattern) -> Glob {
        let mut raw = vec![Vec::new()];
        for piece in &p.0 {
            match piece {
                Piece::Char(c) => raw.last_mut().expect("one").push(Some(*c)),
                Piece::One => raw.last_mut().expect("one").push(None),
                Piece::Any => raw.push(Vec::new()),
            }
        }
        Glob {
            segments: raw.into_iter().map(Segment::new).collect(),
        }
    }

    fn matches(&self, text: &str) -> bool {
        let n = self.segments.len();
        let first = &self.segments[0];
        if n == 1 {
            return first.at_start(text) == Some(text.len());
        }
        let Some(mut pos) = first.at_start(text) else {
            return false;
        };
        // Where the last segment must start: its length in characters
        // before the end.
        let last = &self.segments[n - 1];
        let k = last.chars.len();
        let start = if k == 0 {
            text.len()
        } else {
            match text.char_indices().rev().nth(k - 1) {
                Some((i, _)) => i,
                None => return false,
            }
        };
        if start < pos || last.at_start(&text[start..]) != Some(text.len() - start) {
            return false;
        }
        for seg in &self.segments[1..n - 1] {
            if seg.chars.is_empty() {
                continue;
            }
            match seg.find(&text[pos..start]) {
                Some((_, end)) => pos += end,
                None => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse, Language};
    use super::*;
    use serde_json::json;

    fn kql(q: &str) -> Query {
        parse(q, Language::Kql).unwrap_or_else(|e| panic!("{q}: {e}"))
    }

    fn lucene(q: &str) -> Query {
        parse(q, Language::Lucene).unwrap_or_else(|e| panic!("{q}: {e}"))
    }

    #[test]
    fn text_fields_match_words_any_case_keywords_the_whole_value() {
        let q = kql("message: timeout");
        assert!(q.matches(&json!({"message": "DB Timeout after 3s"})));
        assert!(
            !q.matches(&json!({"message": "timeouts"})),
            "a word, not a prefix"
        );
        let q = kql("message: \"db timeout\"");
        assert!(q.matches(&json!({"message": "pool: DB timeout!"})));
        assert!(!q.matches(&json!({"message": "timeout db"})), "in order");
        let q = kql("service.name: pay");
        assert!(q.matches(&json!({"service.name": "pay"})));
        assert!(
            !q.matches(&json!({"service.name": "Pay"})),
            "keywords are exact"
        );
        assert!(!q.matches(&json!({"service.name": "pay api"})));
        let q = kql("ERROR");
        assert!(
            q.matches(&json!({"message": "an error occurred"})),
            "bare: message"
        );
        assert!(!q.matches(&json!({"level": "ERROR"})));
        assert!(kql("message:\"!!\"").matches(&json!({"message": "what!!"})));
    }

    #[test]
    fn dotted_names_find_flat_and_nested_fields_brackets_only_theirs() {
        let q = kql("service.name: pay");
        assert!(q.matches(&json!({"service": {"name": "pay"}})));
        assert!(q.matches(&json!({"service.name": "pay"})));
        let q = kql("[service][name]: pay");
        assert!(q.matches(&json!({"service": {"name": "pay"}})));
        assert!(!q.matches(&json!({"service.name": "pay"})));
        assert_eq!(
            kql("service.name:a or message:b")
                .references()
                .collect::<Vec<_>>(),
            ["[service.name]", "[service][name]", "[message]"]
        );
    }

    #[test]
    fn wildcards_match_without_backtracking() {
        let q = kql("host.name: web-*-prod");
        assert!(q.matches(&json!({"host.name": "web-1-prod"})));
        assert!(q.matches(&json!({"host.name": "web--prod"})));
        assert!(!q.matches(&json!({"host.name": "web-1-prod2"})));
        assert!(!q.matches(&json!({"host.name": "Web-1-prod"})));
        let q = kql("message: time*");
        assert!(
            q.matches(&json!({"message": "db Timeouts"})),
            "one word matches"
        );
        let q = kql("message: *db*down*");
        assert!(
            q.matches(&json!({"message": "the DB is down"})),
            "or the whole text"
        );
        let q = lucene("code:E?1*");
        assert!(q.matches(&json!({"code": "EX12"})));
        assert!(!q.matches(&json!({"code": "E12"})));
        let q = kql("a: *a*a*a*b*a");
        let hostile = "a".repeat(50_000);
        assert!(!q.matches(&json!({ "a": hostile })));
        let glob = Glob::new(&Pattern(vec![Piece::Any]));
        assert!(glob.matches("") && glob.matches("x"));
        let glob = Glob::new(&Pattern(vec![
            Piece::Char('a'),
            Piece::Any,
            Piece::Char('a'),
        ]));
        assert!(!glob.matches("a"), "the ends may not overlap");
        assert!(glob.matches("aa"));
        let glob = Glob::new(&Pattern(vec![
            Piece::Char('ü'),
            Piece::One,
            Piece::Any,
            Piece::Char('ß'),
        ]));
        assert!(glob.matches("üxyzß") && glob.matches("ü€ß"));
        assert!(!glob.matches("üß"), "`?` needs a character of its own");
        let q = lucene("a:*?a?b*a");
        assert!(!q.matches(&json!({ "a": "a".repeat(50_000) })));
        assert!(q.matches(&json!({"a": "xxaxbya"})));
    }

    #[test]
    fn ranges_compare_numbers_as_numbers_else_text() {
        let q = kql("http.response.status_code >= 500");
        assert!(q.matches(&json!({"http.response.status_code": 503})));
        assert!(q.matches(&json!({"http": {"response": {"status_code": "500"}}})));
        assert!(!q.matches(&json!({"http.response.status_code": 404})));
        assert!(!q.matches(&json!({"http.response.status_code": "n/a"})));
        assert!(!q.matches(&json!({})));
        let q = lucene("status:[500 TO 599}");
        assert!(q.matches(&json!({"status": 500})));
        assert!(q.matches(&json!({"status": 598.5})));
        assert!(!q.matches(&json!({"status": 599})));
        let q = lucene("status:{500 TO *]");
        assert!(!q.matches(&json!({"status": 500})));
        assert!(q.matches(&json!({"status": 1e9})));
        let q = kql("version < b");
        assert!(q.matches(&json!({"version": "a9"})));
        assert!(!q.matches(&json!({"version": "b"})));
        assert!(!kql("x > 1").matches(&json!({"x": true})));
    }

    #[test]
    fn odd_value_types() {
        let q = kql("status: 500");
        assert!(q.matches(&json!({"status": 500})));
        assert!(
            q.matches(&json!({"status": 500.0})),
            "numbers compare as numbers"
        );
        assert!(q.matches(&json!({"status": "500"})));
        assert!(!q.matches(&json!({"status": "500.0"})), "text is text");
        assert!(kql("ok: true").matches(&json!({"ok": true})));
        assert!(!kql("ok: true").matches(&json!({"ok": "True"})));
        let tags = json!({"tags": ["db", "pay"]});
        assert!(kql("tags: pay").matches(&tags), "one item of a list");
        assert!(!kql("tags: ops").matches(&tags));
        assert!(kql("tags: *").matches(&tags));
        assert!(!kql("tags: *").matches(&json!({"tags": []})));
        assert!(!kql("x: *").matches(&json!({"x": null})), "null is missing");
        assert!(kql("x: *").matches(&json!({"x": {"y": 1}})), "a map exists");
        assert!(
            !kql("x: y").matches(&json!({"x": {"y": 1}})),
            "but equals nothing"
        );
        assert!(
            !kql("x: 1").matches(&json!({"x": [[1]]})),
            "lists are not flattened twice"
        );
        assert!(
            kql("not x: 1").matches(&json!({})),
            "not holds for a missing field"
        );
        assert!(!kql("x: 1").matches(&json!({})));
    }

    #[test]
    fn precedence_shows_in_decisions() {
        let q = kql("a:1 or b:1 and c:1");
        assert!(q.matches(&json!({"a": 1})));
        assert!(!q.matches(&json!({"b": 1})));
        assert!(q.matches(&json!({"b": 1, "c": 1})));
        let q = kql("not a:1 and b:1");
        assert!(q.matches(&json!({"b": 1})));
        assert!(!q.matches(&json!({"a": 1, "b": 1})));
        let q = lucene("+level:ERROR -service:health maybe");
        assert!(q.matches(&json!({"level": "ERROR", "service": "pay"})));
        assert!(!q.matches(&json!({"level": "ERROR", "service": "health"})));
        assert!(!q.matches(&json!({"service": "pay", "message": "maybe"})));
        assert!(lucene("-service:health").matches(&json!({})));
        assert!(lucene("*:*").matches(&json!({})));
        assert!(lucene("message:ERROR").matches(&json!({"message": "2026 ERROR boot"})));
    }

    #[test]
    fn too_many_tests_are_refused() {
        let q = vec!["a:1"; MAX_TESTS + 1].join(" or ");
        assert!(parse(&q, Language::Kql)
            .unwrap_err()
            .message
            .contains("more than 1000 field tests"));
    }
}
