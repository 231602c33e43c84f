//! Where the gateway keeps what it collects: one trait, [`EreportStore`],
//! with a SQLite implementation ([`sqlite`]) and a PostgreSQL one
//! ([`postgres`]), the same tables and column names in both, and one
//! migration mechanism for both ([`migrations`]).
//!
//! Every write that makes the SP free records happens in one transaction
//! that commits before the ENA is sent as committed, so the database is the
//! durable copy by then. That is also why a SQLite database must be a
//! file: an in-memory database would lose ereports the SP has already
//! freed.
//!
//! A store is shared: one per collector, used by every SP's session at
//! once (`&self` everywhere; SQLite behind one connection, PostgreSQL
//! through a small pool). [`open`] opens one to write (creating and
//! migrating the schema); [`open_read_only`] opens one to read, which
//! needs no schema rights and never creates a database.

mod group_commit;
pub mod migrations;
pub mod postgres;
pub mod sqlite;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ereport_host::{Gap, StoredEreport};
use ereport_sdk::{Ena, RestartId};
use serde_json::{Map, Value as Json};
pub use uuid::Uuid;

/// How recently another collector must have stored from an SP for a
/// collector that yields to others to leave the SP's drain to it (see
/// `Gateway::drain`).
pub const RECENT_STORE: Duration = Duration::from_millis(100);

/// The name of the SP a single unnamed `--sp` (and every database from
/// before schema version 3) refers to.
pub const DEFAULT_SP_NAME: &str = "sp";

/// Rows deleted per statement by [`EreportStore::retain`]: bounded, so
/// retention never holds a long lock.
pub const RETENTION_BATCH: i64 = 1000;

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

/// Where an SP's rows come from: its inventory entry, the collector, and
/// the identity its metadata gave.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpRow {
    /// The inventory's name.
    pub name: String,
    /// Its kind, the control plane's slot type (`sled`, `switch`,
    /// `power`), if known.
    pub kind: Option<String>,
    /// Its slot, if known (stored as the control plane's `INT4`: a slot
    /// beyond `i32::MAX` is stored as unknown).
    pub slot: Option<u32>,
    /// The rack it is in, if the inventory says.
    pub rack_id: Option<Uuid>,
    /// `baseboard_part_number`, trimmed.
    pub part_number: Option<String>,
    /// `baseboard_serial_number`, trimmed.
    pub serial_number: Option<String>,
    /// This collector's id.
    pub collector_id: Uuid,
}

impl SpRow {
    /// The slot as the database's `INT4`.
    pub fn slot_int4(&self) -> Option<i32> {
        self.slot.and_then(|s| i32::try_from(s).ok())
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
    pub restart_id: Option<RestartId>,
    /// Only this serial number (`baseboard_serial_number`, trimmed).
    pub serial_number: Option<String>,
    /// Only this part number (`baseboard_part_number`, trimmed).
    pub part_number: Option<String>,
    /// Only this slot type (`sled`, `switch`, `power`).
    pub sp_type: Option<String>,
    /// Only this slot.
    pub slot: Option<u32>,
    /// Collected at or after this time.
    pub since: Option<SystemTime>,
    /// Collected before this time.
    pub until: Option<SystemTime>,
    /// At most this many rows (newest first).
    pub limit: u64,
}

/// A restart as recorded: the reporter's identity and metadata.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RestartRow {
    /// The restart id.
    #[serde(serialize_with = "ser_rid")]
    pub restart_id: RestartId,
    /// `sp`.
    pub reporter: String,
    /// The SP's slot type, if known.
    pub sp_type: Option<String>,
    /// The SP's slot, if known.
    pub sp_slot: Option<i64>,
    /// The rack, if known.
    pub rack_id: Option<Uuid>,
    /// The SP's inventory name when it last stored.
    pub sp_name: Option<String>,
    /// The metadata the SP sent for this restart.
    pub metadata: Map<String, Json>,
    /// When it was first seen (milliseconds since 1970).
    pub first_seen_ms: Option<i64>,
    /// When its latest ereport was stored.
    pub latest_ereport_ms: Option<i64>,
}

/// One line of `summary`: ereports stored from an SP of a class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryRow {
    /// The SP's inventory name (`?` if unknown).
    pub sp: String,
    /// The class (`?` if the body had none).
    pub class: String,
    /// How many.
    pub count: u64,
}

/// Why the database could not be used. Each variant names the database
/// (a file, or a connection string without its password) and keeps the
/// driver's error as its source.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// An empty path, `:memory:` or an in-memory URI.
    #[error(
        "{0:?} is not a durable database: the SP frees what the gateway commits, so give a file path"
    )]
    NotDurable(String),
    /// Reading a SQLite database that is not there (nothing is created).
    #[error("{0}: no such database (nothing was created; give the file the gateway wrote)")]
    Missing(String),
    /// The database was written by a newer gateway.
    #[error(
        "{db}: schema version {found} is newer than this gateway's ({}); upgrade the gateway",
        migrations::LATEST
    )]
    NewerSchema {
        /// The database.
        db: String,
        /// The version found.
        found: i64,
    },
    /// Opened to read, the database has an older schema (or none).
    #[error(
        "{db}: schema version {found} is older than this gateway's ({}); run the gateway once with write access to upgrade it",
        migrations::LATEST
    )]
    OlderSchema {
        /// The database.
        db: String,
        /// The version found (0: no gateway tables).
        found: i64,
    },
    /// A schema migration failed.
    #[error("{db}: migrating the schema failed")]
    Migration {
        /// The database.
        db: String,
        /// What the migration runner said.
        source: refinery::Error,
    },
    /// A retention cutoff the database cannot represent, or in the future.
    #[error("retention cutoff {0}")]
    Cutoff(String),
    /// PostgreSQL failed. The message is the server's own (with the
    /// driver's causes for errors that never reached the server), so the
    /// driver's error is kept but not repeated as a source.
    #[error("{url}: {}", describe_pg(error))]
    Postgres {
        /// The connection string, password redacted.
        url: String,
        /// What PostgreSQL said.
        error: ::postgres::Error,
    },
    /// No PostgreSQL connection could be had within the pool's wait: the
    /// server is down or refusing, or every connection stayed busy.
    #[error("{url}: database unavailable: {reason}")]
    Unavailable {
        /// The connection string, password redacted.
        url: String,
        /// The pool's reason, with the server's last refusal.
        reason: String,
    },
    /// SQLite failed.
    #[error("{path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// What SQLite said.
        source: rusqlite::Error,
    },
}

/// A PostgreSQL error with the server's own message: the driver's display
/// is only "db error" for everything the server says.
pub(crate) fn describe_pg(e: &::postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{}: {}", db.severity(), db.message());
            if let Some(detail) = db.detail() {
                s.push_str(&format!(" ({detail})"));
            }
            s
        }
        None => {
            let mut s = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(inner) = source {
                let text = inner.to_string();
                if !s.contains(&text) {
                    s.push_str(": ");
                    s.push_str(&text);
                }
                source = inner.source();
            }
            s
        }
    }
}

impl DbError {
    /// Whether the database itself is out of reach (the server down or
    /// restarting, the pool waiting to reconnect), rather than a statement
    /// failing: what a collector rides out while it keeps polling.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Unavailable { .. } => true,
            DbError::Postgres { error, .. } => postgres::is_connection_error(error),
            _ => false,
        }
    }
}

/// The store every SP session of a collector writes through. Every method
/// takes `&self`: one store is shared by all of them.
pub trait EreportStore: Send + Sync {
    /// The database, for messages: a file path, or a connection string
    /// without its password.
    fn name(&self) -> &str;

    /// The metadata stored for a restart (empty if none).
    fn metadata(&self, rid: RestartId) -> Result<Map<String, Json>, DbError>;

    /// Records a restart and its metadata.
    fn save_restart(&self, rid: RestartId, metadata: &Map<String, Json>) -> Result<(), DbError>;

    /// The bodies stored for ENAs `first..=last` of a restart, by ENA: one
    /// query for a whole response's worth of records.
    fn bodies(
        &self,
        rid: RestartId,
        first: Ena,
        last: Ena,
    ) -> Result<BTreeMap<u64, Vec<u8>>, DbError>;

    /// The SP's cursor, and whether some collector stored from its restart
    /// just now.
    fn shared_cursor(&self, sp: &str) -> Result<Option<SharedCursor>, DbError>;

    /// Whether every ENA in `first..=last` is stored.
    fn covers(&self, rid: RestartId, first: Ena, last: Ena) -> Result<bool, DbError>;

    /// Stores a batch in one transaction: the ereports (ones already stored
    /// are left alone), the gap if any, and the new cursor (forward only
    /// within a restart). Returns, per ereport, whether it was new.
    fn store(
        &self,
        sp: &SpRow,
        rid: RestartId,
        ereports: &[StoredEreport],
        gap: Option<Gap>,
        committed: Ena,
    ) -> Result<Vec<bool>, DbError>;

    /// Stores a response's ereports as [`store`](Self::store) does (no
    /// gap; those stored already with the same body are left alone and
    /// come back as not new), unless one of its ENAs is stored with a
    /// different body: then nothing is stored, and that ENA comes back as
    /// [`Checked::Conflict`]. PostgreSQL stores a response none of whose
    /// rows is stored yet in one statement (several sessions' responses
    /// together when they are ready at once) and checks only when that
    /// fails; this default reads the stored bodies first.
    fn store_checked(
        &self,
        sp: &SpRow,
        rid: RestartId,
        ereports: &[StoredEreport],
        committed: Ena,
    ) -> Result<Checked, DbError> {
        let (Some(first), Some(last)) = (ereports.first(), ereports.last()) else {
            return Ok(Checked::Stored(Vec::new()));
        };
        let stored = self.bodies(rid, first.ena, last.ena)?;
        if let Some(e) = ereports
            .iter()
            .find(|e| stored.get(&e.ena.0).is_some_and(|b| *b != e.body))
        {
            return Ok(Checked::Conflict(e.ena));
        }
        // A response stored whole by another collector costs no write,
        // its cursor having moved past it then; one stored in part is
        // written without what is stored (copied only then).
        let mut fresh = if stored.is_empty() {
            self.store(sp, rid, ereports, None, committed)?
        } else {
            let new: Vec<StoredEreport> = ereports
                .iter()
                .filter(|e| !stored.contains_key(&e.ena.0))
                .cloned()
                .collect();
            if new.is_empty() {
                Vec::new()
            } else {
                self.store(sp, rid, &new, None, committed)?
            }
        }
        .into_iter();
        Ok(Checked::Stored(
            ereports
                .iter()
                .map(|e| !stored.contains_key(&e.ena.0) && fresh.next().unwrap_or(false))
                .collect(),
        ))
    }

    /// Moves the cursor without storing anything (a cursor found ahead of
    /// the SP).
    fn set_cursor(&self, sp: &str, rid: RestartId, committed: Ena) -> Result<(), DbError>;

    /// Every recorded gap, oldest first.
    fn gaps(&self) -> Result<Vec<Gap>, DbError>;

    /// Marks ereports collected before `before` deleted (`time_deleted`,
    /// the control plane's soft deletion: queries leave them out, the rows
    /// stay until [`EreportStore::purge`]) and deletes gaps seen before
    /// it, in batches of [`RETENTION_BATCH`]; returns how many ereports
    /// were marked. A cutoff before 1970 or after now is refused
    /// ([`check_cutoff`]).
    fn retain(&self, before: SystemTime) -> Result<u64, DbError>;

    /// Deletes, in batches of [`RETENTION_BATCH`], the ereports marked
    /// deleted before `deleted_before`; returns how many. The same
    /// cutoffs are refused as by [`EreportStore::retain`].
    fn purge(&self, deleted_before: SystemTime) -> Result<u64, DbError>;

    /// Stored ereports matching `filter` and not marked deleted, newest
    /// first.
    fn query(&self, filter: &Filter) -> Result<Vec<StoredRow>, DbError>;

    /// One stored ereport (also one marked deleted), if there is one.
    fn info(&self, rid: RestartId, ena: Ena) -> Result<Option<StoredRow>, DbError>;

    /// A restart's record: its metadata, where it was seen and when.
    fn restart(&self, rid: RestartId) -> Result<Option<RestartRow>, DbError>;

    /// Ereports stored, by SP and class.
    fn summary(&self) -> Result<Vec<SummaryRow>, DbError>;

    /// Claims the SP for `collector` until `ttl` from now (by the
    /// database's clock), or renews its claim: granted if no collector
    /// holds it, this one does, or the holder's claim has expired. Returns
    /// whether `collector` holds it now. Collectors sharing a database
    /// divide the SPs this way; one that dies hands its SPs over once its
    /// claims expire.
    fn claim(&self, sp: &str, collector: Uuid, ttl: Duration) -> Result<bool, DbError>;

    /// Gives up `collector`'s claim on the SP, if it holds one.
    fn release(&self, sp: &str, collector: Uuid) -> Result<(), DbError>;

    /// The committed ENA of an SP's cursor and its restart.
    fn committed(&self, sp: &str) -> Result<Option<(RestartId, Ena)>, DbError> {
        Ok(self.shared_cursor(sp)?.map(|c| (c.restart_id, c.committed)))
    }

    /// The cursor with that restart's metadata.
    fn cursor(&self, sp: &str) -> Result<Option<Cursor>, DbError> {
        let Some((restart_id, committed)) = self.committed(sp)? else {
            return Ok(None);
        };
        Ok(Some(Cursor {
            restart_id,
            committed,
            metadata: self.metadata(restart_id)?,
        }))
    }
}

/// What [`EreportStore::store_checked`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Checked {
    /// Stored; per ereport, whether it was new.
    Stored(Vec<bool>),
    /// Nothing stored: this ENA is stored with a different body.
    Conflict(Ena),
}

/// A store shared by a collector's sessions.
pub type Db = Arc<dyn EreportStore>;

/// How to open a store.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// Read only: no schema statements, nothing created; an older schema
    /// is an error rather than upgraded.
    pub read_only: bool,
    /// PostgreSQL: the most connections the pool opens.
    pub pg_connections: usize,
}

/// Default size of a collector's PostgreSQL pool: small, so that several
/// collectors stay well under the server's default of 100 connections.
pub const DEFAULT_PG_CONNECTIONS: usize = 4;

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            read_only: false,
            pg_connections: DEFAULT_PG_CONNECTIONS,
        }
    }
}

/// Opens a store to write: a PostgreSQL one for a `postgres://` (or
/// `key=value`) connection string, else the SQLite file at `target`
/// (created if missing). The schema is created or migrated.
pub fn open(target: impl AsRef<Path>) -> Result<Db, DbError> {
    open_with(target, &OpenOptions::default())
}

/// Opens a store to read (`query`, `summary`): needs only the right to
/// select, and never creates a database.
pub fn open_read_only(target: impl AsRef<Path>) -> Result<Db, DbError> {
    open_with(
        target,
        &OpenOptions {
            read_only: true,
            pg_connections: 1,
        },
    )
}

/// Opens a store with `options`.
pub fn open_with(target: impl AsRef<Path>, options: &OpenOptions) -> Result<Db, DbError> {
    let text = target.as_ref().to_string_lossy();
    if postgres::is_postgres(&text) {
        return Ok(Arc::new(postgres::PgStore::open(&text, options)?));
    }
    Ok(Arc::new(sqlite::SqliteStore::open(
        target.as_ref(),
        options.read_only,
    )?))
}

/// A part or serial number as stored: NUL bytes and trailing spaces
/// trimmed (SPs have sent both).
pub fn trim_identity(s: &str) -> String {
    s.replace('\0', "").trim_end_matches(' ').to_string()
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

/// The range of text every match of `glob` lies in, in byte order: its
/// literal prefix (before the first `*` or `?`) and the least text after
/// all texts with that prefix; `None` if the prefix is empty or cannot be
/// bounded. Where the database compares text by bytes (PostgreSQL's `C`
/// collations, CockroachDB) the range lets an index on the class serve a
/// glob, which `LIKE` alone cannot there; the `LIKE` still decides.
pub fn glob_prefix_range(glob: &str) -> Option<(String, String)> {
    let prefix: String = glob
        .chars()
        .take_while(|c| !matches!(c, '*' | '?'))
        .collect();
    let mut upper: Vec<char> = prefix.chars().collect();
    // The successor of the prefix: its last character moved on by one
    // (characters that cannot be are dropped first).
    while let Some(last) = upper.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            upper.push(next);
            return Some((prefix, upper.into_iter().collect()));
        }
    }
    None
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

/// Milliseconds since the Unix epoch of `t` (0 before it, `i64::MAX` past
/// what fits).
pub fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    unix_ms(SystemTime::now())
}

/// A retention cutoff, checked: after the Unix epoch (every row is) and
/// not after `now` (a cutoff in the future would delete what was just
/// collected).
pub fn check_cutoff(before: SystemTime, now: SystemTime) -> Result<(), DbError> {
    if before <= UNIX_EPOCH {
        return Err(DbError::Cutoff(
            "reaches back before 1970: nothing could be that old".into(),
        ));
    }
    if before > now {
        return Err(DbError::Cutoff(format!(
            "is {} in the future: it would delete what was just collected",
            humantime::format_duration(Duration::from_secs(
                before.duration_since(now).unwrap_or_default().as_secs()
            ))
        )));
    }
    Ok(())
}

/// One stored ereport as `query` and `info` show it: the control plane's
/// columns, this gateway's, and the report as stored (the gateway's data
/// only: where it came from is in the other fields).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StoredRow {
    /// The SP restart, as a UUID.
    #[serde(serialize_with = "ser_rid")]
    pub restart_id: RestartId,
    /// The ereport's ENA.
    pub ena: u64,
    /// When a collector stored it (milliseconds since 1970), if recorded.
    pub time_collected_ms: Option<i64>,
    /// When retention marked it deleted, if it did.
    pub time_deleted_ms: Option<i64>,
    /// The collector that stored it.
    pub collector_id: Option<Uuid>,
    /// `sp` (this gateway stores nothing else).
    pub reporter: String,
    /// The SP's slot type, if known.
    pub sp_type: Option<String>,
    /// The SP's slot, if known.
    pub sp_slot: Option<i64>,
    /// The SP's name in the collector's inventory.
    pub sp_name: Option<String>,
    /// `baseboard_serial_number`, trimmed.
    pub serial_number: Option<String>,
    /// `baseboard_part_number`, trimmed.
    pub part_number: Option<String>,
    /// The class, by the control plane's rule
    /// ([`ereport_host::json::report_class`]).
    pub class: Option<String>,
    /// The fault-management pass that marked it seen, if any.
    pub marked_seen_in: Option<Uuid>,
    /// The reporting task's name.
    pub task_name: String,
    /// The reporting task's generation.
    pub task_gen: u32,
    /// The SP's uptime when the ereport was stored.
    pub uptime_ms: u64,
    /// Why the body is not an ereport, if it is not.
    pub invalid_error: Option<String>,
    /// How it does not match the class catalog, if it does not.
    pub catalog_error: Option<String>,
    /// The report as stored.
    pub report: Json,
}

fn ser_rid<S: serde::Serializer>(rid: &RestartId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rid_text(*rid))
}

/// The columns [`StoredRow`] is read from, in its order, for both
/// databases' `SELECT`s.
pub(crate) const STORED_ROW_COLUMNS: &str = "restart_id, ena, time_collected, time_deleted, collector_id, \
     reporter, sp_type, sp_slot, sp_name, serial_number, part_number, class, marked_seen_in, \
     task_name, task_gen, uptime_ms, invalid_error, catalog_error, report";

/// ENAs and uptimes as the databases' signed 64-bit integers: ENAs are
/// validated to fit (`MAX_STORABLE_ENA`); uptimes keep all their bits as
/// two's complement.
pub(crate) fn sql(v: u64) -> i64 {
    v as i64
}

/// The inverse of [`sql`].
pub(crate) fn unsql(v: i64) -> u64 {
    v as u64
}

/// A restart id as the control plane's UUID.
pub fn rid_uuid(rid: RestartId) -> Uuid {
    Uuid::from_u128(rid.0)
}

/// A restart id as SQLite stores it and as output shows it: UUID text,
/// hyphenated.
pub fn rid_text(rid: RestartId) -> String {
    rid_uuid(rid).hyphenated().to_string()
}

/// A restart id as written by a user or stored: a UUID, hyphenated or as
/// 32 hex digits.
pub fn parse_restart_id(text: &str) -> Result<RestartId, String> {
    Uuid::try_parse(text.trim())
        .map(|u| RestartId(u.as_u128()))
        .map_err(|_| {
            format!(
                "{text:?} is not a restart id (a UUID, as 01234567-89ab-cdef-0123-456789abcdef or 32 hex digits)"
            )
        })
}

/// A restart id as stored back to the id (0 for text that is none, which
/// the gateway never writes).
pub(crate) fn parse_rid(text: &str) -> RestartId {
    parse_restart_id(text).unwrap_or(RestartId(0))
}

/// What a gap's `kind` column holds.
pub(crate) fn gap_kind_text(g: &Gap) -> &'static str {
    match g.kind {
        ereport_host::record::GapKind::Skipped => "skipped",
        ereport_host::record::GapKind::FreedBeforeFirstContact => "freed_before_first_contact",
    }
}

/// The inverse of [`gap_kind_text`].
pub(crate) fn gap_kind(text: &str) -> ereport_host::record::GapKind {
    match text {
        "freed_before_first_contact" => ereport_host::record::GapKind::FreedBeforeFirstContact,
        _ => ereport_host::record::GapKind::Skipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs_outside_the_representable_are_refused() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert!(check_cutoff(UNIX_EPOCH, now).is_err());
        assert!(check_cutoff(now + Duration::from_secs(1), now).is_err());
        assert!(check_cutoff(now - Duration::from_secs(86_400), now).is_ok());
    }

    #[test]
    fn globs_escape_like_wildcards() {
        assert_eq!(glob_to_like("hw.*_x?%"), "hw.%\\_x_\\%");
        assert_eq!(
            glob_prefix_range("hw.pwr.*"),
            Some(("hw.pwr.".to_string(), "hw.pwr/".to_string()))
        );
        assert_eq!(
            glob_prefix_range("hw.x"),
            Some(("hw.x".to_string(), "hw.y".to_string()))
        );
        assert_eq!(glob_prefix_range("*.fault"), None);
        let top = format!("a{}", char::MAX);
        assert_eq!(
            glob_prefix_range(&top),
            Some((top.clone(), "b".to_string()))
        );
        assert_eq!(glob_prefix_range(&char::MAX.to_string()), None);
    }
}
