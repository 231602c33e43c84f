//! The PostgreSQL store (`--db postgres://…` or a `key=value` connection
//! string): the same tables and columns as SQLite, in SQL that CockroachDB
//! accepts too (standard types, `INSERT … ON CONFLICT DO NOTHING`, no
//! stored procedures, no advisory locks). The report is JSONB, times
//! TIMESTAMPTZ, the body BYTEA.
//!
//! Connections come from a bounded `r2d2` pool shared by every SP session
//! of a collector, sized by the caller (not by the inventory). A
//! connection the server dropped (a restart, a network failure) is found
//! broken when it is handed back and discarded; new ones are made on
//! demand, and while the server refuses them a session gets
//! [`DbError::Unavailable`] with the server's reason after [`POOL_WAIT`]
//! rather than waiting on a dead socket.
//!
//! Several collectors may share the database: every insert is idempotent,
//! a gap is recorded only for ENAs no collector stored, and the cursor per
//! SP moves forward only within a restart.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use ::postgres::error::SqlState;
use ::postgres::types::ToSql;
use ::postgres::{Client, Config, NoTls, Statement};
use ereport_host::{Gap, StoredEreport};
use ereport_sdk::{Ena, RestartId};
use serde_json::{Map, Value as Json};

use super::group_commit::GroupCommit;
use super::migrations::{self, Dialect, HISTORY_TABLE, LATEST};
use super::{
    Checked, DbError, EreportStore, Filter, OpenOptions, RECENT_STORE, RETENTION_BATCH, RestartRow,
    SharedCursor, SpRow, StoredRow, SummaryRow, check_cutoff, gap_kind, gap_kind_text,
    glob_prefix_range, glob_to_like, rid_uuid, sql, unix_ms, unsql,
};
use uuid::Uuid;

/// How long a session waits for a pooled connection (all busy, or the
/// server refusing new ones) before it gets [`DbError::Unavailable`].
pub const POOL_WAIT: Duration = Duration::from_secs(5);
/// The connect timeout when the connection string sets none.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `target` names a PostgreSQL database rather than a file: a
/// `postgres://` or `postgresql://` URL, or a libpq `key=value` string
/// (`host=… dbname=…`).
pub fn is_postgres(target: &str) -> bool {
    let t = target.trim_start();
    if t.starts_with("postgres://") || t.starts_with("postgresql://") {
        return true;
    }
    let key: String = t
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    !key.is_empty() && t[key.len()..].trim_start().starts_with('=')
}

/// A connection string without its password, for messages: in a URL's
/// user information (`user:secret@`), in a URL's query
/// (`?password=secret`) and in `key=value` form (`password=secret`,
/// `password = 'quoted secret'`).
pub fn redact(target: &str) -> String {
    let mut out = target.to_string();
    if let Some(scheme) = out.find("://") {
        let rest = scheme + 3;
        let end = out[rest..].find(['/', '?']).map_or(out.len(), |i| rest + i);
        if let Some(at) = out[rest..end].rfind('@') {
            let creds = &out[rest..rest + at];
            if let Some((user, _)) = creds.split_once(':') {
                out = format!("{}{user}:***{}", &out[..rest], &out[rest + at..]);
            }
        }
    }
    redact_password_values(&out)
}

/// Replaces the value after every `password` key (`password=`,
/// `password = `, in a URL query or a `key=value` string) with `***`.
fn redact_password_values(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(found) = lower[i..].find("password") {
        let key_start = i + found;
        let key_end = key_start + "password".len();
        let preceded_ok = key_start == 0
            || matches!(
                text.as_bytes()[key_start - 1],
                b' ' | b'\t' | b'\n' | b'?' | b'&'
            );
        let after = &text[key_end..];
        let spaces = after.len() - after.trim_start().len();
        if !preceded_ok || !after.trim_start().starts_with('=') {
            out.push_str(&text[i..key_end]);
            i = key_end;
            continue;
        }
        let eq = key_end + spaces;
        let value_start = eq + 1 + (text[eq + 1..].len() - text[eq + 1..].trim_start().len());
        let value = &text[value_start..];
        let value_len = if let Some(quoted) = value.strip_prefix('\'') {
            // A quoted value ends at the first quote not escaped by `\`.
            let mut escaped = false;
            let mut end = quoted.len();
            for (j, c) in quoted.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '\'' if !escaped => {
                        end = j + 1;
                        break;
                    }
                    _ => escaped = false,
                }
            }
            1 + end
        } else {
            value
                .find(|c: char| c.is_whitespace() || c == '&')
                .unwrap_or(value.len())
        };
        out.push_str(&text[i..value_start]);
        out.push_str("***");
        i = value_start + value_len;
    }
    out.push_str(&text[i..]);
    out
}

/// Whether an error means the connection (or the server) is gone, rather
/// than a statement failing on a live connection.
pub fn is_connection_error(e: &::postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        // Class 08: connection exception; 57P: the server shutting down or
        // restarting (admin_shutdown, crash_shutdown, cannot_connect_now).
        let c = code.code();
        return c.starts_with("08") || c.starts_with("57P");
    }
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        if inner.is::<std::io::Error>() {
            return true;
        }
        source = inner.source();
    }
    false
}

/// The statements made for every request, prepared once per connection
/// (a query by text is prepared again each time: a round trip more).
///
/// Only statements whose plan cannot depend on how many rows the ereport
/// table holds are prepared: they read small tables by key, or write the
/// ereport table without reading it (its primary key is checked by the
/// index, whatever the plan). PostgreSQL may keep a generic plan for them,
/// made once, even on an empty table. Statements that read the ereport
/// table (the conflict check, `query`, retention, ...) are sent as text,
/// so each is planned with its values and uses the indexes however large
/// the table has grown.
struct Prepared {
    cursor: Statement,
    /// [`INSERT_ROWS`] alone, for a store with a gap.
    insert: Statement,
    /// [`INSERT_ROWS`], the cursor and the restart's latest ereport in one
    /// statement.
    store: Statement,
    /// [`store_new_statement`]: the common store, which fails if any row
    /// is stored already.
    store_new: Statement,
    /// [`CLAIM`], made before every drain while following.
    claim: Statement,
    /// [`STORE_BATCH`]: several SPs' common stores at once.
    store_batch: Statement,
}

/// The text [`INSERT_ROWS`] and [`INSERT_NEW_ROWS`] share.
macro_rules! insert_rows {
    () => {
        "INSERT INTO ereport
     (restart_id, ena, task_name, task_gen, uptime_ms, body, report, invalid_error,
      catalog_error, sp_name, reporter, sp_type, sp_slot, part_number, serial_number, class,
      time_collected, collector_id)
     SELECT $1, u.ena, u.task_name, u.task_gen, u.uptime_ms, u.body, u.report::JSONB,
            u.invalid_error, u.catalog_error, $2, 'sp', CAST($3::TEXT AS sp_type), $4::INT4,
            $5, $6, u.class, $7, $8::UUID
     FROM UNNEST($9::INT8[], $10::TEXT[], $11::INT8[], $12::INT8[], $13::BYTEA[],
                 $14::TEXT[], $15::TEXT[], $16::TEXT[], $17::TEXT[])
          AS u(ena, task_name, task_gen, uptime_ms, body, report, invalid_error,
               catalog_error, class)"
    };
}
/// A response's rows as one `INSERT … SELECT … FROM UNNEST(…)`: the
/// columns every row shares as single parameters ($1 to $8), the others as
/// one array each ($9 to $17), so the statement is the same, and planned
/// once, for any number of rows, and costs the server a fixed number of
/// expressions rather than 17 a row. The report travels as JSON text.
/// Rows another collector stored already are skipped.
const INSERT_ROWS: &str = concat!(
    insert_rows!(),
    "\n     ON CONFLICT (restart_id, ena) DO NOTHING RETURNING ena"
);

/// [`INSERT_ROWS`] for rows none of which may be stored already: a row
/// that is fails the statement (a unique violation).
const INSERT_NEW_ROWS: &str = concat!(insert_rows!(), "\n     RETURNING ena");

/// A restart's latest ereport and where it was seen, after a store ($1
/// the restart, $2 the SP's name, $3 and $4 its slot type and slot, the
/// rack as parameter `rack`).
fn restart_seen(rack: &str) -> String {
    format!(
        "UPDATE sp_restarts
         SET latest_ereport = now(), sp_name = $2, sp_type = CAST($3::TEXT AS sp_type),
             sp_slot = $4::INT4, rack_id = {rack}::UUID
         WHERE restart_id = $1"
    )
}

/// Moves an SP's cursor after a store: forward only within a restart.
const CURSOR_ADVANCE: &str =
    "INSERT INTO sp_cursor (sp_name, restart_id, committed_ena) VALUES ($1, $2, $3)
     ON CONFLICT (sp_name) DO UPDATE SET restart_id = excluded.restart_id,
                                         committed_ena = excluded.committed_ena
     WHERE sp_cursor.restart_id <> excluded.restart_id
        OR sp_cursor.committed_ena < excluded.committed_ena";

/// A restart's metadata.
const METADATA: &str = "SELECT metadata FROM sp_restarts WHERE restart_id = $1";

/// Records a restart and its metadata (the newest metadata wins).
const SAVE_RESTART: &str = "INSERT INTO sp_restarts (restart_id, reporter, metadata, first_seen)
     VALUES ($1, 'sp', $2, $3)
     ON CONFLICT (restart_id) DO UPDATE SET metadata = excluded.metadata";

/// The bodies of a span of ENAs, for the conflict check.
const BODIES: &str =
    "SELECT ena, body FROM ereport WHERE restart_id = $1 AND ena BETWEEN $2 AND $3";

/// How many of a span of ENAs are stored.
const COVERS: &str = "SELECT COUNT(*) FROM ereport WHERE restart_id = $1 AND ena BETWEEN $2 AND $3";

/// Records a gap (once).
const INSERT_GAP: &str = "INSERT INTO gaps (restart_id, sp_name, first_ena, last_ena, seen, kind)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (restart_id, first_ena) DO NOTHING";

/// Moves an SP's cursor, back as well as forward.
const SET_CURSOR: &str =
    "INSERT INTO sp_cursor (sp_name, restart_id, committed_ena) VALUES ($1, $2, $3)
     ON CONFLICT (sp_name) DO UPDATE SET restart_id = excluded.restart_id,
     committed_ena = excluded.committed_ena";

/// Takes or renews an SP's claim, by the server's clock.
const CLAIM: &str = "INSERT INTO sp_leases (sp_name, collector_id, expires)
     VALUES ($1, $2, now() + $3::INT8 * INTERVAL '1 millisecond')
     ON CONFLICT (sp_name) DO UPDATE SET collector_id = excluded.collector_id,
     expires = excluded.expires
     WHERE sp_leases.collector_id = excluded.collector_id
     OR sp_leases.expires < now()
     RETURNING collector_id";

/// Gives a claim up.
const RELEASE: &str = "DELETE FROM sp_leases WHERE sp_name = $1 AND collector_id = $2";

/// Every gap, oldest first.
const GAPS: &str = "SELECT restart_id, first_ena, last_ena, kind FROM gaps
     ORDER BY seen, restart_id, first_ena";

/// Marks a batch of rows older than the cutoff deleted (soft deletion).
const RETAIN: &str = "UPDATE ereport SET time_deleted = now() WHERE (restart_id, ena) IN
     (SELECT restart_id, ena FROM ereport
     WHERE time_deleted IS NULL AND time_collected < $1 LIMIT $2)";

/// Deletes gaps older than the cutoff.
const RETAIN_GAPS: &str = "DELETE FROM gaps WHERE seen < $1";

/// Deletes a batch of rows marked deleted before the cutoff.
const PURGE: &str = "DELETE FROM ereport WHERE (restart_id, ena) IN
     (SELECT restart_id, ena FROM ereport WHERE time_deleted < $1 LIMIT $2)";

/// A restart's record, the enums as text.
const RESTART: &str = "SELECT reporter::TEXT, sp_type::TEXT, sp_slot, rack_id, sp_name, metadata,
     first_seen, latest_ereport
     FROM sp_restarts WHERE restart_id = $1";

/// Rows not marked deleted, by SP and class.
const SUMMARY: &str = "SELECT COALESCE(sp_name, '?'), COALESCE(class, '?'), COUNT(*) FROM ereport
     WHERE time_deleted IS NULL GROUP BY 1, 2 ORDER BY 1, 2";

/// `query`'s statement: every filter a parameter that may be null.
fn query_statement() -> String {
    format!(
        "SELECT {ROW_COLUMNS} FROM ereport
         WHERE time_deleted IS NULL
           AND ($1::TEXT IS NULL OR sp_name = $1)
           AND ($2::TEXT IS NULL OR class LIKE $2 ESCAPE '\\')
           AND ($3::UUID IS NULL OR restart_id = $3)
           AND ($4::TIMESTAMPTZ IS NULL OR time_collected >= $4)
           AND ($5::TIMESTAMPTZ IS NULL OR time_collected < $5)
           AND ($7::TEXT IS NULL OR serial_number = $7)
           AND ($8::TEXT IS NULL OR part_number = $8)
           AND ($9::TEXT IS NULL OR sp_type = CAST($9::TEXT AS sp_type))
           AND ($10::INT4 IS NULL OR sp_slot = $10)
           AND ($11::TEXT IS NULL OR (class >= $11 AND class < $12))
         ORDER BY time_collected DESC, restart_id, ena DESC LIMIT $6"
    )
}

/// The database's collation.
const COLLATION: &str =
    "SELECT datcollate::TEXT FROM pg_database WHERE datname = current_database()";

/// Collations that order text by its bytes (UTF-8's bytes are in code
/// point order).
const BYTEWISE_COLLATIONS: [&str; 4] = ["C", "POSIX", "C.UTF-8", "C.utf8"];

/// `info`'s statement.
fn info_statement() -> String {
    format!("SELECT {ROW_COLUMNS} FROM ereport WHERE restart_id = $1 AND ena = $2")
}

/// The cursor read before a drain.
fn cursor_statement() -> String {
    format!(
        "SELECT c.restart_id, c.committed_ena,
                COALESCE(r.latest_ereport > now() - INTERVAL '{} milliseconds', false)
         FROM sp_cursor c LEFT JOIN sp_restarts r ON r.restart_id = c.restart_id
         WHERE c.sp_name = $1",
        RECENT_STORE.as_millis()
    )
}

/// The common store: the rows, the cursor and the restart in one
/// statement.
fn store_statement() -> String {
    store_with(INSERT_ROWS)
}

/// The rows by `insert`, the cursor and the restart in one statement.
fn store_with(insert: &str) -> String {
    format!(
        "WITH ins AS ({insert}),
         cur AS (INSERT INTO sp_cursor (sp_name, restart_id, committed_ena)
                 VALUES ($2, $1, $18)
                 ON CONFLICT (sp_name) DO UPDATE SET restart_id = excluded.restart_id,
                                                     committed_ena = excluded.committed_ena
                 WHERE sp_cursor.restart_id <> excluded.restart_id
                    OR sp_cursor.committed_ena < excluded.committed_ena),
         rs AS ({})
         SELECT ena FROM ins",
        restart_seen("$19")
    )
}

/// The common store as [`store_statement`], with the rows inserted without
/// `ON CONFLICT`: if any of them is stored already the statement fails
/// (a unique violation) and writes nothing, and the store falls back to
/// [`store_checked_statement`]. Its plan reads no table that grows: the
/// rows come from the parameters and the primary key is checked by its
/// index.
fn store_new_statement() -> String {
    store_with(INSERT_NEW_ROWS)
}

/// Several SPs' common stores in one statement (group commit,
/// [`super::group_commit`]): every column an array, one element a row
/// ($1 to $15), the time and the collector shared ($16, $17), then per SP
/// its cursor ($18 to $20) and its restart's latest ereport ($21 to $25).
/// The rows are inserted without `ON CONFLICT`: if any is stored already
/// the statement fails, writes nothing, and each SP's store is made alone.
/// Like [`store_new_statement`] its plan reads no growing table.
const STORE_BATCH: &str = "WITH ins AS (
         INSERT INTO ereport
             (restart_id, ena, task_name, task_gen, uptime_ms, body, report, invalid_error,
              catalog_error, class, sp_name, reporter, sp_type, sp_slot, part_number,
              serial_number, time_collected, collector_id)
         SELECT u.restart_id, u.ena, u.task_name, u.task_gen, u.uptime_ms, u.body,
                u.report::JSONB, u.invalid_error, u.catalog_error, u.class, u.sp_name, 'sp',
                CAST(u.sp_type AS sp_type), u.sp_slot, u.part_number, u.serial_number,
                $16, $17::UUID
         FROM UNNEST($1::UUID[], $2::INT8[], $3::TEXT[], $4::INT8[], $5::INT8[], $6::BYTEA[],
                     $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::TEXT[], $12::TEXT[],
                     $13::INT4[], $14::TEXT[], $15::TEXT[])
              AS u(restart_id, ena, task_name, task_gen, uptime_ms, body, report, invalid_error,
                   catalog_error, class, sp_name, sp_type, sp_slot, part_number, serial_number)
         RETURNING ena),
     cur AS (
         INSERT INTO sp_cursor (sp_name, restart_id, committed_ena)
         SELECT * FROM UNNEST($18::TEXT[], $19::UUID[], $20::INT8[])
         ON CONFLICT (sp_name) DO UPDATE SET restart_id = excluded.restart_id,
                                             committed_ena = excluded.committed_ena
         WHERE sp_cursor.restart_id <> excluded.restart_id
            OR sp_cursor.committed_ena < excluded.committed_ena),
     rs AS (
         UPDATE sp_restarts r
         SET latest_ereport = now(), sp_name = v.sp_name, sp_type = CAST(v.sp_type AS sp_type),
             sp_slot = v.sp_slot, rack_id = v.rack_id
         FROM UNNEST($21::UUID[], $22::TEXT[], $23::TEXT[], $24::INT4[], $25::UUID[])
              AS v(restart_id, sp_name, sp_type, sp_slot, rack_id)
         WHERE r.restart_id = v.restart_id)
     SELECT COUNT(*) FROM ins";

/// [`EreportStore::store_checked`]'s statement: [`store_statement`]'s
/// writes (the restart's latest ereport only if a row was new), each only
/// if no row of the response is stored already with a different body (`clash`: one range of the primary key, $20 to $21, read
/// in the statement's snapshot), and the clashing ENAs returned beside the
/// new ones.
fn store_checked_statement() -> String {
    format!(
        "WITH u AS (SELECT * FROM UNNEST($9::INT8[], $10::TEXT[], $11::INT8[], $12::INT8[],
                                         $13::BYTEA[], $14::TEXT[], $15::TEXT[], $16::TEXT[],
                                         $17::TEXT[])
                    AS u(ena, task_name, task_gen, uptime_ms, body, report, invalid_error,
                         catalog_error, class)),
         clash AS (SELECT e.ena FROM ereport e JOIN u ON e.ena = u.ena
                   WHERE e.restart_id = $1 AND e.ena BETWEEN $20 AND $21
                     AND e.body <> u.body),
         ins AS (INSERT INTO ereport
                     (restart_id, ena, task_name, task_gen, uptime_ms, body, report, invalid_error,
                      catalog_error, sp_name, reporter, sp_type, sp_slot, part_number,
                      serial_number, class, time_collected, collector_id)
                 SELECT $1, u.ena, u.task_name, u.task_gen, u.uptime_ms, u.body, u.report::JSONB,
                        u.invalid_error, u.catalog_error, $2, 'sp', CAST($3::TEXT AS sp_type),
                        $4::INT4, $5, $6, u.class, $7, $8::UUID
                 FROM u WHERE NOT EXISTS (SELECT 1 FROM clash)
                 ON CONFLICT (restart_id, ena) DO NOTHING RETURNING ena),
         cur AS (INSERT INTO sp_cursor (sp_name, restart_id, committed_ena)
                 SELECT $2::TEXT, $1::UUID, $18::INT8 WHERE NOT EXISTS (SELECT 1 FROM clash)
                 ON CONFLICT (sp_name) DO UPDATE SET restart_id = excluded.restart_id,
                                                     committed_ena = excluded.committed_ena
                 WHERE sp_cursor.restart_id <> excluded.restart_id
                    OR sp_cursor.committed_ena < excluded.committed_ena),
         rs AS ({} AND EXISTS (SELECT 1 FROM ins))
         SELECT ena, false FROM ins UNION ALL SELECT ena, true FROM clash",
        restart_seen("$19")
    )
}

/// Every statement the PostgreSQL store issues while collecting and
/// answering `query`, `info`, `summary` and `purge`, by name, besides the
/// migrations ([`super::migrations`]) and the schema-version checks
/// (`information_schema` and the history table): for the test that runs
/// each through `EXPLAIN` and checks it stays within what CockroachDB
/// accepts (docs/architecture.md, "SQL both databases accept").
pub fn statements() -> Vec<(&'static str, String)> {
    vec![
        ("insert_rows", INSERT_ROWS.to_string()),
        ("store", store_statement()),
        ("store_new", store_new_statement()),
        ("store_batch", STORE_BATCH.to_string()),
        ("store_checked", store_checked_statement()),
        ("cursor", cursor_statement()),
        ("cursor_advance", CURSOR_ADVANCE.to_string()),
        ("restart_seen", restart_seen("$5")),
        ("query", query_statement()),
        ("info", info_statement()),
        ("collation", COLLATION.to_string()),
        ("metadata", METADATA.to_string()),
        ("save_restart", SAVE_RESTART.to_string()),
        ("bodies", BODIES.to_string()),
        ("covers", COVERS.to_string()),
        ("insert_gap", INSERT_GAP.to_string()),
        ("set_cursor", SET_CURSOR.to_string()),
        ("claim", CLAIM.to_string()),
        ("release", RELEASE.to_string()),
        ("gaps", GAPS.to_string()),
        ("retain", RETAIN.to_string()),
        ("retain_gaps", RETAIN_GAPS.to_string()),
        ("purge", PURGE.to_string()),
        ("restart", RESTART.to_string()),
        ("summary", SUMMARY.to_string()),
    ]
}

impl Prepared {
    fn new(client: &mut Client) -> Result<Self, ::postgres::Error> {
        Ok(Prepared {
            cursor: client.prepare(&cursor_statement())?,
            insert: client.prepare(INSERT_ROWS)?,
            store: client.prepare(&store_statement())?,
            store_new: client.prepare(&store_new_statement())?,
            claim: client.prepare(CLAIM)?,
            store_batch: client.prepare(STORE_BATCH)?,
        })
    }
}

/// One pooled connection.
struct Conn {
    client: Client,
    /// `None` for a read-only store: it prepares nothing it may not run.
    prepared: Option<Prepared>,
}

impl Conn {
    /// The prepared statements, prepared on first use (a read-only
    /// store's connections prepare none until asked).
    fn prepared(&mut self) -> Result<&Prepared, ::postgres::Error> {
        match self.prepared {
            Some(ref p) => Ok(p),
            None => {
                let p = Prepared::new(&mut self.client)?;
                Ok(self.prepared.insert(p))
            }
        }
    }
}

/// Why the pool could not make a connection: the server's own message
/// (the driver's display of a server error is only "db error").
#[derive(Debug)]
pub struct ConnectError(String);

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConnectError {}

/// Makes the pool's connections.
struct Manager {
    config: Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = ConnectError;

    fn connect(&self) -> Result<Conn, ConnectError> {
        let client = self
            .config
            .connect(NoTls)
            .map_err(|e| ConnectError(super::describe_pg(&e)))?;
        Ok(Conn {
            client,
            prepared: None,
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), ConnectError> {
        conn.client
            .simple_query("")
            .map(|_| ())
            .map_err(|e| ConnectError(super::describe_pg(&e)))
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed()
    }
}

/// The PostgreSQL store.
pub struct PgStore {
    pool: r2d2::Pool<Manager>,
    /// The connection string, password redacted.
    shown: String,
    /// Common stores ready at the same time, stored together.
    group: GroupCommit<OwnedStore, Result<Checked, DbError>>,
    /// Whether the database orders text by its bytes (a `C` collation), so
    /// a class glob's prefix can be a range on the class index.
    bytewise: bool,
}

impl PgStore {
    /// Connects once (so a wrong address or password is reported by
    /// `open`, with the server's reason), creates or migrates the schema
    /// or, read only, checks it; then sessions draw on a pool of at most
    /// `options.pg_connections`.
    pub fn open(target: &str, options: &OpenOptions) -> Result<Self, DbError> {
        let shown = redact(target);
        let pg = |error| DbError::Postgres {
            url: shown.clone(),
            error,
        };
        let mut config = Config::from_str(target).map_err(pg)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let mut client = config.connect(NoTls).map_err(pg)?;
        prepare_schema(&mut client, &shown, options.read_only)?;
        let bytewise = client
            .query_one(COLLATION, &[])
            .map(|r| BYTEWISE_COLLATIONS.contains(&r.get::<_, String>(0).as_str()))
            .unwrap_or(false);
        drop(client);
        let pool = r2d2::Pool::builder()
            .max_size(u32::try_from(options.pg_connections.max(1)).unwrap_or(u32::MAX))
            .min_idle(Some(0))
            .connection_timeout(POOL_WAIT)
            // A broken connection is found when it is handed back; testing
            // each on the way out would cost a round trip per statement.
            .test_on_check_out(false)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(Manager { config });
        Ok(PgStore {
            pool,
            shown,
            group: GroupCommit::new(WRITERS, MAX_BATCH),
            bytewise,
        })
    }

    fn err(&self, error: ::postgres::Error) -> DbError {
        DbError::Postgres {
            url: self.shown.clone(),
            error,
        }
    }

    /// Runs `f` on a pooled connection. A connection that failed because
    /// it (or the server) is gone is closed, so the pool discards it when
    /// it comes back and the next caller gets a new one.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Conn) -> Result<T, ::postgres::Error>,
    ) -> Result<T, DbError> {
        let mut conn = self.pool.get().map_err(|e| DbError::Unavailable {
            url: self.shown.clone(),
            reason: e.to_string(),
        })?;
        f(&mut conn).map_err(|e| self.err(e))
    }

    /// Connections open now (idle or lent): for tests and status.
    pub fn connections_open(&self) -> usize {
        self.pool.state().connections as usize
    }

    /// Stores a batch of common stores: one alone, more in one statement.
    /// A batch that fails leaves each of its stores to be made alone (its
    /// session then meets the conflict, or the error, itself).
    fn store_group(&self, batch: &[OwnedStore]) -> Vec<Option<Result<Checked, DbError>>> {
        if let [one] = batch {
            return vec![Some(self.store_alone(one))];
        }
        match self.store_batch(batch) {
            Ok(()) => batch
                .iter()
                .map(|r| Some(Ok(Checked::Stored(vec![true; r.rows.derived.enas.len()]))))
                .collect(),
            Err(_) => batch.iter().map(|_| None).collect(),
        }
    }

    /// One SP's common store by itself.
    fn store_alone(&self, req: &OwnedStore) -> Result<Checked, DbError> {
        let now = SystemTime::now();
        let rows = req.rows.values();
        let slot = req.sp.slot_int4();
        let (first, last) = (rows.enas.first(), rows.enas.last());
        let result: Option<Vec<(i64, bool)>> = self.with(|c| {
            let st = c.prepared()?.store_new.clone();
            let mut params = rows.params(&req.rid, &req.sp, &slot, &now);
            params.extend_from_slice(&[&req.committed, &req.sp.rack_id]);
            match c.client.query(&st, &params) {
                Ok(_) => return Ok(None),
                Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {}
                Err(e) => return Err(e),
            }
            params.extend_from_slice(&[&first, &last]);
            Ok(Some(
                c.client
                    .query(&store_checked_statement(), &params)?
                    .iter()
                    .map(|r| (r.get(0), r.get(1)))
                    .collect(),
            ))
        })?;
        let Some(result) = result else {
            return Ok(Checked::Stored(vec![true; rows.enas.len()]));
        };
        if let Some((ena, _)) = result.iter().filter(|(_, clash)| *clash).min() {
            return Ok(Checked::Conflict(Ena(unsql(*ena))));
        }
        let fresh: BTreeSet<i64> = result.iter().map(|(ena, _)| *ena).collect();
        Ok(Checked::Stored(
            rows.enas.iter().map(|e| fresh.contains(e)).collect(),
        ))
    }

    /// Several SPs' common stores in one statement ([`STORE_BATCH`]).
    fn store_batch(&self, batch: &[OwnedStore]) -> Result<(), DbError> {
        let now = SystemTime::now();
        let collector = batch.first().map(|r| r.sp.collector_id);
        let mut b = BatchValues::default();
        for r in batch {
            b.add(r);
        }
        self.with(|c| {
            let st = c.prepared()?.store_batch.clone();
            let params: [&(dyn ToSql + Sync); 25] = [
                &b.rids,
                &b.enas,
                &b.task_names,
                &b.gens,
                &b.uptimes,
                &b.bodies,
                &b.reports,
                &b.invalid,
                &b.catalog,
                &b.classes,
                &b.sp_names,
                &b.sp_types,
                &b.slots,
                &b.parts,
                &b.serials,
                &now,
                &collector,
                &b.cursor_sps,
                &b.cursor_rids,
                &b.cursor_committed,
                &b.restart_rids,
                &b.restart_sps,
                &b.restart_types,
                &b.restart_slots,
                &b.restart_racks,
            ];
            c.client.query_one(&st, &params).map(drop)
        })
    }
}

/// The schema version: the history's newest, else the legacy
/// `schema_version` table's (0: no gateway tables).
fn version(client: &mut Client) -> Result<i64, ::postgres::Error> {
    let has = |client: &mut Client, table: &str| -> Result<bool, ::postgres::Error> {
        Ok(client
            .query_one(
                "SELECT COUNT(*) > 0 FROM information_schema.tables
                 WHERE table_name = $1 AND table_schema = current_schema()",
                &[&table],
            )?
            .get(0))
    };
    if has(client, HISTORY_TABLE)? {
        return Ok(client
            .query_one(
                &format!("SELECT COALESCE(MAX(version), 0)::INT8 FROM {HISTORY_TABLE}"),
                &[],
            )?
            .get(0));
    }
    if has(client, "schema_version")? {
        let v: Option<i64> = client
            .query_opt("SELECT version FROM schema_version WHERE id = 0", &[])?
            .map(|r| r.get(0));
        return Ok(v.unwrap_or(0));
    }
    Ok(0)
}

/// Creates or migrates the schema (or, `read_only`, checks it is this
/// gateway's).
fn prepare_schema(client: &mut Client, shown: &str, read_only: bool) -> Result<(), DbError> {
    let found = version(client).map_err(|error| DbError::Postgres {
        url: shown.to_string(),
        error,
    })?;
    if found > LATEST {
        return Err(DbError::NewerSchema {
            db: shown.to_string(),
            found,
        });
    }
    if found == LATEST {
        return Ok(());
    }
    if read_only {
        return Err(DbError::OlderSchema {
            db: shown.to_string(),
            found,
        });
    }
    let migration = |source| DbError::Migration {
        db: shown.to_string(),
        source,
    };
    let runner = migrations::runner(Dialect::Postgres).map_err(migration)?;
    // Two collectors starting together on a new database can both find a
    // table missing, and the second to create it fails on the catalog's
    // unique index (`IF NOT EXISTS` is not safe against itself). Each
    // migration is one transaction, so a failed one left nothing behind:
    // the next attempt finds the other's work.
    let mut attempt = 0;
    loop {
        match runner.run(client) {
            Ok(_) => return Ok(()),
            Err(_) if attempt < 5 => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(20 * attempt));
            }
            Err(source) => return Err(migration(source)),
        }
    }
}

impl EreportStore for PgStore {
    fn name(&self) -> &str {
        &self.shown
    }

    fn metadata(&self, rid: RestartId) -> Result<Map<String, Json>, DbError> {
        let row = self.with(|c| c.client.query_opt(METADATA, &[&rid_uuid(rid)]))?;
        Ok(match row.map(|r| r.get::<_, Json>(0)) {
            Some(Json::Object(m)) => m,
            _ => Map::new(),
        })
    }

    fn save_restart(&self, rid: RestartId, metadata: &Map<String, Json>) -> Result<(), DbError> {
        let md = Json::Object(metadata.clone());
        self.with(|c| {
            c.client
                .execute(SAVE_RESTART, &[&rid_uuid(rid), &md, &SystemTime::now()])
        })?;
        Ok(())
    }

    fn bodies(
        &self,
        rid: RestartId,
        first: Ena,
        last: Ena,
    ) -> Result<BTreeMap<u64, Vec<u8>>, DbError> {
        // As text: planned with its values (it reads the ereport table).
        let rows = self.with(|c| {
            c.client
                .query(BODIES, &[&rid_uuid(rid), &sql(first.0), &sql(last.0)])
        })?;
        Ok(rows.iter().map(|r| (unsql(r.get(0)), r.get(1))).collect())
    }

    /// Recency is judged by the server's clock, which also wrote it:
    /// collectors' clocks need not agree.
    fn shared_cursor(&self, sp: &str) -> Result<Option<SharedCursor>, DbError> {
        let row = self.with(|c| {
            let st = c.prepared()?.cursor.clone();
            c.client.query_opt(&st, &[&sp])
        })?;
        Ok(row.map(|r| SharedCursor {
            restart_id: RestartId(r.get::<_, Uuid>(0).as_u128()),
            committed: Ena(unsql(r.get(1))),
            recently_stored: r.get(2),
        }))
    }

    fn covers(&self, rid: RestartId, first: Ena, last: Ena) -> Result<bool, DbError> {
        let want = last.0.saturating_sub(first.0).saturating_add(1);
        let stored: i64 = self
            .with(|c| {
                c.client
                    .query_one(COVERS, &[&rid_uuid(rid), &sql(first.0), &sql(last.0)])
            })?
            .get(0);
        Ok(unsql(stored) >= want)
    }

    /// The common case (no gap) is one statement, so one transaction and
    /// one round trip: the rows (those another collector stored are
    /// skipped, and do not come back from `RETURNING`), the cursor, and
    /// the restart's latest ereport.
    fn store(
        &self,
        sp: &SpRow,
        rid: RestartId,
        ereports: &[StoredEreport],
        gap: Option<Gap>,
        committed: Ena,
    ) -> Result<Vec<bool>, DbError> {
        let rid = rid_uuid(rid);
        let now = SystemTime::now();
        let derived = Derived::new(ereports);
        let rows = RowValues::new(ereports, &derived);
        let committed_param = sql(committed.0);
        let slot = sp.slot_int4();
        let fresh_enas: BTreeSet<i64> = self.with(|c| {
            let prepared = c.prepared()?;
            let (store, insert) = (prepared.store.clone(), prepared.insert.clone());
            let mut params = rows.params(&rid, sp, &slot, &now);
            if !ereports.is_empty() && gap.is_none() {
                params.push(&committed_param);
                params.push(&sp.rack_id);
                return Ok(c
                    .client
                    .query(&store, &params)?
                    .iter()
                    .map(|r| r.get::<_, i64>(0))
                    .collect());
            }
            let mut tx = c.client.transaction()?;
            let fresh = if ereports.is_empty() {
                BTreeSet::new()
            } else {
                tx.query(&insert, &params)?
                    .iter()
                    .map(|r| r.get::<_, i64>(0))
                    .collect()
            };
            if let Some(g) = gap {
                tx.execute(
                    INSERT_GAP,
                    &[
                        &rid_uuid(g.restart_id),
                        &sp.name,
                        &sql(g.first.0),
                        &sql(g.last.0),
                        &now,
                        &gap_kind_text(&g),
                    ],
                )?;
            }
            tx.execute(CURSOR_ADVANCE, &[&sp.name, &rid, &committed_param])?;
            tx.execute(
                &restart_seen("$5"),
                &[&rid, &sp.name, &sp.kind, &slot, &sp.rack_id],
            )?;
            tx.commit()?;
            Ok(fresh)
        })?;
        Ok(ereports
            .iter()
            .map(|e| fresh_enas.contains(&sql(e.ena.0)))
            .collect())
    }

    /// The common store. Responses that several sessions have ready at
    /// once are stored together (`STORE_BATCH`, one statement for all of
    /// them: group commit); one that is alone, or whose batch found a row
    /// stored already, is stored by itself: one statement, one round trip,
    /// if none of its rows is stored yet (`store_new_statement`, whose
    /// plan reads no growing table); otherwise that statement fails having
    /// written nothing, and the conflict check runs as its own statement
    /// (`store_checked_statement`, sent as text so it is planned with its
    /// values and reads the primary key's range).
    fn store_checked(
        &self,
        sp: &SpRow,
        rid: RestartId,
        ereports: &[StoredEreport],
        committed: Ena,
    ) -> Result<Checked, DbError> {
        if ereports.is_empty() {
            return Ok(Checked::Stored(Vec::new()));
        }
        let req = OwnedStore::new(sp, rid_uuid(rid), ereports, sql(committed.0));
        let outcome = self.group.submit(
            req,
            |r| r.sp.name.as_str(),
            |batch| self.store_group(&batch),
        );
        match outcome {
            Some(done) => done,
            None => {
                let req = OwnedStore::new(sp, rid_uuid(rid), ereports, sql(committed.0));
                self.store_alone(&req)
            }
        }
    }

    fn set_cursor(&self, sp: &str, rid: RestartId, committed: Ena) -> Result<(), DbError> {
        self.with(|c| {
            c.client
                .execute(SET_CURSOR, &[&sp, &rid_uuid(rid), &sql(committed.0)])
        })?;
        Ok(())
    }

    fn claim(&self, sp: &str, collector: Uuid, ttl: Duration) -> Result<bool, DbError> {
        let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let row = self.with(|c| {
            let st = c.prepared()?.claim.clone();
            c.client.query_opt(&st, &[&sp, &collector, &ttl])
        })?;
        Ok(row.is_some())
    }

    fn release(&self, sp: &str, collector: Uuid) -> Result<(), DbError> {
        self.with(|c| c.client.execute(RELEASE, &[&sp, &collector]))?;
        Ok(())
    }

    fn gaps(&self) -> Result<Vec<Gap>, DbError> {
        let rows = self.with(|c| c.client.query(GAPS, &[]))?;
        Ok(rows
            .iter()
            .map(|r| Gap {
                restart_id: RestartId(r.get::<_, Uuid>(0).as_u128()),
                first: Ena(unsql(r.get(1))),
                last: Ena(unsql(r.get(2))),
                kind: gap_kind(&r.get::<_, String>(3)),
            })
            .collect())
    }

    /// Soft deletion in batches: each statement marks at most
    /// [`RETENTION_BATCH`] rows found through the partial time index of
    /// rows not yet deleted.
    fn retain(&self, before: SystemTime) -> Result<u64, DbError> {
        check_cutoff(before, SystemTime::now())?;
        let marked = self.batches(RETAIN, before)?;
        self.with(|c| c.client.execute(RETAIN_GAPS, &[&before]))?;
        Ok(marked)
    }

    fn purge(&self, deleted_before: SystemTime) -> Result<u64, DbError> {
        check_cutoff(deleted_before, SystemTime::now())?;
        self.batches(PURGE, deleted_before)
    }

    fn query(&self, f: &Filter) -> Result<Vec<StoredRow>, DbError> {
        let like = f.class_glob.as_deref().map(glob_to_like);
        // The glob's prefix as a range the class index serves, where text
        // is ordered by bytes (`LIKE` alone uses no index there).
        let (low, high) = f
            .class_glob
            .as_deref()
            .filter(|_| self.bytewise)
            .and_then(glob_prefix_range)
            .unzip();
        let limit = i64::try_from(f.limit).unwrap_or(i64::MAX);
        let rid = f.restart_id.map(rid_uuid);
        let slot = f.slot.map(|s| i32::try_from(s).unwrap_or(-1));
        let rows = self.with(|c| {
            c.client.query(
                &query_statement(),
                &[
                    &f.sp,
                    &like,
                    &rid,
                    &f.since,
                    &f.until,
                    &limit,
                    &f.serial_number,
                    &f.part_number,
                    &f.sp_type,
                    &slot,
                    &low,
                    &high,
                ],
            )
        })?;
        Ok(rows.iter().map(stored_row).collect())
    }

    fn info(&self, rid: RestartId, ena: Ena) -> Result<Option<StoredRow>, DbError> {
        let row = self.with(|c| {
            c.client
                .query_opt(&info_statement(), &[&rid_uuid(rid), &sql(ena.0)])
        })?;
        Ok(row.as_ref().map(stored_row))
    }

    fn restart(&self, rid: RestartId) -> Result<Option<RestartRow>, DbError> {
        let row = self.with(|c| c.client.query_opt(RESTART, &[&rid_uuid(rid)]))?;
        Ok(row.map(|r| RestartRow {
            restart_id: rid,
            reporter: r.get(0),
            sp_type: r.get(1),
            sp_slot: r.get::<_, Option<i32>>(2).map(i64::from),
            rack_id: r.get(3),
            sp_name: r.get(4),
            metadata: match r.get::<_, Json>(5) {
                Json::Object(m) => m,
                _ => Map::new(),
            },
            first_seen_ms: r.get::<_, Option<SystemTime>>(6).map(unix_ms),
            latest_ereport_ms: r.get::<_, Option<SystemTime>>(7).map(unix_ms),
        }))
    }

    fn summary(&self) -> Result<Vec<SummaryRow>, DbError> {
        let rows = self.with(|c| c.client.query(SUMMARY, &[]))?;
        Ok(rows
            .iter()
            .map(|r| SummaryRow {
                sp: r.get(0),
                class: r.get(1),
                count: unsql(r.get(2)),
            })
            .collect())
    }
}

impl PgStore {
    /// Runs `statement` (a cutoff as `$1`, the batch size as `$2`) until
    /// it changes fewer than [`RETENTION_BATCH`] rows; returns how many it
    /// changed in all.
    fn batches(&self, statement: &str, cutoff: SystemTime) -> Result<u64, DbError> {
        let mut total = 0u64;
        loop {
            let n = self.with(|c| c.client.execute(statement, &[&cutoff, &RETENTION_BATCH]))?;
            total += n;
            if n < RETENTION_BATCH as u64 {
                return Ok(total);
            }
        }
    }
}

/// The columns a [`StoredRow`] is read from, in its order, the enums as
/// text.
const ROW_COLUMNS: &str = "restart_id, ena, time_collected, time_deleted, collector_id, reporter::TEXT, \
     sp_type::TEXT, sp_slot, sp_name, serial_number, part_number, class, marked_seen_in, \
     task_name, task_gen, uptime_ms, invalid_error, catalog_error, report";

/// A [`StoredRow`] from a row of [`ROW_COLUMNS`].
fn stored_row(r: &::postgres::Row) -> StoredRow {
    StoredRow {
        restart_id: RestartId(r.get::<_, Uuid>(0).as_u128()),
        ena: unsql(r.get(1)),
        time_collected_ms: r.get::<_, Option<SystemTime>>(2).map(unix_ms),
        time_deleted_ms: r.get::<_, Option<SystemTime>>(3).map(unix_ms),
        collector_id: r.get(4),
        reporter: r.get(5),
        sp_type: r.get(6),
        sp_slot: r.get::<_, Option<i32>>(7).map(i64::from),
        sp_name: r.get(8),
        serial_number: r.get(9),
        part_number: r.get(10),
        class: r.get(11),
        marked_seen_in: r.get(12),
        task_name: r.get(13),
        task_gen: u32::try_from(r.get::<_, i64>(14)).unwrap_or(u32::MAX),
        uptime_ms: unsql(r.get(15)),
        invalid_error: r.get(16),
        catalog_error: r.get(17),
        report: r.get(18),
    }
}

/// The columns a store computes from its ereports (ENAs and uptimes as
/// the database's integers, each report as JSON text, the class), kept
/// for [`RowValues`] to borrow.
struct Derived {
    enas: Vec<i64>,
    gens: Vec<i64>,
    uptimes: Vec<i64>,
    reports: Vec<String>,
    classes: Vec<Option<String>>,
}

impl Derived {
    fn new(ereports: &[StoredEreport]) -> Self {
        Derived {
            enas: ereports.iter().map(|e| sql(e.ena.0)).collect(),
            gens: ereports.iter().map(|e| i64::from(e.task_gen)).collect(),
            uptimes: ereports.iter().map(|e| sql(e.uptime_ms)).collect(),
            reports: ereports.iter().map(|e| json_text(&e.report)).collect(),
            classes: ereports.iter().map(StoredEreport::class).collect(),
        }
    }
}

/// A report as JSON text, written into room for a typical report at once
/// rather than grown a few bytes at a time.
fn json_text(report: &Json) -> String {
    let mut out = Vec::with_capacity(512);
    match serde_json::to_writer(&mut out, report) {
        // serde_json writes UTF-8.
        Ok(()) => String::from_utf8(out).unwrap_or_else(|_| report.to_string()),
        Err(_) => report.to_string(),
    }
}

/// The per-row columns of a store, one array each, all borrowed (from the
/// ereports and their [`Derived`] columns, or from an [`OwnedRows`]).
struct RowValues<'a> {
    enas: &'a [i64],
    task_names: Vec<&'a str>,
    gens: &'a [i64],
    uptimes: &'a [i64],
    bodies: Vec<&'a [u8]>,
    reports: Vec<&'a str>,
    invalid: Vec<Option<&'a str>>,
    catalog: Vec<Option<&'a str>>,
    classes: Vec<Option<&'a str>>,
}

impl<'a> RowValues<'a> {
    /// The parameters [`INSERT_ROWS`] takes ($1 to $17): the restart, the
    /// SP's columns, the time, the collector, then these arrays.
    fn params<'p>(
        &'p self,
        rid: &'p Uuid,
        sp: &'p SpRow,
        slot: &'p Option<i32>,
        now: &'p SystemTime,
    ) -> Vec<&'p (dyn ToSql + Sync)> {
        vec![
            rid,
            &sp.name,
            &sp.kind,
            slot,
            &sp.part_number,
            &sp.serial_number,
            now,
            &sp.collector_id,
            &self.enas,
            &self.task_names,
            &self.gens,
            &self.uptimes,
            &self.bodies,
            &self.reports,
            &self.invalid,
            &self.catalog,
            &self.classes,
        ]
    }

    fn new(ereports: &'a [StoredEreport], derived: &'a Derived) -> Self {
        RowValues {
            task_names: ereports.iter().map(|e| e.task_name.as_str()).collect(),
            bodies: ereports.iter().map(|e| e.body.as_slice()).collect(),
            invalid: ereports
                .iter()
                .map(|e| e.invalid_error.as_deref())
                .collect(),
            catalog: ereports
                .iter()
                .map(|e| e.catalog_error.as_deref())
                .collect(),
            ..Self::derived(derived)
        }
    }

    /// The derived columns borrowed, the others empty.
    fn derived(d: &'a Derived) -> Self {
        RowValues {
            enas: &d.enas,
            task_names: Vec::new(),
            gens: &d.gens,
            uptimes: &d.uptimes,
            bodies: Vec::new(),
            reports: d.reports.iter().map(String::as_str).collect(),
            invalid: Vec::new(),
            catalog: Vec::new(),
            classes: d.classes.iter().map(Option::as_deref).collect(),
        }
    }
}

/// Most SPs' stores one statement takes (group commit).
const MAX_BATCH: usize = 32;

/// Batches a collector stores at once: one. Its sessions' stores queue
/// behind the one being made and go together in the next, so the busier
/// the collector the larger its batches, and three collectors make three
/// concurrent writers, as three plain clients would. (Measured with
/// `rack-bench --capacity`: with two writers a collector made more, smaller
/// transactions and PostgreSQL spent more CPU a row; BENCHMARKS.md.)
const WRITERS: usize = 1;

/// A response's rows, owned (a store waiting in a batch outlives the
/// borrow of its session's ereports).
struct OwnedRows {
    derived: Derived,
    task_names: Vec<String>,
    bodies: Vec<Vec<u8>>,
    invalid: Vec<Option<String>>,
    catalog: Vec<Option<String>>,
}

impl OwnedRows {
    fn new(ereports: &[StoredEreport]) -> Self {
        OwnedRows {
            derived: Derived::new(ereports),
            task_names: ereports.iter().map(|e| e.task_name.clone()).collect(),
            bodies: ereports.iter().map(|e| e.body.clone()).collect(),
            invalid: ereports.iter().map(|e| e.invalid_error.clone()).collect(),
            catalog: ereports.iter().map(|e| e.catalog_error.clone()).collect(),
        }
    }

    /// The rows as [`INSERT_ROWS`]'s arrays, borrowed.
    fn values(&self) -> RowValues<'_> {
        RowValues {
            task_names: self.task_names.iter().map(String::as_str).collect(),
            bodies: self.bodies.iter().map(Vec::as_slice).collect(),
            invalid: self.invalid.iter().map(Option::as_deref).collect(),
            catalog: self.catalog.iter().map(Option::as_deref).collect(),
            ..RowValues::derived(&self.derived)
        }
    }
}

/// One SP's common store: its rows, the SP, the restart and the ENA the
/// cursor moves to.
struct OwnedStore {
    sp: SpRow,
    rid: Uuid,
    committed: i64,
    rows: OwnedRows,
}

impl OwnedStore {
    fn new(sp: &SpRow, rid: Uuid, ereports: &[StoredEreport], committed: i64) -> Self {
        OwnedStore {
            sp: sp.clone(),
            rid,
            committed,
            rows: OwnedRows::new(ereports),
        }
    }
}

/// [`STORE_BATCH`]'s arrays, borrowed from the batch's stores.
#[derive(Default)]
struct BatchValues<'a> {
    rids: Vec<Uuid>,
    enas: Vec<i64>,
    task_names: Vec<&'a str>,
    gens: Vec<i64>,
    uptimes: Vec<i64>,
    bodies: Vec<&'a [u8]>,
    reports: Vec<&'a str>,
    invalid: Vec<Option<&'a str>>,
    catalog: Vec<Option<&'a str>>,
    classes: Vec<Option<&'a str>>,
    sp_names: Vec<&'a str>,
    sp_types: Vec<Option<&'a str>>,
    slots: Vec<Option<i32>>,
    parts: Vec<Option<&'a str>>,
    serials: Vec<Option<&'a str>>,
    cursor_sps: Vec<&'a str>,
    cursor_rids: Vec<Uuid>,
    cursor_committed: Vec<i64>,
    restart_rids: Vec<Uuid>,
    restart_sps: Vec<&'a str>,
    restart_types: Vec<Option<&'a str>>,
    restart_slots: Vec<Option<i32>>,
    restart_racks: Vec<Option<Uuid>>,
}

impl<'a> BatchValues<'a> {
    fn add(&mut self, r: &'a OwnedStore) {
        let rows = &r.rows;
        let d = &rows.derived;
        let n = d.enas.len();
        let sp = &r.sp;
        let slot = sp.slot_int4();
        self.rids.extend(std::iter::repeat_n(r.rid, n));
        self.enas.extend_from_slice(&d.enas);
        self.task_names
            .extend(rows.task_names.iter().map(String::as_str));
        self.gens.extend_from_slice(&d.gens);
        self.uptimes.extend_from_slice(&d.uptimes);
        self.bodies.extend(rows.bodies.iter().map(Vec::as_slice));
        self.reports.extend(d.reports.iter().map(String::as_str));
        self.invalid
            .extend(rows.invalid.iter().map(Option::as_deref));
        self.catalog
            .extend(rows.catalog.iter().map(Option::as_deref));
        self.classes.extend(d.classes.iter().map(Option::as_deref));
        self.sp_names
            .extend(std::iter::repeat_n(sp.name.as_str(), n));
        self.sp_types
            .extend(std::iter::repeat_n(sp.kind.as_deref(), n));
        self.slots.extend(std::iter::repeat_n(slot, n));
        self.parts
            .extend(std::iter::repeat_n(sp.part_number.as_deref(), n));
        self.serials
            .extend(std::iter::repeat_n(sp.serial_number.as_deref(), n));
        self.cursor_sps.push(&sp.name);
        self.cursor_rids.push(r.rid);
        self.cursor_committed.push(r.committed);
        self.restart_rids.push(r.rid);
        self.restart_sps.push(&sp.name);
        self.restart_types.push(sp.kind.as_deref());
        self.restart_slots.push(slot);
        self.restart_racks.push(sp.rack_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ereport(ena: u64, body: &[u8]) -> StoredEreport {
        StoredEreport {
            restart_id: RestartId(0),
            ena: Ena(ena),
            task_name: "t".into(),
            task_gen: 1,
            uptime_ms: ena,
            body: body.to_vec(),
            report: serde_json::json!({"k": "hw.x"}),
            invalid_error: None,
            catalog_error: None,
        }
    }

    /// Group commit's batch statement: several SPs' rows, cursors and
    /// restarts in one statement, or nothing at all when a row is stored
    /// already; then each store alone finds its own outcome.
    #[test]
    #[cfg_attr(
        not(postgres_installed),
        ignore = "PostgreSQL is not installed (apt-get install postgresql)"
    )]
    fn a_batch_stores_every_sp_or_none() {
        let pg = pg_cluster::TempCluster::start();
        let db = PgStore::open(&pg.url, &OpenOptions::default()).unwrap();
        let sp = |name: &str| SpRow {
            name: name.into(),
            kind: Some("sled".into()),
            slot: Some(3),
            ..SpRow::default()
        };
        let req = |name: &str, rid: u128, enas: &[(u64, &[u8])]| {
            let rows: Vec<StoredEreport> = enas.iter().map(|(e, b)| ereport(*e, b)).collect();
            let last = enas.last().map_or(0, |(e, _)| *e);
            OwnedStore::new(&sp(name), Uuid::from_u128(rid), &rows, sql(last))
        };
        for rid in [1, 2, 3] {
            db.save_restart(RestartId(rid), &Map::new()).unwrap();
        }
        let batch = [
            req("sp-1", 1, &[(1, b"\xa0"), (2, b"\xa1")]),
            req("sp-2", 2, &[(1, b"\xa2")]),
            req("sp-3", 3, &[(5, b"\xa3"), (6, b"\xa4"), (7, b"\xa5")]),
        ];
        let out = db.store_group(&batch);
        assert!(
            out.iter()
                .zip(&batch)
                .all(|(o, r)| matches!(o, Some(Ok(Checked::Stored(f))) if f.len() == r.rows.derived.enas.len() && f.iter().all(|n| *n))),
            "{out:?}"
        );
        assert_eq!(db.committed("sp-3").unwrap(), Some((RestartId(3), Ena(7))));
        assert_eq!(db.committed("sp-1").unwrap(), Some((RestartId(1), Ena(2))));
        let stored = db.bodies(RestartId(3), Ena(5), Ena(7)).unwrap();
        assert_eq!(stored.get(&6).map(Vec::as_slice), Some(&b"\xa4"[..]));
        let restart = db.restart(RestartId(2)).unwrap().unwrap();
        assert_eq!(restart.sp_name.as_deref(), Some("sp-2"));
        assert!(restart.latest_ereport_ms.is_some());

        // One row stored already, with another body: the batch writes
        // nothing and leaves both to be stored alone.
        let batch = [
            req("sp-1", 1, &[(3, b"\xb0")]),
            req("sp-2", 2, &[(1, b"\xff"), (2, b"\xb1")]),
        ];
        let out = db.store_group(&batch);
        assert!(out.iter().all(Option::is_none), "{out:?}");
        assert_eq!(db.bodies(RestartId(1), Ena(3), Ena(3)).unwrap().len(), 0);
        assert_eq!(db.committed("sp-1").unwrap(), Some((RestartId(1), Ena(2))));
        assert!(matches!(db.store_alone(&batch[0]), Ok(Checked::Stored(f)) if f == [true]));
        assert!(matches!(
            db.store_alone(&batch[1]),
            Ok(Checked::Conflict(Ena(1)))
        ));
        assert_eq!(db.committed("sp-2").unwrap(), Some((RestartId(2), Ena(1))));
    }

    #[test]
    fn passwords_never_reach_output() {
        for (given, shown) in [
            (
                "postgres://alice:s3cret@db.example:5432/omicron",
                "postgres://alice:***@db.example:5432/omicron",
            ),
            (
                "postgresql://db/omicron?user=alice&password=s3cret&sslmode=disable",
                "postgresql://db/omicron?user=alice&password=***&sslmode=disable",
            ),
            (
                "host=db user=alice password=s3cret dbname=omicron",
                "host=db user=alice password=*** dbname=omicron",
            ),
            (
                "host=db password = 'it\\'s a s3cret' dbname=x",
                "host=db password = *** dbname=x",
            ),
            ("host=db PASSWORD=s3cret", "host=db PASSWORD=***"),
            ("password=s3cret", "password=***"),
            (
                "postgres://db/x?passwordless=1",
                "postgres://db/x?passwordless=1",
            ),
            ("postgres://a@b:1/c", "postgres://a@b:1/c"),
        ] {
            assert_eq!(redact(given), shown, "{given}");
            assert!(!redact(given).contains("s3cret"));
        }
    }

    #[test]
    fn connection_strings_are_told_from_files() {
        for pg in [
            "postgres://h/db",
            "postgresql://h/db",
            "host=/tmp dbname=x",
            "dbname = x",
        ] {
            assert!(is_postgres(pg), "{pg}");
        }
        for file in ["ereports.sqlite", "./a=b.sqlite", "/tmp/x", "=x"] {
            assert!(!is_postgres(file), "{file}");
        }
    }
}
