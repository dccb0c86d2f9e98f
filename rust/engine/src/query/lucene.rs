//! A subset of Lucene's `query_string` syntax, as ElastAlert filters and
//! Kibana's "Lucene" switch write it.
//!
//! ```text
//! query  = clause+                    juxtaposed: + must, - must not, else should
//! clause = or
//! or     = and (("OR" | "||") and)*   precedence: NOT > AND > OR
//! and    = not (("AND" | "&&") not)*
//! not    = ("NOT" | "!") not | ["+" | "-"] primary
//! primary= "(" query ")" | field ":" fvalue | term | "phrase"
//! fvalue = "*" | "(" query ")" | term | "phrase" | range | op term
//! range  = ("[" | "{") lower "TO" upper ("]" | "}")    `*` for an open end
//! ```
//!
//! Juxtaposed clauses follow Lucene's occurrences: when some clause is
//! required (`+`), the optional ones do not matter; otherwise one optional
//! clause must hold; a query of prohibited clauses only (`-a -b`) holds for
//! events without them, as in Elasticsearch. Inside `AND`/`OR`, `-x` means
//! `NOT x` and `+` changes nothing. Operators are upper case, as in Lucene.
//! `_exists_:field` tests presence. `?` matches one character. Boosts
//! (`^2`) are accepted and ignored; fuzzy and proximity (`~`) and regular
//! expressions (`/.../`) are refused.

use super::cursor;
use super::{one_or, Bound, Expr, Field, Pattern, Piece, QueryError, Test};

/// Characters that cannot appear unescaped in a term.
const SPECIAL: &[char] = &['(', ')', '[', ']', '{', '}', '"', ':', '^', '~', '\\', '/'];

pub(crate) fn parse(text: &str) -> Result<Expr, QueryError> {
    let mut p = Parser::new(text);
    if p.at_end() {
        return Err(QueryError::new(1, "the query is empty"));
    }
    let expr = p.query(None, 0)?;
    match p.peek() {
        None => Ok(expr),
        Some(_) => Err(p.error("a ')' without its '('")),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Occur {
    Must,
    Should,
    MustNot,
}

/// Marks this language's grammar on the shared [`cursor::Parser`].
struct Lucene;

type Parser = cursor::Parser<Lucene>;

impl Parser {
    /// Consumes the operator `word` if it stands alone at the position.
    fn operator(&mut self, word: &str) -> bool {
        let n = word.chars().count();
        let matches = self
            .chars
            .get(self.pos..self.pos + n)
            .is_some_and(|s| s.iter().copied().eq(word.chars()));
        let alone = match self.peek_at(n) {
            None => true,
            Some(c) => c.is_whitespace() || c == '(' || (word.len() > 1 && c == '"'),
        };
        if matches && alone {
            self.pos += n;
        }
        matches && alone
    }

    fn at_operator(&mut self) -> bool {
        let start = self.pos;
        let found = ["AND", "OR", "&&", "||"].iter().any(|w| self.operator(w));
        self.pos = start;
        found
    }

    /// Juxtaposed clauses up to the end or a `)`, `field` applying to
    /// those without their own.
    fn query(&mut self, field: Option<&Field>, depth: usize) -> Result<Expr, QueryError> {
        let (mut must, mut should, mut must_not) = (Vec::new(), Vec::new(), Vec::new());
        loop {
            self.skip_ws();
            match self.peek() {
                None | Some(')') => break,
                _ => {}
            }
            if self.at_operator() {
                return Err(self.error("expected a condition before this operator"));
            }
            let (occur, expr) = self.or(field, depth)?;
            match occur {
                Occur::Must => must.push(expr),
                Occur::Should => should.push(expr),
                Occur::MustNot => must_not.push(expr),
            }
        }
        if must.is_empty() && should.is_empty() && must_not.is_empty() {
            return Err(self.error("expected a condition"));
        }
        let mut all = must;
        if all.is_empty() && !should.is_empty() {
            all.push(one_or(should, Expr::Any));
        }
        all.extend(must_not.into_iter().map(|e| Expr::Not(Box::new(e))));
        Ok(one_or(all, Expr::All))
    }

    /// `item (op item)*` for either spelling of the operator, the items
    /// made one by `join`; a lone item keeps its occurrence.
    fn joined(
        &mut self,
        [word, symbol]: [&str; 2],
        mut item: impl FnMut(&mut Self) -> Result<(Occur, Expr), QueryError>,
        join: fn(Vec<Expr>) -> Expr,
    ) -> Result<(Occur, Expr), QueryError> {
        let first = item(self)?;
        let mut items = Vec::new();
        loop {
            let start = self.pos;
            self.skip_ws();
            if self.operator(word) || self.operator(symbol) {
                self.skip_ws();
                if items.is_empty() {
                    items.push(inline(first.clone()));
                }
                items.push(inline(item(self)?));
            } else {
                self.pos = start;
                break;
            }
        }
        Ok(if items.is_empty() {
            first
        } else {
            (Occur::Should, join(items))
        })
    }

    fn or(&mut self, field: Option<&Field>, depth: usize) -> Result<(Occur, Expr), QueryError> {
        self.joined(["OR", "||"], |p| p.and(field, depth), Expr::Any)
    }

    fn and(&mut self, field: Option<&Field>, depth: usize) -> Result<(Occur, Expr), QueryError> {
        self.joined(["AND", "&&"], |p| p.not(field, depth), Expr::All)
    }

    fn not(&mut self, field: Option<&Field>, depth: usize) -> Result<(Occur, Expr), QueryError> {
        if self.operator("NOT") || (self.peek() == Some('!') && self.peek_at(1) != Some('=')) {
            if self.peek() == Some('!') {
                self.pos += 1;
            }
            let depth = self.deeper(depth)?;
            self.skip_ws();
            let (_, inner) = self.not(field, depth)?;
            return Ok((Occur::MustNot, inner));
        }
        let occur = match self.peek() {
            Some('+') => Occur::Must,
            Some('-') => Occur::MustNot,
            _ => Occur::Should,
        };
        if occur != Occur::Should {
            self.pos += 1;
            if self.peek().is_none_or(char::is_whitespace) {
                return Err(self.error("expected a condition right after '+' or '-'"));
            }
        }
        Ok((occur, self.primary(field, depth)?))
    }

    fn primary(&mut self, field: Option<&Field>, depth: usize) -> Result<Expr, QueryError> {
        let test =
            |f: Option<&Field>, t| Expr::Test(f.cloned().unwrap_or_else(Field::default_field), t);
        match self.peek() {
            None => return Err(self.error("expected a condition at the end of the query")),
            Some('(') => return self.group(field, depth),
            Some('"') => {
                let phrase = self.phrase()?;
                return Ok(test(field, Test::Value(phrase)));
            }
            Some('[' | '{') => {
                let Some(f) = field else {
                    return Err(self.error("a range needs a field, e.g. status:[500 TO 599]"));
                };
                return self.range(f.clone());
            }
            Some('/') => {
                return Err(self.error(
                    "regular expressions are not supported in a query; use the `regex` option",
                ))
            }
            Some(c) if SPECIAL.contains(&c) && c != '\\' => {
                return Err(self.error(format!("expected a condition, found '{c}'")))
            }
            Some(_) => {}
        }
        let column = self.column();
        let term = self.term()?;
        if self.peek() == Some(':') {
            self.pos += 1;
            self.skip_ws();
            let name = term.text();
            if name == "_exists_" {
                let column = self.column();
                let target = self.term()?;
                if target.has_wildcards() {
                    return Err(QueryError::new(
                        column,
                        "field names cannot contain wildcards",
                    ));
                }
                return Ok(Expr::Test(
                    Field::named(&target.text(), column)?,
                    Test::Exists,
                ));
            }
            if term.0 == [Piece::Any] {
                // `*:*`, everything; `*:x` would search every field.
                if self.peek() == Some('*') && self.peek_at(1).is_none_or(ends_term) {
                    self.pos += 1;
                    return Ok(Expr::All(Vec::new()));
                }
                return Err(QueryError::new(
                    column,
                    "name one field: `*:` searches every field",
                ));
            }
            if term.has_wildcards() {
                return Err(QueryError::new(
                    column,
                    "field names cannot contain wildcards",
                ));
            }
            let f = Field::named(&name, column)?;
            return self.field_value(&f, depth);
        }
        if term.0 == [Piece::Any] {
            return Ok(Expr::All(Vec::new()));
        }
        self.after_term()?;
        Ok(test(field, Test::Value(term)))
    }

    /// After `field:`.
    fn field_value(&mut self, field: &Field, depth: usize) -> Result<Expr, QueryError> {
        match self.peek() {
            Some('/') => Err(self
                .error("regular expressions are not supported in a query; use the `regex` option")),
            Some('(') => self.group(Some(field), depth),
            Some('"') => Ok(Expr::Test(field.clone(), Test::Value(self.phrase()?))),
            Some('[' | '{') => self.range(field.clone()),
            Some('*') if self.peek_at(1).is_none_or(ends_term) => {
                self.pos += 1;
                Ok(Expr::Test(field.clone(), Test::Exists))
            }
            Some('>' | '<') => {
                let c = self.peek().expect("peeked");
                let inclusive = self.peek_at(1) == Some('=');
                self.pos += if inclusive { 2 } else { 1 };
                let op = if inclusive {
                    format!("{c}=")
                } else {
                    c.to_string()
                };
                let value = match self.peek() {
                    Some('"') => self.phrase()?,
                    Some(c) if !ends_term(c) => self.term()?,
                    _ => return Err(self.error(format!("expected a value after '{op}'"))),
                };
                if value.has_wildcards() {
                    return Err(self.error("a range bound cannot contain wildcards"));
                }
                let bound = Some(Bound {
                    value: value.text(),
                    inclusive,
                });
                let (lower, upper) = if c == '>' {
                    (bound, None)
                } else {
                    (None, bound)
                };
                Ok(Expr::Test(field.clone(), Test::Range { lower, upper }))
            }
            Some(c) if !ends_term(c) && !self.at_operator() => {
                let term = self.term()?;
                self.after_term()?;
                Ok(Expr::Test(field.clone(), Test::Value(term)))
            }
            _ => Err(self.error("expected a value after ':'")),
        }
    }

    fn group(&mut self, field: Option<&Field>, depth: usize) -> Result<Expr, QueryError> {
        let inner = self.parenthesised(depth, |p, depth| p.query(field, depth))?;
        self.boost()?;
        Ok(inner)
    }

    /// `[a TO b]`, `{a TO b}` and mixed, the position at the bracket.
    fn range(&mut self, field: Field) -> Result<Expr, QueryError> {
        let open = self.column();
        let lower_inclusive = self.peek() == Some('[');
        self.pos += 1;
        self.skip_ws();
        let lower = self.range_bound(lower_inclusive)?;
        self.skip_ws();
        if !self.operator("TO") {
            return Err(self.error("expected `TO` between the bounds of a range"));
        }
        self.skip_ws();
        // The upper bound's inclusivity is known only after it.
        let upper = self.range_bound(true)?;
        self.skip_ws();
        let upper_inclusive = match self.peek() {
            Some(']') => true,
            Some('}') => false,
            _ => {
                return Err(QueryError::new(
                    open,
                    "this range is not closed: expected ']' or '}'",
                ))
            }
        };
        self.pos += 1;
        let upper = upper.map(|b| Bound {
            inclusive: upper_inclusive,
            ..b
        });
        if lower.is_none() && upper.is_none() {
            return Ok(Expr::Test(field, Test::Exists));
        }
        self.boost()?;
        Ok(Expr::Test(field, Test::Range { lower, upper }))
    }

    /// One bound of a range; `*` is an open end.
    fn range_bound(&mut self, inclusive: bool) -> Result<Option<Bound>, QueryError> {
        let column = self.column();
        let value = match self.peek() {
            Some('"') => self.phrase()?,
            Some(c) if !ends_bound(c) => Pattern(self.unquoted(ends_bound, false)?),
            _ => return Err(self.error("expected a range bound (a value or *)")),
        };
        if value.0 == [Piece::Any] {
            return Ok(None);
        }
        if value.has_wildcards() {
            return Err(QueryError::new(
                column,
                "a range bound cannot contain wildcards",
            ));
        }
        Ok(Some(Bound {
            value: value.text(),
            inclusive,
        }))
    }

    /// A term: escapes resolved, `*` and `?` wildcards.
    fn term(&mut self) -> Result<Pattern, QueryError> {
        let column = self.column();
        let pieces = self.unquoted(ends_term, true)?;
        if pieces.is_empty() {
            return Err(QueryError::new(column, "expected a value"));
        }
        Ok(Pattern(pieces))
    }

    /// What may follow a term or phrase: a boost (ignored); `~` refused.
    fn after_term(&mut self) -> Result<(), QueryError> {
        if self.peek() == Some('~') {
            return Err(self.error(
                "fuzzy and proximity searches (`~`) are not supported; use a wildcard or the `regex` option",
            ));
        }
        self.boost()
    }

    fn boost(&mut self) -> Result<(), QueryError> {
        if self.peek() == Some('^') {
            self.pos += 1;
            let start = self.pos;
            while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
                self.pos += 1;
            }
            if self.pos == start {
                return Err(self.error("expected a number after '^'"));
            }
        }
        Ok(())
    }

    /// A `"phrase"`: `*` is literal in it.
    fn phrase(&mut self) -> Result<Pattern, QueryError> {
        let phrase = self.quoted()?;
        self.after_term()?;
        Ok(phrase)
    }
}

fn ends_bound(c: char) -> bool {
    c.is_whitespace() || c == ']' || c == '}'
}

fn ends_term(c: char) -> bool {
    c.is_whitespace() || (SPECIAL.contains(&c) && c != '\\')
}

/// A clause inside `AND`/`OR`: `-x` is `NOT x`, `+x` is `x`.
fn inline((occur, expr): (Occur, Expr)) -> Expr {
    match occur {
        Occur::MustNot => Expr::Not(Box::new(expr)),
        _ => expr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::test_support::value;

    fn not(e: Expr) -> Expr {
        Expr::Not(Box::new(e))
    }

    fn err(q: &str) -> String {
        parse(q).unwrap_err().to_string()
    }

    #[test]
    fn operators_bind_not_then_and_then_or() {
        assert_eq!(
            parse("a:1 OR b:2 AND NOT c:3").unwrap(),
            Expr::Any(vec![
                value("a", "1"),
                Expr::All(vec![value("b", "2"), not(value("c", "3"))])
            ])
        );
        assert_eq!(
            parse("a:1 || b:2 && !c:3").unwrap(),
            parse("a:1 OR b:2 AND NOT c:3").unwrap()
        );
        // Lower-case words are terms, as in Lucene.
        assert_eq!(parse("message:and").unwrap(), value("message", "and"));
    }

    #[test]
    fn juxtaposed_clauses_follow_lucene_occurrences() {
        // Some required: the optional one does not matter.
        assert_eq!(
            parse("+a:1 b:2 -c:3").unwrap(),
            Expr::All(vec![value("a", "1"), not(value("c", "3"))])
        );
        // None required: one optional must hold.
        assert_eq!(
            parse("a:1 b:2").unwrap(),
            Expr::Any(vec![value("a", "1"), value("b", "2")])
        );
        assert_eq!(parse("-a:1").unwrap(), not(value("a", "1")));
        assert_eq!(
            parse("a:1 NOT b:2").unwrap(),
            Expr::All(vec![value("a", "1"), not(value("b", "2"))])
        );
        assert_eq!(
            parse("a:1 AND -b:2").unwrap(),
            Expr::All(vec![value("a", "1"), not(value("b", "2"))])
        );
        assert_eq!(
            parse("status:(500 503)").unwrap(),
            Expr::Any(vec![value("status", "500"), value("status", "503")])
        );
        assert_eq!(parse("pay-api").unwrap(), parse("message:pay-api").unwrap());
    }

    #[test]
    fn phrases_escapes_wildcards_ranges_and_exists() {
        assert_eq!(
            parse(r#"message:"db \"down\"""#).unwrap(),
            value("message", r#"db "down""#)
        );
        assert_eq!(parse(r"path:C\:\\x").unwrap(), value("path", r"C:\x"));
        let Expr::Test(_, Test::Value(p)) = parse("host:w?b-*").unwrap() else {
            panic!()
        };
        assert_eq!(p.0[1], Piece::One);
        assert_eq!(p.0.last(), Some(&Piece::Any));
        let Expr::Test(_, Test::Range { lower, upper }) = parse("status:[500 TO 599}").unwrap()
        else {
            panic!()
        };
        assert_eq!(
            lower,
            Some(Bound {
                value: "500".into(),
                inclusive: true
            })
        );
        assert_eq!(
            upper,
            Some(Bound {
                value: "599".into(),
                inclusive: false
            })
        );
        let Expr::Test(_, Test::Range { lower, upper }) = parse("status:{* TO 400]").unwrap()
        else {
            panic!()
        };
        assert_eq!(lower, None);
        assert_eq!(
            upper,
            Some(Bound {
                value: "400".into(),
                inclusive: true
            })
        );
        assert!(matches!(
            parse("status:>=500").unwrap(),
            Expr::Test(
                _,
                Test::Range {
                    lower: Some(Bound {
                        inclusive: true,
                        ..
                    }),
                    upper: None
                }
            )
        ));
        assert!(matches!(
            parse("_exists_:trace.id").unwrap(),
            Expr::Test(_, Test::Exists)
        ));
        assert!(matches!(
            parse("trace.id:*").unwrap(),
            Expr::Test(_, Test::Exists)
        ));
        assert_eq!(parse("*:*").unwrap(), Expr::All(Vec::new()));
        assert_eq!(parse("message:error^2").unwrap(), value("message", "error"));
    }

    #[test]
    fn errors_name_the_column() {
        for (query, error) in [
            ("message:", "at 9: expected a value after ':'"),
            (
                "a:1 AND",
                "at 8: expected a condition at the end of the query",
            ),
            ("(a:1", "at 1: this '(' is not closed: expected ')'"),
            ("a:1)", "at 4: a ')' without its '('"),
            ("s:[1 TO", "at 8: expected a range bound (a value or *)"),
            (
                "s:[1 2]",
                "at 6: expected `TO` between the bounds of a range",
            ),
            (
                "s:[1 TO 2",
                "at 3: this range is not closed: expected ']' or '}'",
            ),
            (
                "[1 TO 2]",
                "at 1: a range needs a field, e.g. status:[500 TO 599]",
            ),
            ("AND a:1", "at 1: expected a condition before this operator"),
            ("+ a:1", "at 2: expected a condition right after '+' or '-'"),
        ] {
            assert_eq!(err(query), error, "{query:?}");
        }
        assert!(err("m:/err.*/").contains("regular expressions are not supported"));
        assert!(err("m:eror~1").contains("fuzzy"));
        assert!(err(&"(".repeat(40)).contains("nested more than 32"));
        assert!(err(&"NOT ".repeat(40)).contains("nested more than 32"));
    }
}
