//! [`FleetOutbox`]: where the decision core's intents for one destination go when the fleet
//! coordinates.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_channel::{Sender, TrySendError};

use crate::counters::Counters;
use crate::intent::{Intent, Outbox, Outgoing};
use crate::sender::QueueOutbox;

/// What the engine and its coordinator share.
#[derive(Debug, Default)]
pub(crate) struct FleetShared {
    /// Test-only kill: the coordinator stops at once without a report or a flush, and every
    /// intent after it vanishes (the node died).
    pub(crate) killed: AtomicBool,
}

/// In front of one destination's sender queue. Never blocks, never holds an alert back.
pub(crate) struct FleetOutbox {
    pub(crate) coordinator: Sender<Outgoing>,
    pub(crate) direct: QueueOutbox,
    /// Whether the destination edits its messages (app mode): it takes progress and empty
    /// reports; a webhook does not.
    pub(crate) edits: bool,
    pub(crate) shared: Arc<FleetShared>,
    pub(crate) counters: Arc<Counters>,
}

impl Outbox for FleetOutbox {
    fn offer(&mut self, message: Outgoing) -> Result<(), Outgoing> {
        if self.shared.killed.load(Ordering::Acquire) {
            return Ok(());
        }
        let incident = matches!(
            message.intent,
            Intent::Opened { .. } | Intent::Progress { .. } | Intent::Quiet { .. }
        );
        if !incident {
            return self.direct.offer(message);
        }
        match self.coordinator.try_send(message) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(message)) => {
                Counters::add(&self.counters.coordination_fallbacks, 1);
                local(message, self.edits, &mut self.direct)
            }
            Err(TrySendError::Disconnected(message)) => {
                local(message, self.edits, &mut self.direct)
            }
        }
    }

    fn has_room(&self) -> bool {
        self.direct.has_room()
    }
}

/// What this node says of an intent on its own: everything, but a webhook gets no progress
/// and no report without repeats (both account for no event).
pub(crate) fn local(
    message: Outgoing,
    edits: bool,
    direct: &mut dyn Outbox,
) -> Result<(), Outgoing> {
    if !edits {
        match &message.intent {
            Intent::Progress { .. } => return Ok(()),
            Intent::Quiet { incident, .. } if incident.count == 0 => return Ok(()),
            _ => {}
        }
    }
    direct.offer(message)
}
