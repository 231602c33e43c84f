//! The record model shared by every host program: an ereport as stored,
//! a gap in an SP's stream, what a collector notices besides ereports, and
//! its counters.

use ereport_sdk::{Ena, RestartId};
use serde_json::Value as Json;

use crate::validate::Rejection;

/// A gap the gateway recorded: ENAs of a restart that are not in its
/// database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    /// The SP restart.
    pub restart_id: RestartId,
    /// First missing ENA.
    pub first: Ena,
    /// Last missing ENA.
    pub last: Ena,
    /// What the SP's answer proves about them.
    pub kind: GapKind,
}

/// What a gap means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GapKind {
    /// The gateway had this restart's stream up to the ENA before `first`
    /// and the SP answered from past `last`: it never sent these ENAs to
    /// this database's collectors.
    Skipped,
    /// The database had never seen this restart, and the SP's earliest
    /// record was past ENA 1: the SP had freed these before, which it does
    /// only once they are committed, so they were sent, and committed
    /// somewhere else (another database, or a collector that did not
    /// store them here).
    FreedBeforeFirstContact,
}

impl Gap {
    /// How many ENAs are missing.
    pub fn len(&self) -> u64 {
        self.last.0.saturating_sub(self.first.0).saturating_add(1)
    }

    /// Never: a gap holds at least one ENA.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// An ereport as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEreport {
    /// The SP's restart id.
    pub restart_id: RestartId,
    /// Its ENA.
    pub ena: Ena,
    /// The reporting task.
    pub task_name: String,
    /// The task's generation.
    pub task_gen: u32,
    /// Uptime when stored.
    pub uptime_ms: u64,
    /// The body (CBOR).
    pub body: Vec<u8>,
    /// The report, as the control plane stores it
    /// ([`crate::json::ereport_json`]).
    pub report: Json,
    /// Why the body is not a valid ereport, if it is not.
    pub invalid_error: Option<String>,
    /// How it does not match the class catalog, if one was given and it
    /// does not.
    pub catalog_error: Option<String>,
}

impl StoredEreport {
    /// The class the control plane records for it
    /// ([`crate::json::report_class`]): `"k"`, else `"class"`, else a loss
    /// record's class.
    pub fn class(&self) -> Option<String> {
        crate::json::report_class(&self.report)
    }

    /// Whether it is a loss record, and which kind
    /// ([`crate::json::loss`]).
    pub fn loss(&self) -> Option<crate::json::Loss> {
        crate::json::loss(&self.report)
    }
}

/// Something the gateway noticed, besides ereports.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The SP's restart id changed (`from` is `None` on first contact).
    Restart {
        /// The restart id tracked before.
        from: Option<RestartId>,
        /// The new one.
        to: RestartId,
    },
    /// ENAs the SP did not send were recorded as a gap.
    Gap(Gap),
    /// The committed ENA was at or past the SP's stream; the gateway starts
    /// again from the SP's earliest record.
    CursorAhead {
        /// What the gateway had committed.
        committed: Ena,
        /// The SP's earliest record.
        sp_earliest: Ena,
    },
    /// A datagram was rejected (the gateway kept waiting for the real
    /// answer).
    Rejected(Rejection),
}

impl GatewayStats {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &GatewayStats) {
        let pairs = [
            (&mut self.requests, other.requests),
            (&mut self.timeouts, other.timeouts),
            (&mut self.ignored, other.ignored),
            (&mut self.rejected, other.rejected),
            (&mut self.refreshes, other.refreshes),
            (&mut self.restarts_seen, other.restarts_seen),
            (&mut self.stored, other.stored),
            (&mut self.invalid, other.invalid),
            (&mut self.gaps, other.gaps),
            (&mut self.gap_enas, other.gap_enas),
            (&mut self.loss_records, other.loss_records),
            (&mut self.catalog_mismatches, other.catalog_mismatches),
            (&mut self.lost, other.lost),
            (&mut self.yielded, other.yielded),
            (&mut self.already_stored, other.already_stored),
        ];
        for (mine, theirs) in pairs {
            *mine = mine.saturating_add(theirs);
        }
    }
}

/// Counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GatewayStats {
    /// Requests sent (retries included).
    pub requests: u64,
    /// Attempts that timed out.
    pub timeouts: u64,
    /// Late answers to earlier attempts, and packets from other addresses.
    pub ignored: u64,
    /// Datagrams rejected as inconsistent.
    pub rejected: u64,
    /// Metadata refreshes.
    pub refreshes: u64,
    /// SP restarts seen.
    pub restarts_seen: u64,
    /// Ereports stored.
    pub stored: u64,
    /// Ereports with invalid bodies stored (flagged).
    pub invalid: u64,
    /// Gaps recorded.
    pub gaps: u64,
    /// ENAs inside recorded gaps.
    pub gap_enas: u64,
    /// Loss records stored.
    pub loss_records: u64,
    /// Ereports that did not match the class catalog (flagged).
    pub catalog_mismatches: u64,
    /// Ereports the SP reported lost (sum of loss-record counts).
    pub lost: u64,
    /// Drains left to another collector found draining the same SP.
    pub yielded: u64,
    /// Ereports fetched that another collector had already stored.
    pub already_stored: u64,
}
