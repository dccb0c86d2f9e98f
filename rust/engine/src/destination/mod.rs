//! Destinations: where intents become requests.
//!
//! A destination (today: a Slack incoming webhook, or a JSON webhook) owns
//! everything between the decision core and the wire:
//!
//! - [`limit`]: its token bucket and pending summary, shared by every rule
//!   posting there, because the limit is Slack's, per webhook. The core
//!   asks it whether a message may go now and hands it what may not.
//! - [`render`]: turns an [`Intent`](crate::Intent) into the request
//!   body, in the style of the rule that sent it.
//! - [`sender`]: its bounded queue and the thread that renders, paces,
//!   posts and retries, outside the engine's lock.
//!
//! - [`app`]: Slack's Web API with a bot token (app mode), whose sender
//!   keeps one message per incident current from the same intents.
//! - [`client`]: the one HTTP client all of them use (proxy, extra CAs).

pub mod app;
pub mod client;
mod limit;
mod render;
pub mod sender;

pub(crate) use limit::{DestinationLimit, Held};
pub use render::render;
