//! The position in a query's text that both parsers move through, and the
//! error that points at it.

use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use super::{Pattern, Piece, QueryError, MAX_DEPTH};

/// A query's characters and the parser's position in them.
pub(super) struct Cursor {
    pub(super) chars: Vec<char>,
    pub(super) pos: usize,
}

impl Cursor {
    /// At the start of `text`, past leading whitespace.
    pub(super) fn new(text: &str) -> Cursor {
        let mut c = Cursor {
            chars: text.chars().collect(),
            pos: 0,
        };
        c.skip_ws();
        c
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    pub(super) fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    /// 1-based, as operators count columns.
    pub(super) fn column(&self) -> usize {
        self.pos + 1
    }

    pub(super) fn error(&self, message: impl Into<String>) -> QueryError {
        QueryError::new(self.column(), message)
    }

    pub(super) fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// A `"quoted value"`, the position at the quote: `\` escapes the next
    /// character and `*` is literal.
    pub(super) fn quoted(&mut self) -> Result<Pattern, QueryError> {
        let open = self.column();
        self.pos += 1;
        let mut pieces = Vec::new();
        loop {
            match self.peek() {
                None => return Err(QueryError::new(open, "this '\"' is not closed")),
                Some('"') => {
                    self.pos += 1;
                    return Ok(Pattern(pieces));
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(e) => {
                            self.pos += 1;
                            pieces.push(Piece::Char(e));
                        }
                        None => return Err(QueryError::new(open, "this '\"' is not closed")),
                    }
                }
                Some(c) => {
                    self.pos += 1;
                    pieces.push(Piece::Char(c));
                }
            }
        }
    }

    /// The unquoted run of characters at the position, up to one that `ends`
    /// it: `\` escapes the next character, `*` is a wildcard, and so is `?`
    /// when `one_wildcard`.
    pub(super) fn unquoted(
        &mut self,
        ends: impl Fn(char) -> bool,
        one_wildcard: bool,
    ) -> Result<Vec<Piece>, QueryError> {
        let mut pieces = Vec::new();
        while let Some(c) = self.peek() {
            if ends(c) {
                break;
            }
            self.pos += 1;
            match c {
                '\\' => match self.peek() {
                    Some(e) => {
                        self.pos += 1;
                        pieces.push(Piece::Char(e));
                    }
                    None => return Err(self.error("a '\\' at the end escapes nothing")),
                },
                '*' => pieces.push(Piece::Any),
                '?' if one_wildcard => pieces.push(Piece::One),
                c => pieces.push(Piece::Char(c)),
            }
        }
        Ok(pieces)
    }

    /// One level deeper, refused past [`MAX_DEPTH`] so that hostile nesting
    /// cannot exhaust the stack.
    pub(super) fn deeper(&self, depth: usize) -> Result<usize, QueryError> {
        if depth >= MAX_DEPTH {
            Err(self.error(format!("nested more than {MAX_DEPTH} levels deep")))
        } else {
            Ok(depth + 1)
        }
    }
}

/// A language's parser over the shared [`Cursor`]. Each language adds its
/// grammar in an `impl Parser<Language>` of its own, so that the two
/// grammars' rules (`or`, `and`, `range`, …) keep their names apart.
pub(super) struct Parser<L> {
    cursor: Cursor,
    language: PhantomData<L>,
}

impl<L> Parser<L> {
    pub(super) fn new(text: &str) -> Self {
        Parser {
            cursor: Cursor::new(text),
            language: PhantomData,
        }
    }

    /// `( inner )`, the position at the `(`: one level deeper, and an error
    /// pointing at the `(` when it is not closed.
    pub(super) fn parenthesised<T>(
        &mut self,
        depth: usize,
        inner: impl FnOnce(&mut Self, usize) -> Result<T, QueryError>,
    ) -> Result<T, QueryError> {
        let open = self.column();
        self.pos += 1;
        let depth = self.deeper(depth)?;
        self.skip_ws();
        let inner = inner(self, depth)?;
        self.skip_ws();
        if self.peek() != Some(')') {
            return Err(QueryError::new(
                open,
                "this '(' is not closed: expected ')'",
            ));
        }
        self.pos += 1;
        Ok(inner)
    }
}

impl<L> Deref for Parser<L> {
    type Target = Cursor;
    fn deref(&self) -> &Cursor {
        &self.cursor
    }
}

impl<L> DerefMut for Parser<L> {
    fn deref_mut(&mut self) -> &mut Cursor {
        &mut self.cursor
    }
}
