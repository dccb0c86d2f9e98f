//! Why a call to the store did not give an answer to act on.

use std::fmt;
use std::time::Duration;

/// A call that failed. `host` is shown as `scheme://host:port/prefix` (no credentials can be in
/// it: [`Store::new`](crate::Store::new) refuses hosts with user info), and no variant holds an
/// API key, a password or a header, so `Display` and `Debug` never show a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The settings cannot work; checked by [`Store::new`](crate::Store::new).
    Config(String),
    /// An argument the store cannot send (an empty id, one too long for an `_id`).
    Invalid(String),
    /// No HTTP answer: connection refused or reset, TLS failure, an answer cut off.
    Unreachable { host: String, reason: String },
    /// No complete answer within the call's timeout.
    Timeout { host: String, after: Duration },
    /// An HTTP answer that refuses the request: 401/403 (credentials or privileges), 429
    /// (overloaded), 5xx, or any status the call does not expect. `reason` is Elasticsearch's
    /// error type and reason when it gave them.
    Refused {
        host: String,
        status: u16,
        reason: String,
    },
    /// An answer that is not what Elasticsearch sends: not JSON, or JSON without the fields
    /// the call reads.
    Nonsense { host: String, reason: String },
    /// An answer body over the size cap ([`MAX_BODY_BYTES`](crate::MAX_BODY_BYTES)); read no further.
    TooLarge { host: String, limit: usize },
}

impl StoreError {
    /// The host the error came from, if any.
    pub fn host(&self) -> Option<&str> {
        match self {
            StoreError::Config(_) | StoreError::Invalid(_) => None,
            StoreError::Unreachable { host, .. }
            | StoreError::Timeout { host, .. }
            | StoreError::Refused { host, .. }
            | StoreError::Nonsense { host, .. }
            | StoreError::TooLarge { host, .. } => Some(host),
        }
    }

    /// The HTTP status of a [`Refused`](StoreError::Refused) answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            StoreError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Config(why) => write!(f, "coordination settings: {why}"),
            StoreError::Invalid(why) => write!(f, "coordination store: {why}"),
            StoreError::Unreachable { host, reason } => {
                write!(f, "coordination store {host} unreachable: {reason}")
            }
            StoreError::Timeout { host, after } => {
                write!(
                    f,
                    "coordination store {host} gave no answer within {} ms (coordination_timeout)",
                    after.as_millis()
                )
            }
            StoreError::Refused {
                host,
                status,
                reason,
            } => {
                let hint = match status {
                    401 => ": check coordination_api_key or coordination_user/coordination_password",
                    403 => ": the credentials lack a privilege on the index (create_index, read, write, delete)",
                    429 => ": it is overloaded",
                    500..=599 => ": it failed",
                    _ => "",
                };
                write!(f, "coordination store {host} answered {status}")?;
                if !reason.is_empty() {
                    write!(f, " ({reason})")?;
                }
                f.write_str(hint)
            }
            StoreError::Nonsense { host, reason } => {
                write!(
                    f,
                    "coordination store {host} answered what Elasticsearch does not: {reason}"
                )
            }
            StoreError::TooLarge { host, limit } => {
                write!(
                    f,
                    "coordination store {host} answered more than {limit} bytes; not read"
                )
            }
        }
    }
}

impl std::error::Error for StoreError {}
