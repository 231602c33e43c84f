//! Storm control on the producer side: the token bucket, suppression
//! records with exact counts, and every attempt accounted for.

use std::cell::RefCell;

use ereport_sdk::decode::decode_value;
use ereport_sdk::storm::{Bucket, RateLimit, SUPPRESSED_CLASS, Suppressed};
use ereport_sdk::{DeliverEreport, DeliverError, Ena, Ereport, SUPPRESSION_QUIET_MS};

#[derive(Ereport)]
#[ereport(
    class = "hw.pwr.pmbus.alert",
    version = 0,
    rate_limit(per_second = 10, burst = 20)
)]
struct Alert {
    status: u16,
}

#[derive(Ereport)]
#[ereport(class = "hw.temp.overtemp", version = 0)]
struct Overtemp {
    sensor: u8,
}

ereport_sdk::reporter! {
    struct Power { Alert, Overtemp }
}

/// A packrat that stores every body.
#[derive(Default)]
struct Packrat(RefCell<Vec<Vec<u8>>>);

impl DeliverEreport for Packrat {
    fn deliver_ereport(&self, body: &[u8]) -> Result<Ena, DeliverError> {
        let mut v = self.0.borrow_mut();
        v.push(body.to_vec());
        Ok(Ena(v.len() as u64))
    }
}

fn suppression_records(p: &Packrat) -> Vec<(u64, u64, u64)> {
    p.0.borrow()
        .iter()
        .filter_map(|b| {
            let v = decode_value(b).unwrap();
            (v.get("k")?.as_str()? == SUPPRESSED_CLASS).then(|| {
                assert_eq!(v.get("class").unwrap().as_str(), Some("hw.pwr.pmbus.alert"));
                (
                    v.get("count").unwrap().as_u64().unwrap(),
                    v.get("first_ms").unwrap().as_u64().unwrap(),
                    v.get("last_ms").unwrap().as_u64().unwrap(),
                )
            })
        })
        .collect()
}

#[test]
fn ten_thousand_a_second_under_ten_a_second_delivers_the_limit_plus_burst() {
    let packrat = Packrat::default();
    let mut r = Power::new();
    // 10,000 reports over one second: ten a millisecond.
    let mut refused = 0u64;
    for i in 0..10_000u64 {
        match r.deliver_at(&packrat, &Alert { status: i as u16 }, i / 10) {
            Ok(_) => {}
            Err(DeliverError::Suppressed) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    let c = r.counts::<Alert>();
    assert!(c.sent <= 10 + 20, "{c:?}");
    assert!(c.sent >= 20, "the burst gets through: {c:?}");
    assert_eq!(u64::from(c.suppressed), refused);
    assert_eq!(c.attempted, 10_000);
    assert!(c.balanced(), "{c:?}");
    // After a quiet period, the suppressed count arrives in one record.
    let delivered_before = packrat.0.borrow().len();
    assert_eq!(
        r.flush_suppressed(&packrat, 999 + SUPPRESSION_QUIET_MS - 1),
        0,
        "not quiet yet"
    );
    assert_eq!(r.flush_suppressed(&packrat, 999 + SUPPRESSION_QUIET_MS), 1);
    assert_eq!(packrat.0.borrow().len(), delivered_before + 1);
    let records = suppression_records(&packrat);
    let total: u64 = records.iter().map(|(n, _, _)| n).sum();
    assert_eq!(total, refused, "the records carry the exact count");
    assert_eq!(records.last().unwrap().2, 999, "last suppressed at 999 ms");
    assert_eq!(r.flush_suppressed(&packrat, 5000), 0, "nothing more to say");
    let c = r.counts::<Alert>();
    assert!(c.balanced());
}

#[test]
fn the_next_report_let_through_carries_the_count_first() {
    let packrat = Packrat::default();
    let mut r = Power::new();
    for _ in 0..25 {
        let _ = r.deliver_at(&packrat, &Alert { status: 1 }, 0);
    }
    assert_eq!(r.counts::<Alert>().suppressed, 5);
    // 100 ms later one token has refilled: the record, then the report.
    r.deliver_at(&packrat, &Alert { status: 2 }, 100).unwrap();
    let bodies = packrat.0.borrow();
    let n = bodies.len();
    assert_eq!(suppression_records(&packrat), vec![(5, 0, 0)]);
    let last = decode_value(&bodies[n - 1]).unwrap();
    assert_eq!(last.get("k").unwrap().as_str(), Some("hw.pwr.pmbus.alert"));
    assert_eq!(r.counts::<Alert>().suppression_records, 1);
}

#[test]
fn unlimited_classes_and_the_bench_switch_are_untouched() {
    let packrat = Packrat::default();
    let mut r = Power::new();
    for _ in 0..1000 {
        r.deliver(&packrat, &Overtemp { sensor: 1 }).unwrap();
    }
    assert_eq!(r.counts::<Overtemp>().sent, 1000);
    r.enforce_rate_limits(false);
    for _ in 0..1000 {
        r.deliver_at(&packrat, &Alert { status: 1 }, 0).unwrap();
    }
    assert_eq!(r.counts::<Alert>().suppressed, 0);
}

#[test]
fn the_buffer_holds_the_suppression_record() {
    let class_len = "hw.pwr.pmbus.alert".len();
    assert!(Power::BUF_LEN >= Suppressed::max_len(class_len));
    let mut buf = vec![0u8; Suppressed::max_len(class_len)];
    let r = Suppressed {
        class: "hw.pwr.pmbus.alert",
        count: u32::MAX,
        first_ms: u64::MAX,
        last_ms: u64::MAX,
    };
    assert_eq!(
        r.encode_to_slice(&mut buf),
        Ok(buf.len()),
        "the bound is exact"
    );
    // The direct path writes what minicbor writes, at every width.
    for (count, t) in [(0, 0), (24, 255), (70_000, 1 << 40), (u32::MAX, u64::MAX)] {
        let r = Suppressed {
            class: "hw.x",
            count,
            first_ms: t / 2,
            last_ms: t,
        };
        let n = r.encode_to_slice(&mut buf).unwrap();
        let mut e = minicbor::Encoder::new(Vec::new());
        r.encode(&mut e).unwrap();
        assert_eq!(buf[..n], e.into_writer()[..]);
        // One byte short is refused, not truncated into.
        assert!(r.encode_to_slice(&mut buf[..n - 1]).is_err());
    }
}

#[test]
fn bucket_arithmetic() {
    let limit = RateLimit {
        per_second: 2,
        burst: 3,
    };
    let mut b = Bucket::FULL;
    assert!((0..3).all(|_| b.admit(limit, 1000)));
    assert!(!b.admit(limit, 1000));
    assert!(
        !b.admit(limit, 1499),
        "half a second refills one token at 2/s..."
    );
    assert!(b.admit(limit, 1500), "...at 500 ms");
    // Time going backwards refills nothing.
    assert!(!b.admit(limit, 10));
    assert_eq!(b.suppressed(), 3);
    assert_eq!(
        b.pending("x"),
        Some(Suppressed {
            class: "x",
            count: 3,
            first_ms: 1000,
            last_ms: 10
        })
    );
    // A long silence fills the bucket to the burst, no more.
    let mut b = Bucket::FULL;
    assert!((0..3).all(|_| b.admit(limit, 0)));
    assert_eq!((0..10).filter(|_| b.admit(limit, u64::MAX)).count(), 3);
}
