//! The protocol session against a scripted SP: no socket and no sleep.
//! The SP is a model behind the session's [`Transport`], answering each
//! request as packrat does (or as a test wants it to misbehave); time is a
//! manual [`Clock`] that moves only when the session waits for an answer
//! that is not coming. Every branch of the session's plan has a test here:
//! first contact, restart, cursor ahead, yielding to another collector,
//! gaps of both kinds, rejections, a lost answer and retries exhausted.

mod common;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use common::{class_body, response};
use ereport_gateway::gateway::{
    Clock, Event, Gap, GapKind, Gateway, GatewayConfig, GatewayError, Transport,
};
use ereport_gateway::store::{self, Db, EreportStore, Filter, SharedCursor, SpRow, SummaryRow};
use ereport_gateway::validate::Rejection;
use ereport_sdk::wire::Request;
use ereport_sdk::{Ena, RestartId};
use serde_json::{Map, Value as Json};

const SP: &str = "127.0.0.1:57005";
const TIMEOUT: Duration = Duration::from_millis(250);

/// Time that moves only when told.
#[derive(Clone)]
struct ManualClock(Arc<Mutex<Instant>>);

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.0.lock().unwrap()
    }
}

/// What a request was, as the SP saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seen {
    restart_id: u128,
    start: u64,
    committed: u64,
    limit: u8,
}

/// An SP as packrat keeps one: a restart id, held records, metadata.
struct Model {
    rid: u128,
    records: BTreeMap<u64, Vec<u8>>,
    serial: &'static str,
    /// Metadata in every response, not only those for another restart.
    metadata_always: bool,
}

impl Model {
    fn new(rid: u128, enas: std::ops::RangeInclusive<u64>) -> Self {
        Model {
            rid,
            records: enas.map(|e| (e, class_body("hw.x"))).collect(),
            serial: "SER1",
            metadata_always: false,
        }
    }

    /// packrat's answer: a refresh gets metadata; a request for this
    /// restart frees through its commit (if the commit is within the
    /// stream) and starts at the requested ENA; another restart id gets
    /// metadata and starts at the earliest record.
    fn answer(&mut self, req: &Request) -> Vec<u8> {
        let id = req.request_id;
        if req.limit == 0 {
            return response(self.rid, 0, id, Some(self.serial), &[]);
        }
        let ours = req.restart_id() == RestartId(self.rid);
        let next = self.records.keys().last().map_or(1, |e| e + 1);
        let c = req.committed_ena().0;
        if ours && c != 0 && c < next {
            self.records.retain(|e, _| *e > c);
        }
        let start = if ours { req.start_ena().0 } else { 0 };
        let held: Vec<(u64, &Vec<u8>)> = self
            .records
            .range(start..)
            .take(usize::from(req.limit))
            .map(|(e, b)| (*e, b))
            .collect();
        let first = held.first().map_or(0, |(e, _)| *e);
        let entries: Vec<common::E<'_>> = held
            .iter()
            .map(|(e, b)| ("thermal", 0, *e * 10, b.as_slice()))
            .collect();
        let serial = (!ours || self.metadata_always).then_some(self.serial);
        response(self.rid, first, id, serial, &entries)
    }
}

/// What the scripted SP does with each request: the datagrams it sends
/// back, each with its sender.
type Script = Box<dyn FnMut(&Request, &mut Model) -> Vec<(SocketAddr, Vec<u8>)> + Send>;

/// The SP's side of the session, as a transport.
struct Scripted {
    model: Arc<Mutex<Model>>,
    script: Script,
    inbox: VecDeque<(SocketAddr, Vec<u8>)>,
    seen: Arc<Mutex<Vec<Seen>>>,
    clock: ManualClock,
}

impl Transport for Scripted {
    fn send(&mut self, datagram: &[u8]) -> std::io::Result<()> {
        let req = Request::parse(datagram).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        self.seen.lock().unwrap().push(Seen {
            restart_id: req.restart_id().0,
            start: req.start_ena().0,
            committed: req.committed_ena().0,
            limit: req.limit,
        });
        let mut model = self.model.lock().unwrap();
        let out = (self.script)(req, &mut model);
        self.inbox.extend(out);
        Ok(())
    }

    fn recv(
        &mut self,
        buf: &mut [u8],
        deadline: Instant,
    ) -> std::io::Result<Option<(usize, SocketAddr)>> {
        match self.inbox.pop_front() {
            Some((from, d)) => {
                let n = d.len().min(buf.len());
                buf[..n].copy_from_slice(&d[..n]);
                Ok(Some((d.len(), from)))
            }
            None => {
                // Nothing is coming: the wait runs to its deadline.
                *self.clock.0.lock().unwrap() = deadline;
                Ok(None)
            }
        }
    }
}

/// A session over a scripted SP, and handles on its parts.
struct Rig {
    gw: Gateway<Scripted, ManualClock>,
    model: Arc<Mutex<Model>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    clock: ManualClock,
    db: Db,
    _dir: tempfile::TempDir,
}

fn honest() -> Script {
    Box::new(|req, model| vec![(SP.parse().unwrap(), model.answer(req))])
}

fn config() -> GatewayConfig {
    GatewayConfig {
        timeout: TIMEOUT,
        attempts: 5,
        ..GatewayConfig::for_sp(SP.parse().unwrap())
    }
}

impl Rig {
    fn new(model: Model, script: Script) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let db = store::open(dir.path().join("db.sqlite")).unwrap();
        Rig::with_db(model, script, db, dir)
    }

    fn with_db(model: Model, script: Script, db: Db, dir: tempfile::TempDir) -> Rig {
        let model = Arc::new(Mutex::new(model));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let clock = ManualClock(Arc::new(Mutex::new(Instant::now())));
        let transport = Scripted {
            model: model.clone(),
            script,
            inbox: VecDeque::new(),
            seen: seen.clone(),
            clock: clock.clone(),
        };
        let gw = Gateway::with_transport(config(), db.clone(), transport, clock.clone()).unwrap();
        Rig {
            gw,
            model,
            seen,
            clock,
            db,
            _dir: dir,
        }
    }

    /// Drains; returns the ENAs stored and the events, in order.
    fn drain(&mut self) -> Result<(Vec<u64>, Vec<Event>), GatewayError> {
        let mut stored = Vec::new();
        let mut events = Vec::new();
        self.gw.drain(&mut |p| {
            stored.extend(p.stored.iter().map(|e| e.ena.0));
            events.extend(p.events.iter().cloned());
        })?;
        Ok((stored, events))
    }

    fn seen(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

fn seen(restart_id: u128, start: u64, committed: u64, limit: u8) -> Seen {
    Seen {
        restart_id,
        start,
        committed,
        limit,
    }
}

#[test]
fn first_contact_refreshes_drains_commits_and_checks_the_cursor() {
    let mut rig = Rig::new(Model::new(7, 1..=3), honest());
    let (stored, events) = rig.drain().unwrap();
    assert_eq!(stored, vec![1, 2, 3]);
    assert_eq!(
        events,
        vec![Event::Restart {
            from: None,
            to: RestartId(7)
        }]
    );
    assert_eq!(
        rig.seen(),
        vec![
            // Metadata refresh: restart 0, start 0, limit 0.
            seen(0, 0, 0, 0),
            // From the restart's start, nothing committed.
            seen(7, 1, 0, 255),
            // Committing 3 while asking for what follows: nothing. (The
            // stream was taken from its start, so there is no cursor to
            // check against the SP's earliest record.)
            seen(7, 4, 3, 255),
        ]
    );
    assert_eq!(
        rig.db.committed("sp").unwrap(),
        Some((RestartId(7), Ena(3)))
    );
    assert!(rig.model.lock().unwrap().records.is_empty(), "freed");
    assert_eq!(rig.gw.metadata()["baseboard_serial_number"], "SER1");
    assert_eq!(rig.gw.stats().timeouts, 0);
}

/// MGS applies metadata that arrives in a data response of the same
/// restart to that response's ereports; so does the gateway, and it keeps
/// it for the restart (issue 19).
#[test]
fn metadata_in_a_data_response_applies_to_its_ereports() {
    let mut rig = Rig::new(Model::new(7, 1..=2), honest());
    rig.drain().unwrap();
    {
        let mut m = rig.model.lock().unwrap();
        m.serial = "SER2";
        m.metadata_always = true;
        m.records.insert(3, class_body("hw.y"));
    }
    let mut reports = Vec::new();
    rig.gw
        .drain(&mut |p| reports.extend(p.stored.iter().map(|e| e.report.clone())))
        .unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["baseboard_serial_number"], "SER2");
    assert_eq!(rig.gw.metadata()["baseboard_serial_number"], "SER2");
    assert_eq!(
        rig.db.metadata(RestartId(7)).unwrap()["baseboard_serial_number"],
        "SER2"
    );
    let rows = rig
        .db
        .query(&Filter {
            limit: 10,
            ..Filter::default()
        })
        .unwrap();
    let serial = |ena: u64| {
        rows.iter()
            .find(|r| r.ena == ena)
            .and_then(|r| r.serial_number.clone())
    };
    assert_eq!(
        serial(1).as_deref(),
        Some("SER1"),
        "stored before: unchanged"
    );
    assert_eq!(serial(3).as_deref(), Some("SER2"));
}

#[test]
fn a_restart_is_followed_from_the_new_restarts_earliest_record() {
    let mut rig = Rig::new(Model::new(7, 1..=2), honest());
    rig.drain().unwrap();
    rig.seen();
    *rig.model.lock().unwrap() = Model::new(8, 1..=2);
    let (stored, events) = rig.drain().unwrap();
    assert_eq!(stored, vec![1, 2]);
    assert!(events.contains(&Event::Restart {
        from: Some(RestartId(7)),
        to: RestartId(8)
    }));
    let seen = rig.seen();
    // Asked as restart 7 from 3; the SP answered as 8 from its start.
    assert_eq!(seen[0], self::seen(7, 3, 2, 255));
    assert_eq!(
        rig.db.committed("sp").unwrap(),
        Some((RestartId(8), Ena(2)))
    );
    assert_eq!(rig.gw.stats().restarts_seen, 2);
}

#[test]
fn a_restart_id_that_keeps_changing_ends_the_drain() {
    let mut n = 10u128;
    let mut rig = Rig::new(
        Model::new(10, 1..=1),
        Box::new(move |req, model| {
            n += 1;
            *model = Model::new(n, 1..=1);
            vec![(SP.parse().unwrap(), model.answer(req))]
        }),
    );
    assert!(matches!(
        rig.drain(),
        Err(GatewayError::UnstableRestartId { .. })
    ));
}

#[test]
fn a_cursor_ahead_of_the_sp_is_reported_and_the_stream_taken_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = store::open(dir.path().join("db.sqlite")).unwrap();
    // A database that says ENA 50 of restart 7 is committed: the SP holds
    // 1 to 3 of it.
    let mut md = Map::new();
    md.insert("baseboard_serial_number".into(), Json::from("SER1"));
    db.save_restart(RestartId(7), &md).unwrap();
    db.set_cursor("sp", RestartId(7), Ena(50)).unwrap();
    let mut rig = Rig::with_db(Model::new(7, 1..=3), honest(), db, dir);
    // One drain finds the cursor ahead and takes the stream again.
    let (stored, events) = rig.drain().unwrap();
    assert!(events.contains(&Event::CursorAhead {
        committed: Ena(50),
        sp_earliest: Ena(1)
    }));
    assert_eq!(stored, vec![1, 2, 3]);
    assert_eq!(
        rig.db.committed("sp").unwrap(),
        Some((RestartId(7), Ena(3)))
    );
}

#[test]
fn skipped_enas_are_a_gap_and_enas_freed_before_first_contact_are_another() {
    // First contact with a restart whose ENAs 1 to 9 were committed
    // elsewhere and freed.
    let mut rig = Rig::new(Model::new(7, 10..=11), honest());
    let (stored, events) = rig.drain().unwrap();
    assert_eq!(stored, vec![10, 11]);
    let before = Gap {
        restart_id: RestartId(7),
        first: Ena(1),
        last: Ena(9),
        kind: GapKind::FreedBeforeFirstContact,
    };
    assert!(events.contains(&Event::Gap(before)), "{events:?}");
    // Then the SP skips 12 to 14.
    rig.model.lock().unwrap().records = (15..=16).map(|e| (e, class_body("hw.y"))).collect();
    let (stored, events) = rig.drain().unwrap();
    assert_eq!(stored, vec![15, 16]);
    let skipped = Gap {
        restart_id: RestartId(7),
        first: Ena(12),
        last: Ena(14),
        kind: GapKind::Skipped,
    };
    assert!(events.contains(&Event::Gap(skipped)), "{events:?}");
    assert_eq!(rig.db.gaps().unwrap(), vec![before, skipped]);
    assert_eq!(rig.gw.stats().gap_enas, 12);
}

#[test]
fn forged_stale_and_inconsistent_datagrams_are_waited_past() {
    let stranger: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let mut rig = Rig::new(
        Model::new(7, 1..=2),
        Box::new(move |req, model| {
            let good = model.answer(req);
            let id = req.request_id;
            vec![
                // From another address: ignored.
                (stranger, good.clone()),
                // An earlier request's id: stale, ignored.
                (
                    SP.parse().unwrap(),
                    response(7, 0, id.wrapping_sub(1), None, &[]),
                ),
                // Restart id 0: rejected with its reason.
                (SP.parse().unwrap(), response(0, 0, id, None, &[])),
                (SP.parse().unwrap(), good),
            ]
        }),
    );
    let (stored, events) = rig.drain().unwrap();
    assert_eq!(stored, vec![1, 2]);
    assert!(events.contains(&Event::Rejected(Rejection::ZeroRestartId)));
    let st = rig.gw.stats();
    let requests = rig.seen().len() as u64;
    assert_eq!(st.requests, requests, "no retries were needed");
    assert_eq!(st.rejected, requests);
    assert_eq!(st.ignored, 2 * requests);
}

#[test]
fn a_record_that_differs_from_the_stored_one_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let db = store::open(dir.path().join("db.sqlite")).unwrap();
    let mut rig = Rig::with_db(Model::new(7, 1..=3), honest(), db.clone(), dir);
    rig.drain().unwrap();
    // A second session, whose SP answers from ENA 2 with another body for
    // it: records before the requested ENA must be the stored ones, byte
    // for byte.
    let forged = class_body("hw.forged");
    let original = class_body("hw.x");
    let dir2 = tempfile::tempdir().unwrap();
    let mut liar = Rig::with_db(
        Model::new(7, 4..=4),
        Box::new(move |req, model| {
            if req.limit == 0 {
                return vec![(SP.parse().unwrap(), model.answer(req))];
            }
            let entries: Vec<common::E<'_>> = vec![
                ("thermal", 0, 20, forged.as_slice()),
                ("thermal", 0, 30, original.as_slice()),
            ];
            vec![(
                SP.parse().unwrap(),
                response(7, 2, req.request_id, None, &entries),
            )]
        }),
        db,
        dir2,
    );
    let err = liar.drain().unwrap_err();
    match err {
        GatewayError::Rejected { last, rejected, .. } => {
            assert_eq!(last, Rejection::Conflict { ena: Ena(2) });
            assert_eq!(rejected, 5, "one per attempt");
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        db_committed(&liar.db),
        Some((RestartId(7), Ena(3))),
        "nothing moved"
    );
}

fn db_committed(db: &Db) -> Option<(RestartId, Ena)> {
    db.committed("sp").unwrap()
}

#[test]
fn a_lost_answer_is_asked_again_with_a_new_request_id() {
    let mut dropped = false;
    let mut rig = Rig::new(
        Model::new(7, 1..=1),
        Box::new(move |req, model| {
            let answer = model.answer(req);
            if !dropped && req.limit != 0 {
                dropped = true;
                return vec![];
            }
            vec![(SP.parse().unwrap(), answer)]
        }),
    );
    let t0 = rig.clock.now();
    let (stored, _) = rig.drain().unwrap();
    assert_eq!(stored, vec![1]);
    let st = rig.gw.stats();
    assert_eq!(st.timeouts, 1);
    assert_eq!(rig.clock.now() - t0, TIMEOUT, "one timeout waited");
}

#[test]
fn retries_run_out_with_no_answer_after_every_attempt() {
    let mut rig = Rig::new(Model::new(7, 1..=1), Box::new(|_, _| vec![]));
    let t0 = rig.clock.now();
    let err = rig.drain().unwrap_err();
    assert!(
        matches!(err, GatewayError::NoAnswer { attempts: 5, .. }),
        "{err}"
    );
    let st = rig.gw.stats();
    assert_eq!((st.requests, st.timeouts), (5, 5));
    assert_eq!(rig.clock.now() - t0, TIMEOUT * 5);
    assert_eq!(rig.db.committed("sp").unwrap(), None, "nothing committed");
}

/// A store around a real one that says another collector stored from
/// every SP just now (if `.1`), and counts its cursor reads.
struct OthersJustStored(Db, bool, std::sync::atomic::AtomicU64);

impl EreportStore for OthersJustStored {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn metadata(&self, rid: RestartId) -> Result<Map<String, Json>, store::DbError> {
        self.0.metadata(rid)
    }
    fn save_restart(&self, rid: RestartId, md: &Map<String, Json>) -> Result<(), store::DbError> {
        self.0.save_restart(rid, md)
    }
    fn bodies(
        &self,
        rid: RestartId,
        first: Ena,
        last: Ena,
    ) -> Result<BTreeMap<u64, Vec<u8>>, store::DbError> {
        self.0.bodies(rid, first, last)
    }
    fn shared_cursor(&self, sp: &str) -> Result<Option<SharedCursor>, store::DbError> {
        self.2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(self.0.shared_cursor(sp)?.map(|c| SharedCursor {
            recently_stored: self.1 || c.recently_stored,
            ..c
        }))
    }
    fn covers(&self, rid: RestartId, first: Ena, last: Ena) -> Result<bool, store::DbError> {
        self.0.covers(rid, first, last)
    }
    fn store(
        &self,
        sp: &SpRow,
        rid: RestartId,
        ereports: &[ereport_gateway::StoredEreport],
        gap: Option<Gap>,
        committed: Ena,
    ) -> Result<Vec<bool>, store::DbError> {
        self.0.store(sp, rid, ereports, gap, committed)
    }
    fn set_cursor(&self, sp: &str, rid: RestartId, committed: Ena) -> Result<(), store::DbError> {
        self.0.set_cursor(sp, rid, committed)
    }
    fn claim(
        &self,
        sp: &str,
        collector: store::Uuid,
        ttl: Duration,
    ) -> Result<bool, store::DbError> {
        self.0.claim(sp, collector, ttl)
    }
    fn release(&self, sp: &str, collector: store::Uuid) -> Result<(), store::DbError> {
        self.0.release(sp, collector)
    }
    fn gaps(&self) -> Result<Vec<Gap>, store::DbError> {
        self.0.gaps()
    }
    fn retain(&self, before: SystemTime) -> Result<u64, store::DbError> {
        self.0.retain(before)
    }
    fn purge(&self, before: SystemTime) -> Result<u64, store::DbError> {
        self.0.purge(before)
    }
    fn query(&self, filter: &Filter) -> Result<Vec<store::StoredRow>, store::DbError> {
        self.0.query(filter)
    }
    fn info(&self, rid: RestartId, ena: Ena) -> Result<Option<store::StoredRow>, store::DbError> {
        self.0.info(rid, ena)
    }
    fn restart(&self, rid: RestartId) -> Result<Option<store::RestartRow>, store::DbError> {
        self.0.restart(rid)
    }
    fn summary(&self) -> Result<Vec<SummaryRow>, store::DbError> {
        self.0.summary()
    }
}

#[test]
fn a_drain_yields_to_a_collector_that_just_stored_past_it() {
    let dir = tempfile::tempdir().unwrap();
    let real = store::open(dir.path().join("db.sqlite")).unwrap();
    let shared: Db = Arc::new(OthersJustStored(real.clone(), true, Default::default()));
    // This collector drains 1 to 2; "another" then stores through 5.
    let mut rig = Rig::with_db(Model::new(7, 1..=2), honest(), shared, dir);
    rig.gw.set_yield_to_others(true);
    rig.drain().unwrap();
    real.set_cursor("sp", RestartId(7), Ena(5)).unwrap();
    rig.model.lock().unwrap().records = (6..=7).map(|e| (e, class_body("hw.x"))).collect();
    rig.seen();
    let (stored, _) = rig.drain().unwrap();
    assert!(stored.is_empty());
    assert_eq!(rig.gw.stats().yielded, 1);
    assert!(rig.seen().is_empty(), "no request: the other has it");
    // Without yielding, it takes up where the other left off.
    rig.gw.set_yield_to_others(false);
    let (stored, _) = rig.drain().unwrap();
    assert_eq!(stored, vec![6, 7]);
    assert_eq!(rig.seen()[0], seen(7, 6, 5, 255));
}

#[test]
fn a_session_that_holds_the_sp_need_not_read_the_shared_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let real = store::open(dir.path().join("db.sqlite")).unwrap();
    let counting = Arc::new(OthersJustStored(real, false, Default::default()));
    let shared: Db = counting.clone();
    let mut rig = Rig::with_db(Model::new(7, 1..=2), honest(), shared, dir);
    let reads = || counting.2.load(std::sync::atomic::Ordering::SeqCst);
    rig.drain().unwrap();
    let after_first = reads();
    assert!(after_first >= 1, "a drain reads the shared cursor");
    rig.model.lock().unwrap().records = (3..=4).map(|e| (e, class_body("hw.x"))).collect();
    rig.gw.set_cursor_is_ours(true);
    let (stored, _) = rig.drain().unwrap();
    assert_eq!(stored, vec![3, 4]);
    assert_eq!(
        reads(),
        after_first,
        "told the cursor is its own, it asks from it"
    );
    // Told once: the next drain reads it again.
    rig.drain().unwrap();
    assert!(reads() > after_first);
}
