//! The SP simulator: the real `packrat-ereport` and `snitch` code, with
//! simulated tasks as threads.
//!
//! - Producer tasks (`thermal`, `power`, `sequencer`, `ereportulator`)
//!   report ereport classes derived with the SDK, through the SDK's
//!   reporters, lending their encode buffer to packrat as a lease.
//! - Packrat is a `Store` (and a `FaultTracker`) behind a mutex: the IPC
//!   server loop collapsed into a lock.
//! - Faults are injected into producers (a panic, a memory fault, ...):
//!   packrat records the fault ereport, and the task is restarted, sometimes
//!   while packrat is copying its lease, which then goes away.
//! - The identity (VPD) is set after a delay; the restart id is random and
//!   non-zero per run.
//! - The snitch serves UDP on the `listen` address.

use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ereport_sdk::{
    DeliverEreport, DeliverError, Ena, Identity, ReadEreports, ReadError, ReadRequest, RestartId,
    TaskId,
};
use lease_writer::ReadLease;
use packrat_ereport::faults::{FaultInfo, FaultReport, FaultTracker, Kernel};
use packrat_ereport::{IngestError, Store, StoreStats, TaskTable};
use snitch::udp::UdpNet;
use snitch::{Counters, Snitch};

use crate::ipc::TaskSlot;
use sp_workload::{Producer, SimReport, next_fault, storm_alert};

pub use sp_workload::{PACKRAT, PRODUCERS, Rng, SIM_TASKS, SimTasks, default_identity};

/// Store sizes the simulator can build (the store's size is a const
/// generic, as on the SP).
pub const STORE_SIZES: [usize; 9] = [256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];

/// The smallest store size asked for that the simulator accepts.
pub const MIN_STORE_BYTES: usize = 64;

/// Default UDP address of the simulated snitch: loopback, the SP port.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(
    std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
    ereport_sdk::wire::SP_PORT,
);
/// Default store size, in bytes (W1's).
pub const DEFAULT_STORE_BYTES: usize = 4096;
/// Default rate, ereports per second over all producers.
pub const DEFAULT_RATE: f64 = 20.0;
/// Default delay before the identity (VPD) is known.
pub const DEFAULT_VPD_DELAY: Duration = Duration::from_millis(500);
/// Default seed.
pub const DEFAULT_SEED: u64 = 1;

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The store size is below [`MIN_STORE_BYTES`] or above the largest of
    /// [`STORE_SIZES`].
    #[error("a store of {requested} bytes cannot be built: sizes from {MIN_STORE_BYTES} to {max} bytes are supported", max = STORE_SIZES[STORE_SIZES.len() - 1])]
    StoreSize {
        /// The size asked for.
        requested: usize,
    },
    /// The rate is negative or not a number.
    #[error("rate {0} is not a non-negative number of ereports per second")]
    Rate(f64),
    /// The socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
}

/// The store size the simulator builds for a requested size: the smallest
/// of [`STORE_SIZES`] that holds it, or an error if none does.
pub fn store_size_for(requested: usize) -> Result<usize, SimError> {
    if requested < MIN_STORE_BYTES {
        return Err(SimError::StoreSize { requested });
    }
    STORE_SIZES
        .iter()
        .copied()
        .find(|&s| s >= requested)
        .ok_or(SimError::StoreSize { requested })
}

/// A random non-zero restart id, different every run.
pub fn random_restart_id() -> RestartId {
    // RandomState's keys are random per process; the clock and pid make two
    // ids in one process differ too.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(now);
    h.write_u32(std::process::id());
    let lo = h.finish();
    let mut h2 = std::collections::hash_map::RandomState::new().build_hasher();
    h2.write_u64(lo);
    let hi = h2.finish();
    RestartId(((u128::from(hi) << 64) | u128::from(lo)).max(1))
}

/// The simulator's settings (the `sp-sim` flags).
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// UDP address the snitch listens on.
    pub listen: SocketAddr,
    /// Bytes of ereport storage (rounded up to one of [`STORE_SIZES`]).
    pub store_bytes: usize,
    /// Ereports per second, all producers together.
    pub rate: f64,
    /// Inject a task fault this often, if set.
    pub fault_every: Option<Duration>,
    /// Set the identity (VPD) this long after start.
    pub vpd_delay: Duration,
    /// Seed for the producers' and fault injector's randomness.
    pub seed: u64,
    /// The identity to set.
    pub identity: Identity,
    /// Log events to stderr.
    pub log: bool,
    /// Keep a copy of every stored ereport for [`Sim::delivered`] (tests
    /// compare it with what a gateway stored). Off by default, so a
    /// long-running simulator's memory stays bounded.
    pub record_deliveries: bool,
    /// A storm: the `power` task's PMBus alert fires this many times a
    /// second (0: no storm; its ordinary reports are replaced meanwhile).
    pub storm_rate: f64,
    /// Storm control: the alert class's rate limit in the producer, and
    /// packrat's per-task share (half the store). On by default.
    pub storm_control: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN,
            store_bytes: DEFAULT_STORE_BYTES,
            rate: DEFAULT_RATE,
            fault_every: None,
            vpd_delay: DEFAULT_VPD_DELAY,
            seed: DEFAULT_SEED,
            identity: default_identity(),
            log: false,
            record_deliveries: false,
            storm_rate: 0.0,
            storm_control: true,
        }
    }
}

/// Packrat's state, with the store's size erased.
trait Core: Send {
    fn deliver(
        &mut self,
        sender: TaskId,
        uptime: u64,
        lease: &dyn ReadLease,
    ) -> Result<Ena, IngestError>;
    fn read(
        &mut self,
        req: &ReadRequest,
        out: &mut [u8],
        identity: Option<&Identity>,
    ) -> Result<usize, ReadError>;
    fn on_faults(&mut self, kernel: &SimKernel, uptime: u64) -> FaultReport;
    fn record_pending(&mut self, kernel: &SimKernel, uptime: u64) -> FaultReport;
    fn set_restart_id(&mut self, id: RestartId);
    fn set_task_share(&mut self, bytes: usize);
    fn stats(&self) -> StoreStats;
    fn len(&self) -> usize;
    fn pending_losses(&self) -> Option<u32>;
}

struct CoreImpl<const N: usize> {
    store: Store<N, SimTasks>,
    faults: FaultTracker<SIM_TASKS>,
}

impl<const N: usize> Core for CoreImpl<N> {
    fn deliver(
        &mut self,
        sender: TaskId,
        uptime: u64,
        lease: &dyn ReadLease,
    ) -> Result<Ena, IngestError> {
        self.store.deliver(sender, uptime, lease)
    }
    fn read(
        &mut self,
        req: &ReadRequest,
        out: &mut [u8],
        identity: Option<&Identity>,
    ) -> Result<usize, ReadError> {
        self.store.read_ereports(req, out, identity)
    }
    fn on_faults(&mut self, kernel: &SimKernel, uptime: u64) -> FaultReport {
        self.faults.on_faults(&mut self.store, kernel, uptime)
    }
    fn record_pending(&mut self, kernel: &SimKernel, uptime: u64) -> FaultReport {
        self.faults.record_pending(&mut self.store, kernel, uptime)
    }
    fn set_restart_id(&mut self, id: RestartId) {
        let _ = self.store.set_restart_id(id);
    }
    fn set_task_share(&mut self, bytes: usize) {
        self.store.set_task_share(bytes);
    }
    fn stats(&self) -> StoreStats {
        self.store.stats()
    }
    fn len(&self) -> usize {
        self.store.len()
    }
    fn pending_losses(&self) -> Option<u32> {
        self.store.pending_losses()
    }
}

fn make_core(store_bytes: usize) -> Result<Box<dyn Core>, SimError> {
    fn boxed<const N: usize>() -> Box<dyn Core> {
        let mut c = Box::new(CoreImpl::<N> {
            store: Store::new(),
            faults: FaultTracker::new(),
        });
        c.store.init(PACKRAT, 0);
        c
    }
    Ok(match store_size_for(store_bytes)? {
        256 => boxed::<256>(),
        512 => boxed::<512>(),
        1024 => boxed::<1024>(),
        2048 => boxed::<2048>(),
        4096 => boxed::<4096>(),
        8192 => boxed::<8192>(),
        16384 => boxed::<16384>(),
        32768 => boxed::<32768>(),
        65536 => boxed::<65536>(),
        _ => {
            return Err(SimError::StoreSize {
                requested: store_bytes,
            });
        }
    })
}

/// The kernel's view of the simulated tasks.
pub struct SimKernel {
    slots: Vec<TaskSlot>,
    fault_counts: Vec<AtomicU32>,
    faults: Mutex<Vec<Option<TaskFault>>>,
}

/// A task's last fault: what it was, the generation that took it, and the
/// panic message if any.
type TaskFault = (FaultInfo, u8, Option<Vec<u8>>);

impl SimKernel {
    fn new() -> Self {
        // W1's generations for the producers, zero elsewhere.
        let generations = [0u8, 0, 1, 0, 3, 0, 0, 0];
        Self {
            slots: generations.iter().map(|g| TaskSlot::new(*g)).collect(),
            fault_counts: (0..SIM_TASKS).map(|_| AtomicU32::new(0)).collect(),
            faults: Mutex::new(vec![None; SIM_TASKS]),
        }
    }

    /// The task's memory and generation.
    pub fn slot(&self, index: u16) -> &TaskSlot {
        &self.slots[usize::from(index)]
    }

    fn inject(&self, index: u16, info: FaultInfo, message: Option<Vec<u8>>) {
        let generation = self.slot(index).generation();
        lock(&self.faults)[usize::from(index)] = Some((info, generation, message));
        self.fault_counts[usize::from(index)].fetch_add(1, Ordering::SeqCst);
    }
}

impl Kernel for SimKernel {
    fn fault_count(&self, index: u16) -> u32 {
        self.fault_counts
            .get(usize::from(index))
            .map_or(0, |c| c.load(Ordering::SeqCst))
    }
    fn generation(&self, index: u16) -> u8 {
        self.slots
            .get(usize::from(index))
            .map_or(0, TaskSlot::generation)
    }
    fn fault_info(&self, index: u16) -> Option<FaultInfo> {
        let faults = lock(&self.faults);
        let (info, generation, _) = faults.get(usize::from(index))?.as_ref()?;
        (*generation == self.generation(index)).then_some(*info)
    }
    fn read_panic_message(&self, index: u16, buf: &mut [u8]) -> Option<usize> {
        let faults = lock(&self.faults);
        let (_, _, msg) = faults.get(usize::from(index))?.as_ref()?;
        let msg = msg.as_ref()?;
        let n = msg.len().min(buf.len());
        buf.get_mut(..n)?.copy_from_slice(msg.get(..n)?);
        Some(n)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// An ereport a producer delivered and packrat stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// Its ENA.
    pub ena: Ena,
    /// The producer's task index.
    pub task: u16,
    /// The body as encoded by the producer.
    pub body: Vec<u8>,
}

/// What one producer task's reports became.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProducerStats {
    /// Reports it tried to deliver.
    pub attempted: u64,
    /// Stored by packrat.
    pub delivered: u64,
    /// Refused by its class's rate limit (before any IPC).
    pub suppressed: u64,
    /// Lost: the store was full, or the task held its share.
    pub lost: u64,
    /// Failed because the task restarted mid-copy.
    pub went_away: u64,
}

/// What the simulator has done so far.
#[derive(Clone, Debug, Default)]
pub struct SimStats {
    /// By producer task index (1 to 4; the others stay zero).
    pub producers: [ProducerStats; SIM_TASKS],
    /// Ereports producers delivered and packrat stored.
    pub delivered: u64,
    /// Deliveries lost because the store was full or the task held its share.
    pub lost_full: u64,
    /// Deliveries that failed because the producer was restarted mid-copy.
    pub went_away: u64,
    /// Faults injected.
    pub faults_injected: u64,
    /// Fault ereports packrat recorded.
    pub faults_recorded: u64,
    /// The store's counters.
    pub store: StoreStats,
    /// Records in the store now.
    pub stored_now: usize,
    /// Losses not yet reported by a loss record.
    pub pending_losses: u32,
    /// The snitch's counters.
    pub snitch: Counters,
}

struct PackratState {
    core: Box<dyn Core>,
    identity: Option<Identity>,
}

struct Shared {
    cfg: SimConfig,
    start: Instant,
    /// The wall-clock time of `start`: uptime 0.
    start_wall: std::time::SystemTime,
    stop: AtomicBool,
    paused: AtomicBool,
    packrat: Mutex<PackratState>,
    kernel: SimKernel,
    delivered: Mutex<Vec<Delivered>>,
    stats: Mutex<SimStats>,
    restart_id: RestartId,
}

impl Shared {
    fn uptime(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn log(&self, what: std::fmt::Arguments<'_>) {
        if self.cfg.log {
            ereport_host::errln!("[sp-sim {:>8} ms] {what}", self.uptime());
        }
    }
}

/// A producer task's packrat client: lends the task's buffer as a lease.
struct SimClient<'a> {
    shared: &'a Shared,
    index: u16,
}

impl DeliverEreport for SimClient<'_> {
    fn deliver_ereport(&self, body: &[u8]) -> Result<Ena, DeliverError> {
        let slot = self.shared.kernel.slot(self.index);
        let lease = slot.lend(body);
        let sender = TaskId::new(self.index, slot.generation());
        let uptime = self.shared.uptime();
        let r = lock(&self.shared.packrat)
            .core
            .deliver(sender, uptime, &lease);
        let mut stats = lock(&self.shared.stats);
        match r {
            Ok(ena) => {
                stats.delivered += 1;
                drop(stats);
                if self.shared.cfg.record_deliveries {
                    lock(&self.shared.delivered).push(Delivered {
                        ena,
                        task: self.index,
                        body: body.to_vec(),
                    });
                }
                Ok(ena)
            }
            Err(e) => {
                match e {
                    IngestError::Full | IngestError::OverShare => stats.lost_full += 1,
                    IngestError::WentAway => stats.went_away += 1,
                    _ => {}
                }
                Err(e.into())
            }
        }
    }
}

/// packrat's client as the snitch sees it.
struct SimReader {
    shared: Arc<Shared>,
}

impl ReadEreports for SimReader {
    fn read_ereports(&self, req: &ReadRequest, out: &mut [u8]) -> Result<usize, ReadError> {
        let uptime = self.shared.uptime();
        let mut p = lock(&self.shared.packrat);
        let identity = p.identity.clone();
        let r = p.core.read(req, out, identity.as_ref());
        // A commit may have freed room for faults that waited.
        let rec = p.core.record_pending(&self.shared.kernel, uptime);
        drop(p);
        if rec.recorded > 0 {
            lock(&self.shared.stats).faults_recorded += rec.recorded as u64;
            self.shared.log(format_args!(
                "recorded {} deferred fault ereport(s)",
                rec.recorded
            ));
        }
        r
    }
}

/// A running simulator.
pub struct Sim {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    local_addr: SocketAddr,
}

impl Sim {
    /// Starts the simulator: binds the socket and starts every task.
    pub fn start(cfg: SimConfig) -> Result<Sim, SimError> {
        if !cfg.rate.is_finite() || cfg.rate < 0.0 {
            return Err(SimError::Rate(cfg.rate));
        }
        if !cfg.storm_rate.is_finite() || cfg.storm_rate < 0.0 {
            return Err(SimError::Rate(cfg.storm_rate));
        }
        let mut core = make_core(cfg.store_bytes)?;
        if cfg.storm_control {
            // No task may hold more than half the store.
            core.set_task_share(store_size_for(cfg.store_bytes)? / 2);
        }
        let restart_id = random_restart_id();
        core.set_restart_id(restart_id);
        let listen_error = |source| SimError::Listen {
            addr: cfg.listen,
            source,
        };
        let net = UdpNet::bind(cfg.listen, Duration::from_millis(20)).map_err(listen_error)?;
        let local_addr = net.local_addr().map_err(listen_error)?;
        let shared = Arc::new(Shared {
            start: Instant::now(),
            start_wall: std::time::SystemTime::now(),
            stop: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            packrat: Mutex::new(PackratState {
                core,
                identity: None,
            }),
            kernel: SimKernel::new(),
            delivered: Mutex::new(Vec::new()),
            stats: Mutex::new(SimStats::default()),
            restart_id,
            cfg,
        });
        shared.log(format_args!(
            "restart id {restart_id}, listening on {local_addr}, store {} bytes, {} ereports/s",
            shared.cfg.store_bytes, shared.cfg.rate
        ));
        let mut threads = Vec::new();
        let s = shared.clone();
        threads.push(std::thread::spawn(move || snitch_task(s, net)));
        for (i, index) in PRODUCERS.iter().copied().enumerate() {
            let s = shared.clone();
            let seed = shared.cfg.seed.wrapping_add(i as u64 * 7919);
            threads.push(std::thread::spawn(move || producer_task(s, index, seed)));
        }
        let s = shared.clone();
        threads.push(std::thread::spawn(move || vpd_task(s)));
        if shared.cfg.fault_every.is_some() {
            let s = shared.clone();
            threads.push(std::thread::spawn(move || fault_task(s)));
        }
        Ok(Sim {
            shared,
            threads,
            local_addr,
        })
    }

    /// The address the snitch listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The wall-clock time of uptime 0: an ereport stored at uptime `u` ms
    /// was stored at `started_at() + u`.
    pub fn started_at(&self) -> std::time::SystemTime {
        self.shared.start_wall
    }

    /// This run's restart id.
    pub fn restart_id(&self) -> RestartId {
        self.shared.restart_id
    }

    /// Milliseconds since start.
    pub fn uptime(&self) -> u64 {
        self.shared.uptime()
    }

    /// Pauses (or resumes) the producers, e.g. to let a gateway drain.
    pub fn pause_producers(&self, paused: bool) {
        self.shared.paused.store(paused, Ordering::SeqCst);
    }

    /// Injects one fault now into producer `index`; if `mid_copy`, the
    /// task restarts while packrat copies its next lease.
    pub fn inject_fault(
        &self,
        index: u16,
        info: FaultInfo,
        message: Option<Vec<u8>>,
        mid_copy: bool,
    ) {
        inject(&self.shared, index, info, message, mid_copy);
    }

    /// The counters so far.
    pub fn stats(&self) -> SimStats {
        let mut st = lock(&self.shared.stats).clone();
        let p = lock(&self.shared.packrat);
        st.store = p.core.stats();
        st.stored_now = p.core.len();
        st.pending_losses = p.core.pending_losses().unwrap_or(0);
        st
    }

    /// Every ereport producers delivered and packrat stored, in order, if
    /// [`SimConfig::record_deliveries`] is set (empty otherwise).
    pub fn delivered(&self) -> Vec<Delivered> {
        lock(&self.shared.delivered).clone()
    }

    /// Whether a stop was asked for.
    pub fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }

    /// A handle that stops the simulator from elsewhere (a signal handler).
    pub fn stop_handle(&self) -> impl Fn() + Send + Sync + 'static {
        let s = self.shared.clone();
        move || s.stop.store(true, Ordering::SeqCst)
    }

    /// Stops every task and returns the final counters.
    pub fn stop(mut self) -> SimStats {
        self.shared.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        self.stats()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn snitch_task(shared: Arc<Shared>, net: UdpNet) {
    let mut snitch = Snitch::new(
        net,
        SimReader {
            shared: shared.clone(),
        },
    );
    let mut last = Instant::now();
    while !shared.stop.load(Ordering::SeqCst) {
        snitch.poll();
        if last.elapsed() > Duration::from_millis(50) {
            lock(&shared.stats).snitch = snitch.counters();
            last = Instant::now();
        }
    }
    lock(&shared.stats).snitch = snitch.counters();
}

/// Sleeps up to `d` in small steps, returning early on stop.
fn nap(shared: &Shared, d: Duration) {
    let end = Instant::now() + d;
    while !shared.stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now >= end {
            return;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(20)));
    }
}

/// Counts one report's fate for producer `index`.
fn count_report(shared: &Shared, index: u16, result: Result<Ena, DeliverError>) {
    let mut st = lock(&shared.stats);
    let Some(p) = st.producers.get_mut(usize::from(index)) else {
        return;
    };
    p.attempted += 1;
    match result {
        Ok(_) => p.delivered += 1,
        Err(DeliverError::Suppressed) => p.suppressed += 1,
        Err(DeliverError::WentAway) => p.went_away += 1,
        Err(_) => p.lost += 1,
    }
}

/// The `power` task in a storm: its PMBus alert fires `rate` times a
/// second, in steps of a millisecond.
fn storm_task(shared: &Shared, client: &SimClient<'_>, power: &mut Producer, rate: f64) {
    let start = Instant::now();
    let mut fired = 0u64;
    let alert = SimReport::PmbusAlert(storm_alert());
    while !shared.stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
        // A storm that stopped is reported after a quiet second.
        power.flush_suppressed(client, shared.uptime());
        if shared.paused.load(Ordering::SeqCst) {
            continue;
        }
        let due = (start.elapsed().as_secs_f64() * rate) as u64;
        while fired < due && !shared.stop.load(Ordering::SeqCst) {
            fired += 1;
            let r = power.deliver(client, &alert, shared.uptime());
            count_report(shared, client.index, r);
        }
    }
}

fn producer_task(shared: Arc<Shared>, index: u16, seed: u64) {
    let mut rng = Rng::new(seed);
    let per_task = (shared.cfg.rate / PRODUCERS.len() as f64).max(0.0);
    let client = SimClient {
        shared: &shared,
        index,
    };
    let mut producer = Producer::new(index);
    producer.enforce_rate_limits(shared.cfg.storm_control);
    if index == 2 && shared.cfg.storm_rate > 0.0 {
        storm_task(&shared, &client, &mut producer, shared.cfg.storm_rate);
        return;
    }
    // A Poisson process at `per_task` a second: exponential gaps between
    // due times. The task sleeps at least a tick at a time and then
    // delivers everything due, so the rate is kept however late the
    // scheduler wakes it, and a rack of busy tasks does not wake once per
    // report.
    const TICK: Duration = Duration::from_millis(5);
    let gap =
        |rng: &mut Rng| Duration::from_secs_f64((-(1.0 - rng.unit()).ln() / per_task).min(10.0));
    let mut due = Instant::now();
    while !shared.stop.load(Ordering::SeqCst) {
        if per_task <= 0.0 {
            nap(&shared, Duration::from_millis(100));
            continue;
        }
        let now = Instant::now();
        if shared.paused.load(Ordering::SeqCst) {
            // Paused reports are not owed afterwards.
            nap(&shared, TICK);
            due = Instant::now() + gap(&mut rng);
            continue;
        }
        if due > now {
            nap(&shared, (due - now).max(TICK));
            continue;
        }
        // Owed more than a second (a stalled machine): start afresh rather
        // than deliver a second's reports at once.
        if now.duration_since(due) > Duration::from_secs(1) {
            due = now;
        }
        due += gap(&mut rng);
        let report = producer.report(&mut rng);
        let result = producer.deliver(&client, &report, shared.uptime());
        count_report(&shared, index, result);
    }
}

fn vpd_task(shared: Arc<Shared>) {
    nap(&shared, shared.cfg.vpd_delay);
    if shared.stop.load(Ordering::SeqCst) {
        return;
    }
    lock(&shared.packrat).identity = Some(shared.cfg.identity.clone());
    shared.log(format_args!(
        "identity set: {} {} rev {}",
        shared.cfg.identity.part_number,
        shared.cfg.identity.serial_number,
        shared.cfg.identity.revision
    ));
}

fn inject(shared: &Shared, index: u16, info: FaultInfo, message: Option<Vec<u8>>, mid_copy: bool) {
    shared.kernel.inject(index, info, message);
    let uptime = shared.uptime();
    let rec = lock(&shared.packrat).core.on_faults(&shared.kernel, uptime);
    {
        let mut st = lock(&shared.stats);
        st.faults_injected += 1;
        st.faults_recorded += rec.recorded as u64;
    }
    let name = SimTasks::NAMES
        .get(usize::from(index))
        .copied()
        .unwrap_or("?");
    shared.log(format_args!(
        "task {name} faulted ({}); {}; restarting it{}",
        info.class(),
        if rec.pending > 0 {
            "store full, fault ereport deferred"
        } else {
            "fault ereport recorded"
        },
        if mid_copy {
            " during its next lease copy"
        } else {
            ""
        }
    ));
    let slot = shared.kernel.slot(index);
    if mid_copy {
        slot.restart_during_next_read();
    } else {
        slot.restart();
    }
}

fn fault_task(shared: Arc<Shared>) {
    let Some(every) = shared.cfg.fault_every else {
        return;
    };
    let mut rng = Rng::new(shared.cfg.seed ^ 0xfa17);
    loop {
        nap(&shared, every);
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let (index, info, message) = next_fault(&mut rng);
        let message = message.map(<[u8]>::to_vec);
        inject(&shared, index, info, message, rng.below(2) == 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_sizes_round_up() {
        assert_eq!(store_size_for(4096).unwrap(), 4096);
        assert_eq!(store_size_for(2000).unwrap(), 2048);
        assert_eq!(store_size_for(64).unwrap(), 256);
        assert!(store_size_for(63).is_err());
        assert!(store_size_for(65537).is_err());
        for s in STORE_SIZES {
            assert!(make_core(s).is_ok(), "{s}");
        }
    }
}
