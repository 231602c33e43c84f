//! The storm scenario, shared by the `storm` example (which prints its
//! figures) and the storm test (which asserts them): one producer's PMBus
//! alert fires thousands of times a second while the other producers report
//! at their usual rate and a gateway drains the SP as the control plane
//! does. What reaches the gateway from the quiet producers, with storm
//! control and without?

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ereport_gateway::gateway::{Gateway, GatewayConfig};
use sp_sim::sim::{Sim, SimConfig};

/// The producers that do not storm (`thermal`, `sequencer`,
/// `ereportulator`).
pub const QUIET: [u16; 3] = [1, 3, 4];
/// The storming producer (`power`).
pub const STORMING: u16 = 2;
/// Requests the gateway makes to the SP each round (each response holds
/// up to about 15 ereports), then it waits for the next round.
pub const REQUESTS_PER_ROUND: usize = 4;

/// What one run saw.
#[derive(Clone, Copy, Debug, Default)]
pub struct Outcome {
    /// Reports the quiet producers tried to deliver.
    pub quiet_attempted: u64,
    /// Of those, stored by packrat.
    pub quiet_stored: u64,
    /// Of those, lost (store full, or over a share).
    pub quiet_lost: u64,
    /// Quiet producers' ereports the gateway received.
    pub quiet_at_gateway: u64,
    /// The storming producer's reports: attempted, stored, suppressed by
    /// the rate limit, lost.
    pub storm_attempted: u64,
    /// Stored.
    pub storm_stored: u64,
    /// Suppressed before any IPC.
    pub storm_suppressed: u64,
    /// Lost in packrat.
    pub storm_lost: u64,
    /// Suppression records the gateway received.
    pub suppression_records: u64,
}

/// Runs the storm for `storm_for` at `storm_rate` a second, with
/// `quiet_rate` reports a second from the other producers (all together),
/// the gateway taking up to [`REQUESTS_PER_ROUND`] responses every
/// `poll_every`; then stops the producers and drains.
pub fn run(
    storm_control: bool,
    storm_rate: f64,
    quiet_rate: f64,
    storm_for: Duration,
    poll_every: Duration,
    seed: u64,
) -> Outcome {
    let sim = Sim::start(SimConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        store_bytes: 4096,
        // The rate is spread over the four producers; the storming one's
        // share is replaced by the storm.
        rate: quiet_rate * 4.0 / 3.0,
        vpd_delay: Duration::ZERO,
        seed,
        storm_rate,
        storm_control,
        ..SimConfig::default()
    })
    .expect("the simulator starts");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db =
        ereport_gateway::store::open(dir.path().join("storm.sqlite")).expect("the database opens");
    let cfg = GatewayConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        timeout: Duration::from_millis(100),
        attempts: 50,
        ..GatewayConfig::for_sp(sim.local_addr())
    };
    let mut gw = Gateway::new(cfg, db).expect("the gateway starts");
    let mut out = Outcome::default();
    let mut count = |stored: &[ereport_gateway::StoredEreport]| {
        for e in stored {
            let task = e.task_name.as_str();
            if ["thermal", "sequencer", "ereportulator"].contains(&task) {
                out.quiet_at_gateway += 1;
            }
            if e.class().as_deref() == Some(ereport_sdk::storm::SUPPRESSED_CLASS) {
                out.suppression_records += 1;
            }
        }
    };
    let start = Instant::now();
    while start.elapsed() < storm_for {
        let round = Instant::now();
        // A bounded round, as a collector with many SPs to serve gives each
        // one: a storm's flood cannot be kept up with by draining faster.
        for _ in 0..REQUESTS_PER_ROUND {
            let p = gw.poll().expect("the gateway polls");
            count(&p.stored);
            if p.drained {
                break;
            }
        }
        std::thread::sleep(poll_every.saturating_sub(round.elapsed()));
    }
    sim.pause_producers(true);
    // Deliveries in flight land; a quiet second lets the suppression
    // record out (the power task flushes it on its next report).
    std::thread::sleep(Duration::from_millis(100));
    gw.drain(&mut |p| count(&p.stored))
        .expect("the gateway drains");
    let st = sim.stop();
    for q in QUIET {
        let p = st.producers[usize::from(q)];
        out.quiet_attempted += p.attempted;
        out.quiet_stored += p.delivered;
        out.quiet_lost += p.lost;
    }
    let p = st.producers[usize::from(STORMING)];
    out.storm_attempted = p.attempted;
    out.storm_stored = p.delivered;
    out.storm_suppressed = p.suppressed;
    out.storm_lost = p.lost;
    out
}
