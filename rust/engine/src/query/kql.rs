//! Kibana Query Language: the grammar of Kibana's `kuery` parser, less
//! nested-field `{ }` queries and wildcard field names.
//!
//! ```text
//! or     = and ("or" and)*            precedence: not > and > or
//! and    = not ("and" not)*
//! not    = "not" not | primary
//! primary= "(" or ")" | field ":" values | field op literal | value
//! values = "*" | "(" vor ")" | value  vor/vand/vnot: the same over values
//! op     = ">=" | "<=" | ">" | "<"
//! ```
//!
//! Keywords are any case and stand between whitespace. An unquoted value may
//! span words (`message: db down` is the value "db down") up to a keyword or
//! a special character; `\` escapes the next character; in a quoted value
//! `*` is literal.

use super::cursor;
use super::{one_or, Bound, Expr, Field, Pattern, Piece, QueryError, Test};

/// Characters that end an unquoted literal.
const SPECIAL: &[char] = &['\\', '(', ')', ':', '<', '>', '"', '{', '}'];

pub(crate) fn parse(text: &str) -> Result<Expr, QueryError> {
    let mut p = Parser::new(text);
    if p.at_end() {
        return Err(QueryError::new(1, "the query is empty"));
    }
    let expr = p.or(0)?;
    p.skip_ws();
    match p.peek() {
        None => Ok(expr),
        Some(')') => Err(p.error("a ')' without its '('")),
        Some(_) => Err(p.error("expected `and`, `or` or the end of the query")),
    }
}

/// What a value position holds before it is known to be a field name.
struct Literal {
    pattern: Pattern,
    column: usize,
}

/// Marks this language's grammar on the shared [`cursor::Parser`].
struct Kql;

type Parser = cursor::Parser<Kql>;

impl Parser {
    /// Consumes the keyword `word` (any case) at the position if it stands
    /// alone: followed by whitespace, or by `(` for `not`.
    fn keyword(&mut self, word: &str) -> bool {
        let n = word.len();
        let Some(found) = self.chars.get(self.pos..self.pos + n) else {
            return false;
        };
        if !found
            .iter()
            .zip(word.chars())
            .all(|(a, b)| a.eq_ignore_ascii_case(&b))
        {
            return false;
        }
        let after = self.chars.get(self.pos + n).copied();
        let stands_alone = match after {
            None => true,
            Some(c) => c.is_whitespace() || (word == "not" && c == '('),
        };
        if stands_alone {
            self.pos += n;
        }
        stands_alone
    }

    /// Returns true if and only if a keyword starts at the position.
    fn at_keyword(&mut self) -> bool {
        let start = self.pos;
        let found = ["or", "and", "not"].iter().any(|w| self.keyword(w));
        self.pos = start;
        found
    }

    /// `item (word item)*`, the keyword `word` after whitespace.
    fn joined(
        &mut self,
        word: &str,
        mut item: impl FnMut(&mut Self) -> Result<Expr, QueryError>,
    ) -> Result<Vec<Expr>, QueryError> {
        let mut items = vec![item(self)?];
        loop {
            let start = self.pos;
            self.skip_ws();
            if self.pos > start && self.keyword(word) {
                self.skip_ws();
                items.push(item(self)?);
            } else {
                self.pos = start;
                return Ok(items);
            }
        }
    }

    fn or(&mut self, depth: usize) -> Result<Expr, QueryError> {
        Ok(one_or(self.joined("or", |p| p.and(depth))?, Expr::Any))
    }

    fn and(&mut self, depth: usize) -> Result<Expr, QueryError> {
        Ok(one_or(self.joined("and", |p| p.not(depth))?, Expr::All))
    }

    fn not(&mut self, depth: usize) -> Result<Expr, QueryError> {
        if self.keyword("not") {
            let depth = self.deeper(depth)?;
            self.skip_ws();
            return Ok(Expr::Not(Box::new(self.not(depth)?)));
        }
        self.primary(depth)
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, QueryError> {
        match self.peek() {
            None => return Err(self.error("expected a condition at the end of the query")),
            Some('(') => return self.parenthesised(depth, |p, depth| p.or(depth)),
            Some('"') => {
                let pattern = self.quoted()?;
                return Ok(Expr::Test(Field::default_field(), Test::Value(pattern)));
            }
            Some(c) if matches!(c, ')' | ':' | '<' | '>' | '{' | '}') => {
                return Err(self.error(format!("expected a condition, found '{c}'")))
            }
            Some(_) if self.at_keyword() => {
                return Err(self.error("expected a condition before this keyword"))
            }
            Some(_) => {}
        }
        let first = self.literal()?;
        let after = self.pos;
        self.skip_ws();
        match self.peek() {
            Some(':') => {
                let field = field_of(&first)?;
                self.pos += 1;
                self.skip_ws();
                self.field_values(&field, depth)
            }
            Some('<' | '>') => {
                let field = field_of(&first)?;
                self.range(field)
            }
            _ => {
                self.pos = after;
                let pattern = self.more_words(first.pattern)?;
                Ok(Expr::Test(Field::default_field(), Test::Value(pattern)))
            }
        }
    }

    /// After `field:`: `*`, a value or a parenthesised list of values.
    fn field_values(&mut self, field: &Field, depth: usize) -> Result<Expr, QueryError> {
        if self.peek() == Some('*') {
            let after = self.chars.get(self.pos + 1).copied();
            if after.is_none_or(|c| c.is_whitespace() || c == ')') {
                self.pos += 1;
                return Ok(Expr::Test(field.clone(), Test::Exists));
            }
        }
        if self.peek() == Some('(') {
            return self.parenthesised(depth, |p, depth| p.value_or(field, depth));
        }
        let pattern = self.value("':'")?;
        Ok(Expr::Test(field.clone(), Test::Value(pattern)))
    }

    fn value_or(&mut self, field: &Field, depth: usize) -> Result<Expr, QueryError> {
        let items = self.joined("or", |p| p.value_and(field, depth))?;
        Ok(one_or(items, Expr::Any))
    }

    fn value_and(&mut self, field: &Field, depth: usize) -> Result<Expr, QueryError> {
        let items = self.joined("and", |p| p.value_not(field, depth))?;
        Ok(one_or(items, Expr::All))
    }

    fn value_not(&mut self, field: &Field, depth: usize) -> Result<Expr, QueryError> {
        if self.keyword("not") {
            let depth = self.deeper(depth)?;
            self.skip_ws();
            return Ok(Expr::Not(Box::new(self.value_not(field, depth)?)));
        }
        if self.peek() == Some('(') {
            return self.parenthesised(depth, |p, depth| p.value_or(field, depth));
        }
        let pattern = self.value("'('")?;
        Ok(Expr::Test(field.clone(), Test::Value(pattern)))
    }

    /// One value: quoted, or unquoted words up to a keyword or special
    /// character. `after` names what it follows, for the error.
    fn value(&mut self, after: &str) -> Result<Pattern, QueryError> {
        match self.peek() {
            Some('"') => self.quoted(),
            Some(c) if SPECIAL.contains(&c) && c != '\\' => {
                Err(self.error(format!("expected a value after {after}")))
            }
            None => Err(self.error(format!("expected a value after {after}"))),
            Some(_) if self.at_keyword() => {
                Err(self.error(format!("expected a value after {after}")))
            }
            Some(_) => {
                let first = self.literal()?;
                self.more_words(first.pattern)
            }
        }
    }

    /// Continues an unquoted value over the words that follow it.
    fn more_words(&mut self, mut pattern: Pattern) -> Result<Pattern, QueryError> {
        loop {
            let start = self.pos;
            self.skip_ws();
            let next = self.peek();
            let ends = match next {
                None => true,
                Some(c) => (SPECIAL.contains(&c) && c != '\\') || self.at_keyword(),
            };
            if self.pos == start || ends {
                self.pos = start;
                return Ok(pattern);
            }
            let word = self.literal()?;
            pattern.0.push(Piece::Char(' '));
            pattern.0.extend(word.pattern.0);
        }
    }

    /// `field op literal`, the position at the operator.
    fn range(&mut self, field: Field) -> Result<Expr, QueryError> {
        let op: String = match (self.peek(), self.chars.get(self.pos + 1)) {
            (Some(c), Some('=')) => {
                self.pos += 2;
                format!("{c}=")
            }
            (Some(c), _) => {
                self.pos += 1;
                c.to_string()
            }
            (None, _) => unreachable!("called at an operator"),
        };
        self.skip_ws();
        let after = format!("'{op}'");
        let value = match self.peek() {
            Some('"') => self.quoted()?,
            Some(c) if !c.is_whitespace() && !SPECIAL.contains(&c) || c == '\\' => {
                self.literal()?.pattern
            }
            _ => return Err(self.error(format!("expected a value after {after}"))),
        };
        if value.has_wildcards() {
            return Err(self.error("a range bound cannot contain wildcards"));
        }
        let bound = |inclusive| {
            Some(Bound {
                value: value.text(),
                inclusive,
            })
        };
        let (lower, upper) = match op.as_str() {
            ">=" => (bound(true), None),
            ">" => (bound(false), None),
            "<=" => (None, bound(true)),
            _ => (None, bound(false)),
        };
        Ok(Expr::Test(field, Test::Range { lower, upper }))
    }

    /// An unquoted run of characters: escapes resolved, `*` a wildcard.
    fn literal(&mut self) -> Result<Literal, QueryError> {
        let column = self.column();
        let pieces = self.unquoted(
            |c| c.is_whitespace() || (SPECIAL.contains(&c) && c != '\\'),
            false,
        )?;
        if pieces.is_empty() {
            return Err(QueryError::new(column, "expected a value"));
        }
        Ok(Literal {
            pattern: Pattern(pieces),
            column,
        })
    }
}

fn field_of(literal: &Literal) -> Result<Field, QueryError> {
    if literal.pattern.has_wildcards() {
        return Err(QueryError::new(
            literal.column,
            "field names cannot contain wildcards; name one field",
        ));
    }
    Field::named(&literal.pattern.text(), literal.column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::test_support::value;

    fn bare(v: &str) -> Expr {
        Expr::Test(Field::default_field(), Test::Value(Pattern::literal(v)))
    }

    fn err(q: &str) -> String {
        parse(q).unwrap_err().to_string()
    }

    #[test]
    fn not_binds_tighter_than_and_tighter_than_or() {
        let e = parse("a:1 or b:2 and not c:3").unwrap();
        assert_eq!(
            e,
            Expr::Any(vec![
                value("a", "1"),
                Expr::All(vec![value("b", "2"), Expr::Not(Box::new(value("c", "3")))]),
            ])
        );
        let e = parse("(a:1 OR b:2) AND c:3").unwrap();
        assert_eq!(
            e,
            Expr::All(vec![
                Expr::Any(vec![value("a", "1"), value("b", "2")]),
                value("c", "3")
            ])
        );
        assert_eq!(
            parse("NOT not a:1").unwrap(),
            Expr::Not(Box::new(Expr::Not(Box::new(value("a", "1")))))
        );
        assert_eq!(
            parse("not(a:1)").unwrap(),
            Expr::Not(Box::new(value("a", "1")))
        );
    }

    #[test]
    fn values_span_words_up_to_a_keyword_and_quotes_keep_everything() {
        assert_eq!(
            parse("message: db down or x:1").unwrap(),
            Expr::Any(vec![value("message", "db down"), value("x", "1")])
        );
        assert_eq!(
            parse(r#"message:"a or b: (c)""#).unwrap(),
            value("message", "a or b: (c)")
        );
        assert_eq!(
            parse(r#"m:"say \"hi\" \\""#).unwrap(),
            value("m", r#"say "hi" \"#)
        );
        assert_eq!(
            parse(r"path:C\:\\tmp\ dir").unwrap(),
            value("path", r"C:\tmp dir")
        );
        assert_eq!(parse("orange:1").unwrap(), value("orange", "1"));
        assert_eq!(parse("timeout").unwrap(), bare("timeout"));
        assert_eq!(parse("\"db down\"").unwrap(), bare("db down"));
        assert_eq!(
            parse("db down and x:1").unwrap(),
            Expr::All(vec![bare("db down"), value("x", "1")])
        );
    }

    #[test]
    fn wildcards_exists_lists_and_ranges() {
        let Expr::Test(_, Test::Value(p)) = parse("host:web-*").unwrap() else {
            panic!()
        };
        assert_eq!(p.0.last(), Some(&Piece::Any));
        let Expr::Test(_, Test::Value(p)) = parse("host:\"web-*\"").unwrap() else {
            panic!()
        };
        assert!(!p.has_wildcards(), "a quoted * is literal");
        let Expr::Test(_, Test::Value(p)) = parse(r"host:web-\*").unwrap() else {
            panic!()
        };
        assert!(!p.has_wildcards(), "an escaped * is literal");
        assert!(matches!(
            parse("trace.id:*").unwrap(),
            Expr::Test(_, Test::Exists)
        ));
        assert_eq!(
            parse("code:(500 or 503 and not \"5 0\")").unwrap(),
            Expr::Any(vec![
                value("code", "500"),
                Expr::All(vec![
                    value("code", "503"),
                    Expr::Not(Box::new(value("code", "5 0")))
                ])
            ])
        );
        assert_eq!(
            parse("status >= 500").unwrap(),
            Expr::Test(
                Field::named("status", 1).unwrap(),
                Test::Range {
                    lower: Some(Bound {
                        value: "500".into(),
                        inclusive: true
                    }),
                    upper: None
                }
            )
        );
        assert!(matches!(
            parse("a<b").unwrap(),
            Expr::Test(
                _,
                Test::Range {
                    lower: None,
                    upper: Some(Bound {
                        inclusive: false,
                        ..
                    })
                }
            )
        ));
    }

    #[test]
    fn field_names_dotted_and_bracketed() {
        let Expr::Test(f, _) = parse("[service][name]: pay").unwrap() else {
            panic!()
        };
        assert_eq!(f.candidates, ["[service][name]"]);
        let Expr::Test(f, _) = parse("service.name:pay").unwrap() else {
            panic!()
        };
        assert_eq!(f.candidates, ["[service.name]", "[service][name]"]);
    }

    #[test]
    fn errors_name_the_column_and_what_was_expected() {
        for (query, error) in [
            (
                "service.name:   and x:1",
                "at 17: expected a value after ':'",
            ),
            (
                "a:1 and",
                "at 8: expected a condition at the end of the query",
            ),
            ("(a:1 or b:2", "at 1: this '(' is not closed: expected ')'"),
            ("a:1)", "at 4: a ')' without its '('"),
            ("a:\"open", "at 3: this '\"' is not closed"),
            ("a >= ", "at 6: expected a value after '>='"),
            ("a > x*", "at 7: a range bound cannot contain wildcards"),
            (
                "x*:1",
                "at 1: field names cannot contain wildcards; name one field",
            ),
            ("", "at 1: the query is empty"),
            (
                "a:1 b:2",
                "at 6: expected `and`, `or` or the end of the query",
            ),
            ("a:x\\", "at 5: a '\\' at the end escapes nothing"),
            ("or a:1", "at 1: expected a condition before this keyword"),
        ] {
            assert_eq!(err(query), error, "{query:?}");
        }
        assert!(err("a:{b:1}").starts_with("at 3: expected a value after ':'"));
        assert!(err(&"(".repeat(40)).contains("nested more than 32"));
        assert!(err(&"not ".repeat(40)).contains("nested more than 32"));
    }
}
