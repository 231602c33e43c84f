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
pub const LATEST: i64 = 6;

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

/// Which database a runner is for.
#[derive(Clone, Copy, Debug)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL (and CockroachDB).
    Postgres,
}

/// The migrations for `dialect`, in order, as a runner that refuses a
/// database whose history holds a version it does not know.
pub fn runner(dialect: Dialect) -> Result<Runner, refinery::Error> {
    let steps: [(&str, &str); 3] = match dialect {
        Dialect::Sqlite => [
            ("V4__tables", SQLITE_V4),
            ("V5__one_set_of_columns", SQLITE_V5),
            ("V6__sp_leases", SQLITE_V6),
        ],
        Dialect::Postgres => [
            ("V4__tables", POSTGRES_V4),
            ("V5__gap_kinds", POSTGRES_V5),
            ("V6__sp_leases", POSTGRES_V6),
        ],
    };
    let migrations = steps
        .iter()
        .map(|(name, sql)| Migration::unapplied(name, sql))
        .collect::<Result<Vec<_>, _>>()?;
    let mut runner = Runner::new(&migrations)
        .set_abort_missing(true)
        .set_abort_divergent(true);
    runner.set_migration_table_name(HISTORY_TABLE);
    Ok(runner)
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
