//! The position in a query's text that both parsers move through, and the
//! error that points at it.

use super::{QueryError, MAX_DEPTH};

/// A query's characters and the parser's position in them. Each language's
/// parser adds its grammar in an `impl Cursor` of its own.
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
