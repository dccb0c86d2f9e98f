//! Prints accepted messages as a person would read them in Slack.
//!
//! The rendering belongs to `slack_alert_render::plain::to_text`; this module only
//! wraps it (one call site to change if its signature moves) and keeps the output tidy:
//! one message at a time, in the order accepted, separated by a blank line, flushed so
//! a parent process reading the pipe sees each message as it arrives.

use serde_json::Value;
use std::io::{self, Write};
use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Renders a Slack message as plain text, the way the demo shows it.
pub fn to_text(message: &Value) -> String {
    slack_alert_render::plain::to_text(message)
}

/// A message to print, with the heading printed above it, if any.
type Queued = (Option<String>, Value);

/// Prints accepted messages on a thread of its own, in the order they were queued.
///
/// Queuing never blocks, so a parent that stops reading the receiver's stdout (a full
/// pipe) cannot stall the receiver and its control API; the queue holds at most what
/// was accepted meanwhile.
#[derive(Debug)]
pub(crate) struct Printer {
    queue: Mutex<Option<Sender<Queued>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Printer {
    pub(crate) fn start() -> io::Result<Printer> {
        let (queue, messages) = mpsc::channel::<Queued>();
        let thread = thread::Builder::new()
            .name("fake-slack-print".to_string())
            .spawn(move || {
                let mut printed_any = false;
                for (heading, message) in messages {
                    let text = render(printed_any, heading.as_deref(), &message);
                    // Write errors are ignored: a closed stdout (the parent went away)
                    // must not take the receiver down mid-test.
                    let mut out = io::stdout().lock();
                    let _ = out.write_all(text.as_bytes());
                    let _ = out.flush();
                    printed_any = true;
                }
            })?;
        Ok(Printer {
            queue: Mutex::new(Some(queue)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues `message` for printing; does nothing once [`Printer::finish`] was called.
    pub(crate) fn print(&self, message: Value) {
        if let Some(queue) = &*lock(&self.queue) {
            let _ = queue.send((None, message));
        }
    }

    /// Queues `message` with `heading` (a Web API message's channel, e.g.
    /// `#alerts (edited 1712345678.000100)`) printed on the line above it.
    pub(crate) fn print_headed(&self, heading: String, message: Value) {
        if let Some(queue) = &*lock(&self.queue) {
            let _ = queue.send((Some(heading), message));
        }
    }

    /// Prints what is queued and stops, waiting for it until `deadline` at most.
    pub(crate) fn finish(&self, deadline: Instant) {
        drop(lock(&self.queue).take());
        if let Some(thread) = lock(&self.thread).take() {
            while !thread.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(1));
            }
            if thread.is_finished() {
                let _ = thread.join();
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The text printed for one message: a blank line first unless it is the first one,
/// then the heading if there is one.
fn render(printed_any: bool, heading: Option<&str>, message: &Value) -> String {
    let body = to_text(message);
    let separator = if printed_any { "\n" } else { "" };
    let heading = heading.map(|h| format!("{h}\n")).unwrap_or_default();
    format!("{separator}{heading}{}\n", body.trim_end_matches('\n'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_are_separated_by_a_blank_line() {
        let message = json!({"text": "disk full on db-1"});
        let first = render(false, None, &message);
        let second = render(true, None, &message);
        assert!(first.contains("disk full on db-1"), "{first}");
        assert!(!first.starts_with('\n') && first.ends_with('\n') && !first.ends_with("\n\n"));
        assert_eq!(second, format!("\n{first}"));
        let headed = render(true, Some("#alerts (edited)"), &message);
        assert_eq!(headed, format!("\n#alerts (edited)\n{first}"));
    }
}
