//! Host programs for the ereport pipeline, and the library they share.
//!
//! - [`sim`]: the SP simulator, running the real `packrat-ereport` and
//!   `snitch` code with simulated tasks (binary `sp-sim`);
//! - [`gateway`]: a client that behaves as MGS and the control plane do,
//!   storing ereports in SQLite (binary `ereport-gateway`);
//! - [`ipc`]: leases over simulated task memory with lender generations;
//! - [`classes`]: the ereport classes the simulated tasks report;
//! - binaries `demo` (both in one process), `task-author` (declaring and
//!   delivering classes) and `w1-bench` (the W1 figures).

pub mod classes;
pub mod cli;
pub mod gateway;
pub mod ipc;
pub mod json;
pub mod sim;
