//! The HTTP/1.1 request reader behind `slack-alert run --http` (and the test
//! receiver) over hostile bytes from the network.
//!
//! Input: one byte for the body cap (0–255), one for the read buffer's size
//! (1–16), then the stream, read as pipelined requests until the first error.
//! The reader must never panic, never hand out a body over the cap, never
//! answer anything but `100 Continue` before a body, and never return more
//! requests than the bytes could hold. Each request it returns, written back
//! out with a `Content-Length`, must read back to the same request.
#![no_main]

use std::io::{BufRead, BufReader};

use libfuzzer_sys::fuzz_target;
use slack_alert_http::{read_request_limited, Request};

/// The shortest request the reader accepts: `A * HTTP/1.0\n\n`.
const SHORTEST_REQUEST: usize = 14;

/// `request` written in the plainest form the reader must accept.
fn wire(request: &Request) -> Vec<u8> {
    let mut out = format!(
        "{} {} HTTP/1.1\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n",
        request.method,
        request.path,
        request.body.len(),
        if request.keep_alive { "keep-alive" } else { "close" },
    )
    .into_bytes();
    out.extend_from_slice(&request.body);
    out
}

fuzz_target!(|data: &[u8]| {
    let [cap, buffer, input @ ..] = data else {
        return;
    };
    let cap = usize::from(*cap);
    let buffer = usize::from(buffer % 16) + 1;
    let mut reader = BufReader::with_capacity(buffer, input);
    let mut interim = Vec::new();
    let mut requests = 0usize;
    loop {
        match read_request_limited(&mut reader, &mut interim, cap) {
            Ok(request) => {
                requests += 1;
                assert!(request.body.len() <= cap, "body over the cap {cap}");
                assert!(!request.method.is_empty() && !request.method.contains(' '));
                assert!(!request.path.contains(['?', '#', ' ']), "{:?}", request.path);
                assert!(requests * SHORTEST_REQUEST <= input.len(), "more requests than bytes");

                let again = read_request_limited(
                    &mut BufReader::new(&wire(&request)[..]),
                    &mut std::io::sink(),
                    cap,
                )
                .expect("a request the reader returned reads back");
                assert_eq!(again.method, request.method);
                assert_eq!(again.body, request.body);
                assert_eq!(again.keep_alive, request.keep_alive);
                // A path that itself looks like an absolute URL is cut again.
                if !request.path.contains("://") {
                    assert_eq!(again.path, request.path);
                }
            }
            // The server answers these and closes the connection.
            Err(_) => break,
        }
        if reader.fill_buf().map_or(true, <[u8]>::is_empty) {
            break;
        }
    }
    assert!(
        interim.chunks(25).all(|c| c == b"HTTP/1.1 100 Continue\r\n\r\n"),
        "only 100 Continue goes out before a body"
    );
});
