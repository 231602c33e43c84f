//! A gateway client that behaves as MGS and the control plane do together.
//!
//! - While it has no metadata for the SP, it first sends a metadata refresh
//!   (restart id 0, start 0, limit 0) and keeps the map if it is not empty.
//! - Each request gets the next request id; a request that is not answered
//!   within the per-attempt timeout is sent again (with a new id), and
//!   responses to older ids are ignored.
//! - A response with a restart id other than the one it tracks means the SP
//!   restarted: it starts over from the earliest ENA of the new restart and
//!   replaces the metadata.
//! - Every ereport goes into SQLite; an ENA is sent as committed only after
//!   the transaction that stored it has committed. On start it resumes from
//!   the last restart id and ENA in the database.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use ereport_sdk::decode::{Entry, Packet, Value, decode_packet};
use ereport_sdk::wire::{MAX_RESPONSE_LEN, Request};
use ereport_sdk::{Ena, RestartId};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value as Json};

use crate::json::to_json;

/// Why the gateway stopped.
#[derive(Debug)]
pub enum GatewayError {
    /// The database failed.
    Db(rusqlite::Error),
    /// The socket failed.
    Io(std::io::Error),
    /// No answer after every retry.
    NoResponse {
        /// Attempts made.
        attempts: u32,
    },
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GatewayError::Db(e) => write!(f, "database: {e}"),
            GatewayError::Io(e) => write!(f, "socket: {e}"),
            GatewayError::NoResponse { attempts } => {
                write!(f, "no response from the SP after {attempts} attempts")
            }
        }
    }
}

impl std::error::Error for GatewayError {}

impl From<rusqlite::Error> for GatewayError {
    fn from(e: rusqlite::Error) -> Self {
        GatewayError::Db(e)
    }
}

impl From<std::io::Error> for GatewayError {
    fn from(e: std::io::Error) -> Self {
        GatewayError::Io(e)
    }
}

/// The gateway's settings.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// The SP's snitch.
    pub sp: SocketAddr,
    /// Local address to bind (port 0 for any).
    pub bind: SocketAddr,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Attempts per request before giving up.
    pub attempts: u32,
    /// Most ereports per response to ask for.
    pub limit: u8,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            sp: SocketAddr::from(([127, 0, 0, 1], ereport_sdk::wire::SP_PORT)),
            bind: SocketAddr::from(([0, 0, 0, 0], 0)),
            timeout: Duration::from_millis(250),
            attempts: 20,
            limit: 255,
        }
    }
}

/// An ereport as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEreport {
    /// The SP's restart id.
    pub restart_id: RestartId,
    /// Its ENA.
    pub ena: Ena,
    /// The reporting task.
    pub task_name: String,
    /// The task's generation.
    pub task_gen: u32,
    /// Uptime when stored.
    pub uptime_ms: u64,
    /// The body (CBOR).
    pub body: Vec<u8>,
    /// The JSON object printed by `--json`.
    pub json: Json,
}

/// Counters.
#[derive(Clone, Copy, Debug, Default)]
pub struct GatewayStats {
    /// Requests sent (retries included).
    pub requests: u64,
    /// Attempts that timed out.
    pub timeouts: u64,
    /// Packets ignored: old request ids, other senders, malformed.
    pub ignored: u64,
    /// Metadata refreshes.
    pub refreshes: u64,
    /// SP restarts seen.
    pub restarts_seen: u64,
    /// Ereports stored.
    pub stored: u64,
}

/// The gateway: a socket, a database, and where it is in the SP's stream.
pub struct Gateway {
    cfg: GatewayConfig,
    socket: UdpSocket,
    db: Connection,
    restart_id: Option<RestartId>,
    /// Metadata of the current restart; empty until the SP sends some.
    metadata: Map<String, Json>,
    committed: Ena,
    request_id: u8,
    stats: GatewayStats,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sp_restarts (
    restart_id TEXT PRIMARY KEY,
    metadata TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ereports (
    restart_id TEXT NOT NULL,
    ena INTEGER NOT NULL,
    task_name TEXT NOT NULL,
    task_gen INTEGER NOT NULL,
    uptime_ms INTEGER NOT NULL,
    body BLOB NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (restart_id, ena)
);
CREATE TABLE IF NOT EXISTS cursor (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    restart_id TEXT NOT NULL,
    committed_ena INTEGER NOT NULL
);
";

fn rid_text(r: RestartId) -> String {
    format!("{:032x}", r.0)
}

fn sql_u64(v: u64) -> i64 {
    // ENAs and uptimes below 2^63 are all a real SP can produce.
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Gateway {
    /// Opens (or creates) the database and resumes from it.
    pub fn open(cfg: GatewayConfig, db_path: &Path) -> Result<Self, GatewayError> {
        let db = Connection::open(db_path)?;
        Self::with_connection(cfg, db)
    }

    /// The same over an open connection (an in-memory one for the demo).
    pub fn with_connection(cfg: GatewayConfig, db: Connection) -> Result<Self, GatewayError> {
        db.execute_batch(SCHEMA)?;
        let socket = UdpSocket::bind(cfg.bind)?;
        let mut g = Gateway {
            cfg,
            socket,
            db,
            restart_id: None,
            metadata: Map::new(),
            committed: Ena::NONE,
            request_id: 0,
            stats: GatewayStats::default(),
        };
        g.resume()?;
        Ok(g)
    }

    fn resume(&mut self) -> Result<(), GatewayError> {
        let row: Option<(String, i64)> = self
            .db
            .query_row(
                "SELECT restart_id, committed_ena FROM cursor WHERE id = 0",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((rid, ena)) = row else { return Ok(()) };
        let Ok(rid) = u128::from_str_radix(&rid, 16) else {
            return Ok(());
        };
        self.restart_id = Some(RestartId(rid));
        self.committed = Ena(u64::try_from(ena).unwrap_or(0));
        let meta: Option<String> = self
            .db
            .query_row(
                "SELECT metadata FROM sp_restarts WHERE restart_id = ?1",
                [rid_text(RestartId(rid))],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(Json::Object(m)) = meta.and_then(|m| serde_json::from_str(&m).ok()) {
            self.metadata = m;
        }
        Ok(())
    }

    /// The restart id being tracked.
    pub fn restart_id(&self) -> Option<RestartId> {
        self.restart_id
    }

    /// The last ENA committed (stored in the database).
    pub fn committed(&self) -> Ena {
        self.committed
    }

    /// The metadata for the current restart, as JSON.
    pub fn metadata(&self) -> &Map<String, Json> {
        &self.metadata
    }

    /// The counters.
    pub fn stats(&self) -> GatewayStats {
        self.stats
    }

    /// The database.
    pub fn db(&self) -> &Connection {
        &self.db
    }

    /// Sends one request and waits for its response, retrying.
    fn exchange(
        &mut self,
        restart_id: RestartId,
        start: Ena,
        committed: Ena,
        limit: u8,
    ) -> Result<Packet, GatewayError> {
        let mut buf = [0u8; MAX_RESPONSE_LEN + 1];
        for _ in 0..self.cfg.attempts {
            self.request_id = self.request_id.wrapping_add(1);
            let req = Request::new(restart_id, start, committed, limit, self.request_id);
            self.socket.send_to(&req.to_bytes(), self.cfg.sp)?;
            self.stats.requests += 1;
            let deadline = Instant::now() + self.cfg.timeout;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    self.stats.timeouts += 1;
                    break;
                }
                self.socket.set_read_timeout(Some(left))?;
                let (n, from) = match self.socket.recv_from(&mut buf) {
                    Ok(r) => r,
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                    {
                        continue;
                    }
                    // An ICMP error from an earlier send; keep waiting.
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => continue,
                    Err(e) => return Err(e.into()),
                };
                if from != self.cfg.sp {
                    self.stats.ignored += 1;
                    continue;
                }
                match decode_packet(buf.get(..n).unwrap_or(&[])) {
                    Ok(p) if p.request_id == self.request_id => return Ok(p),
                    // An answer to an older request, or not an answer.
                    _ => self.stats.ignored += 1,
                }
            }
        }
        Err(GatewayError::NoResponse {
            attempts: self.cfg.attempts,
        })
    }

    fn set_metadata(&mut self, md: &BTreeMap<String, Value>) {
        self.metadata = md.iter().map(|(k, v)| (k.clone(), to_json(v))).collect();
    }

    /// A new restart id: start over from its earliest ENA, forget the old
    /// metadata.
    fn new_restart(
        &mut self,
        rid: RestartId,
        md: &BTreeMap<String, Value>,
    ) -> Result<(), GatewayError> {
        self.stats.restarts_seen += 1;
        self.restart_id = Some(rid);
        self.committed = Ena::NONE;
        self.set_metadata(md);
        self.save_restart(rid)
    }

    fn save_restart(&mut self, rid: RestartId) -> Result<(), GatewayError> {
        let meta = Json::Object(self.metadata.clone()).to_string();
        self.db.execute(
            "INSERT INTO sp_restarts (restart_id, metadata) VALUES (?1, ?2)
             ON CONFLICT (restart_id) DO UPDATE SET metadata = excluded.metadata",
            params![rid_text(rid), meta],
        )?;
        Ok(())
    }

    /// One round: a metadata refresh if needed, then one data request.
    /// Returns the ereports newly stored (empty when the SP had nothing
    /// new).
    pub fn poll(&mut self) -> Result<Vec<StoredEreport>, GatewayError> {
        if self.metadata.is_empty() {
            self.stats.refreshes += 1;
            let p = self.exchange(RestartId::UNKNOWN, Ena::NONE, Ena::NONE, 0)?;
            if self.restart_id != Some(p.restart_id) {
                self.new_restart(p.restart_id, &p.metadata)?;
            } else if !p.metadata.is_empty() {
                self.set_metadata(&p.metadata);
                self.save_restart(p.restart_id)?;
            }
        }
        let rid = self.restart_id.unwrap_or(RestartId::UNKNOWN);
        let start = Ena(self.committed.0.saturating_add(1));
        let p = self.exchange(rid, start, self.committed, self.cfg.limit)?;
        if Some(p.restart_id) != self.restart_id {
            // The SP restarted (or this is first contact): the response
            // starts at the new restart's earliest ENA.
            self.new_restart(p.restart_id, &p.metadata)?;
        }
        self.store(p.restart_id, &p.entries)
    }

    fn store(
        &mut self,
        rid: RestartId,
        entries: &[Entry],
    ) -> Result<Vec<StoredEreport>, GatewayError> {
        let fresh: Vec<&Entry> = entries.iter().filter(|e| e.ena > self.committed).collect();
        if fresh.is_empty() {
            return Ok(Vec::new());
        }
        let out: Vec<StoredEreport> = fresh
            .into_iter()
            .map(|e| StoredEreport {
                restart_id: rid,
                ena: e.ena,
                task_name: e.task_name.clone(),
                task_gen: e.task_gen,
                uptime_ms: e.uptime_ms,
                body: e.body.clone(),
                json: self.json_for(rid, e),
            })
            .collect();
        let tx = self.db.transaction()?;
        let mut last = self.committed;
        for e in &out {
            tx.execute(
                "INSERT OR IGNORE INTO ereports (restart_id, ena, task_name, task_gen, uptime_ms, body, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    rid_text(rid),
                    sql_u64(e.ena.0),
                    e.task_name,
                    e.task_gen,
                    sql_u64(e.uptime_ms),
                    e.body,
                    e.json.to_string()
                ],
            )?;
            last = last.max(e.ena);
        }
        tx.execute(
            "INSERT INTO cursor (id, restart_id, committed_ena) VALUES (0, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET restart_id = excluded.restart_id, committed_ena = excluded.committed_ena",
            params![rid_text(rid), sql_u64(last.0)],
        )?;
        tx.commit()?;
        // Only now may the SP free them.
        self.committed = last;
        self.stats.stored += out.len() as u64;
        Ok(out)
    }

    fn json_for(&self, rid: RestartId, e: &Entry) -> Json {
        let mut m = Map::new();
        m.insert("ena".into(), Json::from(e.ena.0));
        m.insert("restart_id".into(), Json::from(rid_text(rid)));
        for (k, v) in &self.metadata {
            m.insert(k.clone(), v.clone());
        }
        m.insert("hubris_task_name".into(), Json::from(e.task_name.clone()));
        m.insert("hubris_task_gen".into(), Json::from(e.task_gen));
        m.insert("hubris_uptime_ms".into(), Json::from(e.uptime_ms));
        m.insert(
            "ereport_message_version".into(),
            Json::from(ereport_sdk::wire::VERSION),
        );
        match e.body_value().as_ref().map(to_json) {
            Ok(Json::Object(body)) => {
                for (k, v) in body {
                    m.insert(k, v);
                }
            }
            Ok(other) => {
                m.insert("body".into(), other);
            }
            Err(err) => {
                m.insert("body_error".into(), Json::from(err.to_string()));
                m.insert("body".into(), Json::from(e.body.clone()));
            }
        }
        Json::Object(m)
    }

    /// Polls until a response brings nothing new; returns how many were
    /// stored. `sink` sees each new ereport.
    pub fn drain(&mut self, sink: &mut dyn FnMut(&StoredEreport)) -> Result<usize, GatewayError> {
        let mut n = 0;
        loop {
            let got = self.poll()?;
            if got.is_empty() {
                return Ok(n);
            }
            n += got.len();
            got.iter().for_each(&mut *sink);
        }
    }
}
