//! Task names in a flush response: every entry decodes to its own task's
//! name, whichever task reports (inside the table, past the 64 slots packrat
//! remembers, or outside the table), and a name is written as text only
//! where no earlier entry of the packet can stand for it.

use ereport_sdk::decode::decode_packet;
use ereport_sdk::wire::RESPONSE_HEADER_LEN;
use ereport_sdk::{ReadRequest, RestartId, TaskId};
use packrat_ereport::{Store, TaskTable};
use proptest::prelude::*;

/// A task table longer than the 64 back-reference slots.
enum ManyTasks {}

impl TaskTable for ManyTasks {
    const NAMES: &'static [&'static str] = &[
        "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10", "t11", "t12", "t13",
        "t14", "t15", "t16", "t17", "t18", "t19", "t20", "t21", "t22", "t23", "t24", "t25", "t26",
        "t27", "t28", "t29", "t30", "t31", "t32", "t33", "t34", "t35", "t36", "t37", "t38", "t39",
        "t40", "t41", "t42", "t43", "t44", "t45", "t46", "t47", "t48", "t49", "t50", "t51", "t52",
        "t53", "t54", "t55", "t56", "t57", "t58", "t59", "t60", "t61", "t62", "t63", "t64", "t65",
        "t66", "t67", "t68", "t69",
    ];
}

fn name(t: u16) -> &'static str {
    ManyTasks::NAMES
        .get(usize::from(t))
        .copied()
        .unwrap_or("unknown")
}

/// The task item of each entry, read from the raw packet: `Ok(text)` or
/// `Err(index of the earlier entry)`.
fn task_items(packet: &[u8]) -> Vec<Result<String, u64>> {
    let mut d = minicbor::Decoder::new(&packet[RESPONSE_HEADER_LEN..]);
    d.skip().expect("metadata map");
    assert_eq!(d.array().expect("entry array"), None, "indefinite");
    let mut out = Vec::new();
    while d.datatype().expect("an entry or the break") != minicbor::data::Type::Break {
        assert_eq!(d.array().expect("entry"), Some(4));
        out.push(match d.datatype().expect("task") {
            minicbor::data::Type::String => Ok(d.str().expect("name").to_string()),
            _ => Err(d.u64().expect("back-reference")),
        });
        for _ in 0..3 {
            d.skip().expect("generation, uptime, body");
        }
    }
    out
}

/// Two tasks outside the table share "unknown"; task 64 (in the table, past
/// the slots) is never mistaken for them.
#[test]
fn unknown_tasks_share_a_name_and_task_64_keeps_its_own() {
    let mut s: Store<4096, ManyTasks> = Store::new();
    s.init(TaskId::new(0, 0), 0);
    s.set_restart_id(RestartId(1)).unwrap();
    for t in [100u16, 64, 200, 64, 3, 3] {
        s.deliver(TaskId::new(t, 0), 0, &[0xa0][..]).unwrap();
    }
    let mut buf = [0u8; 1024];
    let n = s
        .read_ereports(&ReadRequest::new(RestartId(1)).id(1), &mut buf[..], None)
        .unwrap();
    let names: Vec<_> = decode_packet(&buf[..n])
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.task_name)
        .collect();
    assert_eq!(
        names,
        ["t0", "unknown", "t64", "unknown", "t64", "t3", "t3"]
    );
    assert_eq!(
        task_items(&buf[..n]),
        [
            Ok("t0".into()),
            Ok("unknown".into()),
            Ok("t64".into()),
            Err(1),
            Ok("t64".into()),
            Ok("t3".into()),
            Err(5),
        ]
    );
}

proptest! {
    #[test]
    fn every_entry_decodes_to_its_tasks_name(
        tasks in proptest::collection::vec(
            prop_oneof![0u16..70, 60u16..70, 70u16..400, Just(u16::MAX)],
            1..120,
        ),
    ) {
        let mut s: Store<8192, ManyTasks> = Store::new();
        s.init(TaskId::new(0, 0), 0);
        s.set_restart_id(RestartId(1)).unwrap();
        for &t in &tasks {
            s.deliver(TaskId::new(t, 0), 0, &[0xa0][..]).unwrap();
        }
        let mut buf = [0u8; 4096];
        let n = s
            .read_ereports(&ReadRequest::new(RestartId(1)).id(1), &mut buf[..], None)
            .unwrap();
        let p = decode_packet(&buf[..n]).unwrap();
        // The initial loss record (packrat, task 0) comes first.
        let all: Vec<u16> = std::iter::once(0).chain(tasks.iter().copied()).collect();
        prop_assert_eq!(p.entries.len(), all.len());
        for (e, &t) in p.entries.iter().zip(&all) {
            prop_assert_eq!(e.task_name.as_str(), name(t), "task {}", t);
        }
        // Text only for the first entry of a task below 64 or of the unknown
        // ones, and for every entry of a task past the slots; otherwise the
        // index of that first entry.
        let mut first_of = std::collections::HashMap::new();
        for (k, (item, &t)) in task_items(&buf[..n]).iter().zip(&all).enumerate() {
            let key = if t >= 70 { Some(u16::MAX) } else if t < 64 { Some(t) } else { None };
            match key.and_then(|key| first_of.get(&key).copied()) {
                Some(e) => prop_assert_eq!(item, &Err(e), "entry {}", k),
                None => {
                    prop_assert_eq!(item, &Ok(name(t).to_string()), "entry {}", k);
                    if let Some(key) = key {
                        first_of.insert(key, k as u64);
                    }
                }
            }
        }
    }
}
