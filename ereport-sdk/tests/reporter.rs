//! The producer API: sized buffers, declared classes, counts.

use std::cell::{Cell, RefCell};

use ereport_sdk::decode::decode_value;
use ereport_sdk::{DeliverEreport, DeliverError, Ena, Ereport, EreportField};

#[derive(Ereport)]
#[ereport(class = "hw.temp.overtemp", version = 0)]
struct Overtemp {
    sensor: u8,
    millidegrees: i32,
}

#[derive(EreportField)]
struct Detail {
    code: u32,
}

#[derive(Ereport)]
#[ereport(class = "hw.seq.fail", version = 2)]
struct SeqFail {
    rail: heapless::String<32>,
    detail: Detail,
}

ereport_sdk::reporter! {
    /// The test task's reporter.
    pub struct TaskReporter { Overtemp, SeqFail }
}

/// A packrat stand-in that stores bodies and can be full.
struct FakePackrat {
    bodies: RefCell<Vec<Vec<u8>>>,
    full: Cell<bool>,
}

impl DeliverEreport for FakePackrat {
    fn deliver_ereport(&self, body: &[u8]) -> Result<Ena, DeliverError> {
        if self.full.get() {
            return Err(DeliverError::StoreFull);
        }
        let mut b = self.bodies.borrow_mut();
        b.push(body.to_vec());
        Ok(Ena(b.len() as u64 + 1))
    }
}

static _IN_A_STATIC: std::sync::Mutex<TaskReporter> = std::sync::Mutex::new(TaskReporter::new());

#[test]
fn buffer_is_the_largest_class() {
    assert_eq!(
        TaskReporter::BUF_LEN,
        Overtemp::MAX_LEN.max(SeqFail::MAX_LEN)
    );
    assert_eq!(TaskReporter::BUF_LEN, SeqFail::MAX_LEN);
    assert_eq!(TaskReporter::CLASSES, ["hw.temp.overtemp", "hw.seq.fail"]);
}

#[test]
fn deliver_counts_sent_and_lost() {
    let packrat = FakePackrat {
        bodies: RefCell::new(Vec::new()),
        full: Cell::new(false),
    };
    let mut r = TaskReporter::new();
    assert_eq!(
        r.deliver(
            &packrat,
            &Overtemp {
                sensor: 1,
                millidegrees: -5
            }
        ),
        Ok(Ena(2))
    );
    let rail = "A".repeat(32).as_str().try_into().unwrap();
    assert_eq!(
        r.deliver(
            &packrat,
            &SeqFail {
                rail,
                detail: Detail { code: u32::MAX }
            }
        ),
        Ok(Ena(3))
    );
    packrat.full.set(true);
    let err = r
        .deliver(
            &packrat,
            &Overtemp {
                sensor: 2,
                millidegrees: 0,
            },
        )
        .unwrap_err();
    assert_eq!(err, DeliverError::StoreFull);
    assert!(err.is_transient());
    assert_eq!(r.counts::<Overtemp>().sent, 1);
    assert_eq!(r.counts::<Overtemp>().lost_transient, 1);
    assert_eq!(r.counts::<SeqFail>().sent, 1);
    let all: Vec<_> = r.all_counts().collect();
    assert_eq!(all.len(), 2);
    let bodies = packrat.bodies.borrow();
    assert_eq!(
        bodies[1].len(),
        SeqFail::MAX_LEN,
        "a maximal SeqFail fills the buffer exactly"
    );
    let v = decode_value(&bodies[0]).unwrap();
    assert_eq!(
        v.diagnostic(),
        r#"{"k": "hw.temp.overtemp", "v": 0, "sensor": 1, "millidegrees": -5}"#
    );
}

#[test]
fn permanent_losses_are_told_apart() {
    assert!(!DeliverError::TooLong.is_transient());
    assert!(!DeliverError::Empty.is_transient());
    assert!(DeliverError::Unavailable.is_transient());
}
