//! The SQLite store: one file, one connection per collector (shared by
//! its SPs' sessions; SQLite runs one writer at a time anyway), in WAL
//! mode so `query` and `summary` read beside a collector writing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use ereport_host::{Gap, StoredEreport};
use ereport_sdk::{Ena, RestartId};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde_json::{Map, Value as Json};

use super::migrations::{self, Dialect, HISTORY_TABLE, LATEST, LEGACY_LATEST};
use super::{
    DbError, EreportStore, Filter, RECENT_STORE, RETENTION_BATCH, RestartRow, STORED_ROW_COLUMNS,
    SharedCursor, SpRow, StoredRow, SummaryRow, check_cutoff, gap_kind, gap_kind_text,
    is_durable_path, now_ms, parse_restart_id, parse_rid, rid_text, sql, unix_ms, unsql,
};
use uuid::Uuid;

/// A SQLite database file.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    path: String,
}

/// The cursor upsert after a store: forward only within a restart, so a
/// collector that stored less than another does not move the shared
/// cursor back (which would have every collector fetch those ENAs again).
/// A new restart id always replaces it.
const CURSOR_ADVANCE: &str =
    "INSERT INTO sp_cursor (sp_name, restart_id, committed_ena) VALUES (?1, ?2, ?3)
     ON CONFLICT (sp_name) DO UPDATE SET restart_id = excluded.restart_id,
                                         committed_ena = excluded.committed_ena
     WHERE sp_cursor.restart_id <> excluded.restart_id
        OR sp_cursor.committed_ena < excluded.committed_ena";

/// The schema version of an open database: the history's newest, else the
/// legacy `user_version` (0: no gateway tables at all); and whether it is
/// a legacy one.
fn version_of(conn: &Connection) -> rusqlite::Result<(i64, bool)> {
    let history: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [HISTORY_TABLE],
        |r| r.get(0),
    )?;
    if history {
        conn.query_row(
            &format!("SELECT COALESCE(MAX(version), 0) FROM {HISTORY_TABLE}"),
            [],
            |r| Ok((r.get(0)?, false)),
        )
    } else {
        conn.query_row("PRAGMA user_version", [], |r| Ok((r.get(0)?, true)))
    }
}

/// The schema version of an open database (see [`version_of`]).
#[cfg(test)]
fn version(conn: &Connection) -> rusqlite::Result<i64> {
    version_of(conn).map(|(v, _)| v)
}

impl SqliteStore {
    /// Opens the file at `path`: to write (created if missing, schema
    /// created or migrated) or, with `read_only`, to read an existing
    /// database of this gateway's schema.
    pub fn open(path: &Path, read_only: bool) -> Result<Self, DbError> {
        let text = path.to_string_lossy().into_owned();
        if !is_durable_path(&text) {
            return Err(DbError::NotDurable(text));
        }
        let err = |source| DbError::Sqlite {
            path: text.clone(),
            source,
        };
        let conn = if read_only {
            if !path.exists() {
                return Err(DbError::Missing(text));
            }
            Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(err)?
        } else {
            Connection::open(path).map_err(err)?
        };
        // Collectors' threads and processes share the file: wait for each
        // other's transactions rather than fail.
        conn.busy_timeout(Duration::from_secs(30)).map_err(err)?;
        let (found, legacy) = version_of(&conn).map_err(err)?;
        // A legacy version past the last legacy one was written by no
        // gateway this one knows.
        if found > LATEST || (legacy && found > LEGACY_LATEST) {
            return Err(DbError::NewerSchema { db: text, found });
        }
        if read_only {
            if found < LATEST {
                return Err(DbError::OlderSchema { db: text, found });
            }
        } else {
            // Readers run beside a writer.
            conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
                .map_err(err)?;
            let mut conn = conn;
            if (1..=LEGACY_LATEST).contains(&found) {
                migrations::sqlite_legacy_upgrade(&conn).map_err(err)?;
            }
            migrations::runner(Dialect::Sqlite)
                .and_then(|r| r.run(&mut conn))
                .map_err(|source| DbError::Migration {
                    db: text.clone(),
                    source,
                })?;
            return Ok(SqliteStore {
                conn: Mutex::new(conn),
                path: text,
            });
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            path: text,
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A session that panicked mid-statement left no transaction open
        // (rusqlite rolls back on drop): the connection is still good.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn err(&self, source: rusqlite::Error) -> DbError {
        DbError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }
}

impl EreportStore for SqliteStore {
    fn name(&self) -> &str {
        &self.path
    }

    fn metadata(&self, rid: RestartId) -> Result<Map<String, Json>, DbError> {
        let meta: Option<String> = self
            .conn()
            .query_row(
                "SELECT metadata FROM sp_restarts WHERE restart_id = ?1",
                [rid_text(rid)],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(match meta.and_then(|m| serde_json::from_str(&m).ok()) {
            Some(Json::Object(m)) => m,
            _ => Map::new(),
        })
    }

    fn save_restart(&self, rid: RestartId, metadata: &Map<String, Json>) -> Result<(), DbError> {
        self.conn()
            .execute(
                "INSERT INTO sp_restarts (restart_id, reporter, metadata, first_seen)
                 VALUES (?1, 'sp', ?2, ?3)
                 ON CONFLICT (restart_id) DO UPDATE SET metadata = excluded.metadata",
                params![
                    rid_text(rid),
                    Json::Object(metadata.clone()).to_string(),
                    now_ms()
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn bodies(
        &self,
        rid: RestartId,
        first: Ena,
        last: Ena,
    ) -> Result<BTreeMap<u64, Vec<u8>>, DbError> {
        let conn = self.conn();
        let mut st = conn
            .prepare_cached(
                "SELECT ena, body FROM ereport WHERE restart_id = ?1 AND ena BETWEEN ?2 AND ?3",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![rid_text(rid), sql(first.0), sql(last.0)], |r| {
                Ok((unsql(r.get(0)?), r.get(1)?))
            })
            .map_err(|e| self.err(e))?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (ena, body) = row.map_err(|e| self.err(e))?;
            out.insert(ena, body);
        }
        Ok(out)
    }

    fn shared_cursor(&self, sp: &str) -> Result<Option<SharedCursor>, DbError> {
        let conn = self.conn();
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
            .prepare_cached("SELECT latest_ereport FROM sp_restarts WHERE restart_id = ?1")
            .and_then(|mut st| st.query_row([&rid], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))?
            .flatten();
        let recent = i64::try_from(RECENT_STORE.as_millis()).unwrap_or(i64::MAX);
        Ok(parse_restart_id(&rid).ok().map(|rid| SharedCursor {
            restart_id: rid,
            committed: Ena(unsql(ena)),
            recently_stored: latest.is_some_and(|t| now_ms().saturating_sub(t) < recent),
        }))
    }

    fn covers(&self, rid: RestartId, first: Ena, last: Ena) -> Result<bool, DbError> {
        let want = last.0.saturating_sub(first.0).saturating_add(1);
        let stored: i64 = self
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM ereport WHERE restart_id = ?1 AND ena BETWEEN ?2 AND ?3",
                params![rid_text(rid), sql(first.0), sql(last.0)],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(unsql(stored) >= want)
    }

    fn store(
        &self,
        sp: &SpRow,
        rid: RestartId,
        ereports: &[StoredEreport],
        gap: Option<Gap>,
        committed: Ena,
    ) -> Result<Vec<bool>, DbError> {
        let mut conn = self.conn();
        let err = |source| DbError::Sqlite {
            path: self.path.clone(),
            source,
        };
        let tx = conn.transaction().map_err(err)?;
        let mut fresh = Vec::with_capacity(ereports.len());
        let now = now_ms();
        let rid_text = rid_text(rid);
        let collector = sp.collector_id.hyphenated().to_string();
        let rack = sp.rack_id.map(|r| r.hyphenated().to_string());
        let slot = sp.slot_int4();
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO ereport
                     (restart_id, ena, task_name, task_gen, uptime_ms, body, report, invalid_error,
                      catalog_error, sp_name, reporter, sp_type, sp_slot, part_number,
                      serial_number, class, time_collected, collector_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'sp', ?11, ?12, ?13, ?14, ?15,
                             ?16, ?17)",
                )
                .map_err(err)?;
            for e in ereports {
                let n = insert
                    .execute(params![
                        rid_text,
                        sql(e.ena.0),
                        e.task_name,
                        e.task_gen,
                        sql(e.uptime_ms),
                        e.body,
                        e.report.to_string(),
                        e.invalid_error,
                        e.catalog_error,
                        sp.name,
                        sp.kind,
                        slot,
                        sp.part_number,
                        sp.serial_number,
                        e.class(),
                        now,
                        collector,
                    ])
                    .map_err(err)?;
                fresh.push(n == 1);
            }
        }
        if let Some(g) = gap {
            tx.execute(
                "INSERT OR IGNORE INTO gaps (restart_id, sp_name, first_ena, last_ena, seen, kind)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    super::rid_text(g.restart_id),
                    sp.name,
                    sql(g.first.0),
                    sql(g.last.0),
                    now,
                    gap_kind_text(&g)
                ],
            )
            .map_err(err)?;
        }
        // Prepared once per connection, as the insert is: parsing them
        // again for every response was a measurable part of a store.
        tx.prepare_cached(CURSOR_ADVANCE)
            .and_then(|mut st| st.execute(params![sp.name, rid_text, sql(committed.0)]))
            .map_err(err)?;
        tx.prepare_cached(
            "UPDATE sp_restarts SET latest_ereport = ?2, sp_name = ?3, sp_type = ?4, sp_slot = ?5,
                                    rack_id = ?6
             WHERE restart_id = ?1",
        )
        .and_then(|mut st| st.execute(params![rid_text, now, sp.name, sp.kind, slot, rack]))
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(fresh)
    }

    fn set_cursor(&self, sp: &str, rid: RestartId, committed: Ena) -> Result<(), DbError> {
        self.conn()
            .execute(
                "INSERT INTO sp_cursor (sp_name, restart_id, committed_ena) VALUES (?1, ?2, ?3)
                 ON CONFLICT (sp_name) DO UPDATE SET restart_id = excluded.restart_id,
                                                     committed_ena = excluded.committed_ena",
                params![sp, rid_text(rid), sql(committed.0)],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn claim(&self, sp: &str, collector: Uuid, ttl: Duration) -> Result<bool, DbError> {
        let now = now_ms();
        let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let held: Option<String> = self
            .conn()
            .prepare_cached(
                "INSERT INTO sp_leases (sp_name, collector_id, expires) VALUES (?1, ?2, ?3)
                 ON CONFLICT (sp_name) DO UPDATE SET collector_id = excluded.collector_id,
                                                     expires = excluded.expires
                 WHERE sp_leases.collector_id = excluded.collector_id
                    OR sp_leases.expires < ?4
                 RETURNING collector_id",
            )
            .and_then(|mut st| {
                st.query_row(
                    params![
                        sp,
                        collector.hyphenated().to_string(),
                        now.saturating_add(ttl),
                        now
                    ],
                    |r| r.get(0),
                )
                .optional()
            })
            .map_err(|e| self.err(e))?;
        Ok(held.is_some())
    }

    fn release(&self, sp: &str, collector: Uuid) -> Result<(), DbError> {
        self.conn()
            .execute(
                "DELETE FROM sp_leases WHERE sp_name = ?1 AND collector_id = ?2",
                params![sp, collector.hyphenated().to_string()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn gaps(&self) -> Result<Vec<Gap>, DbError> {
        let conn = self.conn();
        let mut st = conn
            .prepare("SELECT restart_id, first_ena, last_ena, kind FROM gaps ORDER BY rowid")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (rid, first, last, kind) = row.map_err(|e| self.err(e))?;
            out.push(Gap {
                restart_id: parse_rid(&rid),
                first: Ena(unsql(first)),
                last: Ena(unsql(last)),
                kind: gap_kind(&kind),
            });
        }
        Ok(out)
    }

    fn retain(&self, before: SystemTime) -> Result<u64, DbError> {
        check_cutoff(before, SystemTime::now())?;
        let cutoff = unix_ms(before);
        let marked = self.batches(
            "UPDATE ereport SET time_deleted = ?3 WHERE rowid IN
             (SELECT rowid FROM ereport
              WHERE time_deleted IS NULL AND time_collected < ?1 LIMIT ?2)",
            cutoff,
        )?;
        self.conn()
            .execute("DELETE FROM gaps WHERE seen < ?1", [cutoff])
            .map_err(|e| self.err(e))?;
        Ok(marked)
    }

    fn purge(&self, deleted_before: SystemTime) -> Result<u64, DbError> {
        check_cutoff(deleted_before, SystemTime::now())?;
        self.batches(
            "DELETE FROM ereport WHERE rowid IN
             (SELECT rowid FROM ereport WHERE time_deleted < ?1 LIMIT ?2)
             AND ?3 IS NOT NULL",
            unix_ms(deleted_before),
        )
    }

    fn query(&self, filter: &Filter) -> Result<Vec<StoredRow>, DbError> {
        let glob = filter.class_glob.as_deref().map(glob_to_sqlite);
        let conn = self.conn();
        let mut st = conn
            .prepare(&format!(
                "SELECT {STORED_ROW_COLUMNS} FROM ereport
                 WHERE time_deleted IS NULL
                   AND (?1 IS NULL OR sp_name = ?1)
                   AND (?2 IS NULL OR class GLOB ?2)
                   AND (?3 IS NULL OR restart_id = ?3)
                   AND (?4 IS NULL OR time_collected >= ?4)
                   AND (?5 IS NULL OR time_collected < ?5)
                   AND (?7 IS NULL OR serial_number = ?7)
                   AND (?8 IS NULL OR part_number = ?8)
                   AND (?9 IS NULL OR sp_type = ?9)
                   AND (?10 IS NULL OR sp_slot = ?10)
                 ORDER BY time_collected DESC, restart_id, ena DESC LIMIT ?6"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(
                params![
                    filter.sp,
                    glob,
                    filter.restart_id.map(rid_text),
                    filter.since.map(unix_ms),
                    filter.until.map(unix_ms),
                    i64::try_from(filter.limit).unwrap_or(i64::MAX),
                    filter.serial_number,
                    filter.part_number,
                    filter.sp_type,
                    filter.slot,
                ],
                stored_row,
            )
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    fn info(&self, rid: RestartId, ena: Ena) -> Result<Option<StoredRow>, DbError> {
        self.conn()
            .query_row(
                &format!(
                    "SELECT {STORED_ROW_COLUMNS} FROM ereport WHERE restart_id = ?1 AND ena = ?2"
                ),
                params![rid_text(rid), sql(ena.0)],
                stored_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    fn restart(&self, rid: RestartId) -> Result<Option<RestartRow>, DbError> {
        self.conn()
            .query_row(
                "SELECT reporter, sp_type, sp_slot, rack_id, sp_name, metadata, first_seen,
                        latest_ereport
                 FROM sp_restarts WHERE restart_id = ?1",
                [rid_text(rid)],
                |r| {
                    Ok(RestartRow {
                        restart_id: rid,
                        reporter: r.get(0)?,
                        sp_type: r.get(1)?,
                        sp_slot: r.get(2)?,
                        rack_id: r
                            .get::<_, Option<String>>(3)?
                            .and_then(|t| Uuid::try_parse(&t).ok()),
                        sp_name: r.get(4)?,
                        metadata: match serde_json::from_str(&r.get::<_, String>(5)?) {
                            Ok(Json::Object(m)) => m,
                            _ => Map::new(),
                        },
                        first_seen_ms: r.get(6)?,
                        latest_ereport_ms: r.get(7)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    fn summary(&self) -> Result<Vec<SummaryRow>, DbError> {
        let conn = self.conn();
        let mut st = conn
            .prepare(
                "SELECT COALESCE(sp_name, '?'), COALESCE(class, '?'), COUNT(*) FROM ereport
                 WHERE time_deleted IS NULL GROUP BY 1, 2 ORDER BY 1, 2",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(SummaryRow {
                    sp: r.get(0)?,
                    class: r.get(1)?,
                    count: unsql(r.get(2)?),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}

impl SqliteStore {
    /// Runs `statement` (a cutoff as `?1`, the batch size as `?2`, now as
    /// `?3`) until it changes fewer than [`RETENTION_BATCH`] rows; returns
    /// how many it changed in all.
    fn batches(&self, statement: &str, cutoff: i64) -> Result<u64, DbError> {
        let mut total = 0u64;
        loop {
            let n = self
                .conn()
                .execute(statement, params![cutoff, RETENTION_BATCH, now_ms()])
                .map_err(|e| self.err(e))? as u64;
            total += n;
            if n < RETENTION_BATCH as u64 {
                return Ok(total);
            }
        }
    }
}

/// A class glob (`*`, `?`) as a SQLite `GLOB` pattern, which is
/// case-sensitive as PostgreSQL's `LIKE` is (SQLite's `LIKE` is not):
/// `[` and `]`, GLOB's own wildcards, match themselves.
fn glob_to_sqlite(glob: &str) -> String {
    let mut out = String::with_capacity(glob.len());
    for c in glob.chars() {
        match c {
            '[' => out.push_str("[[]"),
            ']' => out.push_str("[]]"),
            c => out.push(c),
        }
    }
    out
}

/// A [`StoredRow`] from a row of [`STORED_ROW_COLUMNS`].
fn stored_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredRow> {
    let uuid = |i: usize| -> rusqlite::Result<Option<Uuid>> {
        Ok(r.get::<_, Option<String>>(i)?
            .and_then(|t| Uuid::try_parse(&t).ok()))
    };
    Ok(StoredRow {
        restart_id: parse_rid(&r.get::<_, String>(0)?),
        ena: unsql(r.get(1)?),
        time_collected_ms: r.get(2)?,
        time_deleted_ms: r.get(3)?,
        collector_id: uuid(4)?,
        reporter: r.get(5)?,
        sp_type: r.get(6)?,
        sp_slot: r.get(7)?,
        sp_name: r.get(8)?,
        serial_number: r.get(9)?,
        part_number: r.get(10)?,
        class: r.get(11)?,
        marked_seen_in: uuid(12)?,
        task_name: r.get(13)?,
        task_gen: r.get(14)?,
        uptime_ms: unsql(r.get(15)?),
        invalid_error: r.get(16)?,
        catalog_error: r.get(17)?,
        report: serde_json::from_str(&r.get::<_, String>(18)?).unwrap_or(Json::Null),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(rid: RestartId, ena: u64) -> StoredEreport {
        StoredEreport {
            restart_id: rid,
            ena: Ena(ena),
            task_name: "t".into(),
            task_gen: 0,
            uptime_ms: ena,
            body: vec![0xa0],
            report: serde_json::json!({}),
            invalid_error: None,
            catalog_error: None,
        }
    }

    #[test]
    fn in_memory_databases_are_refused() {
        for p in ["", " ", ":memory:", "file::memory:", "file:x?mode=memory"] {
            assert!(!is_durable_path(p), "{p:?}");
            assert!(matches!(
                SqliteStore::open(Path::new(p), false),
                Err(DbError::NotDurable(_))
            ));
        }
        assert!(is_durable_path("ereports.sqlite"));
    }

    #[test]
    fn the_shared_cursor_moves_forward_only_within_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteStore::open(&dir.path().join("db.sqlite"), false).unwrap();
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
        let path = dir.path().join("db.sqlite");
        let db = SqliteStore::open(&path, false).unwrap();
        let sp = SpRow {
            name: "sled-1".into(),
            ..SpRow::default()
        };
        let rid = RestartId(0xc);
        db.save_restart(rid, &Map::new()).unwrap();
        db.store(&sp, rid, &[row(rid, 1)], None, Ena(1)).unwrap();
        assert!(db.shared_cursor("sled-1").unwrap().unwrap().recently_stored);
        let conn = Connection::open(&path).unwrap();
        let (name, first_seen): (String, i64) = conn
            .query_row(
                "SELECT sp_name, first_seen FROM sp_restarts WHERE restart_id = ?1",
                [rid_text(rid)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(name, "sled-1");
        assert!(first_seen > 0);
        conn.execute(
            "UPDATE sp_restarts SET latest_ereport = latest_ereport - 1000",
            [],
        )
        .unwrap();
        assert!(!db.shared_cursor("sled-1").unwrap().unwrap().recently_stored);
    }

    #[test]
    fn a_version_1_database_is_upgraded_with_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE ereports (restart_id TEXT NOT NULL, ena INTEGER NOT NULL,
                task_name TEXT NOT NULL, task_gen INTEGER NOT NULL, uptime_ms INTEGER NOT NULL,
                body BLOB NOT NULL, json TEXT NOT NULL, invalid_error TEXT,
                PRIMARY KEY (restart_id, ena));
             CREATE TABLE cursor (id INTEGER PRIMARY KEY, restart_id TEXT NOT NULL,
                committed_ena INTEGER NOT NULL);
             INSERT INTO cursor VALUES (0, '01', 1);
             INSERT INTO ereports VALUES ('01', 1, 't', 0, 0, x'a0', '{\"k\":\"x\"}', NULL);
             PRAGMA user_version = 1;",
        )
        .unwrap();
        drop(c);
        let db = SqliteStore::open(&path, false).unwrap();
        assert_eq!(
            db.committed(crate::store::DEFAULT_SP_NAME).unwrap(),
            Some((RestartId(1), Ena(1)))
        );
        let c = Connection::open(&path).unwrap();
        assert_eq!(version(&c).unwrap(), LATEST);
        let report: String = c
            .query_row(
                "SELECT report FROM ereport WHERE catalog_error IS NULL AND sp_name = 'sp'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(report, "{\"k\":\"x\"}");
        // Opened again: nothing left to do, nothing lost.
        drop(db);
        let db = SqliteStore::open(&path, false).unwrap();
        assert_eq!(db.summary().unwrap().len(), 1);
    }

    #[test]
    fn newer_schemas_are_refused_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        drop(SqliteStore::open(&path, false).unwrap());
        Connection::open(&path)
            .unwrap()
            .execute_batch(&format!(
                "INSERT INTO {HISTORY_TABLE} (version, name, applied_on, checksum)
                 VALUES (99, 'from_the_future', '', '0')"
            ))
            .unwrap();
        for read_only in [false, true] {
            assert!(matches!(
                SqliteStore::open(&path, read_only),
                Err(DbError::NewerSchema { found: 99, .. })
            ));
        }
        // A legacy database from after version 4 is refused too.
        let legacy = dir.path().join("legacy.sqlite");
        Connection::open(&legacy)
            .unwrap()
            .execute_batch("PRAGMA user_version = 7")
            .unwrap();
        assert!(matches!(
            SqliteStore::open(&legacy, false),
            Err(DbError::NewerSchema { found: 7, .. })
        ));
    }

    #[test]
    fn reading_creates_nothing_and_needs_no_write_access() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("mistyped.sqlite");
        assert!(matches!(
            SqliteStore::open(&missing, true),
            Err(DbError::Missing(_))
        ));
        assert!(!missing.exists());
        let path = dir.path().join("db.sqlite");
        drop(SqliteStore::open(&path, false).unwrap());
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&path, perms).unwrap();
        let db = SqliteStore::open(&path, true).unwrap();
        assert!(db.summary().unwrap().is_empty());
        // An empty file is no gateway database: it says so rather than
        // reporting no ereports.
        let empty = dir.path().join("empty.sqlite");
        std::fs::write(&empty, b"").unwrap();
        assert!(matches!(
            SqliteStore::open(&empty, true),
            Err(DbError::OlderSchema { found: 0, .. })
        ));
    }

    #[test]
    fn a_claim_is_exclusive_until_it_expires_or_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteStore::open(&dir.path().join("db.sqlite"), false).unwrap();
        let long = Duration::from_secs(3600);
        let (a, b) = (Uuid::from_u128(0xa), Uuid::from_u128(0xb));
        assert!(db.claim("sled-0", a, long).unwrap());
        assert!(!db.claim("sled-0", b, long).unwrap(), "a holds it");
        assert!(db.claim("sled-0", a, long).unwrap(), "renewed");
        assert!(db.claim("sled-1", b, long).unwrap(), "another SP");
        db.release("sled-0", b).unwrap();
        assert!(!db.claim("sled-0", b, long).unwrap(), "b held nothing");
        db.release("sled-0", a).unwrap();
        assert!(db.claim("sled-0", b, long).unwrap(), "released");
        // An expired claim is anyone's.
        assert!(db.claim("sled-2", a, Duration::ZERO).unwrap());
        let conn = Connection::open(dir.path().join("db.sqlite")).unwrap();
        conn.execute("UPDATE sp_leases SET expires = expires - 10", [])
            .unwrap();
        assert!(db.claim("sled-2", b, long).unwrap(), "expired");
    }

    #[test]
    fn retention_refuses_cutoffs_it_cannot_mean() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteStore::open(&dir.path().join("db.sqlite"), false).unwrap();
        let sp = SpRow::default();
        let rid = RestartId(1);
        db.save_restart(rid, &Map::new()).unwrap();
        db.store(&sp, rid, &[row(rid, 1)], None, Ena(1)).unwrap();
        let future = SystemTime::now() + Duration::from_secs(3600);
        assert!(matches!(db.retain(future), Err(DbError::Cutoff(_))));
        assert!(matches!(
            db.retain(std::time::UNIX_EPOCH),
            Err(DbError::Cutoff(_))
        ));
        assert_eq!(db.summary().unwrap()[0].count, 1, "nothing was deleted");
    }

    #[test]
    fn retention_marks_rows_deleted_and_purge_removes_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let db = SqliteStore::open(&path, false).unwrap();
        let sp = SpRow {
            name: "sled-3".into(),
            kind: Some("sled".into()),
            slot: Some(3),
            ..SpRow::default()
        };
        let rid = RestartId(0x5f3c);
        db.save_restart(rid, &Map::new()).unwrap();
        let rows: Vec<_> = (1..=5).map(|e| row(rid, e)).collect();
        db.store(&sp, rid, &rows, None, Ena(5)).unwrap();
        let conn = Connection::open(&path).unwrap();
        // ENAs 1 to 3 were collected two days ago.
        conn.execute(
            "UPDATE ereport SET time_collected = time_collected - 2 * 86400000 WHERE ena <= 3",
            [],
        )
        .unwrap();
        let day_ago = SystemTime::now() - Duration::from_secs(86_400);
        assert_eq!(db.retain(day_ago).unwrap(), 3);
        assert_eq!(db.retain(day_ago).unwrap(), 0, "already marked");
        let all = Filter {
            limit: 100,
            ..Filter::default()
        };
        let left: Vec<u64> = db.query(&all).unwrap().iter().map(|r| r.ena).collect();
        assert_eq!(left, [5, 4]);
        assert_eq!(db.summary().unwrap()[0].count, 2);
        // Still there, and shown by info as deleted.
        let gone = db.info(rid, Ena(2)).unwrap().unwrap();
        assert!(gone.time_deleted_ms.is_some());
        assert_eq!(gone.sp_type.as_deref(), Some("sled"));
        assert_eq!(gone.sp_slot, Some(3));
        // Purge takes only what was marked long enough ago.
        assert_eq!(db.purge(day_ago).unwrap(), 0);
        conn.execute(
            "UPDATE ereport SET time_deleted = time_deleted - 2 * 86400000
             WHERE time_deleted IS NOT NULL",
            [],
        )
        .unwrap();
        assert_eq!(db.purge(day_ago).unwrap(), 3);
        assert!(db.info(rid, Ena(2)).unwrap().is_none());
        assert!(db.info(rid, Ena(4)).unwrap().is_some());
        let future = SystemTime::now() + Duration::from_secs(60);
        assert!(matches!(db.purge(future), Err(DbError::Cutoff(_))));
    }

    #[test]
    fn class_globs_are_case_sensitive_and_brackets_are_literal() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteStore::open(&dir.path().join("db.sqlite"), false).unwrap();
        let rid = RestartId(7);
        db.save_restart(rid, &Map::new()).unwrap();
        let mut rows = Vec::new();
        for (ena, class) in [(1, "hw.pwr.x"), (2, "HW.PWR.X"), (3, "hw.[a]")] {
            let mut r = row(rid, ena);
            r.report = serde_json::json!({ "k": class });
            rows.push(r);
        }
        db.store(&SpRow::default(), rid, &rows, None, Ena(3))
            .unwrap();
        let matching = |glob: &str| -> Vec<u64> {
            db.query(&Filter {
                class_glob: Some(glob.into()),
                limit: 10,
                ..Filter::default()
            })
            .unwrap()
            .iter()
            .map(|r| r.ena)
            .collect()
        };
        assert_eq!(matching("hw.pwr.*"), [1]);
        assert_eq!(matching("HW.*"), [2]);
        assert_eq!(matching("hw.[a]"), [3]);
        assert_eq!(matching("hw.?a?"), [3]);
    }

    #[test]
    fn a_version_6_database_is_migrated_to_the_control_planes_shapes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v6.sqlite");
        let mut c = Connection::open(&path).unwrap();
        // Version 6 exactly as a gateway of that schema left it.
        let runner = migrations::runner(Dialect::Sqlite)
            .unwrap()
            .set_target(refinery::Target::Version(6));
        runner.run(&mut c).unwrap();
        c.execute_batch(
            "INSERT INTO sp_restarts (restart_id, metadata, sp_name, first_seen)
                 VALUES ('0123456789abcdef0123456789abcdef', '{\"baseboard_serial_number\":\"S1\"}', 'sled-0', 1);
             INSERT INTO ereports (restart_id, ena, sp_name, sp_kind, sp_slot, serial_number, class,
                                   time_collected, collector_id, task_name, task_gen, uptime_ms,
                                   body, report)
                 VALUES ('0123456789abcdef0123456789abcdef', 4, 'sled-0', 'sled', 12, 'S1', 'hw.x',
                         1000, 'collector-42', 't', 1, 2, x'a0', '{\"k\":\"hw.x\"}');
             INSERT INTO sp_cursor VALUES ('sled-0', '0123456789abcdef0123456789abcdef', 4);
             INSERT INTO gaps (restart_id, sp_name, first_ena, last_ena, seen)
                 VALUES ('0123456789abcdef0123456789abcdef', 'sled-0', 1, 3, 5);",
        )
        .unwrap();
        drop(c);
        let db = SqliteStore::open(&path, false).unwrap();
        let rid = RestartId(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert_eq!(db.committed("sled-0").unwrap(), Some((rid, Ena(4))));
        let row = db.info(rid, Ena(4)).unwrap().expect("the row came across");
        assert_eq!(row.reporter, "sp");
        assert_eq!(row.sp_type.as_deref(), Some("sled"));
        assert_eq!(row.sp_slot, Some(12));
        assert_eq!(row.serial_number.as_deref(), Some("S1"));
        assert_eq!(row.report, serde_json::json!({"k": "hw.x"}));
        assert!(row.collector_id.is_some(), "the old collector id as a UUID");
        assert_eq!(db.gaps().unwrap()[0].restart_id, rid);
        let restart = db.restart(rid).unwrap().unwrap();
        assert_eq!(restart.metadata["baseboard_serial_number"], "S1");
        let c = Connection::open(&path).unwrap();
        assert_eq!(version(&c).unwrap(), LATEST);
        let stored: String = c
            .query_row("SELECT restart_id FROM ereport", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, "01234567-89ab-cdef-0123-456789abcdef");
    }
}
