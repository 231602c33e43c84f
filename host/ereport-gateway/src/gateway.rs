//! The collector: speaks the protocol to one SP as MGS does, and stores
//! what it receives as the control plane does.
//!
//! - While it has no metadata for the SP, it first sends a metadata refresh
//!   (restart id 0, start 0, limit 0) and keeps the map if it is not empty.
//! - Each request gets the next request id; a request that is not answered
//!   within the per-attempt timeout is sent again (with a new id).
//! - Every datagram is checked against the request it should answer
//!   ([`validate`](crate::validate)), then against the database: records
//!   before the requested ENA must be ones already stored, byte for byte;
//!   ENAs skipped after it are recorded as a gap (unless the database holds
//!   them already); what does not add up is rejected and the gateway keeps
//!   waiting for the real answer.
//! - A response with another restart id means the SP restarted: the
//!   gateway takes the new metadata and starts from that restart's earliest
//!   record. A restart id that keeps changing ends a drain with
//!   [`GatewayError::UnstableRestartId`].
//! - An ENA is sent as committed only after the transaction that stored it
//!   (and any gap below it) has committed.
//! - After an empty response it checks once that its cursor is not ahead of
//!   the SP (a database from elsewhere, or an earlier forged response): if
//!   the SP still holds records at or below the committed ENA, it says so
//!   and starts again from the SP's earliest record.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use ereport_sdk::decode::{Entry, Packet};
use ereport_sdk::wire::Request;
use ereport_sdk::{Ena, RestartId};
use serde_json::{Map, Value as Json};

use crate::catalog::Catalog;
use crate::db::{Checked, Db, DbError, SpRow, trim_identity};
use crate::json::{ereport_json, invalid_error, metadata_json};
use crate::validate::{Rejection, validate};
pub use ereport_host::record::{Event, Gap, GapKind, GatewayStats, StoredEreport};

/// The largest UDP payload: the receive buffer's size.
const MAX_DATAGRAM: usize = 65_536;

/// Default per-attempt timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(250);
/// Default attempts per request.
pub const DEFAULT_ATTEMPTS: u32 = 20;
/// Default most ereports per response (what the control plane asks for).
pub const DEFAULT_LIMIT: u8 = 255;
/// Restart-id changes one drain accepts before it calls the SP's restart
/// id unstable.
pub const MAX_RESTARTS_PER_DRAIN: u32 = 4;

/// Why the gateway stopped.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] DbError),
    /// The socket failed.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// Nothing came back at all.
    #[error(
        "no answer from {sp} after {attempts} attempts (is the SP up, and its snitch on that port?)"
    )]
    NoAnswer {
        /// The SP's address.
        sp: SocketAddr,
        /// Attempts made.
        attempts: u32,
    },
    /// Answers came back, but none was acceptable.
    #[error("{rejected} {} rejected: {last} (no acceptable answer from {sp} after {attempts} attempts)", if *.rejected == 1 { "response" } else { "responses" })]
    Rejected {
        /// The SP's address.
        sp: SocketAddr,
        /// Attempts made.
        attempts: u32,
        /// Responses rejected.
        rejected: u64,
        /// Why the last one was.
        last: Rejection,
    },
    /// More SPs than this process may open sockets for.
    #[error(
        "{sps} SPs need about {need} open files (a socket each), but this process may open at most {soft} (hard limit {hard}; see `ulimit -n`): raise the limit or split the inventory between collectors"
    )]
    TooManySps {
        /// SPs in the inventory.
        sps: usize,
        /// Open files needed.
        need: u64,
        /// The soft limit on open files.
        soft: u64,
        /// The hard limit, which the soft one could not be raised past.
        hard: u64,
    },
    /// The restart id changed more often than a draining SP can restart.
    #[error("the SP's restart id is unstable: it changed {changes} times while draining {sp}")]
    UnstableRestartId {
        /// The SP's address.
        sp: SocketAddr,
        /// Changes seen in this drain.
        changes: u32,
    },
}

/// The gateway's settings.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// The SP's snitch.
    pub sp: SocketAddr,
    /// Local address to bind (port 0 for any).
    pub bind: SocketAddr,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Attempts per request before giving up.
    pub attempts: u32,
    /// Most ereports per response to ask for (1..=255).
    pub limit: u8,
    /// The SP's name (the inventory's; its cursor and rows go by it).
    pub name: String,
    /// The SP's kind (`sled`, `switch`, `power`), if the inventory says.
    pub kind: Option<String>,
    /// The SP's slot, if the inventory says.
    pub slot: Option<u32>,
    /// The SP's rack, if the inventory says.
    pub rack_id: Option<uuid::Uuid>,
    /// This collector's id (a UUID, as the control plane's collectors
    /// have), recorded on every row it stores and on its claims.
    pub collector_id: uuid::Uuid,
}

impl GatewayConfig {
    /// Defaults for the SP at `sp`, bound to any local port of its family.
    pub fn for_sp(sp: SocketAddr) -> Self {
        let bind = if sp.is_ipv4() {
            SocketAddr::from(([0, 0, 0, 0], 0))
        } else {
            SocketAddr::from(([0u16; 8], 0))
        };
        Self {
            sp,
            bind,
            timeout: DEFAULT_TIMEOUT,
            attempts: DEFAULT_ATTEMPTS,
            limit: DEFAULT_LIMIT,
            name: crate::db::DEFAULT_SP_NAME.to_string(),
            kind: None,
            slot: None,
            rack_id: None,
            collector_id: default_collector_id(),
        }
    }
}

/// A collector id for a collector not given one: random (version 4), so
/// it differs from every other collector's and from this one's after a
/// restart. Give `--collector-id` to keep one across restarts.
pub fn default_collector_id() -> uuid::Uuid {
    uuid::Uuid::new_v4()
}

/// What one [`Gateway::poll`] did.
#[derive(Clone, Debug, Default)]
pub struct Poll {
    /// Ereports stored for the first time, in ENA order.
    pub stored: Vec<StoredEreport>,
    /// What else happened.
    pub events: Vec<Event>,
    /// Whether the SP had nothing more to send.
    pub drained: bool,
    /// Ereports in the response that another collector had already stored.
    pub already_stored: usize,
}

/// What a response means, worked out before anything is written.
struct Plan {
    restart_id: RestartId,
    restarted: bool,
    packet: Packet,
    gap: Option<Gap>,
    /// ENAs of the packet already stored (with the same body), as the
    /// conflict check found them.
    already: std::collections::BTreeSet<u64>,
    /// Already stored, with the conflict check, in one statement
    /// ([`crate::db::EreportStore::store_checked`]): the ereports and
    /// whether each was new.
    stored: Option<(Vec<StoredEreport>, Vec<bool>)>,
}

/// How a gateway reaches its SP: datagrams out, datagrams in. The real
/// one is [`UdpTransport`]; tests script an SP behind this trait, with no
/// socket.
pub trait Transport: Send {
    /// Sends one datagram to the SP.
    fn send(&mut self, datagram: &[u8]) -> std::io::Result<()>;

    /// Waits until `deadline` (by the gateway's [`Clock`]) for a datagram
    /// from anyone: `Ok(Some((length, sender)))`, or `Ok(None)` once the
    /// deadline has passed. Transient conditions (an interrupted wait, an
    /// ICMP error from an earlier send) are `Ok(None)` or a retry, not
    /// errors.
    fn recv(
        &mut self,
        buf: &mut [u8],
        deadline: Instant,
    ) -> std::io::Result<Option<(usize, SocketAddr)>>;
}

/// What time it is, for the gateway's timeouts.
pub trait Clock: Send {
    /// Now.
    fn now(&self) -> Instant;
}

/// The system's monotonic clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A UDP socket bound for one SP.
pub struct UdpTransport {
    socket: UdpSocket,
    sp: SocketAddr,
    /// The receive timeout the socket has now: set again only when a wait
    /// must end sooner (the common exchange, one request and its answer,
    /// configures nothing).
    read_timeout: Option<Duration>,
}

impl UdpTransport {
    /// Binds `bind` to talk to `sp`.
    pub fn bind(bind: SocketAddr, sp: SocketAddr) -> std::io::Result<Self> {
        Ok(UdpTransport {
            socket: UdpSocket::bind(bind)?,
            sp,
            read_timeout: None,
        })
    }
}

impl Transport for UdpTransport {
    fn send(&mut self, datagram: &[u8]) -> std::io::Result<()> {
        self.socket.send_to(datagram, self.sp).map(|_| ())
    }

    fn recv(
        &mut self,
        buf: &mut [u8],
        deadline: Instant,
    ) -> std::io::Result<Option<(usize, SocketAddr)>> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            // The timeout set stays while it is within a millisecond of the
            // time left: requests of one timeout each cost no
            // reconfiguration. A receive that times out a little before
            // the deadline just loops.
            let set = self.read_timeout;
            if set.is_none_or(|t| t.abs_diff(left) > Duration::from_millis(1)) {
                self.socket.set_read_timeout(Some(left))?;
                self.read_timeout = Some(left);
            }
            match self.socket.recv_from(buf) {
                Ok(r) => return Ok(Some(r)),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                            // An ICMP error from an earlier send.
                            | std::io::ErrorKind::ConnectionRefused
                    ) => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// The protocol session with one SP: a transport, a store, a clock, and
/// where it is in the SP's stream. `Gateway` alone is the real one (UDP,
/// the system clock); [`Gateway::with_transport`] takes others.
pub struct Gateway<T: Transport = UdpTransport, C: Clock = SystemClock> {
    cfg: GatewayConfig,
    transport: T,
    clock: C,
    db: Db,
    restart_id: Option<RestartId>,
    metadata: Map<String, Json>,
    committed: Ena,
    /// Whether the cursor is known not to be ahead of the SP.
    cursor_checked: bool,
    /// Whether a drain stops when another collector is draining the SP.
    yield_to_others: bool,
    /// Whether the next drain may skip reading the shared cursor: this
    /// session's own is the latest (it held the SP's claim since its last
    /// drain; see [`Gateway::set_cursor_is_ours`]).
    cursor_is_ours: bool,
    /// The receive buffer (see `exchange`).
    recv_buf: Vec<u8>,
    request_id: u8,
    stats: GatewayStats,
    catalog: Option<Catalog>,
}

impl Gateway {
    /// Opens the gateway on `db`, resuming from the cursor it holds, with
    /// a UDP socket bound to `cfg.bind`.
    pub fn new(cfg: GatewayConfig, db: Db) -> Result<Self, GatewayError> {
        let transport = UdpTransport::bind(cfg.bind, cfg.sp)?;
        Gateway::with_transport(cfg, db, transport, SystemClock)
    }
}

impl<X: Transport, C: Clock> Gateway<X, C> {
    /// Opens a session over `transport`, timed by `clock`, storing into
    /// `db` and resuming from the cursor it holds. Datagrams count as the
    /// SP's only if their sender is `cfg.sp`.
    pub fn with_transport(
        cfg: GatewayConfig,
        db: Db,
        transport: X,
        clock: C,
    ) -> Result<Self, GatewayError> {
        let (restart_id, committed, metadata) = match db.cursor(&cfg.name)? {
            Some(c) => (Some(c.restart_id), c.committed, c.metadata),
            None => (None, Ena::NONE, Map::new()),
        };
        Ok(Gateway {
            cfg,
            transport,
            clock,
            db,
            restart_id,
            metadata,
            committed,
            cursor_checked: false,
            yield_to_others: false,
            cursor_is_ours: false,
            recv_buf: Vec::new(),
            request_id: 0,
            stats: GatewayStats::default(),
            catalog: None,
        })
    }

    /// Checks every ereport stored from now on against `catalog`: a
    /// mismatch is flagged (`catalog_error`, in the JSON and the database
    /// row), never refused.
    pub fn set_catalog(&mut self, catalog: Catalog) {
        self.catalog = Some(catalog);
    }

    /// The restart id being tracked.
    pub fn restart_id(&self) -> Option<RestartId> {
        self.restart_id
    }

    /// The last ENA committed (stored in the database).
    pub fn committed(&self) -> Ena {
        self.committed
    }

    /// The metadata for the current restart, as JSON.
    pub fn metadata(&self) -> &Map<String, Json> {
        &self.metadata
    }

    /// The counters.
    pub fn stats(&self) -> GatewayStats {
        self.stats
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The settings.
    pub fn config(&self) -> &GatewayConfig {
        &self.cfg
    }

    /// Sends `make(request_id)` until a datagram passes [`validate`] and
    /// `accept`, retrying with a new request id after each timeout.
    /// `accept` may also fail outright (the database), which ends the
    /// exchange with that error.
    /// Rejected datagrams are reported in `events` and waited past.
    fn exchange<T>(
        &mut self,
        make: impl Fn(u8) -> Request,
        events: &mut Vec<Event>,
        accept: impl FnMut(&Self, Packet) -> Result<Result<T, Rejection>, GatewayError>,
    ) -> Result<T, GatewayError> {
        // Room for any UDP payload, so an over-long datagram is measured
        // (and rejected), not cut to size: allocated once per gateway,
        // lent out for the exchange.
        let mut buf = std::mem::take(&mut self.recv_buf);
        buf.resize(MAX_DATAGRAM, 0);
        let result = self.exchange_into(&mut buf, make, events, accept);
        self.recv_buf = buf;
        result
    }

    fn exchange_into<T>(
        &mut self,
        buf: &mut [u8],
        make: impl Fn(u8) -> Request,
        events: &mut Vec<Event>,
        mut accept: impl FnMut(&Self, Packet) -> Result<Result<T, Rejection>, GatewayError>,
    ) -> Result<T, GatewayError> {
        let mut rejected = 0u64;
        let mut last_rejection = None;
        for _ in 0..self.cfg.attempts {
            self.request_id = self.request_id.wrapping_add(1);
            let req = make(self.request_id);
            self.transport.send(&req.to_bytes())?;
            self.stats.requests += 1;
            let deadline = self.clock.now() + self.cfg.timeout;
            loop {
                if self.clock.now() >= deadline {
                    self.stats.timeouts += 1;
                    break;
                }
                let Some((n, from)) = self.transport.recv(buf, deadline)? else {
                    self.stats.timeouts += 1;
                    break;
                };
                if from != self.cfg.sp {
                    self.stats.ignored += 1;
                    continue;
                }
                let verdict = match validate(&req, buf.get(..n).unwrap_or(&[])) {
                    Ok(p) => accept(self, p)?,
                    Err(r) => Err(r),
                };
                match verdict {
                    Ok(t) => return Ok(t),
                    Err(r) if r.is_stale() => self.stats.ignored += 1,
                    Err(r) => {
                        self.stats.rejected += 1;
                        rejected += 1;
                        events.push(Event::Rejected(r.clone()));
                        last_rejection = Some(r);
                    }
                }
            }
        }
        Err(match last_rejection {
            Some(last) => GatewayError::Rejected {
                sp: self.cfg.sp,
                attempts: self.cfg.attempts,
                rejected,
                last,
            },
            None => GatewayError::NoAnswer {
                sp: self.cfg.sp,
                attempts: self.cfg.attempts,
            },
        })
    }

    /// Works out what `packet` (an answer to a request for `requested` of
    /// `asked`) means against the database, or rejects it.
    fn plan(
        &self,
        asked: Option<RestartId>,
        requested: Ena,
        packet: Packet,
    ) -> Result<Result<Plan, Rejection>, GatewayError> {
        let rid = packet.restart_id;
        let restarted = asked != Some(rid);
        // A restart's stream is sent from its earliest record.
        let expected = if restarted { Ena::FIRST } else { requested };
        // The common response: the stream as asked for, from the ENA
        // asked for, no new metadata. The conflict check and the store are
        // then one statement: what is stored already with the same body is
        // left alone, one stored with another body rejects the response
        // and nothing of it is stored.
        if let Some(first) = packet.entries.first()
            && !restarted
            && first.ena == expected
            && packet.metadata.is_empty()
            && let Some(last) = packet.entries.last()
        {
            let ereports: Vec<StoredEreport> = packet
                .entries
                .iter()
                .map(|e| self.stored_ereport(rid, e))
                .collect();
            return Ok(
                match self
                    .db
                    .store_checked(&self.sp_row(), rid, &ereports, last.ena)?
                {
                    Checked::Conflict(ena) => Err(Rejection::Conflict { ena }),
                    Checked::Stored(fresh) => Ok(Plan {
                        restart_id: rid,
                        restarted,
                        already: packet
                            .entries
                            .iter()
                            .zip(&fresh)
                            .filter(|(_, new)| !**new)
                            .map(|(e, _)| e.ena.0)
                            .collect(),
                        packet,
                        gap: None,
                        stored: Some((ereports, fresh)),
                    }),
                },
            );
        }
        // What is stored already for these ENAs, in one query.
        let stored = match (packet.entries.first(), packet.entries.last()) {
            (Some(a), Some(b)) => self.db.bodies(rid, a.ena, b.ena)?,
            _ => Default::default(),
        };
        for e in &packet.entries {
            match stored.get(&e.ena.0) {
                Some(body) if *body != e.body => {
                    return Ok(Err(Rejection::Conflict { ena: e.ena }));
                }
                None if e.ena < expected => {
                    return Ok(Err(Rejection::StartBeforeRequested {
                        start: packet.start_ena,
                        requested: expected,
                    }));
                }
                _ => {}
            }
        }
        let gap = match packet.entries.first() {
            Some(first) if first.ena > expected => {
                let last = Ena(first.ena.0.saturating_sub(1));
                // Another collector may have stored them.
                (!self.db.covers(rid, expected, last)?).then_some(Gap {
                    restart_id: rid,
                    first: expected,
                    last,
                    // Nothing of this restart committed through this
                    // database, yet the SP starts past ENA 1: it frees only
                    // what is committed, so these went elsewhere.
                    kind: if expected == Ena::FIRST {
                        GapKind::FreedBeforeFirstContact
                    } else {
                        GapKind::Skipped
                    },
                })
            }
            _ => None,
        };
        let already = packet
            .entries
            .iter()
            .map(|e| e.ena.0)
            .filter(|ena| stored.contains_key(ena))
            .collect();
        Ok(Ok(Plan {
            restart_id: rid,
            restarted,
            packet,
            gap,
            already,
            stored: None,
        }))
    }

    fn note_restart(
        &mut self,
        to: RestartId,
        metadata: &Map<String, Json>,
        events: &mut Vec<Event>,
    ) -> Result<(), GatewayError> {
        events.push(Event::Restart {
            from: self.restart_id,
            to,
        });
        self.stats.restarts_seen += 1;
        self.restart_id = Some(to);
        self.committed = Ena::NONE;
        self.cursor_checked = true;
        self.metadata = if metadata.is_empty() {
            self.db.metadata(to)?
        } else {
            metadata.clone()
        };
        self.db.save_restart(to, &self.metadata)?;
        Ok(())
    }

    /// One round: a metadata refresh if needed, then one data request, then
    /// (once after an empty response) a check that the cursor is not ahead
    /// of the SP.
    pub fn poll(&mut self) -> Result<Poll, GatewayError> {
        self.poll_from(true)
    }

    /// [`poll`](Self::poll), reading the shared cursor first only if
    /// `read_cursor`: a drain reads it before its first request; after
    /// that, another collector at work shows in what the stores find
    /// already stored, without a query per request.
    fn poll_from(&mut self, read_cursor: bool) -> Result<Poll, GatewayError> {
        let mut out = Poll::default();
        if self.metadata.is_empty() {
            self.stats.refreshes += 1;
            let p = self.exchange(
                |id| Request::new(RestartId::UNKNOWN, Ena::NONE, Ena::NONE, 0, id),
                &mut out.events,
                |_, p| Ok(Ok(p)),
            )?;
            let md = json_metadata(&p);
            if self.restart_id != Some(p.restart_id) {
                self.note_restart(p.restart_id, &md, &mut out.events)?;
            } else if !md.is_empty() {
                self.metadata = md;
                self.db.save_restart(p.restart_id, &self.metadata)?;
            }
        }
        // Another collector sharing the database may have stored further:
        // ask from there, as the control plane's collectors do, rather
        // than fetch again what is stored.
        if read_cursor {
            self.adopt_shared_cursor()?;
        }
        let asked = self.restart_id;
        let rid = asked.unwrap_or(RestartId::UNKNOWN);
        let committed = self.committed;
        let start = committed.next().unwrap_or(committed);
        let limit = self.cfg.limit;
        let mut plan = self.exchange(
            |id| Request::new(rid, start, committed, limit, id),
            &mut out.events,
            |g, p| g.plan(asked, start, p),
        )?;
        let md = json_metadata(&plan.packet);
        if plan.restarted {
            self.note_restart(plan.restart_id, &md, &mut out.events)?;
        } else if !md.is_empty() && md != self.metadata {
            // New metadata in a data response of the same restart: MGS
            // applies it to the ereports that came with it, and so does
            // this gateway (and records it for the restart).
            self.metadata = md;
            self.db.save_restart(plan.restart_id, &self.metadata)?;
        }
        out.drained = plan.packet.entries.is_empty();
        out.stored = self.store(&mut plan, &mut out.events)?;
        out.already_stored = plan.packet.entries.len().saturating_sub(out.stored.len());
        self.stats.already_stored = self
            .stats
            .already_stored
            .saturating_add(out.already_stored as u64);
        if out.drained && !self.cursor_checked && self.check_cursor(&mut out.events)? {
            // The SP holds records the cursor had passed: there is more
            // to take after all.
            out.drained = false;
        }
        Ok(out)
    }

    fn store(
        &mut self,
        plan: &mut Plan,
        events: &mut Vec<Event>,
    ) -> Result<Vec<StoredEreport>, GatewayError> {
        let Some(last) = plan.packet.entries.last() else {
            return Ok(Vec::new());
        };
        let rid = plan.restart_id;
        let (ereports, fresh) = match plan.stored.take() {
            // Stored by the plan, with its conflict check.
            Some(done) => done,
            None => {
                // What the conflict check found stored already (by another
                // collector) is not sent again: a response stored whole by
                // another costs no write at all, its cursor having moved
                // past it then.
                let ereports: Vec<StoredEreport> = plan
                    .packet
                    .entries
                    .iter()
                    .filter(|e| !plan.already.contains(&e.ena.0))
                    .map(|e| self.stored_ereport(rid, e))
                    .collect();
                let fresh = if ereports.is_empty() && plan.gap.is_none() {
                    Vec::new()
                } else {
                    self.db
                        .store(&self.sp_row(), rid, &ereports, plan.gap, last.ena)?
                };
                (ereports, fresh)
            }
        };
        self.committed = last.ena;
        if let Some(g) = plan.gap {
            self.stats.gaps += 1;
            self.stats.gap_enas = self.stats.gap_enas.saturating_add(g.len());
            // Something skipped ENAs: make sure the cursor is not ahead.
            self.cursor_checked = false;
            events.push(Event::Gap(g));
        }
        let new: Vec<StoredEreport> = ereports
            .into_iter()
            .zip(fresh)
            .filter_map(|(e, fresh)| fresh.then_some(e))
            .collect();
        for e in &new {
            self.stats.stored += 1;
            if e.invalid_error.is_some() {
                self.stats.invalid += 1;
            }
            if e.catalog_error.is_some() {
                self.stats.catalog_mismatches += 1;
            }
            if let Some(loss) = e.loss() {
                self.stats.loss_records += 1;
                if let ereport_host::json::Loss::Certain(Some(n)) = loss {
                    self.stats.lost = self.stats.lost.saturating_add(n);
                }
            }
        }
        Ok(new)
    }

    /// The SP's columns for the rows stored now.
    fn sp_row(&self) -> SpRow {
        let text = |key: &str| {
            self.metadata
                .get(key)
                .and_then(Json::as_str)
                .map(trim_identity)
        };
        SpRow {
            name: self.cfg.name.clone(),
            kind: self.cfg.kind.clone(),
            slot: self.cfg.slot,
            rack_id: self.cfg.rack_id,
            part_number: text(ereport_sdk::wire::metadata_keys::PART_NUMBER),
            serial_number: text(ereport_sdk::wire::metadata_keys::SERIAL_NUMBER),
            collector_id: self.cfg.collector_id,
        }
    }

    fn stored_ereport(&self, rid: RestartId, e: &Entry) -> StoredEreport {
        let report = ereport_json(e, &self.metadata);
        let catalog_error = self.catalog.as_ref().and_then(|c| c.check(&report));
        let invalid_error = invalid_error(&report);
        StoredEreport {
            restart_id: rid,
            ena: e.ena,
            task_name: e.task_name.clone(),
            task_gen: e.task_gen,
            uptime_ms: e.uptime_ms,
            body: e.body.clone(),
            report,
            invalid_error,
            catalog_error,
        }
    }

    /// Asks for the SP's earliest record (committing what is committed):
    /// if it is at or below the committed ENA, the SP's stream is behind
    /// the cursor, which moves back. Returns whether it did.
    fn check_cursor(&mut self, events: &mut Vec<Event>) -> Result<bool, GatewayError> {
        let Some(rid) = self.restart_id else {
            return Ok(false);
        };
        let committed = self.committed;
        let p = self.exchange(
            |id| Request::new(rid, Ena::FIRST, committed, 1, id),
            events,
            |_, p| Ok(Ok(p)),
        )?;
        if p.restart_id != rid {
            // A restart: the next poll takes it.
            return Ok(true);
        }
        self.cursor_checked = true;
        if let Some(first) = p.entries.first()
            && first.ena <= committed
        {
            events.push(Event::CursorAhead {
                committed,
                sp_earliest: first.ena,
            });
            self.committed = Ena(first.ena.0.saturating_sub(1));
            self.db.set_cursor(&self.cfg.name, rid, self.committed)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Reads the shared cursor and, if another collector stored further in
    /// this restart, starts from there. Returns, in that case, whether the
    /// other stored just now (within [`RECENT_STORE`]).
    ///
    /// [`RECENT_STORE`]: crate::db::RECENT_STORE
    fn adopt_shared_cursor(&mut self) -> Result<Option<bool>, GatewayError> {
        match self.db.shared_cursor(&self.cfg.name)? {
            Some(c) if Some(c.restart_id) == self.restart_id && c.committed > self.committed => {
                self.committed = c.committed;
                Ok(Some(c.recently_stored))
            }
            _ => Ok(None),
        }
    }

    /// Tells the next drain that no other collector has written this SP's
    /// cursor since this session's last drain (the caller held the SP's
    /// claim throughout), so it need not read the shared cursor first.
    /// Applies to one drain.
    pub fn set_cursor_is_ours(&mut self, ours: bool) {
        self.cursor_is_ours = ours;
    }

    /// Whether a drain stops when it finds another collector draining the
    /// same SP (see [`drain`](Self::drain)). Off by default.
    pub fn set_yield_to_others(&mut self, on: bool) {
        self.yield_to_others = on;
    }

    /// Polls until the SP has nothing more; `on_poll` sees each round.
    /// Returns how many ereports were stored.
    ///
    /// With [`set_yield_to_others`](Self::set_yield_to_others), a drain
    /// ends, as done, when it finds another collector at work on the same
    /// SP: before its first request, if another stored past this one
    /// within [`RECENT_STORE`]; after it, if a whole response was already
    /// stored. Fetching the same records in step would only repeat the
    /// other's work; what the other leaves, this one's next turn takes.
    ///
    /// [`RECENT_STORE`]: crate::db::RECENT_STORE
    pub fn drain(&mut self, on_poll: &mut dyn FnMut(&Poll)) -> Result<u64, GatewayError> {
        let mut restarts = 0u32;
        let mut stored = 0u64;
        // No other collector wrote this SP's cursor since this session's
        // last drain: its own is the latest, and a query saved.
        let mut first = !std::mem::take(&mut self.cursor_is_ours);
        if self.yield_to_others && !self.metadata.is_empty() {
            if self.adopt_shared_cursor()? == Some(true) {
                self.stats.yielded += 1;
                return Ok(0);
            }
            // Read: the first poll need not read it again.
            first = false;
        }
        // Each round either stores something new or ends the drain; bound
        // it anyway so a misbehaving SP cannot keep `--once` running.
        loop {
            let read_cursor = first;
            first = false;
            let p = self.poll_from(read_cursor)?;
            let others = p.already_stored > 0 && p.stored.is_empty();
            restarts += p
                .events
                .iter()
                .filter(|e| matches!(e, Event::Restart { from: Some(_), .. }))
                .count() as u32;
            stored += p.stored.len() as u64;
            on_poll(&p);
            if restarts > MAX_RESTARTS_PER_DRAIN {
                return Err(GatewayError::UnstableRestartId {
                    sp: self.cfg.sp,
                    changes: restarts,
                });
            }
            if p.drained {
                return Ok(stored);
            }
            if others && self.yield_to_others {
                self.stats.yielded += 1;
                return Ok(stored);
            }
        }
    }
}

fn json_metadata(p: &Packet) -> Map<String, Json> {
    metadata_json(&p.metadata)
}
