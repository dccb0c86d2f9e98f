//! The message normaliser behind every fingerprint: any text, any cut.
//!
//! Input: one byte for `max_chars`, then the message (lossily decoded, as an
//! event's string would be). Checks that the result is one line, never much
//! longer than asked, and that the whole fingerprint of an event carrying the
//! message is computed without a panic and is stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use slack_alert_engine::normalize_first_line;
use slack_alert_engine::{Fingerprinter, Level};

fuzz_target!(|data: &[u8]| {
    let Some((&cap, rest)) = data.split_first() else {
        return;
    };
    let message = String::from_utf8_lossy(rest);
    let max_chars = usize::from(cap);
    let out = normalize_first_line(&message, max_chars);
    // A mask (at most `<uuid>`, 6 characters) may start just below the cap.
    assert!(
        out.chars().count() <= max_chars + 5,
        "{} characters for max_chars {max_chars}: {out:?}",
        out.chars().count()
    );
    assert!(!out.contains('\n'), "more than one line: {out:?}");

    // The whole fingerprint of an event carrying the text is stable. (Its label
    // may span lines: a logger or error type is kept as it is, and the
    // renderers show a multi-line label as a code block.)
    let event = json!({"message": message, "error.type": message, "log.logger": "x"});
    let fingerprinter = Fingerprinter::new(vec![]);
    let fingerprint = fingerprinter.fingerprint(Level::Error, &event);
    assert_eq!(fingerprint, fingerprinter.fingerprint(Level::Error, &event));
});
