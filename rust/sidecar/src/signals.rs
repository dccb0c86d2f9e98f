//! SIGTERM and SIGINT without a signal-handling crate.
//!
//! The handler only sets a flag (an atomic store is async-signal-safe); the
//! main thread polls it and stops the server in its own time. A second
//! signal while stopping exits at once, for an operator who presses Ctrl-C
//! twice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// How often the flag is looked at: the delay before stopping starts.
const POLL: Duration = Duration::from_millis(50);

/// Returns true if and only if SIGTERM or SIGINT was received.
pub fn termination_requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Blocks until SIGTERM or SIGINT. Call [`install`] first.
pub fn wait_for_termination() {
    while !termination_requested() {
        std::thread::sleep(POLL);
    }
}

#[cfg(unix)]
mod imp {
    use super::REQUESTED;
    use std::os::raw::c_int;
    use std::sync::atomic::Ordering;

    const SIGINT: c_int = 2;
    const SIGTERM: c_int = 15;

    extern "C" {
        fn signal(signum: c_int, handler: extern "C" fn(c_int)) -> usize;
        fn _exit(status: c_int) -> !;
    }

    extern "C" fn on_signal(_: c_int) {
        if REQUESTED.swap(true, Ordering::SeqCst) {
            // SAFETY: `_exit` is async-signal-safe and touches no Rust state.
            unsafe { _exit(1) }
        }
    }

    pub(super) fn install() {
        // SAFETY: the handler only does an atomic swap and `_exit`, both
        // async-signal-safe.
        unsafe {
            signal(SIGINT, on_signal);
            signal(SIGTERM, on_signal);
        }
    }
}

#[cfg(not(unix))]
mod imp {
    pub(super) fn install() {}
}

/// Routes SIGTERM and SIGINT to [`termination_requested`].
pub fn install() {
    imp::install();
}
