//! Logstash field references.
//!
//! Logstash names a field with a *reference*: `[log][level]` is the nested
//! path `log` → `level`, while `[log.level]` and a bare `log.level` are both
//! ONE top-level key literally named `log.level` (the way ECS encoders for
//! logback and log4j2 emit their fields). Getting this wrong silently shows
//! `-` for every field of a flat ECS event, so the rules live in one place.
//!
//! A parsed reference has a canonical spelling (every segment in brackets) so
//! that the engine, the Java side and the renderer can agree on map keys.

use std::fmt;

use serde_json::Value;

/// A parsed Logstash field reference: the path of keys to walk.
///
/// Segments are kept verbatim (no trimming inside brackets), because Logstash
/// does not trim them either and a key may legitimately contain spaces.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldRef {
    segments: Vec<String>,
}

impl FieldRef {
    /// Parses a field reference in any form Logstash accepts for `getField`:
    /// `[a][b]`, `[a.b]`, `a.b`, `message`, `@timestamp`, `[@timestamp]`.
    ///
    /// Surrounding whitespace is ignored. Returns an error for an empty
    /// reference, unbalanced brackets (`[a`, `a]`, `[a]b`) and empty segments
    /// (`[]`, `[a][]`).
    pub fn parse(s: &str) -> Result<FieldRef, FieldRefError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(FieldRefError::new(s, FieldRefErrorKind::Empty));
        }
        if !s.starts_with('[') {
            // A bare name is one key, dots and all. Brackets anywhere in it
            // mean the author mixed the two forms.
            return match s.find(['[', ']']) {
                None => Ok(FieldRef {
                    segments: vec![s.to_string()],
                }),
                Some(i) if s.as_bytes()[i] == b']' => {
                    Err(FieldRefError::new(s, FieldRefErrorKind::UnopenedBracket))
                }
                Some(_) => Err(FieldRefError::new(
                    s,
                    FieldRefErrorKind::TextOutsideBrackets,
                )),
            };
        }
        let mut segments = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            let Some(inner) = rest.strip_prefix('[') else {
                let kind = if rest.starts_with(']') {
                    FieldRefErrorKind::UnopenedBracket
                } else {
                    FieldRefErrorKind::TextOutsideBrackets
                };
                return Err(FieldRefError::new(s, kind));
            };
            let Some(end) = inner.find(['[', ']']) else {
                return Err(FieldRefError::new(s, FieldRefErrorKind::UnclosedBracket));
            };
            if inner.as_bytes()[end] == b'[' {
                return Err(FieldRefError::new(s, FieldRefErrorKind::NestedBracket));
            }
            if end == 0 {
                return Err(FieldRefError::new(s, FieldRefErrorKind::EmptySegment));
            }
            segments.push(inner[..end].to_string());
            rest = &inner[end + 1..];
        }
        Ok(FieldRef { segments })
    }

    /// The keys to walk, outermost first.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The canonical spelling: every segment in brackets, e.g. `[log.level]`,
    /// `[log][logger]`, `[message]`, `[@timestamp]`.
    ///
    /// Two references name the same field if and only if their canonical
    /// forms are equal, so this is the key every map of fields uses.
    pub fn canonical(&self) -> String {
        let len = self.segments.iter().map(|s| s.len() + 2).sum();
        let mut out = String::with_capacity(len);
        for segment in &self.segments {
            out.push('[');
            out.push_str(segment);
            out.push(']');
        }
        out
    }

    /// Walks `event` along the segments and returns the value found.
    ///
    /// Only objects are walked, except that a segment that is an integer
    /// indexes an array (`[tags][0]`, `[tags][-1]` for the last), as in
    /// Logstash. JSON `null` counts as missing and returns `None`, because
    /// Logstash's `getField` cannot tell the two apart either.
    pub fn resolve<'a>(&self, event: &'a Value) -> Option<&'a Value> {
        let mut current = event;
        for segment in &self.segments {
            current = match current {
                Value::Object(map) => map.get(segment.as_str())?,
                Value::Array(items) => items.get(array_index(segment, items.len())?)?,
                _ => return None,
            };
        }
        (!current.is_null()).then_some(current)
    }
}

/// The position an integer segment names in an array of `len` items;
/// negative numbers count from the end.
fn array_index(segment: &str, len: usize) -> Option<usize> {
    let n: i64 = segment.parse().ok()?;
    if n >= 0 {
        usize::try_from(n).ok()
    } else {
        len.checked_sub(usize::try_from(n.unsigned_abs()).ok()?)
    }
}

impl fmt::Display for FieldRef {
    /// Prints the canonical form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for segment in &self.segments {
            write!(f, "[{segment}]")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for FieldRef {
    type Err = FieldRefError;

    fn from_str(s: &str) -> Result<FieldRef, FieldRefError> {
        FieldRef::parse(s)
    }
}

/// Why a field reference could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldRefError {
    reference: String,
    kind: FieldRefErrorKind,
}

/// The kind of a [`FieldRefError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldRefErrorKind {
    /// Occurs when the reference is empty or only whitespace.
    Empty,
    /// Occurs when a `[` has no matching `]`, as in `[a` or `[a][b`.
    UnclosedBracket,
    /// Occurs when a `]` has no matching `[`, as in `a]` or `[a]]`.
    UnopenedBracket,
    /// Occurs when a `[` appears inside a segment, as in `[a[b]]`.
    NestedBracket,
    /// Occurs when text stands outside the brackets of a bracketed
    /// reference, as in `[a]b`, `a[b]` or `[a] [b]`.
    TextOutsideBrackets,
    /// Occurs when a segment is empty, as in `[]` or `[a][]`.
    EmptySegment,
}

impl FieldRefError {
    fn new(reference: &str, kind: FieldRefErrorKind) -> FieldRefError {
        FieldRefError {
            reference: reference.to_string(),
            kind,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> FieldRefErrorKind {
        self.kind
    }

    /// The reference as written (trimmed).
    pub fn reference(&self) -> &str {
        &self.reference
    }
}

impl fmt::Display for FieldRefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.reference;
        match self.kind {
            FieldRefErrorKind::Empty => write!(
                f,
                "field reference is empty; name a field, e.g. `message` or `[log][level]`"
            ),
            FieldRefErrorKind::UnclosedBracket => write!(
                f,
                "field reference `{r}` has a `[` without a matching `]`; close every segment, e.g. `[log][level]`"
            ),
            FieldRefErrorKind::UnopenedBracket => write!(
                f,
                "field reference `{r}` has a `]` without a matching `[`; open every segment, e.g. `[log][level]`"
            ),
            FieldRefErrorKind::NestedBracket => write!(
                f,
                "field reference `{r}` has a `[` inside a segment; write nested fields as `[a][b]`"
            ),
            FieldRefErrorKind::TextOutsideBrackets => write!(
                f,
                "field reference `{r}` has text outside its brackets; put every segment in brackets (`[a][b]`) or use none (`a.b` names the key `a.b`)"
            ),
            FieldRefErrorKind::EmptySegment => write!(
                f,
                "field reference `{r}` has an empty `[]` segment; remove it or name the field inside"
            ),
        }
    }
}

impl std::error::Error for FieldRefError {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(s: &str) -> String {
        FieldRef::parse(s).unwrap().canonical()
    }

    fn kind(s: &str) -> FieldRefErrorKind {
        FieldRef::parse(s).unwrap_err().kind()
    }

    #[test]
    fn every_form_has_one_canonical_spelling() {
        assert_eq!(canon("[log][level]"), "[log][level]");
        assert_eq!(canon("[log.level]"), "[log.level]");
        assert_eq!(canon("log.level"), "[log.level]");
        assert_eq!(canon("message"), "[message]");
        assert_eq!(canon("[message]"), "[message]");
        assert_eq!(canon("@timestamp"), "[@timestamp]");
        assert_eq!(canon("[@timestamp]"), "[@timestamp]");
        assert_eq!(canon("  [a][b.c][d]  "), "[a][b.c][d]");
        assert_eq!(canon("[my field]"), "[my field]");
        assert_eq!(
            FieldRef::parse("[a][b]").unwrap().segments(),
            ["a".to_string(), "b".to_string()]
        );
        assert_eq!(FieldRef::parse("a.b").unwrap().segments(), ["a.b"]);
        assert_eq!(
            FieldRef::parse("[log][logger]").unwrap().to_string(),
            "[log][logger]"
        );
        let parsed: FieldRef = "x.y".parse().unwrap();
        assert_eq!(parsed.canonical(), "[x.y]");
    }

    #[test]
    fn malformed_references_say_what_is_wrong() {
        assert_eq!(kind(""), FieldRefErrorKind::Empty);
        assert_eq!(kind("   "), FieldRefErrorKind::Empty);
        assert_eq!(kind("[a"), FieldRefErrorKind::UnclosedBracket);
        assert_eq!(kind("[a][b"), FieldRefErrorKind::UnclosedBracket);
        assert_eq!(kind("a]"), FieldRefErrorKind::UnopenedBracket);
        assert_eq!(kind("[a]]"), FieldRefErrorKind::UnopenedBracket);
        assert_eq!(kind("[a]b"), FieldRefErrorKind::TextOutsideBrackets);
        assert_eq!(kind("a[b]"), FieldRefErrorKind::TextOutsideBrackets);
        assert_eq!(kind("[a] [b]"), FieldRefErrorKind::TextOutsideBrackets);
        assert_eq!(kind("[a[b]]"), FieldRefErrorKind::NestedBracket);
        assert_eq!(kind("[]"), FieldRefErrorKind::EmptySegment);
        assert_eq!(kind("[a][]"), FieldRefErrorKind::EmptySegment);

        let e = FieldRef::parse("[a]b").unwrap_err();
        assert_eq!(e.reference(), "[a]b");
        let msg = e.to_string();
        assert!(msg.contains("`[a]b`"), "{msg}");
        assert!(msg.starts_with(char::is_lowercase), "{msg}");
        for bad in ["", "[a", "a]", "[a[b]]", "[a]b", "[]"] {
            let msg = FieldRef::parse(bad).unwrap_err().to_string();
            assert!(msg.contains("; "), "message should suggest a fix: {msg}");
        }
    }

    #[test]
    fn resolve_distinguishes_flat_keys_from_nested_paths() {
        let event = json!({
            "log.level": "ERROR",
            "log": {"logger": "com.example.Foo", "level": "warn"},
            "@timestamp": "2024-05-01T12:00:00Z",
            "tags": ["a", "b", "c"],
            "gone": null,
            "n": 3
        });
        let get = |s: &str| FieldRef::parse(s).unwrap().resolve(&event).cloned();
        assert_eq!(get("[log.level]"), Some(json!("ERROR")));
        assert_eq!(get("log.level"), Some(json!("ERROR")));
        assert_eq!(get("[log][level]"), Some(json!("warn")));
        assert_eq!(get("[log][logger]"), Some(json!("com.example.Foo")));
        assert_eq!(get("[log.logger]"), None);
        assert_eq!(get("@timestamp"), get("[@timestamp]"));
        assert_eq!(get("[tags][0]"), Some(json!("a")));
        assert_eq!(get("[tags][-1]"), Some(json!("c")));
        assert_eq!(get("[tags][3]"), None);
        assert_eq!(get("[tags][-4]"), None);
        assert_eq!(get("[tags][x]"), None);
        assert_eq!(get("[gone]"), None, "null counts as missing");
        assert_eq!(get("[n][x]"), None);
        assert_eq!(get("[missing][deeper]"), None);
    }
}
