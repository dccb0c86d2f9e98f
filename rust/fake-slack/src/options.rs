//! What a [`Receiver`](crate::Receiver) is started with and how it answers.
//!
//! These types are plain data: the behaviour they select lives in `state.rs`
//! (what to answer a post) and `rate.rs` (the leaky bucket).

use std::io;
use std::path::PathBuf;

/// How a receiver is started.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    /// Answers 429 with `Retry-After` once posts outrun this bucket, like Slack.
    /// `None` (the default) never rate-limits, so tests that do not care about pacing
    /// are not slowed down by it.
    pub rate_limit: Option<RateLimit>,
    /// Prints each accepted message to stdout through `slack_alert_render::plain::to_text`,
    /// as a person would read it in Slack, separated by a blank line. Off by default:
    /// test output stays quiet; the demo turns it on.
    pub print: bool,
    /// When the receiver stops, writes this file: one HTML page showing every post
    /// received as Slack would have (see `GET /_receiver/page`). Off by default.
    pub html: Option<PathBuf>,
}

/// A leaky bucket: `burst` posts fit, and the bucket drains `per_second` posts a second.
///
/// Slack documents about one message per second per webhook; users measured a bucket of
/// roughly 25 with a 1/s leak, which is what [`RateLimit::slack`] returns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Posts drained from the bucket per second. Must be finite and > 0.
    pub per_second: f64,
    /// Posts the bucket holds before answering 429. Must be ≥ 1.
    pub burst: u32,
}

impl RateLimit {
    /// The limit Slack's users measured: 1 post a second, bursts of 25.
    pub fn slack() -> RateLimit {
        RateLimit {
            per_second: 1.0,
            burst: 25,
        }
    }

    /// Returns an error naming the bad field if this limit cannot be enforced.
    pub(crate) fn validate(&self) -> io::Result<()> {
        if !(self.per_second.is_finite() && self.per_second > 0.0) {
            return Err(invalid(format!(
                "`per_second` must be a positive number, got {}",
                self.per_second
            )));
        }
        if self.burst == 0 {
            return Err(invalid("`burst` must be at least 1".to_string()));
        }
        Ok(())
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// How the receiver answers posts to `/services/...`. Control requests (`/_receiver/...`)
/// are answered whatever the mode, so a test can always switch back.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Validate against Slack's limits (see [`crate::limits`]), then 200 `ok` or the
    /// Slack error a breach earns.
    #[default]
    Ok,
    /// Answer every post with this status and body, e.g. 500 `rollup_error`,
    /// 404 `no_service`, 429 `rate_limited` with or without `Retry-After`.
    Status {
        status: u16,
        error: String,
        retry_after: Option<u64>,
    },
    /// Read the request and never answer, until the mode changes or the receiver stops;
    /// then close the connection. Simulates a stalled Slack.
    Hang,
    /// Read the request and close the connection without answering: a network error.
    CloseImmediately,
    /// Answer the next `count` posts as `then` would, afterwards behave as [`Mode::Ok`].
    FailNext { count: u32, then: Box<Mode> },
    /// Answer every post with this status and body and a `Retry-After` header carrying
    /// `retry_after` verbatim: an HTTP date, or what no Slack would send (a negative or
    /// enormous number, garbage), to see that a client survives it.
    RawRetryAfter {
        status: u16,
        error: String,
        retry_after: String,
    },
    /// Answer every post with this status and a body of `bytes` bytes (`x` repeated),
    /// streamed, so a client that reads a reply whole is seen reading all of it
    /// ([`crate::Stats::huge_body_bytes_written`] counts what got out).
    HugeBody { status: u16, bytes: u64 },
}

impl Mode {
    /// Shorthand for [`Mode::Status`] without `Retry-After`.
    pub fn status(status: u16, error: &str) -> Mode {
        Mode::Status {
            status,
            error: error.to_string(),
            retry_after: None,
        }
    }

    /// Shorthand for a 429 `rate_limited` answer, with `Retry-After` if given.
    pub fn rate_limited(retry_after: Option<u64>) -> Mode {
        Mode::Status {
            status: 429,
            error: "rate_limited".to_string(),
            retry_after,
        }
    }

    /// Shorthand for a 429 `rate_limited` answer with this `Retry-After` text.
    pub fn raw_retry_after(retry_after: &str) -> Mode {
        Mode::RawRetryAfter {
            status: 429,
            error: "rate_limited".to_string(),
            retry_after: retry_after.to_string(),
        }
    }

    /// Shorthand for [`Mode::FailNext`].
    pub fn fail_next(count: u32, then: Mode) -> Mode {
        Mode::FailNext {
            count,
            then: Box::new(then),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_limit_is_valid() {
        assert!(RateLimit::slack().validate().is_ok());
    }

    #[test]
    fn bad_limits_name_the_field() {
        let zero_rate = RateLimit {
            per_second: 0.0,
            burst: 5,
        };
        assert!(zero_rate
            .validate()
            .unwrap_err()
            .to_string()
            .contains("`per_second`"));
        let nan_rate = RateLimit {
            per_second: f64::NAN,
            burst: 5,
        };
        assert!(nan_rate.validate().is_err());
        let zero_burst = RateLimit {
            per_second: 1.0,
            burst: 0,
        };
        assert!(zero_burst
            .validate()
            .unwrap_err()
            .to_string()
            .contains("`burst`"));
    }

    #[test]
    fn default_mode_is_ok() {
        assert_eq!(Mode::default(), Mode::Ok);
        assert_eq!(
            Mode::fail_next(2, Mode::Hang),
            Mode::FailNext {
                count: 2,
                then: Box::new(Mode::Hang)
            }
        );
    }
}
