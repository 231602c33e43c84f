//! Many SPs at once: an inventory of SPs, each drained by its own
//! [`Gateway`], up to `parallel` at a time on a thread pool, so a dead or
//! slow SP costs only its own timeouts. Per SP it keeps a status (restart
//! id, last success, consecutive failures, counts).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ereport_host::addr::{AddrError, parse_sp_addr};
use rayon::prelude::*;
use serde_json::{Value, json};

use crate::catalog::Catalog;
use crate::gateway::{Gateway, GatewayConfig, GatewayError, GatewayStats, Poll};
use crate::store::{DEFAULT_SP_NAME, Db};

/// Default number of SPs drained at once (as the control plane does).
pub const DEFAULT_PARALLEL: usize = 16;

/// One SP to collect from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Its name (rows and the cursor go by it).
    pub name: String,
    /// Its kind, if known.
    pub kind: Option<String>,
    /// Its slot, if known.
    pub slot: Option<u32>,
    /// Its rack, if known.
    pub rack_id: Option<uuid::Uuid>,
    /// Its snitch.
    pub addr: SocketAddr,
}

/// Why an inventory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not an inventory.
    #[error(
        "{path}: {why} (expected a JSON array of {{\"name\", \"kind\", \"slot\", \"address\"}}, as sp-sim --inventory-out writes)"
    )]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// Two SPs have one name.
    #[error("two SPs are named {0:?}: names must be unique")]
    Duplicate(String),
    /// Two SPs have one address.
    #[error("{first:?} and {second:?} have the same address, {addr}: each SP once")]
    SameAddress {
        /// The address.
        addr: SocketAddr,
        /// The first SP with it.
        first: String,
        /// The second.
        second: String,
    },
}

/// Parses `NAME=HOST[:PORT]` or `HOST[:PORT]` (named after its address).
pub fn parse_target(s: &str) -> Result<Target, AddrError> {
    let (name, addr) = match s.split_once('=') {
        Some((name, addr)) if !name.trim().is_empty() => (Some(name.trim().to_string()), addr),
        _ => (None, s),
    };
    let addr = parse_sp_addr(addr)?;
    Ok(Target {
        name: name.unwrap_or_else(|| addr.to_string()),
        kind: None,
        slot: None,
        rack_id: None,
        addr,
    })
}

/// One inventory entry as written: every key known, `kind`, `slot` and
/// `rack_id` optional.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct InventoryEntry {
    name: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    slot: Option<u32>,
    #[serde(default)]
    rack_id: Option<uuid::Uuid>,
    address: String,
}

/// The kinds of SP an inventory may name (the control plane's slot types).
pub const SP_KINDS: [&str; 3] = ["sled", "switch", "power"];

/// Reads an inventory file: a JSON array of `{"name", "kind", "slot",
/// "rack_id", "address"}` (`kind`, `slot` and `rack_id` optional).
/// Refused, with the entry at fault: an empty array, an unknown key, a
/// value of the wrong type (a `rack_id` that is not a UUID), a kind other
/// than [`SP_KINDS`], a slot beyond the control plane's `INT4`, an empty
/// name or one with control characters, and two entries with one name or
/// one address.
pub fn read_inventory(path: &Path) -> Result<Vec<Target>, InventoryError> {
    let format = |why: String| InventoryError::Format {
        path: path.to_path_buf(),
        why,
    };
    let text = std::fs::read_to_string(path).map_err(|source| InventoryError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let entries: Vec<InventoryEntry> =
        serde_json::from_str(&text).map_err(|e| format(e.to_string()))?;
    if entries.is_empty() {
        return Err(format("no SPs in it (an empty array)".into()));
    }
    let mut out = Vec::with_capacity(entries.len());
    for (i, e) in entries.into_iter().enumerate() {
        let at = |why: String| format(format!("entry {i}: {why}"));
        if e.name.trim().is_empty() {
            return Err(at("the name is empty".into()));
        }
        if e.name.chars().any(char::is_control) {
            return Err(at(format!(
                "the name {:?} holds control characters",
                e.name
            )));
        }
        if let Some(kind) = &e.kind
            && !SP_KINDS.contains(&kind.as_str())
        {
            return Err(at(format!(
                "kind {kind:?} is not one of {}",
                SP_KINDS.join(", ")
            )));
        }
        if let Some(slot) = e.slot
            && i32::try_from(slot).is_err()
        {
            return Err(at(format!(
                "slot {slot} is beyond the largest the control plane stores ({})",
                i32::MAX
            )));
        }
        let addr = parse_sp_addr(&e.address)
            .map_err(|err| at(format!("({}): {err}", crate::output::escape(&e.name))))?;
        out.push(Target {
            name: e.name,
            kind: e.kind,
            slot: e.slot,
            rack_id: e.rack_id,
            addr,
        });
    }
    unique(&out)?;
    Ok(out)
}

/// Checks that every name and every address is used once.
pub fn unique(targets: &[Target]) -> Result<(), InventoryError> {
    let mut names = std::collections::BTreeSet::new();
    let mut addrs = std::collections::BTreeMap::new();
    for t in targets {
        if !names.insert(t.name.as_str()) {
            return Err(InventoryError::Duplicate(t.name.clone()));
        }
        if let Some(other) = addrs.insert(t.addr, t.name.as_str()) {
            return Err(InventoryError::SameAddress {
                addr: t.addr,
                first: other.to_string(),
                second: t.name.clone(),
            });
        }
    }
    Ok(())
}

/// One SP's state as a collector sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpStatus {
    /// Its name.
    pub name: String,
    /// Its address.
    pub address: String,
    /// The restart id tracked, if any, as a UUID.
    pub restart_id: Option<String>,
    /// When it was last drained (ms since the Unix epoch).
    pub last_success_ms: Option<u64>,
    /// Rounds that failed since the last success.
    pub consecutive_failures: u32,
    /// The last failure.
    pub last_error: Option<String>,
    /// Its gateway's counters.
    pub stats: GatewayStats,
    /// Whether this collector holds the SP's claim (with claims on).
    pub held: bool,
    /// Turns skipped because another collector held the SP.
    pub held_elsewhere: u64,
}

impl SpStatus {
    /// As one JSON object (`{"sp_status": {...}}`).
    pub fn to_json(&self) -> Value {
        json!({"sp_status": {
            "name": self.name,
            "address": self.address,
            "restart_id": self.restart_id,
            "last_success_ms": self.last_success_ms,
            "consecutive_failures": self.consecutive_failures,
            "last_error": self.last_error,
            "stored": self.stats.stored,
            "requests": self.stats.requests,
            "timeouts": self.stats.timeouts,
            "rejected": self.stats.rejected,
            "gaps": self.stats.gaps,
            "lost": self.stats.lost,
            "restarts_seen": self.stats.restarts_seen,
            "yielded": self.stats.yielded,
            "already_stored": self.stats.already_stored,
            "held": self.held,
            "held_elsewhere": self.held_elsewhere,
        }})
    }
}

/// One SP's gateway and its status, locked apart: a drain holds the
/// gateway for as long as it takes, while the status is locked only to copy
/// it in or out, so reading every status never waits on a drain (nor on
/// whatever a drain's callbacks wait for, such as the printer).
struct SpSlot {
    gateway: Mutex<Gateway>,
    status: Mutex<SpStatus>,
    /// While this collector holds the SP's claim: until when, at the
    /// latest, the claim lasts (measured from before the claim was asked
    /// for, so never later than the database's own expiry).
    claimed_until: Mutex<Option<Instant>>,
}

/// Collects from many SPs.
pub struct Collector {
    sps: Vec<SpSlot>,
    pool: rayon::ThreadPool,
    parallel: usize,
    /// Where in the inventory this collector's rounds start: collectors
    /// sharing a database start at different SPs (the offset comes from
    /// the collector's id), so they seldom drain the same SP at once.
    offset: usize,
    /// The longest wait between an idle SP's drains
    /// ([`set_quiet_backoff`](Self::set_quiet_backoff)).
    max_interval: Duration,
    /// The store, for claims.
    db: Db,
    /// This collector's id, for claims.
    collector_id: uuid::Uuid,
    /// How long a claim on an SP lasts ([`set_claims`](Self::set_claims)).
    claim_ttl: Option<Duration>,
}

/// An SP's place in [`Collector::follow`]'s schedule.
struct Turn {
    /// When it is next due.
    due: Instant,
    /// Tie-break among SPs due together: this collector's order.
    rank: usize,
    /// Whether a worker is draining it.
    busy: bool,
    /// How long after its drain ends its next turn comes: the interval,
    /// doubled after each drain that found nothing, up to the bound.
    wait: Duration,
}

/// [`Collector::follow`]'s turns, and when the worker waiting for the next
/// one to come due (if any) wakes; the others wait to be woken.
struct Schedule {
    turns: Vec<Turn>,
    timer: Option<Instant>,
}

/// Waits for the earliest SP due that no worker has, marks it taken and
/// returns it; `None` once `stop` is set (the caller wakes everyone then).
fn next_turn(schedule: &(Mutex<Schedule>, Condvar), stop: &AtomicBool) -> Option<usize> {
    let (sched, wake) = schedule;
    let mut sched = sched.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if stop.load(Ordering::SeqCst) {
            return None;
        }
        let now = Instant::now();
        let earliest = sched
            .turns
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.busy)
            .min_by_key(|(_, t)| (t.due, t.rank))
            .map(|(i, t)| (i, t.due));
        match earliest {
            Some((i, due)) if due <= now => {
                if let Some(t) = sched.turns.get_mut(i) {
                    t.busy = true;
                }
                // Someone else takes the next turn if it is due too, or
                // times it if no one does.
                let next_due = sched.turns.iter().filter(|t| !t.busy).map(|t| t.due).min();
                if next_due.is_some_and(|d| d <= now || sched.timer.is_none()) {
                    wake.notify_one();
                }
                return Some(i);
            }
            Some((_, due)) if sched.timer.is_none() => {
                let wait = (due - now).min(Duration::from_secs(1));
                sched.timer = Some(now + wait);
                sched = wake
                    .wait_timeout(sched, wait)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|p| p.into_inner().0);
                sched.timer = None;
            }
            // Every SP is being drained, or another worker times the next
            // turn: wait to be woken.
            _ => {
                sched = wake.wait(sched).unwrap_or_else(|p| p.into_inner());
            }
        }
    }
}

/// Files a collector opens besides one socket per SP: standard streams,
/// the database (SQLite's file, journal and shared memory, or the
/// PostgreSQL pool's sockets at the default size), a catalog, and a few to
/// spare; so 1,000 SPs fit the common default limit of 1,024.
pub const OPEN_FILES_BESIDES_SPS: u64 = 16;

/// Makes sure this process may open a socket for each of `sps` SPs:
/// raises the soft limit on open files up to the hard limit if it must,
/// and fails, naming both limits, if even that is too few.
pub fn check_open_files(sps: usize) -> Result<(), GatewayError> {
    use rlimit::Resource;
    let need = u64::try_from(sps)
        .unwrap_or(u64::MAX)
        .saturating_add(OPEN_FILES_BESIDES_SPS);
    let Ok((soft, hard)) = Resource::NOFILE.get() else {
        // No limit to read (not a Unix): let the sockets say.
        return Ok(());
    };
    if need <= soft {
        return Ok(());
    }
    if need <= hard && Resource::NOFILE.set(need, hard).is_ok() {
        return Ok(());
    }
    Err(GatewayError::TooManySps {
        sps,
        need,
        soft,
        hard,
    })
}

/// `at + d`, or as far as an `Instant` goes (an interval of years).
pub fn later(at: Instant, d: Duration) -> Instant {
    at.checked_add(d)
        .or_else(|| at.checked_add(Duration::from_secs(u64::from(u32::MAX))))
        .unwrap_or(at)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Collector {
    /// A gateway per target, all storing through `db` (one store, shared),
    /// settings from `base` (its address, name, kind and slot replaced),
    /// drained `parallel` at a time.
    ///
    /// Each SP's gateway holds one UDP socket: a collector of more SPs than
    /// its process may open files fails here, at once, naming the limit
    /// ([`check_open_files`]).
    pub fn new(
        targets: &[Target],
        base: &GatewayConfig,
        db: &Db,
        catalog: Option<&Catalog>,
        parallel: usize,
    ) -> Result<Self, GatewayError> {
        check_open_files(targets.len())?;
        let mut sps = Vec::with_capacity(targets.len());
        for t in targets {
            let bind = GatewayConfig::for_sp(t.addr).bind;
            let cfg = GatewayConfig {
                sp: t.addr,
                bind: if base.bind.ip().is_unspecified() {
                    bind
                } else {
                    base.bind
                },
                name: t.name.clone(),
                kind: t.kind.clone(),
                slot: t.slot,
                rack_id: t.rack_id,
                ..base.clone()
            };
            let mut gw = Gateway::new(cfg, db.clone())?;
            // Collectors sharing a database take turns at an SP rather than
            // fetch the same records in step.
            gw.set_yield_to_others(true);
            if let Some(c) = catalog {
                gw.set_catalog(c.clone());
            }
            let status = SpStatus {
                name: t.name.clone(),
                address: t.addr.to_string(),
                restart_id: gw.restart_id().map(crate::output::restart_uuid),
                ..SpStatus::default()
            };
            sps.push(SpSlot {
                gateway: Mutex::new(gw),
                status: Mutex::new(status),
                claimed_until: Mutex::new(None),
            });
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(parallel.max(1))
            .thread_name(|i| format!("collector-{i}"))
            .build()
            .map_err(|e| GatewayError::Io(std::io::Error::other(e.to_string())))?;
        // FNV-1a of the collector's id: stable across runs and platforms.
        let hash = base
            .collector_id
            .as_bytes()
            .iter()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
            });
        let offset = usize::try_from(hash % sps.len().max(1) as u64).unwrap_or(0);
        Ok(Collector {
            sps,
            pool,
            parallel: parallel.max(1),
            offset,
            max_interval: Duration::ZERO,
            db: db.clone(),
            collector_id: base.collector_id,
            claim_ttl: None,
        })
    }

    /// With [`follow`](Self::follow), an SP whose drain found nothing waits
    /// twice as long for its next turn as last time, up to `max`, and goes
    /// back to the interval as soon as a drain stores something: a quiet
    /// rack costs few requests and transactions, a busy SP is drained at
    /// the interval. Off (every turn at the interval) unless set.
    pub fn set_quiet_backoff(&mut self, max: Duration) {
        self.max_interval = max;
    }

    /// With [`follow`](Self::follow), drain an SP only while holding its
    /// claim in the database ([`EreportStore::claim`], lasting `ttl`, and
    /// renewed at a turn that finds less than half of it left): collectors
    /// sharing a database divide the SPs between them instead of fetching
    /// the same records, and an SP whose
    /// collector dies is taken over once its claim expires. `ttl` should
    /// outlast the longest wait between turns (`set_quiet_backoff`), or a
    /// quiet SP's claim lapses between its holder's turns. Claims held are
    /// given up when `follow` returns. Off unless set.
    ///
    /// [`EreportStore::claim`]: crate::store::EreportStore::claim
    pub fn set_claims(&mut self, ttl: Option<Duration>) {
        self.claim_ttl = ttl;
        // Holding an SP, no other collector is at work on it: nothing to
        // yield to.
        if ttl.is_some() {
            self.set_yield_to_others(false);
        }
    }

    /// Starts this collector's rounds at inventory position `offset` (modulo
    /// the inventory's length) instead of the one its id hashes to: for
    /// benchmarks that place collectors evenly.
    pub fn set_start_offset(&mut self, offset: usize) {
        self.offset = offset % self.sps.len().max(1);
    }

    /// Whether a drain stops when another collector is found draining the
    /// same SP (on by default; `--once` turns it off, to drain every SP to
    /// the end itself). See [`Gateway::drain`].
    pub fn set_yield_to_others(&mut self, on: bool) {
        for sp in &mut self.sps {
            sp.gateway
                .get_mut()
                .unwrap_or_else(|p| p.into_inner())
                .set_yield_to_others(on);
        }
    }

    /// Drains every SP once, `parallel` at a time; `on_poll` sees each
    /// SP's rounds as they come. Returns the SPs that could not be
    /// drained, with why.
    pub fn round(&self, on_poll: &(dyn Fn(&str, &Poll) + Sync)) -> Vec<(String, GatewayError)> {
        let n = self.sps.len();
        let order: Vec<usize> = (0..n).map(|i| (i + self.offset) % n).collect();
        self.pool.install(|| {
            order
                .par_iter()
                .filter_map(|&i| self.drain_one(i, on_poll).err())
                .collect()
        })
    }

    /// Drains SP `i` and updates its status.
    fn drain_one(
        &self,
        i: usize,
        on_poll: &(dyn Fn(&str, &Poll) + Sync),
    ) -> Result<(String, u64), (String, GatewayError)> {
        let Some(sp) = self.sps.get(i) else {
            return Ok((String::new(), 0));
        };
        let mut gw = sp.gateway.lock().unwrap_or_else(|p| p.into_inner());
        let name = sp
            .status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .name
            .clone();
        if let Some(ttl) = self.claim_ttl {
            let mut until = sp.claimed_until.lock().unwrap_or_else(|p| p.into_inner());
            let asked = Instant::now();
            // A claim with more than half its length left is not renewed:
            // a busy SP's drains cost no claim statement each, and every
            // drain still starts with at least half a claim's length in
            // hand.
            let fresh = until.is_some_and(|u| u > later(asked, ttl / 2));
            let held = if fresh {
                Ok(true)
            } else {
                self.db.claim(&name, self.collector_id, ttl)
            };
            let mut status = sp.status.lock().unwrap_or_else(|p| p.into_inner());
            match held {
                Ok(true) => {
                    // Held since the last drain too: no one else wrote the
                    // cursor in between.
                    gw.set_cursor_is_ours(status.held);
                    status.held = true;
                    if !fresh {
                        *until = Some(later(asked, ttl));
                    }
                }
                Ok(false) => {
                    *until = None;
                    status.held = false;
                    status.held_elsewhere = status.held_elsewhere.saturating_add(1);
                    return Ok((name, 0));
                }
                Err(e) => {
                    *until = None;
                    status.consecutive_failures = status.consecutive_failures.saturating_add(1);
                    status.last_error = Some(e.to_string());
                    return Err((name, GatewayError::Db(e)));
                }
            }
        }
        let result = gw.drain(&mut |p| on_poll(&name, p));
        let mut status = sp.status.lock().unwrap_or_else(|p| p.into_inner());
        status.stats = gw.stats();
        status.restart_id = gw.restart_id().map(crate::output::restart_uuid);
        match result {
            Ok(stored) => {
                status.last_success_ms = Some(now_ms());
                status.consecutive_failures = 0;
                status.last_error = None;
                Ok((name, stored))
            }
            Err(e) => {
                status.consecutive_failures = status.consecutive_failures.saturating_add(1);
                status.last_error = Some(e.to_string());
                Err((name, e))
            }
        }
    }

    /// Keeps every SP drained until `stop` is set: `parallel` workers, each
    /// taking the SP whose turn is earliest, draining it, and giving it its
    /// next turn `interval` after that drain ended (longer for a quiet SP
    /// with [`set_quiet_backoff`](Self::set_quiet_backoff)). Each SP keeps its own
    /// pace: a dead or slow SP costs only its own timeouts, and no SP
    /// waits for the slowest of a round. `on_drained` hears of every drain
    /// (the SP's name, and the error if it failed). Returns once `stop` is
    /// seen (within 100 ms, or when the drains under way end).
    ///
    /// Idle, it costs little: one worker waits for the next SP's turn, the
    /// others until there is work, and this thread looks at `stop` ten
    /// times a second.
    pub fn follow(
        &self,
        interval: Duration,
        stop: &AtomicBool,
        on_poll: &(dyn Fn(&str, &Poll) + Sync),
        on_drained: &(dyn Fn(&str, Option<&GatewayError>) + Sync),
    ) {
        let n = self.sps.len();
        let now = Instant::now();
        // Every SP due now, taken in this collector's order (its offset).
        let turns: Vec<Turn> = (0..n)
            .map(|i| Turn {
                due: now,
                rank: (i + n - self.offset % n.max(1)) % n.max(1),
                busy: false,
                wait: Duration::ZERO,
            })
            .collect();
        let schedule = (Mutex::new(Schedule { turns, timer: None }), Condvar::new());
        std::thread::scope(|s| {
            for w in 0..self.parallel.min(n.max(1)) {
                let schedule = &schedule;
                let worker = move || {
                    while let Some(i) = next_turn(schedule, stop) {
                        let result = self.drain_one(i, on_poll);
                        let quiet = match &result {
                            Ok((name, stored)) => {
                                on_drained(name, None);
                                *stored == 0
                            }
                            Err((name, e)) => {
                                on_drained(name, Some(e));
                                false
                            }
                        };
                        let (sched, wake) = schedule;
                        let mut sched = sched.lock().unwrap_or_else(|p| p.into_inner());
                        let mut due = later(Instant::now(), interval);
                        if let Some(t) = sched.turns.get_mut(i) {
                            // Quiet: wait twice as long as last time, up
                            // to the bound; anything new (or a failure to
                            // retry) brings the SP back to the interval.
                            t.wait = if quiet {
                                (t.wait * 2).clamp(interval, self.max_interval.max(interval))
                            } else {
                                interval
                            };
                            due = later(Instant::now(), t.wait);
                            t.busy = false;
                            t.due = due;
                        }
                        // A waiting worker needs to time this turn if no
                        // one times an earlier one.
                        if sched.timer.is_none_or(|at| due < at) {
                            wake.notify_one();
                        }
                    }
                };
                let spawned = std::thread::Builder::new()
                    .name(format!("collector-{w}"))
                    .spawn_scoped(s, worker);
                if spawned.is_err() {
                    // Fewer workers than asked for: the others share the
                    // SPs.
                    break;
                }
            }
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(100));
            }
            // Wake every waiting worker to see it.
            let _guard = schedule.0.lock().unwrap_or_else(|p| p.into_inner());
            schedule.1.notify_all();
        });
        // Hand the SPs over at once rather than when the claims expire.
        self.release_claims();
    }

    /// Gives up every claim this collector holds, so other collectors
    /// take its SPs at once rather than when the claims expire. `follow`
    /// does this when it stops; a caller of [`round`](Self::round) with
    /// claims on does it when done.
    pub fn release_claims(&self) {
        if self.claim_ttl.is_none() {
            return;
        }
        for sp in &self.sps {
            *sp.claimed_until.lock().unwrap_or_else(|p| p.into_inner()) = None;
            let mut status = sp.status.lock().unwrap_or_else(|p| p.into_inner());
            if status.held {
                let _ = self.db.release(&status.name, self.collector_id);
                status.held = false;
            }
        }
    }

    /// Every SP's status, in inventory order.
    pub fn status(&self) -> Vec<SpStatus> {
        self.sps
            .iter()
            .map(|sp| sp.status.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect()
    }

    /// The counters of every SP, added up.
    pub fn stats(&self) -> GatewayStats {
        self.status()
            .iter()
            .fold(GatewayStats::default(), |mut sum, s| {
                sum.add(&s.stats);
                sum
            })
    }

    /// The SPs.
    pub fn len(&self) -> usize {
        self.sps.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.sps.is_empty()
    }
}

/// The targets of a command line: `--sp` values and the inventory's, or
/// the one default SP, named [`DEFAULT_SP_NAME`] when it is the only one
/// and unnamed.
pub fn targets(
    sps: &[Target],
    inventory: Option<&Path>,
    default: SocketAddr,
) -> Result<Vec<Target>, InventoryError> {
    let mut out = sps.to_vec();
    if let Some(path) = inventory {
        out.extend(read_inventory(path)?);
    }
    if out.is_empty() {
        out.push(Target {
            name: DEFAULT_SP_NAME.to_string(),
            kind: None,
            slot: None,
            rack_id: None,
            addr: default,
        });
    } else if let [only] = out.as_mut_slice()
        && only.name == only.addr.to_string()
    {
        // One SP given by address alone: the default name, so its cursor
        // carries on from a single-SP database.
        only.name = DEFAULT_SP_NAME.to_string();
    }
    unique(&out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_from_flags_and_inventories() {
        let t = parse_target("sled-3=127.0.0.1:9").unwrap();
        assert_eq!((t.name.as_str(), t.addr.port()), ("sled-3", 9));
        let t = parse_target("localhost").unwrap();
        assert_eq!(t.addr.port(), 57005);
        assert!(parse_target("x=127.0.0.1:http").is_err());
        let one = targets(
            &[parse_target("127.0.0.1:9").unwrap()],
            None,
            "127.0.0.1:1".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(one[0].name, DEFAULT_SP_NAME);
        let dup = targets(
            &[
                parse_target("a=127.0.0.1:9").unwrap(),
                parse_target("a=127.0.0.1:10").unwrap(),
            ],
            None,
            "127.0.0.1:1".parse().unwrap(),
        );
        assert!(matches!(dup, Err(InventoryError::Duplicate(n)) if n == "a"));
        let dir = tempfile::tempdir().unwrap();
        let inv = dir.path().join("rack.json");
        std::fs::write(
            &inv,
            r#"[{"name": "sled-00", "kind": "sled", "slot": 0, "address": "127.0.0.1:60000"}]"#,
        )
        .unwrap();
        let t = read_inventory(&inv).unwrap();
        assert_eq!(t[0].kind.as_deref(), Some("sled"));
        let refused = |text: &str| {
            std::fs::write(&inv, text).unwrap();
            read_inventory(&inv).unwrap_err().to_string()
        };
        assert!(refused(r#"[{"name": "x"}]"#).contains("missing field `address`"));
        assert!(refused("[]").contains("no SPs"));
        let wrong_slot = refused(r#"[{"name": "x", "slot": "3", "address": "127.0.0.1:1"}]"#);
        assert!(wrong_slot.contains("invalid type"), "{wrong_slot}");
        assert!(
            refused(r#"[{"name": "x", "adress": "127.0.0.1:1"}]"#)
                .contains("unknown field `adress`")
        );
        assert!(
            refused(r#"[{"name": "x", "kind": "toaster", "address": "127.0.0.1:1"}]"#)
                .contains("not one of sled, switch, power")
        );
        assert!(
            refused(r#"[{"name": "x\u001b[2J", "address": "127.0.0.1:1"}]"#)
                .contains("control characters")
        );
        assert!(refused(r#"[{"name": " ", "address": "127.0.0.1:1"}]"#).contains("empty"));
        let same = refused(
            r#"[{"name": "a", "address": "127.0.0.1:1"}, {"name": "b", "address": "127.0.0.1:1"}]"#,
        );
        assert!(same.contains("same address"), "{same}");
        let dup = refused(
            r#"[{"name": "a", "address": "127.0.0.1:1"}, {"name": "a", "address": "127.0.0.1:2"}]"#,
        );
        assert!(dup.contains("two SPs are named"), "{dup}");
    }

    #[test]
    fn too_many_sps_for_the_open_file_limit_fail_at_once() {
        let (_, hard) = rlimit::Resource::NOFILE.get().unwrap();
        if hard == rlimit::INFINITY {
            // No limit to exceed here.
            return;
        }
        let err = check_open_files(usize::try_from(hard).unwrap_or(usize::MAX)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("open files"), "{text}");
        assert!(text.contains(&hard.to_string()), "{text}");
        // A thousand fit (raising the soft limit if need be).
        check_open_files(1000).unwrap();
    }
}
