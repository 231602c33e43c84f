//! The schema, as versioned migrations run by `refinery` for both
//! databases: each version is SQL for SQLite and for PostgreSQL, applied
//! once, in order, and recorded in [`HISTORY_TABLE`]. A database with a
//! version newer than [`LATEST`] is refused; an older one is upgraded when
//! opened to write, and refused (with what to do) when opened to read.
//!
//! Versions 1 to 4 predate the history table: SQLite kept its version in
//! `user_version` and upgraded by adding missing columns, PostgreSQL kept
//! it in `schema_version`. Such a database is brought to version 4 the old
//! way once ([`sqlite_legacy_upgrade`]), then the history takes over:
//! version 4's migration creates only what is missing.
//!
//! Column names are the same in both databases; types are each one's
//! closest: PostgreSQL times are `TIMESTAMPTZ`, SQLite's integer
//! milliseconds since the Unix epoch; the report is `JSONB` or JSON text.

use refinery::{Migration, Runner};

/// The table the migration history lives in.
pub const HISTORY_TABLE: &str = "gateway_schema_history";

/// The newest schema version this gateway knows.
pub const LATEST: i64 = 7;

/// The last version from before the history table.
pub const LEGACY_LATEST: i64 = 4;

/// Version 4 for SQLite: the tables as the gateway wrote them then (each
/// created only if missing, so a legacy database keeps its rows).
const SQLITE_V4: &str = "
CREATE TABLE IF NOT EXISTS sp_restarts (
    restart_id TEXT PRIMARY KEY,
    metadata TEXT NOT NULL,
    sp_name TEXT,
    first_seen_ms INTEGER,
    latest_ereport_ms INTEGER
);
CREATE TABLE IF NOT EXISTS ereports (
    restart_id TEXT NOT NULL,
    ena INTEGER NOT NULL,
    sp_name TEXT,
    sp_kind TEXT,
    sp_slot INTEGER,
    part_number TEXT,
    serial_number TEXT,
    class TEXT,
    time_collected_ms INTEGER,
    collector_id TEXT,
    task_name TEXT NOT NULL,
    task_gen INTEGER NOT NULL,
    uptime_ms INTEGER NOT NULL,
    body BLOB NOT NULL,
    json TEXT NOT NULL,
    invalid_error TEXT,
    catalog_error TEXT,
    PRIMARY KEY (restart_id, ena)
);
CREATE TABLE IF NOT EXISTS gaps (
    restart_id TEXT NOT NULL,
    sp_name TEXT,
    first_ena INTEGER NOT NULL,
    last_ena INTEGER NOT NULL,
    seen_unix_ms INTEGER NOT NULL,
    PRIMARY KEY (restart_id, first_ena)
);
CREATE TABLE IF NOT EXISTS sp_cursor (
    sp_name TEXT PRIMARY KEY,
    restart_id TEXT NOT NULL,
    committed_ena INTEGER NOT NULL
);
";

/// Version 5 for SQLite: PostgreSQL's column names (one set for both),
/// the kind of each gap, and the index by time PostgreSQL had.
const SQLITE_V5: &str = "
ALTER TABLE sp_restarts RENAME COLUMN first_seen_ms TO first_seen;
ALTER TABLE sp_restarts RENAME COLUMN latest_ereport_ms TO latest_ereport;
ALTER TABLE ereports RENAME COLUMN time_collected_ms TO time_collected;
ALTER TABLE ereports RENAME COLUMN json TO report;
ALTER TABLE gaps RENAME COLUMN seen_unix_ms TO seen;
ALTER TABLE gaps ADD COLUMN kind TEXT NOT NULL DEFAULT 'skipped';
CREATE INDEX IF NOT EXISTS ereports_by_time ON ereports (time_collected);
";

/// Version 6 for SQLite: which collector holds each SP, until when
/// (milliseconds since 1970).
const SQLITE_V6: &str = "
CREATE TABLE IF NOT EXISTS sp_leases (
    sp_name TEXT PRIMARY KEY,
    collector_id TEXT NOT NULL,
    expires INTEGER NOT NULL
);
";

/// Version 4 for PostgreSQL (its first schema was version 3; 4 changed
/// only SQLite).
const POSTGRES_V4: &str = "
CREATE TABLE IF NOT EXISTS sp_restarts (
    restart_id TEXT PRIMARY KEY,
    sp_name TEXT,
    metadata JSONB NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    latest_ereport TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS ereports (
    restart_id TEXT NOT NULL,
    ena INT8 NOT NULL,
    sp_name TEXT,
    sp_kind TEXT,
    sp_slot INT8,
    part_number TEXT,
    serial_number TEXT,
    class TEXT,
    time_collected TIMESTAMPTZ NOT NULL,
    collector_id TEXT NOT NULL,
    task_name TEXT NOT NULL,
    task_gen INT8 NOT NULL,
    uptime_ms INT8 NOT NULL,
    body BYTEA NOT NULL,
    report JSONB NOT NULL,
    invalid_error TEXT,
    catalog_error TEXT,
    PRIMARY KEY (restart_id, ena)
);
CREATE INDEX IF NOT EXISTS ereports_by_time ON ereports (time_collected);
CREATE TABLE IF NOT EXISTS gaps (
    restart_id TEXT NOT NULL,
    sp_name TEXT,
    first_ena INT8 NOT NULL,
    last_ena INT8 NOT NULL,
    seen TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (restart_id, first_ena)
);
CREATE TABLE IF NOT EXISTS sp_cursor (
    sp_name TEXT PRIMARY KEY,
    restart_id TEXT NOT NULL,
    committed_ena INT8 NOT NULL
);
";

/// Version 5 for PostgreSQL: the kind of each gap.
const POSTGRES_V5: &str = "
ALTER TABLE gaps ADD COLUMN IF NOT EXISTS kind TEXT NOT NULL DEFAULT 'skipped';
";

/// Version 6 for PostgreSQL: which collector holds each SP, until when.
const POSTGRES_V6: &str = "
CREATE TABLE IF NOT EXISTS sp_leases (
    sp_name TEXT PRIMARY KEY,
    collector_id TEXT NOT NULL,
    expires TIMESTAMPTZ NOT NULL
);
";

/// SQL for the UUID text (hyphenated, lower case) of an expression of 32
/// hex digits.
fn sqlite_hyphenate(hex: &str) -> String {
    format!(
        "lower(substr({hex}, 1, 8) || '-' || substr({hex}, 9, 4) || '-' || substr({hex}, 13, 4)
               || '-' || substr({hex}, 17, 4) || '-' || substr({hex}, 21, 12))"
    )
}

/// A restart id as hex digits (32 of them from version 3 on, fewer in
/// hand-made version 1 databases) as SQLite's UUID text; one that is UUID
/// text already is kept.
fn sqlite_uuid_text(column: &str) -> String {
    let padded = format!("substr('00000000000000000000000000000000' || {column}, -32, 32)");
    format!(
        "CASE WHEN length({column}) = 36 THEN lower({column}) ELSE {} END",
        sqlite_hyphenate(&padded)
    )
}

/// A collector id from before version 7 (free text, `collector-<pid>` by
/// default) as UUID text: its bytes in hex, padded or cut to 32 digits
/// (distinct for ids up to 16 bytes). One that is already a UUID is kept.
fn sqlite_collector_uuid(column: &str) -> String {
    let hex = format!("substr(hex({column}) || '00000000000000000000000000000000', 1, 32)");
    format!(
        "CASE WHEN {column} IS NULL THEN NULL
              WHEN length({column}) = 36 AND {column} GLOB '*-*-*-*-*' THEN lower({column})
              ELSE {} END",
        sqlite_hyphenate(&hex)
    )
}

/// Version 7 for SQLite: the control plane's table shapes, as close as
/// SQLite comes. The ereport table is `ereport`, its first columns the
/// control plane's (UUIDs as hyphenated text, enums as checked text, times
/// as milliseconds), then this gateway's own; restart ids everywhere are
/// UUID text; the restart table gains the reporter's identity; the
/// indexes are [`INDEXES_SQLITE`]. Rows are copied across.
fn sqlite_v7() -> String {
    let rid = sqlite_uuid_text("restart_id");
    let collector = sqlite_collector_uuid("collector_id");
    format!(
        "
CREATE TABLE ereport (
    restart_id TEXT NOT NULL,
    ena INTEGER NOT NULL,
    time_deleted INTEGER,
    time_collected INTEGER,
    collector_id TEXT,
    serial_number TEXT,
    part_number TEXT,
    class TEXT,
    report TEXT NOT NULL,
    reporter TEXT NOT NULL DEFAULT 'sp' CHECK (reporter IN ('sp', 'host')),
    sp_type TEXT CHECK (sp_type IN ('sled', 'switch', 'power')),
    sp_slot INTEGER,
    sled_id TEXT,
    marked_seen_in TEXT,
    -- this gateway's own columns
    sp_name TEXT,
    task_name TEXT NOT NULL,
    task_gen INTEGER NOT NULL,
    uptime_ms INTEGER NOT NULL,
    body BLOB NOT NULL,
    invalid_error TEXT,
    catalog_error TEXT,
    PRIMARY KEY (restart_id, ena)
);
INSERT INTO ereport (restart_id, ena, time_collected, collector_id, serial_number, part_number,
                     class, report, reporter, sp_type, sp_slot, sp_name, task_name, task_gen,
                     uptime_ms, body, invalid_error, catalog_error)
    SELECT {rid}, ena, time_collected, {collector}, serial_number, part_number, class, report, 'sp',
           CASE WHEN sp_kind IN ('sled', 'switch', 'power') THEN sp_kind END,
           CASE WHEN sp_slot BETWEEN 0 AND 2147483647 THEN sp_slot END,
           sp_name, task_name, task_gen, uptime_ms, body, invalid_error, catalog_error
    FROM ereports;
DROP TABLE ereports;
{indexes}
ALTER TABLE sp_restarts ADD COLUMN reporter TEXT NOT NULL DEFAULT 'sp' CHECK (reporter IN ('sp', 'host'));
ALTER TABLE sp_restarts ADD COLUMN sp_type TEXT CHECK (sp_type IN ('sled', 'switch', 'power'));
ALTER TABLE sp_restarts ADD COLUMN sp_slot INTEGER;
ALTER TABLE sp_restarts ADD COLUMN rack_id TEXT;
ALTER TABLE sp_restarts ADD COLUMN sled_id TEXT;
UPDATE sp_restarts SET {rid_set};
UPDATE gaps SET {rid_set};
UPDATE sp_cursor SET {rid_set};
DELETE FROM sp_leases;
",
        indexes = INDEXES_SQLITE,
        rid_set = format!("restart_id = {rid}"),
    )
}

/// SQLite's indexes on `ereport`: by time (retention, `query`) and by
/// deletion time (purge), both partial. The control plane's lookup
/// indexes (by slot, serial number, class, not yet seen) are
/// PostgreSQL's: in SQLite every index is kept up by the one writer every
/// collector shares, and those four cost it a third of its rate
/// (BENCHMARKS.md), while a local file's `query` reads its rows quickly
/// enough without them.
const INDEXES_SQLITE: &str = "
CREATE INDEX lookup_deleted_ereports ON ereport (time_deleted) WHERE time_deleted IS NOT NULL;
CREATE INDEX order_ereports_by_timestamp ON ereport (time_collected) WHERE time_deleted IS NULL;
";

/// Version 7 for PostgreSQL (and CockroachDB): the control plane's table
/// shapes. Its enums (`ereporter_type`, `sp_type`); the ereport table as
/// `ereport` with the control plane's columns and types first (UUID ids,
/// `reporter`, `sp_type`, `sp_slot INT4`, `sled_id`, `time_deleted`,
/// `marked_seen_in`) and this gateway's own after them; its indexes;
/// UUID restart ids in every table; the restart table with the reporter's
/// identity. Tables whose types change are made anew and their rows
/// copied (no `ALTER COLUMN … TYPE`, which CockroachDB restricts).
/// Collector ids from before (free text) become UUIDs by their MD5, so
/// distinct ids stay distinct.
const POSTGRES_V7: &str = "
CREATE TYPE ereporter_type AS ENUM ('sp', 'host');
CREATE TYPE sp_type AS ENUM ('sled', 'switch', 'power');
CREATE TABLE ereport (
    restart_id UUID NOT NULL,
    ena INT8 NOT NULL,
    time_deleted TIMESTAMPTZ,
    time_collected TIMESTAMPTZ NOT NULL,
    collector_id UUID NOT NULL,
    serial_number TEXT,
    part_number TEXT,
    class TEXT,
    report JSONB NOT NULL,
    reporter ereporter_type NOT NULL,
    sp_type sp_type,
    sp_slot INT4,
    sled_id UUID,
    marked_seen_in UUID,
    -- this gateway's own columns
    sp_name TEXT,
    task_name TEXT NOT NULL,
    task_gen INT8 NOT NULL,
    uptime_ms INT8 NOT NULL,
    body BYTEA NOT NULL,
    invalid_error TEXT,
    catalog_error TEXT,
    PRIMARY KEY (restart_id, ena)
);
INSERT INTO ereport (restart_id, ena, time_collected, collector_id, serial_number, part_number,
                     class, report, reporter, sp_type, sp_slot, sp_name, task_name, task_gen,
                     uptime_ms, body, invalid_error, catalog_error)
    SELECT CAST(restart_id AS UUID), ena, time_collected,
           CASE WHEN collector_id ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
                THEN CAST(collector_id AS UUID) ELSE CAST(md5(collector_id) AS UUID) END,
           serial_number, part_number, class, report, 'sp',
           CASE WHEN sp_kind IN ('sled', 'switch', 'power') THEN CAST(sp_kind AS sp_type) END,
           CASE WHEN sp_slot BETWEEN 0 AND 2147483647 THEN CAST(sp_slot AS INT4) END,
           sp_name, task_name, task_gen, uptime_ms, body, invalid_error, catalog_error
    FROM ereports;
DROP TABLE ereports;
CREATE INDEX lookup_ereports_by_sp_slot ON ereport (sp_type, sp_slot, time_collected)
    WHERE time_deleted IS NULL AND sp_type IS NOT NULL AND sp_slot IS NOT NULL;
CREATE INDEX lookup_ereports_by_sled ON ereport (sled_id, time_collected)
    WHERE sled_id IS NOT NULL AND time_deleted IS NULL;
CREATE INDEX lookup_ereports_by_serial ON ereport (serial_number)
    INCLUDE (time_collected, reporter, sp_type, sp_slot, sled_id)
    WHERE time_deleted IS NULL;
CREATE INDEX lookup_ereports_by_class ON ereport (class) WHERE time_deleted IS NULL;
CREATE INDEX lookup_unmarked_ereports ON ereport (restart_id, ena)
    WHERE marked_seen_in IS NULL AND time_deleted IS NULL;
CREATE INDEX lookup_deleted_ereports ON ereport (time_deleted) WHERE time_deleted IS NOT NULL;
CREATE INDEX order_ereports_by_timestamp ON ereport (time_collected) WHERE time_deleted IS NULL;

CREATE TABLE sp_restart (
    restart_id UUID PRIMARY KEY,
    reporter ereporter_type NOT NULL,
    sp_type sp_type,
    sp_slot INT4,
    rack_id UUID,
    sled_id UUID,
    sp_name TEXT,
    metadata JSONB NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    latest_ereport TIMESTAMPTZ
);
INSERT INTO sp_restart (restart_id, reporter, sp_name, metadata, first_seen, latest_ereport)
    SELECT CAST(restart_id AS UUID), 'sp', sp_name, metadata, first_seen, latest_ereport
    FROM sp_restarts;
DROP TABLE sp_restarts;
ALTER TABLE sp_restart RENAME TO sp_restarts;

CREATE TABLE gap (
    restart_id UUID NOT NULL,
    sp_name TEXT,
    first_ena INT8 NOT NULL,
    last_ena INT8 NOT NULL,
    seen TIMESTAMPTZ NOT NULL,
    kind TEXT NOT NULL,
    PRIMARY KEY (restart_id, first_ena)
);
INSERT INTO gap SELECT CAST(restart_id AS UUID), sp_name, first_ena, last_ena, seen, kind FROM gaps;
DROP TABLE gaps;
ALTER TABLE gap RENAME TO gaps;

CREATE TABLE cursor_v7 (
    sp_name TEXT PRIMARY KEY,
    restart_id UUID NOT NULL,
    committed_ena INT8 NOT NULL
);
INSERT INTO cursor_v7 SELECT sp_name, CAST(restart_id AS UUID), committed_ena FROM sp_cursor;
DROP TABLE sp_cursor;
ALTER TABLE cursor_v7 RENAME TO sp_cursor;

DROP TABLE sp_leases;
CREATE TABLE sp_leases (
    sp_name TEXT PRIMARY KEY,
    collector_id UUID NOT NULL,
    expires TIMESTAMPTZ NOT NULL
);
";

/// Which database a runner is for.
#[derive(Clone, Copy, Debug)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL (and CockroachDB).
    Postgres,
}

/// The migrations for `dialect`, in order: refinery's name and the SQL.
pub fn steps(dialect: Dialect) -> Vec<(&'static str, String)> {
    match dialect {
        Dialect::Sqlite => vec![
            ("V4__tables", SQLITE_V4.to_string()),
            ("V5__one_set_of_columns", SQLITE_V5.to_string()),
            ("V6__sp_leases", SQLITE_V6.to_string()),
            ("V7__control_plane_shapes", sqlite_v7()),
        ],
        Dialect::Postgres => vec![
            ("V4__tables", POSTGRES_V4.to_string()),
            ("V5__gap_kinds", POSTGRES_V5.to_string()),
            ("V6__sp_leases", POSTGRES_V6.to_string()),
            ("V7__control_plane_shapes", POSTGRES_V7.to_string()),
        ],
    }
}

/// The migrations for `dialect`, in order, as a runner that refuses a
/// database whose history holds a version it does not know.
pub fn runner(dialect: Dialect) -> Result<Runner, refinery::Error> {
    let migrations = steps(dialect)
        .iter()
        .map(|(name, sql)| Migration::unapplied(name, sql))
        .collect::<Result<Vec<_>, _>>()?;
    let mut runner = Runner::new(&migrations)
        .set_abort_missing(true)
        .set_abort_divergent(true);
    runner.set_migration_table_name(HISTORY_TABLE);
    Ok(runner)
}

/// A runner that stops at `version`: for tests that make a database as an
/// older gateway left it.
pub fn runner_to(dialect: Dialect, version: i32) -> Result<Runner, refinery::Error> {
    Ok(runner(dialect)?.set_target(refinery::Target::Version(version)))
}

/// Columns versions 2 and 3 added in SQLite: (table, column, type).
const SQLITE_ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("ereports", "invalid_error", "TEXT"),
    ("ereports", "catalog_error", "TEXT"),
    ("ereports", "sp_name", "TEXT"),
    ("ereports", "sp_kind", "TEXT"),
    ("ereports", "sp_slot", "INTEGER"),
    ("ereports", "part_number", "TEXT"),
    ("ereports", "serial_number", "TEXT"),
    ("ereports", "class", "TEXT"),
    ("ereports", "time_collected_ms", "INTEGER"),
    ("ereports", "collector_id", "TEXT"),
    ("gaps", "sp_name", "TEXT"),
    ("sp_restarts", "sp_name", "TEXT"),
    ("sp_restarts", "first_seen_ms", "INTEGER"),
    ("sp_restarts", "latest_ereport_ms", "INTEGER"),
];

/// Brings a SQLite database from before the history table (versions 1 to
/// 3 in `user_version`) to version 4's tables: adds the columns it lacks
/// and moves the single cursor of versions 1 and 2 to the default SP's.
pub fn sqlite_legacy_upgrade(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    let has_table = |name: &str| -> rusqlite::Result<bool> {
        conn.query_row(
            "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [name],
            |r| r.get(0),
        )
    };
    for (table, column, ty) in SQLITE_ADDED_COLUMNS {
        if !has_table(table)? {
            continue;
        }
        let mut st = conn.prepare(&format!("PRAGMA table_info({table})"))?;
        let has = st
            .query_map([], |r| r.get::<_, String>(1))?
            .filter_map(Result::ok)
            .any(|c| c == *column);
        if !has {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {ty}"))?;
        }
    }
    if has_table("cursor")? {
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS sp_cursor (
                 sp_name TEXT PRIMARY KEY, restart_id TEXT NOT NULL, committed_ena INTEGER NOT NULL);
             INSERT OR IGNORE INTO sp_cursor (sp_name, restart_id, committed_ena)
                 SELECT '{sp}', restart_id, committed_ena FROM cursor;
             UPDATE ereports SET sp_name = '{sp}' WHERE sp_name IS NULL;
             DROP TABLE cursor;",
            sp = super::DEFAULT_SP_NAME
        ))?;
    }
    Ok(())
}
