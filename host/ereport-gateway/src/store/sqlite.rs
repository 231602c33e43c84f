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
    DbError, EreportStore, Filter, RECENT_STORE, RETENTION_BATCH, SharedCursor, SpRow, SummaryRow,
    check_cutoff, gap_kind, gap_kind_text, glob_to_like, is_durable_path, now_ms, parse_rid,
    query_row, row_class, sql, unix_ms, unsql,
};

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
/// legacy `user_version` (0: no gateway tables at all).
fn version(conn: &Connection) -> rusqlite::Result<i64> {
    let history: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [HISTORY_TABLE],
        |r| r.get(0),
    )?;
    if history {
        conn.query_row(
            &format!("SELECT COALESCE(MAX(version), 0) FROM {HISTORY_TABLE}"),
            [],
            |r| r.get(0),
        )
    } else {
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))
    }
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
        let found = version(&conn).map_err(err)?;
        if found > LATEST {
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

    fn save_restart(&self, rid: RestartId, metadata: &Map<String, Json>) -> Result<(), DbError> {
        self.conn()
            .execute(
                "INSERT INTO sp_restarts (restart_id, metadata, first_seen) VALUES (?1, ?2, ?3)
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

    fn bodies(
        &self,
        rid: RestartId,
        first: Ena,
        last: Ena,
    ) -> Result<BTreeMap<u64, Vec<u8>>, DbError> {
        let conn = self.conn();
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
        Ok(u128::from_str_radix(&rid, 16).ok().map(|rid| SharedCursor {
            restart_id: RestartId(rid),
            committed: Ena(unsql(ena)),
            recently_stored: latest.is_some_and(|t| now_ms().saturating_sub(t) < recent),
        }))
    }

    fn covers(&self, rid: RestartId, first: Ena, last: Ena) -> Result<bool, DbError> {
        let want = last.0.saturating_sub(first.0).saturating_add(1);
        let stored: i64 = self
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM ereports WHERE restart_id = ?1 AND ena BETWEEN ?2 AND ?3",
                params![rid.to_string(), sql(first.0), sql(last.0)],
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
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO ereports
                     (restart_id, ena, task_name, task_gen, uptime_ms, body, report, invalid_error,
                      catalog_error, sp_name, sp_kind, sp_slot, part_number, serial_number, class,
                      time_collected, collector_id)
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
                        now,
                        sp.collector_id,
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
                    g.restart_id.to_string(),
                    sp.name,
                    sql(g.first.0),
                    sql(g.last.0),
                    now,
                    gap_kind_text(&g)
                ],
            )
            .map_err(err)?;
        }
        tx.execute(
            CURSOR_ADVANCE,
            params![sp.name, rid.to_string(), sql(committed.0)],
        )
        .map_err(err)?;
        tx.execute(
            "UPDATE sp_restarts SET latest_ereport = ?2, sp_name = ?3 WHERE restart_id = ?1",
            params![rid.to_string(), now, sp.name],
        )
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
                params![sp, rid.to_string(), sql(committed.0)],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn claim(&self, sp: &str, collector: &str, ttl: Duration) -> Result<bool, DbError> {
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
                st.query_row(params![sp, collector, now.saturating_add(ttl), now], |r| {
                    r.get(0)
                })
                .optional()
            })
            .map_err(|e| self.err(e))?;
        Ok(held.is_some())
    }

    fn release(&self, sp: &str, collector: &str) -> Result<(), DbError> {
        self.conn()
            .execute(
                "DELETE FROM sp_leases WHERE sp_name = ?1 AND collector_id = ?2",
                params![sp, collector],
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
        let mut deleted = 0u64;
        loop {
            let n = self
                .conn()
                .execute(
                    "DELETE FROM ereports WHERE rowid IN
                     (SELECT rowid FROM ereports WHERE time_collected < ?1 LIMIT ?2)",
                    params![cutoff, RETENTION_BATCH],
                )
                .map_err(|e| self.err(e))? as u64;
            deleted += n;
            if n < RETENTION_BATCH as u64 {
                break;
            }
        }
        self.conn()
            .execute("DELETE FROM gaps WHERE seen < ?1", [cutoff])
            .map_err(|e| self.err(e))?;
        Ok(deleted)
    }

    fn query(&self, filter: &Filter) -> Result<Vec<Json>, DbError> {
        let like = filter.class_glob.as_deref().map(glob_to_like);
        let conn = self.conn();
        let mut st = conn
            .prepare(
                "SELECT report, sp_name, class, time_collected FROM ereports
                 WHERE (?1 IS NULL OR sp_name = ?1)
                   AND (?2 IS NULL OR class LIKE ?2 ESCAPE '\\')
                   AND (?3 IS NULL OR restart_id = ?3)
                   AND (?4 IS NULL OR time_collected >= ?4)
                   AND (?5 IS NULL OR time_collected < ?5)
                 ORDER BY time_collected DESC, restart_id, ena DESC LIMIT ?6",
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

    fn summary(&self) -> Result<Vec<SummaryRow>, DbError> {
        let conn = self.conn();
        let mut st = conn
            .prepare(
                "SELECT COALESCE(sp_name, '?'), COALESCE(class, '?'), COUNT(*) FROM ereports
                 GROUP BY 1, 2 ORDER BY 1, 2",
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
            json: serde_json::json!({}),
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
                [rid.to_string()],
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
                "SELECT report FROM ereports WHERE catalog_error IS NULL AND sp_name = 'sp'",
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
        assert!(db.claim("sled-0", "a", long).unwrap());
        assert!(!db.claim("sled-0", "b", long).unwrap(), "a holds it");
        assert!(db.claim("sled-0", "a", long).unwrap(), "renewed");
        assert!(db.claim("sled-1", "b", long).unwrap(), "another SP");
        db.release("sled-0", "b").unwrap();
        assert!(!db.claim("sled-0", "b", long).unwrap(), "b held nothing");
        db.release("sled-0", "a").unwrap();
        assert!(db.claim("sled-0", "b", long).unwrap(), "released");
        // An expired claim is anyone's.
        assert!(db.claim("sled-2", "a", Duration::ZERO).unwrap());
        let conn = Connection::open(dir.path().join("db.sqlite")).unwrap();
        conn.execute("UPDATE sp_leases SET expires = expires - 10", [])
            .unwrap();
        assert!(db.claim("sled-2", "b", long).unwrap(), "expired");
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
}
