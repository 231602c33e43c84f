//! The catalog of every ereport class this workspace's simulated SP can
//! send: the producers' classes (from their reporters), packrat's fault and
//! loss records, and the SDK's suppression record. `docs/catalog.json` is
//! this, committed; `ereport-catalog` prints it.

use ereport_sdk::schema::{ClassSchema, SUPPRESSED_SCHEMA};
use packrat_ereport::faults::schema::{FAULT_SCHEMAS, LOSS_SCHEMA};

use crate::classes::{EreportulatorReporter, PowerReporter, SequencerReporter, ThermalReporter};

/// Every class, in no particular order (the catalog sorts them).
pub fn workspace_classes() -> Vec<ClassSchema> {
    let mut out = Vec::new();
    out.extend(ThermalReporter::SCHEMAS);
    out.extend(PowerReporter::SCHEMAS);
    out.extend(SequencerReporter::SCHEMAS);
    out.extend(EreportulatorReporter::SCHEMAS);
    out.extend_from_slice(FAULT_SCHEMAS);
    out.push(LOSS_SCHEMA);
    out.push(SUPPRESSED_SCHEMA);
    out
}

/// The catalog as JSON.
pub fn workspace_catalog() -> serde_json::Value {
    ereport_host::catalog_file::catalog_json(&workspace_classes())
}
