//! A simulated service processor: the real `packrat-ereport` and `snitch`
//! code, with simulated Hubris tasks as threads, serving ereports over UDP
//! exactly as an SP does (see `docs/protocol.md`).
//!
//! - [`sim`]: the simulator itself ([`Sim::start`](sim::Sim::start) with a
//!   [`SimConfig`](sim::SimConfig)); the `sp-sim` binary is a command line
//!   over it.
//! - [`rack`]: many simulated SPs at once, laid out as a rack (sleds,
//!   switches, power shelves), with an inventory for the gateway;
//! - [`ipc`]: leases over simulated task memory with lender generations, so
//!   a task restarted mid-copy makes its lease go away as on Hubris.
//! - [`classes`]: the ereport classes the simulated tasks report, and
//!   [`catalog`]: every class the simulated SP can send (the
//!   `ereport-catalog` binary prints it).
//!
//! ```no_run
//! use sp_sim::sim::{Sim, SimConfig};
//!
//! let sim = Sim::start(SimConfig { rate: 50.0, ..SimConfig::default() })?;
//! println!("SP on {} (restart id {})", sim.local_addr(), sim.restart_id());
//! let stats = sim.stop();
//! println!("{} ereports stored", stats.delivered);
//! # Ok::<(), sp_sim::sim::SimError>(())
//! ```
//!
//! The demo (`cargo run -p ereport-demo`) runs the simulator and the
//! `ereport-gateway` library together in one process.

pub mod catalog;
/// The ereport classes the simulated tasks report (from `sp-workload`,
/// which the emulated SP shares).
pub use sp_workload::classes;
pub mod ipc;
pub mod rack;
pub mod sim;
