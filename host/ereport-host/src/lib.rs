//! What every host program of the ereport pipeline shares, so the dump
//! reader, the simulator, the collector and the fuzz targets describe an
//! ereport the same way without depending on each other:
//!
//! - [`record`]: the record model (an ereport as stored, a gap, what a
//!   collector notices, its counters);
//! - [`validate`]: is a datagram the answer to the request just sent?
//! - [`json`]: ereports as the JSON objects the control plane stores;
//! - [`catalog`]: checking them against a class catalog; [`catalog_file`]:
//!   writing the catalog out from the derive's schemas;
//! - [`output`]: what people see: escaped, aligned, counted in words;
//! - [`addr`]: SP addresses as people type them.
//!
//! No database and no socket here: the collector (`ereport-gateway`) owns
//! those.

pub mod addr;
pub mod catalog;
pub mod catalog_file;
pub mod json;
pub mod output;
pub mod record;
pub mod validate;

pub use record::{Event, Gap, GatewayStats, StoredEreport};
