//! Slack app mode: a destination that posts with a bot token through the
//! Web API and keeps one message per incident current.
//!
//! - [`api`]: the calls and what Slack's answers mean (`ok: false` codes
//!   sorted into what to do), over HTTPS or as a dry run.
//! - [`status`]: what an incident's message and thread say as it lives.
//! - `worker`: the sender thread: pacing per channel and per rate tier,
//!   the incidents' messages, their updates, replies and uploads.

pub mod api;
pub mod status;
mod worker;

pub(crate) use worker::AppWorker;
pub use worker::{trace_to_upload, MAX_UPLOAD_BYTES, SHOWN_TRACE_CHARS};
