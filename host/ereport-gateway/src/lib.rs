//! The collector side of the ereport pipeline: a client that speaks the MGS
//! ereport protocol to an SP and stores what it receives in SQLite, as the
//! management gateway and the control plane do together.
//!
//! - [`validate`]: is a datagram the answer to the request just sent?
//! - [`collector`]: many SPs (an inventory) drained in parallel, each by
//!   its own gateway, with a status per SP;
//! - [`gateway`]: the protocol client and its state (restarts, gaps, the
//!   committed ENA), over [`db`], the SQLite store.
//! - [`json`]: ereports as the JSON objects the control plane stores;
//!   [`catalog`]: checking them against a class catalog (`--catalog`).
//! - [`output`]: what people see: escaped, aligned, counted in words.
//!
//! ```no_run
//! use std::path::Path;
//! use ereport_gateway::db::Db;
//! use ereport_gateway::gateway::{Gateway, GatewayConfig};
//!
//! let sp = "127.0.0.1:57005".parse().unwrap();
//! let db = ereport_gateway::store::open(Path::new("ereports.sqlite"))?;
//! let mut gw = Gateway::new(GatewayConfig::for_sp(sp), db)?;
//! let n = gw.drain(&mut |poll| {
//!     for e in &poll.stored {
//!         println!("{}", e.report);
//!     }
//! })?;
//! eprintln!("{n} new ereports");
//! # Ok::<(), ereport_gateway::gateway::GatewayError>(())
//! ```
//!
//! # Threat model
//!
//! The protocol has no authentication. Anyone who can send to the SP's port
//! can read its ereports and commit them (making the SP free them); anyone
//! who can forge the SP's source address can feed the gateway. The gateway
//! cannot prevent either; it makes forged or inconsistent input visible
//! instead of silent: a response must answer the request just sent (request
//! id, non-zero restart id, size, limit, ENA range), records before the
//! requested ENA must match what is stored, skipped ENAs become gap records,
//! nothing is committed that the database does not hold, and every rejection
//! is counted and reported with its reason.

pub mod collector;
pub mod gateway;
pub mod store;

/// The store under its earlier name.
pub use store as db;

// The record model, validation, JSON, output and the catalog check live in
// the host library, shared with the dump reader and the simulator.
pub use ereport_host::{StoredEreport, catalog, json, output, validate};
