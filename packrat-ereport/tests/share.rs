//! The per-task share against a model: no producer holds more than its
//! share, a refusal happens only when a delivery would pass it, refusals
//! are counted as losses, and the other tasks still get space.

use std::collections::{BTreeMap, VecDeque};

use ereport_sdk::{Ena, TaskId};
use ereport_w1::W1Tasks;
use packrat_ereport::{HEADER_LEN, IngestError, Store};
use proptest::prelude::*;

const N: usize = 2048;
const SHARE: usize = N / 2;

#[derive(Clone, Debug)]
enum Op {
    Deliver { task: u16, len: usize },
    Flush { back: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u16..=4, 1usize..200).prop_map(|(task, len)| Op::Deliver { task, len }),
        1 => (0u64..12).prop_map(|back| Op::Flush { back }),
    ]
}

/// Bytes a `{"lost": n}` record takes, header included (at most).
const LOSS_RECORD_MAX: usize = HEADER_LEN + 6 + 5;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn no_task_passes_its_share(ops in prop::collection::vec(op(), 1..120)) {
        let mut s: Store<N, W1Tasks> = Store::new();
        s.init(TaskId::new(5, 0), 0);
        s.set_task_share(SHARE);
        // The producers' records, oldest first: (ENA, task, bytes).
        let mut model: VecDeque<(u64, u16, usize)> = VecDeque::new();
        let mut losses = 0u32;
        for op in ops {
            match op {
                Op::Deliver { task, len } => {
                    let held: usize = model.iter().filter(|r| r.1 == task).map(|r| r.2).sum();
                    let need = HEADER_LEN + len;
                    let fits = need + LOSS_RECORD_MAX <= s.free_bytes();
                    match s.deliver(TaskId::new(task, 0), 1, &vec![0xa0; len][..]) {
                        Ok(ena) => {
                            prop_assert!(held + need <= SHARE);
                            model.push_back((ena.0, task, need));
                        }
                        Err(IngestError::OverShare) => {
                            prop_assert!(held + need > SHARE, "refused at {held} + {need}");
                            losses += 1;
                        }
                        Err(IngestError::Full) => {
                            prop_assert!(!fits, "refused though it fitted");
                            losses += 1;
                        }
                        Err(e) => prop_assert!(false, "{e}"),
                    }
                }
                Op::Flush { back } => {
                    let through = Ena(s.next_ena().0.saturating_sub(1 + back));
                    if s.flush_thru(through) > 0 {
                        model.retain(|r| r.0 > through.0);
                    }
                }
            }
            let mut by_task: BTreeMap<u16, usize> = BTreeMap::new();
            for r in &model {
                *by_task.entry(r.1).or_default() += r.2;
            }
            for t in 1..=4u16 {
                let held = by_task.get(&t).copied().unwrap_or(0);
                prop_assert!(held <= SHARE, "task {t} holds {held}");
                prop_assert_eq!(s.bytes_held_by(t), held);
            }
            prop_assert_eq!(s.stats().lost, losses);
        }
        let refusals: u32 = s.share_refusals().iter().map(|n| u32::from(*n)).sum();
        prop_assert_eq!(refusals, s.stats().refused_over_share);
    }
}

#[test]
fn a_storming_task_fills_only_its_share() {
    let mut s: Store<N, W1Tasks> = Store::new();
    s.init(TaskId::new(5, 0), 0);
    s.set_task_share(SHARE);
    let storm = TaskId::new(2, 0);
    let quiet = TaskId::new(1, 0);
    let mut refused: u16 = 0;
    for _ in 0..1000 {
        if s.deliver(storm, 1, &[0xa0; 40][..]) == Err(IngestError::OverShare) {
            refused += 1;
        }
    }
    assert!(s.bytes_held_by(2) <= SHARE);
    assert!(refused > 900);
    assert_eq!(
        s.pending_losses(),
        Some(u32::from(refused)),
        "the next loss record will say so"
    );
    // The quiet task still gets every one of its reports in.
    for _ in 0..10 {
        s.deliver(quiet, 2, &[0xa0; 40][..]).unwrap();
    }
    assert_eq!(s.share_refusals()[2], refused);
    assert_eq!(s.share_refusals()[1], 0);
    assert_eq!(
        s.pending_losses(),
        None,
        "written before the quiet task's first report"
    );
    assert_eq!(s.stats().loss_records, 2, "the initial one and the storm's");
}
