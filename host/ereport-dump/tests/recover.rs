//! Recovery against the truth, over random store histories: deliveries of
//! every size (wrapping the ring at any byte), commits of any prefix
//! (emptying the store too), overflow and loss records, task faults' bodies
//! among them. Whatever `--recover` labels with an ENA must be exactly
//! what was stored under that ENA: body, task, generation and uptime.

use std::collections::BTreeMap;

use ereport_dump::{Image, find_store, read_store};
use ereport_sdk::decode::decode_packet;
use ereport_sdk::{Ena, ReadRequest, RestartId, TaskId};
use ereport_w1::W1Tasks;
use packrat_ereport::Store;
use proptest::prelude::*;

const BASE: u64 = 0x2000_0000;
const RESTART: RestartId = RestartId(0x5eed);

type Small = Store<384, W1Tasks>;

#[derive(Clone, Debug)]
enum Op {
    /// Deliver a body of this many pad bytes from task 1 + n % 4.
    Deliver(u8, u16),
    /// Commit the first `n` held records (all of them when past the end).
    Commit(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<u8>(), 0u16..120).prop_map(|(t, n)| Op::Deliver(t, n)),
        1 => any::<u8>().prop_map(Op::Commit),
    ]
}

/// {"i": i, "pad": h'...'}: a map, with the pad bytes all `i as u8`.
fn body(i: u32, pad: u16) -> Vec<u8> {
    let mut b = vec![0xa2, 0x61, b'i', 0x1a];
    b.extend_from_slice(&i.to_be_bytes());
    b.extend_from_slice(&[0x63, b'p', b'a', b'd', 0x59]);
    b.extend_from_slice(&pad.to_be_bytes());
    b.extend(std::iter::repeat_n(i as u8, usize::from(pad)));
    b
}

/// What every ENA the store ever gave out holds: (task, generation,
/// uptime, body).
type Truth = BTreeMap<u64, (String, u32, u64, Vec<u8>)>;

/// Reads the records from `from` on, as the snitch would, into `truth`.
fn learn(s: &mut Small, from: Ena, truth: &mut Truth) {
    let mut lease = [0u8; 1024];
    let mut at = from;
    while at < s.next_ena() {
        let n = s
            .read_ereports(
                &ReadRequest::new(RESTART).start(at).limit(255),
                &mut lease[..],
                None,
            )
            .unwrap();
        let p = decode_packet(&lease[..n]).unwrap();
        assert!(!p.entries.is_empty());
        for e in &p.entries {
            truth.insert(
                e.ena.0,
                (e.task_name.clone(), e.task_gen, e.uptime_ms, e.body.clone()),
            );
            at = Ena(e.ena.0 + 1);
        }
    }
}

fn image(s: &Small) -> Image {
    let mut bytes = vec![0x5a; 16];
    bytes.extend_from_slice(&s.ring_header().to_bytes());
    bytes.extend_from_slice(s.ring_bytes());
    Image { base: BASE, bytes }
}

/// Runs a history; returns how many recovered records carried an ENA.
fn check(ops: &[Op]) -> Result<usize, TestCaseError> {
    let mut s: Small = Store::new();
    s.init(TaskId::new(5, 0), 0);
    s.set_restart_id(RESTART).unwrap();
    let mut truth = Truth::new();
    learn(&mut s, Ena(1), &mut truth);
    let mut uptime = 10u64;
    let mut labelled = 0;
    for (i, op) in ops.iter().enumerate() {
        let before = s.next_ena();
        uptime += 1 + (i as u64 % 7);
        match *op {
            Op::Deliver(t, pad) => {
                let task = TaskId::new(1 + u16::from(t % 4), t % 3);
                let _ = s.deliver(task, uptime, &body(i as u32, pad)[..]);
            }
            Op::Commit(n) => {
                let held = s.len() as u64;
                if let Some(first) = s.earliest_ena() {
                    let last = first.0 + (u64::from(n)).min(held.saturating_sub(1));
                    s.flush_thru(Ena(last));
                }
            }
        }
        // What the op stored (a loss record written during a commit too).
        learn(&mut s, before, &mut truth);

        let img = image(&s);
        let at = find_store(&img, BASE, 64).unwrap();
        let d = read_store(&img, at, true).unwrap();
        prop_assert_eq!(d.damage, None);
        for r in &d.records {
            let Some(ena) = r.ena else { continue };
            let Some((task, generation, up, want)) = truth.get(&ena.0) else {
                return Err(TestCaseError::fail(format!(
                    "{ena:?} labelled, but never given out"
                )));
            };
            prop_assert_eq!(&r.body, want, "{:?} (recovered: {})", ena, r.recovered);
            prop_assert_eq!(u32::from(r.generation), *generation);
            prop_assert_eq!(r.uptime_ms, *up);
            prop_assert_eq!(
                ereport_w1::W1_TASK_NAMES.get(usize::from(r.task)).copied(),
                Some(task.as_str())
            );
            if r.recovered {
                labelled += 1;
                prop_assert!(ena < d.header.earliest, "recovered {ena:?} is held");
            }
        }
        // Held records: exactly the store's, all of them.
        let held: Vec<u64> = d
            .records
            .iter()
            .filter(|r| !r.recovered)
            .map(|r| r.ena.unwrap().0)
            .collect();
        let want: Vec<u64> = (d.header.earliest.0..d.header.next.0).collect();
        prop_assert_eq!(held, want);
    }
    Ok(labelled)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn recovered_records_carry_the_ena_they_were_stored_under(
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        check(&ops)?;
    }
}

#[test]
fn recovery_labels_records_after_the_store_empties_and_wraps() {
    // Not vacuous: a history that empties the store (where the head used
    // to go back to 0) and wraps, then recovers labelled records.
    let mut ops = Vec::new();
    for round in 0..6u8 {
        for k in 0..4u8 {
            ops.push(Op::Deliver(round + k, 20 + u16::from(k) * 7));
        }
        ops.push(Op::Commit(255));
    }
    ops.push(Op::Deliver(1, 30));
    let labelled = check(&ops).unwrap();
    assert!(labelled >= 4, "{labelled} recovered records labelled");
}

#[test]
fn a_symbol_past_the_image_end_is_refused_at_once() {
    let mut s: Small = Store::new();
    s.init(TaskId::new(5, 0), 0);
    let img = image(&s);
    // A size that would take years to step through, from an ELF that
    // lies: refused at once (no walk of 2^61 addresses), and said so.
    let e = find_store(&img, BASE, u64::MAX - BASE).unwrap_err();
    assert!(e.to_string().contains("past the image's end"), "{e}");
    let e = find_store(&img, BASE + 8, img.bytes.len() as u64).unwrap_err();
    assert!(e.to_string().contains("past the image's end"), "{e}");
    // Inside the image, it is found.
    assert_eq!(
        find_store(&img, BASE, img.bytes.len() as u64),
        Ok(BASE + 16)
    );
}
