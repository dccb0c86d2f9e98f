//! What the unit tests of several modules build the same way.

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use crate::clock::Now;
use crate::config::Config;

/// `ms` into a test on both clocks, the wall clock counting from `start`.
fn now(start: SystemTime, ms: u64) -> Now {
    Now {
        mono_ms: ms,
        wall: start + Duration::from_millis(ms),
    }
}

/// `ms` into a decision test, whose wall clock starts at 2023-11-14
/// 22:13:20 UTC, so that messages show a real date.
pub(crate) fn at(ms: u64) -> Now {
    now(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        ms,
    )
}

/// `ms` into a test whose wall clock starts at the Unix epoch, so that wall
/// times read as the milliseconds they were observed at.
pub(crate) fn at_epoch(ms: u64) -> Now {
    now(SystemTime::UNIX_EPOCH, ms)
}

/// A dry run with `options` over the defaults.
pub(crate) fn dry_run(options: Value) -> Config {
    let mut config = json!({"dry_run": true});
    config
        .as_object_mut()
        .unwrap()
        .extend(options.as_object().unwrap().clone());
    Config::try_from(config).unwrap()
}
