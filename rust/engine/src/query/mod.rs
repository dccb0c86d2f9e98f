//! `query`: one rule condition written the way ELK users already write
//! searches, in Kibana's query language (KQL, the default) or, with
//! `query_language => "lucene"`, a subset of Lucene's `query_string`.
//!
//! The text is parsed and compiled once, at start, into a tree of field
//! tests ([`Query`]); an event is then matched without parsing anything and
//! without regular expressions: wildcard values are compiled to a matcher
//! that finds each literal piece once, leftmost, and never backtracks.
//!
//! - `kql`, `lucene`: the two parsers, both producing the [`Expr`] tree;
//! - `compile`: field resolution, case rules and the matchers.
//!
//! What "matches" means (an in-pipeline filter sees one event, not an
//! analysed index, so it approximates Elasticsearch's mappings):
//!
//! - field names are exact (case-sensitive). A dotted name `service.name`
//!   finds the flat key `"service.name"` first, then the nested path
//!   `[service][name]`; a bracketed name `[service][name]` is that
//!   Logstash reference only;
//! - *text fields* ([`TEXT_FIELDS`], and a bare value, which searches
//!   `message`) are matched like an analysed `text` field: case-insensitive,
//!   word by word (`message:timeout` matches "DB Timeout after 3s", not
//!   "timeouts"); a phrase must appear as consecutive words; a wildcard
//!   matches one word or the whole text;
//! - every other field is matched like a `keyword`: the whole value, exact
//!   case; numbers also compare as numbers (`status:500` matches 500 and
//!   "500"); booleans as `true`/`false`;
//! - ranges compare numerically when the bound is a number (the field must
//!   then be a number or a numeric string), else as strings, byte by byte;
//! - a list field matches when one of its items does; a missing or `null`
//!   field never matches a value (and `not field:x` holds for it);
//!   `field:*` holds for any value but `null`, also a map.

mod compile;
mod cursor;
mod kql;
mod lucene;

use std::fmt;

use slack_alert_event::FieldRef;

pub use compile::Query;

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 10_000;
/// Deepest nesting of parentheses and `not`: a query is operator text, and
/// the parsers recurse.
pub const MAX_DEPTH: usize = 32;
/// Field tests one query may hold (each is tried per event).
pub const MAX_TESTS: usize = 1000;

/// Fields matched as analysed text (case-insensitive, word by word), by
/// their dotted name; every other field is matched as a keyword.
pub const TEXT_FIELDS: &[&str] = &[
    "message",
    "error.message",
    "error.stack_trace",
    "event.original",
];

/// The field a value without a field name searches. Kibana searches every
/// field; one event's message is what a bare word in a log search means.
pub const DEFAULT_FIELD: &str = "message";

/// The query languages `query_language` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    Kql,
    Lucene,
}

impl Language {
    /// Parses a `query_language` value, any case.
    pub fn parse(s: &str) -> Option<Language> {
        match s.trim().to_ascii_lowercase().as_str() {
            "kql" | "kuery" => Some(Language::Kql),
            "lucene" => Some(Language::Lucene),
            _ => None,
        }
    }
}

/// Why a query cannot be used, and where: `at 17: expected a value after ':'`.
///
/// The column counts characters from 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError {
    pub column: usize,
    pub message: String,
}

impl QueryError {
    pub(crate) fn new(column: usize, message: impl Into<String>) -> QueryError {
        QueryError {
            column,
            message: message.into(),
        }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}: {}", self.column, self.message)
    }
}

impl std::error::Error for QueryError {}

/// Parses and compiles `text` in `language`.
pub fn parse(text: &str, language: Language) -> Result<Query, QueryError> {
    let chars = text.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(QueryError::new(
            1,
            format!("a query of {chars} characters is too long (at most {MAX_QUERY_CHARS})"),
        ));
    }
    let expr = match language {
        Language::Kql => kql::parse(text)?,
        Language::Lucene => lucene::parse(text)?,
    };
    compile::compile(&expr)
}

/// A parsed query, before compiling: what both languages mean.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Expr {
    /// Every one holds (empty: always).
    All(Vec<Expr>),
    /// One holds.
    Any(Vec<Expr>),
    Not(Box<Expr>),
    Test(Field, Test),
}

/// The one item itself, or `many` of them.
fn one_or(mut items: Vec<Expr>, many: fn(Vec<Expr>) -> Expr) -> Expr {
    if items.len() == 1 {
        items.pop().expect("one item")
    } else {
        many(items)
    }
}

/// Where a test looks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Field {
    /// Canonical references to try, in order; the first with a value counts.
    pub candidates: Vec<String>,
    /// Matched as analysed text rather than as a keyword.
    pub text: bool,
}

impl Field {
    /// The field a bare value searches.
    pub(crate) fn default_field() -> Field {
        Field {
            candidates: vec![format!("[{DEFAULT_FIELD}]")],
            text: true,
        }
    }

    /// A field name as written in a query (`column`: where it starts).
    pub(crate) fn named(name: &str, column: usize) -> Result<Field, QueryError> {
        if name.contains('*') || name.contains('?') {
            return Err(QueryError::new(
                column,
                format!("{name:?}: field names cannot contain wildcards; name one field"),
            ));
        }
        if name.starts_with('[') {
            let reference = FieldRef::parse(name).map_err(|e| {
                QueryError::new(column, format!("{name:?} is not a field reference: {e}"))
            })?;
            let dotted = reference.segments().join(".");
            return Ok(Field {
                candidates: vec![reference.canonical()],
                text: TEXT_FIELDS.contains(&dotted.as_str()),
            });
        }
        if name.split('.').any(str::is_empty) || name.contains(']') {
            return Err(QueryError::new(
                column,
                format!("{name:?} is not a field name (e.g. service.name or [service][name])"),
            ));
        }
        let mut candidates = vec![format!("[{name}]")];
        if name.contains('.') {
            candidates.push(name.split('.').map(|s| format!("[{s}]")).collect());
        }
        Ok(Field {
            candidates,
            text: TEXT_FIELDS.contains(&name),
        })
    }
}

/// What a test asks of the field's value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Test {
    /// Any value but `null`.
    Exists,
    /// Equal to, or (with wildcards) matching, a value.
    Value(Pattern),
    Range {
        lower: Option<Bound>,
        upper: Option<Bound>,
    },
}

/// A value as written: literal text and wildcards.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pattern(pub Vec<Piece>);

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    Char(char),
    /// `*`: any run of characters.
    Any,
    /// `?` (Lucene): one character.
    One,
}

impl Pattern {
    #[cfg(test)]
    pub(crate) fn literal(s: &str) -> Pattern {
        Pattern(s.chars().map(Piece::Char).collect())
    }

    pub(crate) fn has_wildcards(&self) -> bool {
        self.0.iter().any(|p| !matches!(p, Piece::Char(_)))
    }

    /// The text without its wildcards.
    pub(crate) fn text(&self) -> String {
        self.0
            .iter()
            .filter_map(|p| match p {
                Piece::Char(c) => Some(*c),
                _ => None,
            })
            .collect()
    }
}

/// One end of a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Bound {
    pub value: String,
    pub inclusive: bool,
}

#[cfg(test)]
mod test_support {
    use super::{Expr, Field, Pattern, Test};

    /// A test of `field` for the literal `v`, as the parsers give it.
    pub(super) fn value(field: &str, v: &str) -> Expr {
        Expr::Test(
            Field::named(field, 1).unwrap(),
            Test::Value(Pattern::literal(v)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_and_errors_read_as_the_option_shows_them() {
        assert_eq!(Language::parse(" KQL "), Some(Language::Kql));
        assert_eq!(Language::parse("Lucene"), Some(Language::Lucene));
        assert_eq!(Language::parse("sql"), None);
        let e = parse("service.name: ", Language::Kql).unwrap_err();
        assert_eq!(e.to_string(), "at 15: expected a value after ':'");
        let long = "a".repeat(MAX_QUERY_CHARS + 1);
        assert!(parse(&long, Language::Kql)
            .unwrap_err()
            .message
            .contains("too long"));
    }

    #[test]
    fn field_names_resolve_flat_then_nested_or_exactly_as_bracketed() {
        let f = Field::named("service.name", 1).unwrap();
        assert_eq!(f.candidates, ["[service.name]", "[service][name]"]);
        assert!(!f.text);
        let f = Field::named("[service][name]", 1).unwrap();
        assert_eq!(f.candidates, ["[service][name]"]);
        assert!(Field::named("[error][message]", 1).unwrap().text);
        assert!(Field::named("message", 1).unwrap().text);
        assert!(Field::named("a..b", 3).unwrap_err().column == 3);
        assert!(Field::named("[a][b", 1).is_err());
        assert!(Field::named("host.*", 1)
            .unwrap_err()
            .message
            .contains("wildcards"));
    }
}
