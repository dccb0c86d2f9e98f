//! SIGTERM and SIGINT: a first one asks the server to stop, a second one
//! while stopping exits at once, for an operator who presses Ctrl-C twice.
//!
//! The handlers only set a flag; the main thread polls it and stops the
//! server in its own time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::flag;

static REQUESTED: LazyLock<Arc<AtomicBool>> = LazyLock::new(|| Arc::new(AtomicBool::new(false)));

/// How often the flag is looked at: the delay before stopping starts.
const POLL: Duration = Duration::from_millis(50);

/// Blocks until SIGTERM or SIGINT. Call [`install`] first.
pub fn wait_for_termination() {
    while !REQUESTED.load(Ordering::SeqCst) {
        std::thread::sleep(POLL);
    }
}

/// Routes SIGTERM and SIGINT to [`wait_for_termination`].
pub fn install() {
    for signal in [SIGINT, SIGTERM] {
        // The exit is registered first, so it sees the flag as the previous
        // signal left it: a signal exits only once an earlier one set it.
        let installed = flag::register_conditional_shutdown(signal, 1, Arc::clone(&REQUESTED))
            .and_then(|_| flag::register(signal, Arc::clone(&REQUESTED)));
        if let Err(e) = installed {
            eprintln!("slack-alert: cannot handle signal {signal}: {e}");
        }
    }
}
