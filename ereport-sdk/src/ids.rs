//! Identifiers shared by producers, packrat, the snitch and the gateway.

use core::fmt;

/// Error numeric association: the sequence number packrat gives each stored
/// ereport, counting from 1 after every restart. 0 means "none" on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ena(pub u64);

impl Ena {
    /// "No ENA": no entries, or nothing to commit.
    pub const NONE: Ena = Ena(0);
    /// The first ENA of every restart (packrat's own loss record).
    pub const FIRST: Ena = Ena(1);

    /// Whether this is [`Ena::NONE`].
    pub const fn is_none(self) -> bool {
        self.0 == 0
    }

    /// The next ENA, or `None` at the (unreachable in practice) end of the
    /// range.
    pub const fn next(self) -> Option<Ena> {
        match self.0.checked_add(1) {
            Some(n) => Some(Ena(n)),
            None => None,
        }
    }
}

impl fmt::Display for Ena {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Identifies one run of the SP's firmware: chosen at random when it boots,
/// so the gateway can tell that ENAs started over. 0 means "I don't know
/// yours" in a request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RestartId(pub u128);

impl RestartId {
    /// "Unknown": what MGS sends before it has heard from this SP.
    pub const UNKNOWN: RestartId = RestartId(0);
}

impl fmt::Display for RestartId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// A Hubris task's identity: its index in the image and its generation,
/// which counts restarts (modulo the kernel's generation width).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TaskId {
    /// Index of the task in the image's task table.
    pub index: u16,
    /// How many times the task has restarted.
    pub generation: u8,
}

impl TaskId {
    /// A task identity.
    pub const fn new(index: u16, generation: u8) -> Self {
        Self { index, generation }
    }
}
