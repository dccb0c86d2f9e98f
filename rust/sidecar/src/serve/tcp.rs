//! The TCP listener: `json_lines`, what Logstash's `tcp` output and socket
//! log appenders send.

use std::io::{BufReader, ErrorKind};
use std::net::TcpStream;

use slack_alert_engine::LogLevel;

use super::Hub;
use crate::lines::{Line, LineReader};

/// Reads lines until the client closes, goes quiet for the idle timeout, or
/// the server stops (which shuts the socket down: what was already read is
/// still decided about). The first bad and the first oversized line of a
/// connection are logged; after that they are only counted, so a client
/// sending garbage cannot flood the log.
pub(super) fn serve(stream: &TcpStream, hub: &Hub) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "?".into());
    let limits = hub.limits();
    let _ = stream.set_read_timeout(Some(limits.idle_timeout));
    let mut lines = LineReader::new(BufReader::new(stream), limits.max_line_bytes);
    let mut number: u64 = 0;
    let mut logged_bad = false;
    let mut logged_long = false;
    loop {
        let line = match lines.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => return,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if !hub.is_stopping() {
                    hub.log(
                        LogLevel::Info,
                        &format!(
                            "tcp {peer}: nothing received for {}s; connection closed",
                            limits.idle_timeout.as_secs_f32()
                        ),
                    );
                }
                return;
            }
            Err(_) => return,
        };
        number += 1;
        match line {
            Line::Complete(bytes) => {
                if let Err(problem) = hub.ingest_line(bytes) {
                    if !logged_bad {
                        logged_bad = true;
                        hub.log(
                            LogLevel::Warn,
                            &format!(
                                "tcp {peer}: line {number}: {problem}; skipped (further bad \
                                 lines from this connection are only counted)"
                            ),
                        );
                    }
                }
            }
            Line::TooLong { bytes } => {
                hub.oversized();
                if !logged_long {
                    logged_long = true;
                    hub.log(
                        LogLevel::Warn,
                        &format!(
                            "tcp {peer}: line {number} is longer than --max-line-bytes ({}): \
                             {bytes} bytes; skipped (further long lines from this connection \
                             are only counted)",
                            limits.max_line_bytes
                        ),
                    );
                }
            }
        }
    }
}
