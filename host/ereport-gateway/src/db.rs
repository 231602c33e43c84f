//! The gateway's SQLite database: ereports, gaps, SP restarts and the
//! cursor (what has been committed to the SP).
//!
//! Every write that makes the SP free records happens in one transaction
//! that commits before the ENA is sent as committed, so the database is the
//! durable copy by then. That is also why the database must be a file: an
//! in-memory database would lose ereports the SP has already freed.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use ereport_sdk::{Ena, RestartId};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value as Json};

use crate::StoredEreport;
use crate::pg::{PgDb, is_postgres, redact};
pub use ereport_host::Gap;

/// The schema's version, kept in SQLite's `user_version`. Version 2 added
/// `ereports.catalog_error`; version 3 the SP's name, kind, slot, part and
/// serial number, the class, the time collected and the collector on every
/// row, and a cursor per SP; version 4, in SQLite, the SP's name and when
/// each restart was first seen and last stored from (PostgreSQL's schema
/// had them from its start). An older database is upgraded on open.
pub const SCHEMA_VERSION: i64 = 4;

/// How recently another collector must have stored from an SP for a
/// collector that yields to others to leave the SP's drain to it (see
/// `Gateway::drain`).
pub const RECENT_STORE: std::time::Duration = std::time::Duration::from_millis(100);

/// What the database says of an SP's stream, for a collector about to
/// drain it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharedCursor {
    /// The restart the cursor is in.
    pub restart_id: RestartId,
    /// The newest ENA committed.
    pub committed: Ena,
    /// Whether some collector stored from this restart within
    /// [`RECENT_STORE`] (by the database server's clock, for PostgreSQL).
    pub recently_stored: bool,
}

/// The name of the SP a single unnamed `--sp` (and every database from
/// before version 3) refers to.
pub const DEFAULT_SP_NAME: &str = "sp";

const SCHEMA: &str = "
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
    -- Where it came from: the inventory's name, kind and slot, and the
    -- metadata's part and serial number (NULs and trailing spaces trimmed).
    sp_name TEXT,
    sp_kind TEXT,
    sp_slot INTEGER,
    part_number TEXT,
    serial_number TEXT,
    -- The class, k; a loss record is ereport.data_loss.possible (null count) or
    -- ereport.data_loss.certain.
    class TEXT,
    time_collected_ms INTEGER,
    collector_id TEXT,
    task_name TEXT NOT NULL,
    task_gen INTEGER NOT NULL,
    -- All 64 bits: values of 2^63 and more are stored as their
    -- two's-complement (negative) i64.
    uptime_ms INTEGER NOT NULL,
    body BLOB NOT NULL,
    json TEXT NOT NULL,
    -- Why the body is not a valid ereport (NULL when it is).
    invalid_error TEXT,
    -- How it does not match the class catalog (NULL: it does, or no
    -- catalog was given).
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

/// Columns later versions added: (table, column, type).
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
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

/// Where an SP's rows come from: its inventory entry, the collector, and
/// the identity its metadata gave.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpRow {
    /// The inventory's name.
    pub name: String,
    /// Its kind (`sled`, `switch`, `power`), if known.
    pub kind: Option<String>,
    /// Its slot, if known.
    pub slot: Option<u32>,
    /// `baseboard_part_number`, trimmed.
    pub part_number: Option<String>,
    /// `baseboard_serial_number`, trimmed.
    pub serial_number: Option<String>,
    /// This collector's id.
    pub collector_id: String,
}

/// A part or serial number as stored: NUL bytes and trailing spaces
/// trimmed (SPs have sent both).
pub fn trim_identity(s: &str) -> String {
    s.replace('\0', "").trim_end_matches(' ').to_string()
}

/// The class a row records: `"k"`, or for a loss record
/// `ereport.data_loss.possible` (`{"lost": null}`) or
/// `ereport.data_loss.certain` (`{"lost": n}`).
pub fn row_class(e: &StoredEreport) -> Option<String> {
    match e.lost() {
        Some(None) => Some("ereport.data_loss.possible".into()),
        Some(Some(_)) => Some("ereport.data_loss.certain".into()),
        None => e.class().map(str::to_string),
    }
}

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// An empty path, `:memory:` or an in-memory URI.
    #[error(
        "{0:?} is not a durable database: the SP frees what the gateway commits, so give a file path"
    )]
    NotDurable(String),
    /// The database was written by a newer gateway.
    #[error(
        "{path}: schema version {found} is newer than this gateway's ({SCHEMA_VERSION}); upgrade the gateway"
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// The version found.
        found: i64,
    },
    /// PostgreSQL failed.
    #[error("{url}: {source}")]
    Postgres {
        /// The connection string, password redacted.
        url: String,
        /// What PostgreSQL said.
        source: postgres::Error,
    },
    /// SQLite failed.
    #[error("{path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
}

/// Where the gateway was in an SP's stream: the restart it tracked, the
/// ENA it last committed, and that restart's metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    /// The SP restart.
    pub restart_id: RestartId,
    /// The last ENA committed to the SP.
    pub committed: Ena,
    /// The restart's metadata (empty if none was received).
    pub metadata: Map<String, Json>,
}

/// Whether `path` names an in-memory or temporary database rather than a
/// file.
pub fn is_durable_path(path: &str) -> bool {
    let p = path.trim();
    !(p.is_empty()
        || p == ":memory:"
        || (p.starts_with("file:")
            && (p.contains("mode=memory") || p.starts_with("file::memory:"))))
}

/// The database: a SQLite file, or a PostgreSQL server (`postgres://…`).
pub struct Db {
    backend: Backend,
    path: PathBuf,
}

enum Backend {
    Sqlite(Connection),
    Postgres(Box<PgDb>),
}

fn sql(v: u64) -> i64 {
    // ENAs are validated to fit (MAX_STORABLE_ENA); uptimes keep all their
    // bits as two's complement.
    v as i64
}

fn unsql(v: i64) -> u64 {
    v as u64
}

/// Milliseconds since the Unix epoch, now.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

const CURSOR_UPSERT: &str =
    "INSERT INTO sp_cursor (sp_name, restart_id, committed_ena) VALUES (?1, ?2, ?3)
     ON CONFLICT (sp_name) DO UPDATE SET restart_id = excluded.restart_id,
                                         committed_ena = excluded.committed_ena";

/// The cursor after a store: forward only within a restart, so a collector
/// that stored less than another does not move the shared cursor back
/// (which would have every collector fetch those ENAs again). A new restart
/// id always replaces it.
const CURSOR_ADVANCE: &str =
    "INSERT INTO sp_cursor (sp_name, restart_id, committed_ena) VALUES (?1, ?2, ?3)
     ON CONFLICT (sp_name) DO UPDATE SET restart_id = excluded.restart_id,
                                         committed_ena = excluded.committed_ena
     WHERE sp_cursor.restart_id <> excluded.restart_id
        OR sp_cursor.committed_ena < excluded.committed_ena";

impl Db {
    /// Opens (or creates) the database: a PostgreSQL one for a
    /// `postgres://` (or `host=…`) connection string, else the SQLite file
    /// at `path`.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let text = path.to_string_lossy();
        if is_postgres(&text) {
            return Ok(Db {
                backend: Backend::Postgres(Box::new(PgDb::open(&text)?)),
                path: redact(&text).into(),
            });
        }
        if !is_durable_path(&text) {
            return Err(DbError::NotDurable(text.into_owned()));
        }
        let err = |source| DbError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err)?;
        if found > SCHEMA_VERSION {
            return Err(DbError::NewerSchema {
                path: path.to_path_buf(),
                found,
            });
        }
        // Many collectors' threads share the file: wait for each other's
        // transactions rather than fail, and let readers run beside a writer.
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(err)?;
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        migrate(&conn).map_err(err)?;
        conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
            .map_err(err)?;
        Ok(Db {
            backend: Backend::Sqlite(conn),
            path: path.to_path_buf(),
        })
    }
}

/// Brings a SQLite database of any earlier version up to this one: adds
/// the columns it lacks, and moves the single cursor of versions 1 and 2 to
/// the default SP's.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    for (table, column, ty) in ADDED_COLUMNS {
        let mut st = conn.prepare(&format!("PRAGMA table_info({table})"))?;
        let has = st
            .query_map([], |r| r.get::<_, String>(1))?
            .filter_map(Result::ok)
            .any(|c| c == *column);
        if !has {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {ty}"))?;
        }
    }
    let old_cursor: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'cursor'",
        [],
        |r| r.get(0),
    )?;
    if old_cursor {
        conn.execute_batch(&format!(
            "INSERT OR IGNORE INTO sp_cursor (sp_name, restart_id, committed_ena)
                 SELECT '{DEFAULT_SP_NAME}', restart_id, committed_ena FROM cursor;
             UPDATE ereports SET sp_name = '{DEFAULT_SP_NAME}' WHERE sp_name IS NULL;
             DROP TABLE cursor;"
        ))?;
    }
    Ok(())
}

impl Db {
    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The SQLite connection, for reading (`None` for PostgreSQL).
    pub fn connection(&self) -> Option<&Connection> {
        match &self.backend {
            Backend::Sqlite(c) => Some(c),
            Backend::Postgres(_) => None,
        }
    }

    /// The PostgreSQL store (`None` for SQLite).
    pub fn postgres(&self) -> Option<&PgDb> {
        match &self.backend {
            Backend::Postgres(p) => Some(p),
            Backend::Sqlite(_) => None,
        }
    }

    fn err(&self, source: rusqlite::Error) -> DbError {
        DbError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// The cursor: restart id and committed ENA, with that restart's
    /// metadata.
    pub fn cursor(&self, sp: &str) -> Result<Option<Cursor>, DbError> {
        let Some((restart_id, committed)) = self.committed(sp)? else {
            return Ok(None);
        };
        Ok(Some(Cursor {
            restart_id,
            committed,
            metadata: self.metadata(restart_id)?,
        }))
    }

    /// The metadata stored for a restart (empty if none).
    pub fn metadata(&self, rid: RestartId) -> Result<Map<String, Json>, DbError> {
        let conn = match &self.backend {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.metadata(rid),
        };
        let meta: Option<String> = conn
            .query_row(
                "SELECT metadata FROM sp_restarts WHERE restart_id = ?1",
                [rid.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(match meta.and_then(|m| serde_json::from_str(&m).ok()) {
            Some(Json::Object(m)) => m,
            _ => Map::new(),
        })
    }

    /// Records a restart and its metadata.
    pub fn save_restart(
        &self,
        rid: RestartId,
        metadata: &Map<String, Json>,
    ) -> Result<(), DbError> {
        let conn = match &self.backend {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.save_restart(rid, metadata),
        };
        conn.execute(
            "INSERT INTO sp_restarts (restart_id, metadata, first_seen_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (restart_id) DO UPDATE SET metadata = excluded.metadata",
            params![
                rid.to_string(),
                Json::Object(metadata.clone()).to_string(),
                now_ms()
            ],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The body stored for an ereport, if any.
    pub fn body(&self, rid: RestartId, ena: Ena) -> Result<Option<Vec<u8>>, DbError> {
        let conn = match &self.backend {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.body(rid, ena),
        };
        conn.query_row(
            "SELECT body FROM ereports WHERE restart_id = ?1 AND ena = ?2",
            params![rid.to_string(), sql(ena.0)],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| self.err(e))
    }

    /// The bodies stored for ENAs `first..=last` of a restart, by ENA: one
    /// query for a whole response's worth of records.
    pub fn bodies(
        &self,
        rid: RestartId,
        first: Ena,
        last: Ena,
    ) -> Result<std::collections::BTreeMap<u64, Vec<u8>>, DbError> {
        let conn = match &self.backend {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.bodies(rid, first, last),
        };
        let mut st = conn
            .prepare_cached(
                "SELECT ena, body FROM ereports WHERE restart_id = ?1 AND ena BETWEEN ?2 AND ?3",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![rid.to_string(), sql(first.0), sql(last.0)], |r| {
                Ok((unsql(r.get(0)?), r.get(1)?))
            })
            .map_err(|e| self.err(e))?;
        let mut out = std::collections::BTreeMap::new();
        for row in rows {
            let (ena, body) = row.map_err(|e| self.err(e))?;
            out.insert(ena, body);
        }
        Ok(out)
    }

    /// The committed ENA of an SP's cursor and its restart, without the
    /// metadata (read before every request when collectors share a
    /// database).
    pub fn committed(&self, sp: &str) -> Result<Option<(RestartId, Ena)>, DbError> {
        Ok(self.shared_cursor(sp)?.map(|c| (c.restart_id, c.committed)))
    }

    /// The SP's cursor, and whether some collector stored from its restart
    /// just now (one query in PostgreSQL, two lookups by key in SQLite).
    pub fn shared_cursor(&self, sp: &str) -> Result<Option<SharedCursor>, DbError> {
        let conn = match &self.backend {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.shared_cursor(sp),
        };
        let row: Option<(String, i64)> = conn
            .prepare_cached("SELECT restart_id, committed_ena FROM sp_cursor WHERE sp_name = ?1")
            .and_then(|mut st| {
                st.query_row([sp], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(|e| self.err(e))?;
        let Some((rid, ena)) = row else {
            return Ok(None);
        };
        // (Two lookups by key: SQLite re-prepared the joined query on
        // every run.)
        let latest: Option<i64> = conn
            .prepare_cached("SELECT latest_ereport_ms FROM sp_restarts WHERE restart_id = ?1")
            .and_then(|mut st| st.query_row([&rid], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))?
            .flatten();
        let recent = i64::try_from(RECENT_STORE.as_millis()).unwrap_or(i64::MAX);
        Ok(u128::from_str_radix(&rid, 16).ok().map(|rid| SharedCursor {
            restart_id: RestartId(rid),
            committed: Ena(unsql(ena)),
            recently_stored: latest.is_some_and(|t| now_ms().saturating_sub(t) < recent),
        }))
    }

    /// Whether every ENA in `first..=last` is stored or inside a recorded
    /// gap.
    pub fn covers(&self, rid: RestartId, first: Ena, last: Ena) -> Result<bool, DbError> {
        let conn = match &self.backend {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.covers(rid, first, last),
        };
        let want = last.0.saturating_sub(first.0).saturating_add(1);
        let stored: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM ereports WHERE restart_id = ?1 AND ena BETWEEN ?2 AND ?3",
                params![rid.to_string(), sql(first.0), sql(last.0)],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(unsql(stored) >= want)
    }

    /// Stores a batch in one transaction: the ereports (ones already stored
    /// are left alone), the gap if any, and the new cursor. Returns, per
    /// ereport, whether it was new.
    pub fn store(
        &mut self,
        sp: &SpRow,
        rid: RestartId,
        ereports: &[StoredEreport],
        gap: Option<Gap>,
        committed: Ena,
    ) -> Result<Vec<bool>, DbError> {
        let conn = match &mut self.backend {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.store(sp, rid, ereports, gap, committed),
        };
        let path = self.path.clone();
        let err = |source| DbError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = conn.transaction().map_err(err)?;
        let mut fresh = Vec::with_capacity(ereports.len());
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO ereports
                     (restart_id, ena, task_name, task_gen, uptime_ms, body, json, invalid_error,
                      catalog_error, sp_name, sp_kind, sp_slot, part_number, serial_number, class,
                      time_collected_ms, collector_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                )
                .map_err(err)?;
            let rid_text = rid.to_string();
            for e in ereports {
                let n = insert
                    .execute(params![
                        rid_text,
                        sql(e.ena.0),
                        e.task_name,
                        e.task_gen,
                        sql(e.uptime_ms),
                        e.body,
                        e.json.to_string(),
                        e.invalid_error,
                        e.catalog_error,
                        sp.name,
                        sp.kind,
                        sp.slot,
                        sp.part_number,
                        sp.serial_number,
                        row_class(e),
                        now_ms(),
                        sp.collector_id,
                    ])
                    .map_err(err)?;
                fresh.push(n == 1);
            }
        }
        if let Some(g) = gap {
            tx.execute(
                "INSERT OR IGNORE INTO gaps (restart_id, sp_name, first_ena, last_ena, seen_unix_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![g.restart_id.to_string(), sp.name, sql(g.first.0), sql(g.last.0), now_ms()],
            )
            .map_err(err)?;
        }
        tx.execute(
            CURSOR_ADVANCE,
            params![sp.name, rid.to_string(), sql(committed.0)],
        )
        .map_err(err)?;
        tx.execute(
            "UPDATE sp_restarts SET latest_ereport_ms = ?2, sp_name = ?3 WHERE restart_id = ?1",
            params![rid.to_string(), now_ms(), sp.name],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(fresh)
    }

    /// Moves the cursor without storing anything (a restart, or a cursor
    /// found ahead of the SP).
    pub fn set_cursor(&self, sp: &str, rid: RestartId, committed: Ena) -> Result<(), DbError> {
        let conn = match &self.backend {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.set_cursor(sp, rid, committed),
        };
        conn.execute(
            CURSOR_UPSERT,
            params![sp, rid.to_string(), sql(committed.0)],
        )
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every recorded gap, oldest first.
    pub fn gaps(&self) -> Result<Vec<Gap>, DbError> {
        let conn = match &self.backend {
            Backend::Sqlite(c) => c,
            Backend::Postgres(pg) => return pg.gaps(),
        };
        let mut st = conn
            .prepare("SELECT restart_id, first_ena, last_ena FROM gaps ORDER BY rowid")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (rid, first, last) = row.map_err(|e| self.err(e))?;
            out.push(Gap {
                restart_id: RestartId(u128::from_str_radix(&rid, 16).unwrap_or(0)),
                first: Ena(unsql(first)),
                last: Ena(unsql(last)),
            });
        }
        Ok(out)
    }
}

/// What `query` selects.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only this SP.
    pub sp: Option<String>,
    /// Only classes matching this glob (`*` and `?`).
    pub class_glob: Option<String>,
    /// Only this restart.
    pub restart_id: Option<String>,
    /// Collected at or after this time.
    pub since: Option<SystemTime>,
    /// Collected before this time.
    pub until: Option<SystemTime>,
    /// At most this many rows (newest first).
    pub limit: u64,
}

/// A glob (`*`, `?`) as a LIKE pattern, with `\` escaping LIKE's own
/// wildcards.
pub fn glob_to_like(glob: &str) -> String {
    let mut out = String::with_capacity(glob.len());
    for c in glob.chars() {
        match c {
            '*' => out.push('%'),
            '?' => out.push('_'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Rows deleted per statement by [`Db::retain`]: bounded, so retention
/// never holds a long lock.
pub const RETENTION_BATCH: i64 = 1000;

impl Db {
    /// Deletes ereports and gaps collected before `before`, in batches of
    /// [`RETENTION_BATCH`]; returns how many ereports went.
    pub fn retain(&self, before: SystemTime) -> Result<u64, DbError> {
        let mut deleted = 0u64;
        loop {
            let n = match &self.backend {
                Backend::Sqlite(c) => c
                    .execute(
                        "DELETE FROM ereports WHERE rowid IN
                         (SELECT rowid FROM ereports WHERE time_collected_ms < ?1 LIMIT ?2)",
                        params![unix_ms(before), RETENTION_BATCH],
                    )
                    .map_err(|e| self.err(e))? as u64,
                Backend::Postgres(pg) => pg.delete_batch(before, RETENTION_BATCH)?,
            };
            deleted += n;
            if n < RETENTION_BATCH as u64 {
                break;
            }
        }
        match &self.backend {
            Backend::Sqlite(c) => {
                c.execute(
                    "DELETE FROM gaps WHERE seen_unix_ms < ?1",
                    [unix_ms(before)],
                )
                .map_err(|e| self.err(e))?;
            }
            Backend::Postgres(pg) => pg.delete_gaps(before)?,
        }
        Ok(deleted)
    }

    /// Stored ereports matching `filter`, newest first, as their JSON
    /// objects with `sp_name`, `class` and `time_collected_ms` added.
    pub fn query(&self, filter: &Filter) -> Result<Vec<Json>, DbError> {
        let like = filter.class_glob.as_deref().map(glob_to_like);
        match &self.backend {
            Backend::Postgres(pg) => pg.query(filter, like.as_deref()),
            Backend::Sqlite(c) => {
                let mut st = c
                    .prepare(
                        "SELECT json, sp_name, class, time_collected_ms FROM ereports
                         WHERE (?1 IS NULL OR sp_name = ?1)
                           AND (?2 IS NULL OR class LIKE ?2 ESCAPE '\\')
                           AND (?3 IS NULL OR restart_id = ?3)
                           AND (?4 IS NULL OR time_collected_ms >= ?4)
                           AND (?5 IS NULL OR time_collected_ms < ?5)
                         ORDER BY time_collected_ms DESC, restart_id, ena DESC LIMIT ?6",
                    )
                    .map_err(|e| self.err(e))?;
                let rows = st
                    .query_map(
                        params![
                            filter.sp,
                            like,
                            filter.restart_id,
                            filter.since.map(unix_ms),
                            filter.until.map(unix_ms),
                            i64::try_from(filter.limit).unwrap_or(i64::MAX),
                        ],
                        |r| {
                            Ok((
                                r.get::<_, String>(0)?,
                                r.get::<_, Option<String>>(1)?,
                                r.get::<_, Option<String>>(2)?,
                                r.get::<_, Option<i64>>(3)?,
                            ))
                        },
                    )
                    .map_err(|e| self.err(e))?;
                let mut out = Vec::new();
                for row in rows {
                    let (json, sp, class, at) = row.map_err(|e| self.err(e))?;
                    out.push(query_row(
                        serde_json::from_str(&json).unwrap_or(Json::Null),
                        sp,
                        class,
                        at,
                    ));
                }
                Ok(out)
            }
        }
    }

    /// Ereports stored, by SP and class: `(sp, class, count)`.
    pub fn summary(&self) -> Result<Vec<(String, String, u64)>, DbError> {
        match &self.backend {
            Backend::Postgres(pg) => pg.summary(),
            Backend::Sqlite(c) => {
                let mut st = c
                    .prepare(
                        "SELECT COALESCE(sp_name, '?'), COALESCE(class, '?'), COUNT(*) FROM ereports
                         GROUP BY 1, 2 ORDER BY 1, 2",
                    )
                    .map_err(|e| self.err(e))?;
                let rows = st
                    .query_map([], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(2)?,
                        ))
                    })
                    .map_err(|e| self.err(e))?;
                let mut out = Vec::new();
                for row in rows {
                    let (sp, class, n) = row.map_err(|e| self.err(e))?;
                    out.push((sp, class, unsql(n)));
                }
                Ok(out)
            }
        }
    }
}

/// One `query` result: the report with where and when it was collected.
pub fn query_row(
    mut report: Json,
    sp: Option<String>,
    class: Option<String>,
    at_ms: Option<i64>,
) -> Json {
    if let Json::Object(m) = &mut report {
        m.insert("sp_name".into(), Json::from(sp));
        m.insert("class".into(), Json::from(class));
        m.insert("time_collected_ms".into(), Json::from(at_ms));
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_memory_databases_are_refused() {
        for p in ["", " ", ":memory:", "file::memory:", "file:x?mode=memory"] {
            assert!(!is_durable_path(p), "{p:?}");
            assert!(matches!(
                Db::open(Path::new(p)),
                Err(DbError::NotDurable(_))
            ));
        }
        assert!(is_durable_path("ereports.sqlite"));
    }

    fn row(rid: RestartId, ena: u64) -> StoredEreport {
        StoredEreport {
            restart_id: rid,
            ena: Ena(ena),
            task_name: "t".into(),
            task_gen: 0,
            uptime_ms: ena,
            body: vec![0xa0],
            json: serde_json::json!({}),
            invalid_error: None,
            catalog_error: None,
        }
    }

    #[test]
    fn the_shared_cursor_moves_forward_only_within_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("db.sqlite")).unwrap();
        let sp = SpRow {
            name: "sled-0".into(),
            ..SpRow::default()
        };
        let (a, b) = (RestartId(0xa), RestartId(0xb));
        db.save_restart(a, &Map::new()).unwrap();
        db.store(&sp, a, &[row(a, 9), row(a, 10)], None, Ena(10))
            .unwrap();
        // A collector that stored less, later: the cursor stays.
        db.store(&sp, a, &[row(a, 5)], None, Ena(5)).unwrap();
        assert_eq!(db.committed("sled-0").unwrap(), Some((a, Ena(10))));
        // A new restart replaces it, from its first record.
        db.save_restart(b, &Map::new()).unwrap();
        db.store(&sp, b, &[row(b, 1)], None, Ena(1)).unwrap();
        assert_eq!(db.committed("sled-0").unwrap(), Some((b, Ena(1))));
        // Moving it back on purpose (a cursor found ahead of the SP) works.
        db.set_cursor("sled-0", b, Ena::NONE).unwrap();
        assert_eq!(db.committed("sled-0").unwrap(), Some((b, Ena::NONE)));
    }

    #[test]
    fn a_store_marks_its_restart_as_just_stored_from() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("db.sqlite")).unwrap();
        let sp = SpRow {
            name: "sled-1".into(),
            ..SpRow::default()
        };
        let rid = RestartId(0xc);
        db.save_restart(rid, &Map::new()).unwrap();
        db.store(&sp, rid, &[row(rid, 1)], None, Ena(1)).unwrap();
        let c = db.shared_cursor("sled-1").unwrap().unwrap();
        assert!(c.recently_stored);
        let conn = db.connection().unwrap();
        let (name, first_seen): (String, i64) = conn
            .query_row(
                "SELECT sp_name, first_seen_ms FROM sp_restarts WHERE restart_id = ?1",
                [rid.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(name, "sled-1");
        assert!(first_seen > 0);
        conn.execute(
            "UPDATE sp_restarts SET latest_ereport_ms = latest_ereport_ms - 1000",
            [],
        )
        .unwrap();
        assert!(!db.shared_cursor("sled-1").unwrap().unwrap().recently_stored);
    }

    #[test]
    fn a_version_1_database_is_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE ereports (restart_id TEXT NOT NULL, ena INTEGER NOT NULL,
                task_name TEXT NOT NULL, task_gen INTEGER NOT NULL, uptime_ms INTEGER NOT NULL,
                body BLOB NOT NULL, json TEXT NOT NULL, invalid_error TEXT,
                PRIMARY KEY (restart_id, ena));
             INSERT INTO ereports VALUES ('01', 1, 't', 0, 0, x'a0', '{}', NULL);
             PRAGMA user_version = 1;",
        )
        .unwrap();
        drop(c);
        let db = Db::open(&path).unwrap();
        let (version, old): (i64, i64) = (
            db.connection()
                .unwrap()
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap(),
            db.connection()
                .unwrap()
                .query_row(
                    "SELECT COUNT(*) FROM ereports WHERE catalog_error IS NULL",
                    [],
                    |r| r.get(0),
                )
                .unwrap(),
        );
        assert_eq!((version, old), (SCHEMA_VERSION, 1));
    }

    #[test]
    fn newer_schemas_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        drop(Db::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA user_version = 99")
            .unwrap();
        assert!(matches!(
            Db::open(&path),
            Err(DbError::NewerSchema { found: 99, .. })
        ));
    }
}
