//! Lines of bytes with a cap on their length.
//!
//! `json_lines` input comes from files, pipes and sockets nobody vouches for:
//! a line may be invalid UTF-8, or a client may send megabytes without a
//! newline. [`LineReader`] hands out one line at a time as bytes and never
//! holds more than `max_line_bytes` of one: a longer line is skipped up to its
//! newline and reported as [`Line::TooLong`], without being buffered.

use std::io::{self, BufRead, ErrorKind};

use serde_json::Value;

/// One line read by [`LineReader`].
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line without its `\n` (and without a `\r` before it). The last line of
    /// the input counts even without a newline.
    Complete(&'a [u8]),
    /// A line longer than the cap; its bytes were discarded.
    TooLong {
        /// How many bytes the line had, without the newline.
        bytes: u64,
    },
}

/// Reads capped lines from a [`BufRead`].
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    max_line_bytes: usize,
    line: Vec<u8>,
}

impl<R: BufRead> LineReader<R> {
    /// `max_line_bytes` is at least 1.
    pub fn new(inner: R, max_line_bytes: usize) -> LineReader<R> {
        LineReader {
            inner,
            max_line_bytes: max_line_bytes.max(1),
            line: Vec::new(),
        }
    }

    /// The next line, or `Ok(None)` at the end of the input.
    ///
    /// An I/O error (a read timeout on a socket, say) is returned as is; what
    /// was read of the current line so far is then dropped.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.line.clear();
        // Bytes of the current line seen so far, kept or not.
        let mut seen: u64 = 0;
        let mut too_long = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                // End of input: a last line without a newline still counts.
                if seen == 0 {
                    return Ok(None);
                }
                break;
            }
            let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            seen += take as u64;
            if !too_long {
                if self.line.len() + take > self.max_line_bytes {
                    too_long = true;
                    // Give the memory back: a hostile client must not pin a
                    // buffer of the cap's size on every connection.
                    self.line = Vec::new();
                } else {
                    self.line.extend_from_slice(&chunk[..take]);
                }
            }
            self.inner.consume(take + usize::from(done));
            if done {
                // An empty line between lines is still a line (the caller skips it).
                if seen == 0 {
                    return Ok(Some(Line::Complete(&[])));
                }
                break;
            }
        }
        if too_long {
            return Ok(Some(Line::TooLong { bytes: seen }));
        }
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        Ok(Some(Line::Complete(&self.line)))
    }
}

/// One line as a JSON event object, or why it is not one.
pub fn parse_event(bytes: &[u8]) -> Result<Value, String> {
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(format!(
            "not UTF-8 (invalid byte at column {})",
            e.valid_up_to() + 1
        ));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(other) => Err(format!("a JSON {}, not an event object", type_name(&other))),
        Err(e) => Err(format!("not JSON ({e})")),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Read};

    fn all(input: &[u8], cap: usize, buffer: usize) -> Vec<Result<Vec<u8>, u64>> {
        let mut reader = LineReader::new(BufReader::with_capacity(buffer, input), cap);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            out.push(match line {
                Line::Complete(b) => Ok(b.to_vec()),
                Line::TooLong { bytes } => Err(bytes),
            });
        }
        out
    }

    fn ok(s: &str) -> Result<Vec<u8>, u64> {
        Ok(s.as_bytes().to_vec())
    }

    #[test]
    fn splits_lines_and_strips_crlf() {
        for buffer in [1, 2, 3, 7, 8192] {
            assert_eq!(
                all(b"a\r\nbc\n\nlast", 10, buffer),
                vec![ok("a"), ok("bc"), ok(""), ok("last")],
                "buffer {buffer}"
            );
        }
        assert!(all(b"", 10, 8).is_empty());
        assert_eq!(all(b"\n", 10, 8), vec![ok("")]);
    }

    #[test]
    fn long_lines_are_skipped_up_to_their_newline() {
        for buffer in [1, 4, 8192] {
            assert_eq!(
                all(b"12345\n123456\nxy\n1234567890", 5, buffer),
                vec![ok("12345"), Err(6), ok("xy"), Err(10)],
                "buffer {buffer}"
            );
        }
    }

    #[test]
    fn invalid_utf8_is_passed_through_as_bytes() {
        assert_eq!(
            all(b"\xff\xfe\n{}", 10, 8),
            vec![Ok(vec![0xff, 0xfe]), ok("{}")]
        );
    }

    #[test]
    fn an_endless_line_is_never_buffered() {
        // 64 MiB without a newline, produced on the fly.
        struct Endless(u64);
        impl Read for Endless {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = (buf.len() as u64).min(self.0) as usize;
                buf[..n].fill(b'x');
                self.0 -= n as u64;
                Ok(n)
            }
        }
        let mut reader = LineReader::new(BufReader::new(Endless(64 << 20)), 1024);
        assert_eq!(
            reader.next_line().unwrap(),
            Some(Line::TooLong { bytes: 64 << 20 })
        );
        assert!(reader.line.capacity() <= 1024 + 8192);
        assert_eq!(reader.next_line().unwrap(), None);
    }
}
