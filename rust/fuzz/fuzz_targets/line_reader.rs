//! The sidecar's capped line reader over hostile input.
//!
//! Input: one byte for the cap (1–64), one for the read buffer's size (1–16),
//! then the stream. The reader must hand out exactly what a plain split on
//! `\n` would (a line over the cap reported as too long with its length,
//! a `\r` before the newline dropped), whatever the buffer boundaries, and
//! every complete line must go through the event parser without a panic.
#![no_main]

use std::io::BufReader;

use libfuzzer_sys::fuzz_target;
use slack_alert_sidecar::lines::{parse_event, Line, LineReader};

#[derive(Debug, PartialEq)]
enum Expected {
    Complete(Vec<u8>),
    TooLong(u64),
}

/// What the reader must return, computed the obvious way.
fn reference(input: &[u8], cap: usize) -> Vec<Expected> {
    if input.is_empty() {
        return Vec::new();
    }
    let body = input.strip_suffix(b"\n").unwrap_or(input);
    body.split(|&b| b == b'\n')
        .map(|raw| {
            if raw.len() > cap {
                Expected::TooLong(raw.len() as u64)
            } else {
                Expected::Complete(raw.strip_suffix(b"\r").unwrap_or(raw).to_vec())
            }
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let [cap, buffer, input @ ..] = data else {
        return;
    };
    let cap = usize::from(cap % 64) + 1;
    let buffer = usize::from(buffer % 16) + 1;
    let mut reader = LineReader::new(BufReader::with_capacity(buffer, input), cap);
    let mut got = Vec::new();
    while let Some(line) = reader.next_line().expect("reading a slice never fails") {
        got.push(match line {
            Line::Complete(bytes) => {
                assert!(bytes.len() <= cap);
                let _ = parse_event(bytes);
                Expected::Complete(bytes.to_vec())
            }
            Line::TooLong { bytes } => Expected::TooLong(bytes),
        });
        assert!(got.len() <= input.len() + 1, "more lines than bytes");
    }
    assert_eq!(got, reference(input, cap), "cap {cap}, buffer {buffer}");
    // Whole input as one line, as `POST /events` reads a body.
    let _ = parse_event(input);
});
