//! The gateway's PostgreSQL store (`--db postgres://…`): the same tables as
//! the SQLite one, in SQL that CockroachDB accepts too (standard types,
//! `INSERT … ON CONFLICT DO NOTHING`, no stored procedures, no advisory
//! locks). The report is JSONB, times TIMESTAMPTZ, the body BYTEA.
//!
//! Several collectors may share the database: every insert is idempotent,
//! a gap is recorded only for ENAs no collector stored, and the cursor per
//! SP is what the last collector to commit left.

use std::cell::RefCell;
use std::time::SystemTime;

use ereport_sdk::{Ena, RestartId};
use postgres::types::ToSql;
use postgres::{Client, NoTls, Statement};
use serde_json::{Map, Value as Json};

use crate::StoredEreport;
use crate::db::{DbError, RECENT_STORE, SCHEMA_VERSION, SharedCursor, SpRow, row_class};
use ereport_host::Gap;

/// The tables, created if missing. Version 3 is the first PostgreSQL
/// schema; the version lives in `schema_version`.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS schema_version (
    id INT8 PRIMARY KEY,
    version INT8 NOT NULL
);
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

fn sql(v: u64) -> i64 {
    v as i64
}

fn unsql(v: i64) -> u64 {
    v as u64
}

/// A PostgreSQL connection, behind a `RefCell` because the client needs
/// `&mut` for every query while the gateway reads through `&`.
pub struct PgDb {
    client: RefCell<Client>,
    url: String,
    /// The queries made for every request, prepared once per connection
    /// (a query by text is prepared again each time: a round trip more).
    prepared: Prepared,
}

struct Prepared {
    cursor: Statement,
    bodies: Statement,
    /// [`INSERT_ROWS`] alone, for a store with a gap.
    insert: Statement,
    /// [`INSERT_ROWS`], the cursor and the restart's latest ereport in one
    /// statement: the common store.
    store: Statement,
}

/// A response's rows as one `INSERT … SELECT … FROM UNNEST(…)`: the
/// columns every row shares as single parameters ($1 to $8), the others as
/// one array each ($9 to $17), so the statement is the same, and planned
/// once, for any number of rows, and costs the server a fixed number of
/// expressions rather than 17 a row. The report travels as JSON text.
const INSERT_ROWS: &str = "INSERT INTO ereports
     (restart_id, ena, task_name, task_gen, uptime_ms, body, report, invalid_error,
      catalog_error, sp_name, sp_kind, sp_slot, part_number, serial_number, class,
      time_collected, collector_id)
     SELECT $1, u.ena, u.task_name, u.task_gen, u.uptime_ms, u.body, u.report::JSONB,
            u.invalid_error, u.catalog_error, $2, $3, $4, $5, $6, u.class, $7, $8
     FROM UNNEST($9::INT8[], $10::TEXT[], $11::INT8[], $12::INT8[], $13::BYTEA[],
                 $14::TEXT[], $15::TEXT[], $16::TEXT[], $17::TEXT[])
          AS u(ena, task_name, task_gen, uptime_ms, body, report, invalid_error,
               catalog_error, class)
     ON CONFLICT (restart_id, ena) DO NOTHING RETURNING ena";

impl PgDb {
    fn err(&self, e: postgres::Error) -> DbError {
        DbError::Postgres {
            url: redact(&self.url),
            source: e,
        }
    }

    /// Connects and creates or checks the schema.
    pub fn open(url: &str) -> Result<Self, DbError> {
        let err = |e| DbError::Postgres {
            url: redact(url),
            source: e,
        };
        let mut client = Client::connect(url, NoTls).map_err(err)?;
        // The statements' plans do not depend on their values: plan each
        // once per connection rather than five times (PostgreSQL's default
        // before it settles on a generic plan). Where the server has no
        // such setting, its default stands.
        let _ = client.batch_execute("SET plan_cache_mode = force_generic_plan");
        create_schema(&mut client).map_err(err)?;
        let found: Option<i64> = client
            .query_opt("SELECT version FROM schema_version WHERE id = 0", &[])
            .map_err(err)?
            .map(|r| r.get(0));
        match found {
            Some(v) if v > SCHEMA_VERSION => {
                return Err(DbError::NewerSchema {
                    path: redact(url).into(),
                    found: v,
                });
            }
            Some(v) if v == SCHEMA_VERSION => {}
            // New (or, in time, older and migrated here).
            _ => {
                client
                    .execute(
                        "INSERT INTO schema_version (id, version) VALUES (0, $1)
                         ON CONFLICT (id) DO UPDATE SET version = excluded.version",
                        &[&SCHEMA_VERSION],
                    )
                    .map_err(err)?;
            }
        }
        let prepared = Prepared {
            cursor: client
                .prepare(&format!(
                    "SELECT c.restart_id, c.committed_ena,
                            COALESCE(r.latest_ereport > now() - INTERVAL '{} milliseconds', false)
                     FROM sp_cursor c LEFT JOIN sp_restarts r ON r.restart_id = c.restart_id
                     WHERE c.sp_name = $1",
                    RECENT_STORE.as_millis()
                ))
                .map_err(err)?,
            bodies: client
                .prepare(
                    "SELECT ena, body FROM ereports WHERE restart_id = $1 AND ena BETWEEN $2 AND $3",
                )
                .map_err(err)?,
            insert: client.prepare(INSERT_ROWS).map_err(err)?,
            store: client
                .prepare(&format!(
                    "WITH ins AS ({INSERT_ROWS}),
                     cur AS (INSERT INTO sp_cursor (sp_name, restart_id, committed_ena)
                             VALUES ($2, $1, $18)
                             ON CONFLICT (sp_name) DO UPDATE SET restart_id = excluded.restart_id,
                                                                 committed_ena = excluded.committed_ena
                             WHERE sp_cursor.restart_id <> excluded.restart_id
                                OR sp_cursor.committed_ena < excluded.committed_ena),
                     rs AS (UPDATE sp_restarts SET latest_ereport = now(), sp_name = $2
                            WHERE restart_id = $1)
                     SELECT ena FROM ins"
                ))
                .map_err(err)?,
        };
        Ok(PgDb {
            client: RefCell::new(client),
            url: url.to_string(),
            prepared,
        })
    }

    /// See [`Db::metadata`](crate::db::Db::metadata).
    pub fn metadata(&self, rid: RestartId) -> Result<Map<String, Json>, DbError> {
        let row = self
            .client
            .borrow_mut()
            .query_opt(
                "SELECT metadata FROM sp_restarts WHERE restart_id = $1",
                &[&rid.to_string()],
            )
            .map_err(|e| self.err(e))?;
        Ok(match row.map(|r| r.get::<_, Json>(0)) {
            Some(Json::Object(m)) => m,
            _ => Map::new(),
        })
    }

    /// See [`Db::save_restart`](crate::db::Db::save_restart).
    pub fn save_restart(
        &self,
        rid: RestartId,
        metadata: &Map<String, Json>,
    ) -> Result<(), DbError> {
        self.client
            .borrow_mut()
            .execute(
                "INSERT INTO sp_restarts (restart_id, metadata, first_seen) VALUES ($1, $2, $3)
                 ON CONFLICT (restart_id) DO UPDATE SET metadata = excluded.metadata",
                &[
                    &rid.to_string(),
                    &Json::Object(metadata.clone()),
                    &SystemTime::now(),
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// See [`Db::body`](crate::db::Db::body).
    pub fn body(&self, rid: RestartId, ena: Ena) -> Result<Option<Vec<u8>>, DbError> {
        Ok(self
            .client
            .borrow_mut()
            .query_opt(
                "SELECT body FROM ereports WHERE restart_id = $1 AND ena = $2",
                &[&rid.to_string(), &sql(ena.0)],
            )
            .map_err(|e| self.err(e))?
            .map(|r| r.get(0)))
    }

    /// See [`Db::bodies`](crate::db::Db::bodies).
    pub fn bodies(
        &self,
        rid: RestartId,
        first: Ena,
        last: Ena,
    ) -> Result<std::collections::BTreeMap<u64, Vec<u8>>, DbError> {
        let rows = self
            .client
            .borrow_mut()
            .query(
                &self.prepared.bodies,
                &[&rid.to_string(), &sql(first.0), &sql(last.0)],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows.iter().map(|r| (unsql(r.get(0)), r.get(1))).collect())
    }

    /// See [`Db::shared_cursor`](crate::db::Db::shared_cursor). Recency is
    /// judged by the server's clock, which also wrote it: collectors'
    /// clocks need not agree.
    pub fn shared_cursor(&self, sp: &str) -> Result<Option<SharedCursor>, DbError> {
        let row = self
            .client
            .borrow_mut()
            .query_opt(&self.prepared.cursor, &[&sp])
            .map_err(|e| self.err(e))?;
        Ok(row.and_then(|r| {
            let rid = u128::from_str_radix(&r.get::<_, String>(0), 16).ok()?;
            Some(SharedCursor {
                restart_id: RestartId(rid),
                committed: Ena(unsql(r.get(1))),
                recently_stored: r.get(2),
            })
        }))
    }

    /// See [`Db::covers`](crate::db::Db::covers).
    pub fn covers(&self, rid: RestartId, first: Ena, last: Ena) -> Result<bool, DbError> {
        let want = last.0.saturating_sub(first.0).saturating_add(1);
        let stored: i64 = self
            .client
            .borrow_mut()
            .query_one(
                "SELECT COUNT(*) FROM ereports WHERE restart_id = $1 AND ena BETWEEN $2 AND $3",
                &[&rid.to_string(), &sql(first.0), &sql(last.0)],
            )
            .map_err(|e| self.err(e))?
            .get(0);
        Ok(unsql(stored) >= want)
    }

    /// See [`Db::store`](crate::db::Db::store). The common case (no gap)
    /// is one statement, so one transaction and one round trip: the rows
    /// (those another collector stored are skipped, and do not come back
    /// from `RETURNING`), the cursor, and the restart's latest ereport.
    pub fn store(
        &self,
        sp: &SpRow,
        rid: RestartId,
        ereports: &[StoredEreport],
        gap: Option<Gap>,
        committed: Ena,
    ) -> Result<Vec<bool>, DbError> {
        let mut client = self.client.borrow_mut();
        let err = |e| DbError::Postgres {
            url: redact(&self.url),
            source: e,
        };
        let rid_text = rid.to_string();
        let now = SystemTime::now();
        let rows = RowValues::new(ereports);
        let committed_param = sql(committed.0);
        let slot = sp.slot.map(i64::from);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![
            &rid_text,
            &sp.name,
            &sp.kind,
            &slot,
            &sp.part_number,
            &sp.serial_number,
            &now,
            &sp.collector_id,
            &rows.enas,
            &rows.task_names,
            &rows.gens,
            &rows.uptimes,
            &rows.bodies,
            &rows.reports,
            &rows.invalid,
            &rows.catalog,
            &rows.classes,
        ];
        let fresh_enas: std::collections::BTreeSet<i64> = if !ereports.is_empty() && gap.is_none() {
            params.push(&committed_param);
            client
                .query(&self.prepared.store, &params)
                .map_err(err)?
                .iter()
                .map(|r| r.get::<_, i64>(0))
                .collect()
        } else {
            let mut tx = client.transaction().map_err(err)?;
            let fresh = if ereports.is_empty() {
                Default::default()
            } else {
                tx.query(&self.prepared.insert, &params)
                    .map_err(err)?
                    .iter()
                    .map(|r| r.get::<_, i64>(0))
                    .collect()
            };
            if let Some(g) = gap {
                tx.execute(
                    "INSERT INTO gaps (restart_id, sp_name, first_ena, last_ena, seen)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (restart_id, first_ena) DO NOTHING",
                    &[
                        &g.restart_id.to_string(),
                        &sp.name,
                        &sql(g.first.0),
                        &sql(g.last.0),
                        &now,
                    ],
                )
                .map_err(err)?;
            }
            tx.execute(
                "INSERT INTO sp_cursor (sp_name, restart_id, committed_ena) VALUES ($1, $2, $3)
                 ON CONFLICT (sp_name) DO UPDATE SET restart_id = excluded.restart_id,
                                                     committed_ena = excluded.committed_ena
                 WHERE sp_cursor.restart_id <> excluded.restart_id
                    OR sp_cursor.committed_ena < excluded.committed_ena",
                &[&sp.name, &rid_text, &sql(committed.0)],
            )
            .map_err(err)?;
            tx.execute(
                "UPDATE sp_restarts SET latest_ereport = now(), sp_name = $2 WHERE restart_id = $1",
                &[&rid_text, &sp.name],
            )
            .map_err(err)?;
            tx.commit().map_err(err)?;
            fresh
        };
        Ok(ereports
            .iter()
            .map(|e| fresh_enas.contains(&sql(e.ena.0)))
            .collect())
    }

    /// See [`Db::set_cursor`](crate::db::Db::set_cursor).
    pub fn set_cursor(&self, sp: &str, rid: RestartId, committed: Ena) -> Result<(), DbError> {
        self.client
            .borrow_mut()
            .execute(
                "INSERT INTO sp_cursor (sp_name, restart_id, committed_ena) VALUES ($1, $2, $3)
                 ON CONFLICT (sp_name) DO UPDATE SET restart_id = excluded.restart_id,
                                                     committed_ena = excluded.committed_ena",
                &[&sp, &rid.to_string(), &sql(committed.0)],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// See [`Db::gaps`](crate::db::Db::gaps).
    pub fn gaps(&self) -> Result<Vec<Gap>, DbError> {
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT restart_id, first_ena, last_ena FROM gaps ORDER BY seen, restart_id, first_ena",
                &[],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows
            .iter()
            .map(|r| Gap {
                restart_id: RestartId(
                    u128::from_str_radix(&r.get::<_, String>(0), 16).unwrap_or(0),
                ),
                first: Ena(unsql(r.get(1))),
                last: Ena(unsql(r.get(2))),
            })
            .collect())
    }

    /// Deletes up to `batch` ereports collected before `before`.
    pub fn delete_batch(&self, before: SystemTime, batch: i64) -> Result<u64, DbError> {
        self.client
            .borrow_mut()
            .execute(
                "DELETE FROM ereports WHERE (restart_id, ena) IN
                 (SELECT restart_id, ena FROM ereports WHERE time_collected < $1 LIMIT $2)",
                &[&before, &batch],
            )
            .map_err(|e| self.err(e))
    }

    /// Deletes gaps seen before `before`.
    pub fn delete_gaps(&self, before: SystemTime) -> Result<(), DbError> {
        self.client
            .borrow_mut()
            .execute("DELETE FROM gaps WHERE seen < $1", &[&before])
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// See [`Db::query`](crate::db::Db::query).
    pub fn query(&self, f: &crate::db::Filter, like: Option<&str>) -> Result<Vec<Json>, DbError> {
        let limit = i64::try_from(f.limit).unwrap_or(i64::MAX);
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT report, sp_name, class, time_collected FROM ereports
                 WHERE ($1::TEXT IS NULL OR sp_name = $1)
                   AND ($2::TEXT IS NULL OR class LIKE $2 ESCAPE '\\')
                   AND ($3::TEXT IS NULL OR restart_id = $3)
                   AND ($4::TIMESTAMPTZ IS NULL OR time_collected >= $4)
                   AND ($5::TIMESTAMPTZ IS NULL OR time_collected < $5)
                 ORDER BY time_collected DESC, restart_id, ena DESC LIMIT $6",
                &[&f.sp, &like, &f.restart_id, &f.since, &f.until, &limit],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows
            .iter()
            .map(|r| {
                let at: SystemTime = r.get(3);
                let ms = at
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()
                    .and_then(|d| i64::try_from(d.as_millis()).ok());
                crate::db::query_row(r.get(0), r.get(1), r.get(2), ms)
            })
            .collect())
    }

    /// See [`Db::summary`](crate::db::Db::summary).
    pub fn summary(&self) -> Result<Vec<(String, String, u64)>, DbError> {
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT COALESCE(sp_name, '?'), COALESCE(class, '?'), COUNT(*) FROM ereports
                 GROUP BY 1, 2 ORDER BY 1, 2",
                &[],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get(1), unsql(r.get(2))))
            .collect())
    }

    /// The client, for queries of its own.
    pub fn client(&self) -> std::cell::RefMut<'_, Client> {
        self.client.borrow_mut()
    }
}

/// Per-row values derived from the ereports (ENAs and times as `INT8`,
/// classes), owned so the parameters can borrow them.
/// The per-row columns of a store, one array each, borrowing the
/// ereports' names and bodies.
struct RowValues<'a> {
    enas: Vec<i64>,
    task_names: Vec<&'a str>,
    gens: Vec<i64>,
    uptimes: Vec<i64>,
    bodies: Vec<&'a [u8]>,
    reports: Vec<String>,
    invalid: Vec<Option<&'a str>>,
    catalog: Vec<Option<&'a str>>,
    classes: Vec<Option<String>>,
}

impl<'a> RowValues<'a> {
    fn new(ereports: &'a [StoredEreport]) -> Self {
        RowValues {
            enas: ereports.iter().map(|e| sql(e.ena.0)).collect(),
            task_names: ereports.iter().map(|e| e.task_name.as_str()).collect(),
            gens: ereports.iter().map(|e| i64::from(e.task_gen)).collect(),
            uptimes: ereports.iter().map(|e| sql(e.uptime_ms)).collect(),
            bodies: ereports.iter().map(|e| e.body.as_slice()).collect(),
            reports: ereports.iter().map(|e| e.json.to_string()).collect(),
            invalid: ereports
                .iter()
                .map(|e| e.invalid_error.as_deref())
                .collect(),
            catalog: ereports
                .iter()
                .map(|e| e.catalog_error.as_deref())
                .collect(),
            classes: ereports.iter().map(row_class).collect(),
        }
    }
}

/// Creates the tables that are missing. `CREATE TABLE IF NOT EXISTS` is
/// not safe against itself: two collectors starting together on a new
/// database can both find a table missing, and the second to create it
/// fails on the catalog's unique index. The creation is one transaction,
/// so a failed one left nothing behind; the next attempt finds the other
/// collector's tables.
fn create_schema(client: &mut Client) -> Result<(), postgres::Error> {
    use postgres::error::SqlState;
    let mut attempts = 0;
    loop {
        match client.batch_execute(SCHEMA) {
            Err(e)
                if attempts < 5
                    && matches!(
                        e.code(),
                        Some(&SqlState::UNIQUE_VIOLATION)
                            | Some(&SqlState::DUPLICATE_TABLE)
                            | Some(&SqlState::DUPLICATE_OBJECT)
                    ) =>
            {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// A connection string without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Whether `target` names a PostgreSQL database rather than a file.
pub fn is_postgres(target: &str) -> bool {
    target.starts_with("postgres://")
        || target.starts_with("postgresql://")
        || target.starts_with("host=")
}
