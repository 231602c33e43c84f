//! The reporter's other forms: a class chosen at run time (`class_enum!`),
//! upstream's declaration (`declare_ereporter!`: owns its client and a
//! static buffer claimed once), and the ring of recent deliveries.

use std::cell::RefCell;

use ereport_sdk::decode::decode_value;
use ereport_sdk::storm::SUPPRESSED_CLASS;
use ereport_sdk::{DeliverEreport, DeliverError, Delivery, Ena, Ereport, RECENT_DELIVERIES};

#[derive(Ereport)]
#[ereport(
    class = "hw.pwr.pmbus.alert",
    version = 0,
    rate_limit(per_second = 1, burst = 2)
)]
struct Alert {
    status: u16,
}

#[derive(Ereport)]
#[ereport(class = "hw.temp.overtemp", version = 0)]
struct Overtemp {
    sensor: u8,
}

#[derive(Ereport)]
#[ereport(class = "hw.seq.fail", version = 1)]
struct SeqFail {
    rail: heapless::String<64>,
}

ereport_sdk::reporter! {
    struct Power { Alert, Overtemp, SeqFail }
}

ereport_sdk::class_enum! {
    /// What the power loop decided to report.
    enum PowerReport for Power {
        Alert(Alert),
        Overtemp(Overtemp),
    }
}

/// A packrat that stores every body, and refuses when told to.
#[derive(Default)]
struct Packrat {
    bodies: RefCell<Vec<Vec<u8>>>,
    refuse: std::cell::Cell<bool>,
}

impl DeliverEreport for Packrat {
    fn deliver_ereport(&self, body: &[u8]) -> Result<Ena, DeliverError> {
        if self.refuse.get() {
            return Err(DeliverError::StoreFull);
        }
        let mut v = self.bodies.borrow_mut();
        v.push(body.to_vec());
        Ok(Ena(v.len() as u64))
    }
}

impl Packrat {
    fn classes(&self) -> Vec<String> {
        self.bodies
            .borrow()
            .iter()
            .map(|b| {
                let v = decode_value(b).unwrap();
                v.get("k").unwrap().as_str().unwrap().to_string()
            })
            .collect()
    }
}

#[test]
fn a_class_chosen_at_run_time_is_delivered_counted_and_rate_limited() {
    let packrat = Packrat::default();
    let mut r = Power::new();
    for i in 0..4u16 {
        let report = if i % 2 == 0 {
            PowerReport::Alert(Alert { status: i })
        } else {
            PowerReport::Overtemp(Overtemp { sensor: i as u8 })
        };
        let _ = r.deliver_at(&packrat, &report, 0);
    }
    // Two alerts within the burst, two overtemps.
    assert_eq!(r.counts::<Alert>().sent, 2);
    assert_eq!(r.counts::<Overtemp>().sent, 2);
    // A third alert at the same instant is over the limit, refused before
    // any IPC; the next one let through is preceded by its record.
    assert_eq!(
        r.deliver_at(&packrat, &PowerReport::Alert(Alert { status: 9 }), 0),
        Err(DeliverError::Suppressed)
    );
    assert_eq!(r.counts::<Alert>().suppressed, 1);
    assert!(
        r.deliver_at(&packrat, &PowerReport::Alert(Alert { status: 10 }), 5_000)
            .is_ok()
    );
    let classes = packrat.classes();
    assert_eq!(classes.len(), 6);
    assert_eq!(classes[4], SUPPRESSED_CLASS);
    assert_eq!(classes[5], "hw.pwr.pmbus.alert");
    for (_, c) in r.all_counts() {
        assert!(c.balanced());
    }
    // The enum's bound is its largest class, within the reporter's buffer.
    assert_eq!(
        <PowerReport as ereport_sdk::AnyDeclared<Power>>::MAX_LEN,
        Alert::MAX_LEN.max(Overtemp::MAX_LEN)
    );
}

#[test]
fn recent_deliveries_ring_keeps_the_last_ones_oldest_first() {
    let packrat = Packrat::default();
    let mut r = Power::new();
    assert_eq!(r.state().recent().count(), 0);
    let _ = r.deliver(&packrat, &Overtemp { sensor: 1 });
    packrat.refuse.set(true);
    let _ = r.deliver(&packrat, &Overtemp { sensor: 2 });
    packrat.refuse.set(false);
    let recent: Vec<Delivery> = r.state().recent().collect();
    assert_eq!(recent.len(), 2);
    assert_eq!(recent[0].class, "hw.temp.overtemp");
    assert_eq!(recent[0].result, Ok(Ena(1)));
    assert_eq!(usize::from(recent[0].len), packrat.bodies.borrow()[0].len());
    assert_eq!(recent[1].result, Err(DeliverError::StoreFull));
    // Past the ring's size only the newest are kept, oldest first.
    for i in 0..RECENT_DELIVERIES + 3 {
        let mut rail = heapless::String::new();
        rail.push_str(&format!("rail{i}")).unwrap();
        let _ = r.deliver(&packrat, &SeqFail { rail });
    }
    let recent: Vec<Delivery> = r.state().recent().collect();
    assert_eq!(recent.len(), RECENT_DELIVERIES);
    assert!(recent.iter().all(|d| d.class == "hw.seq.fail"));
    let enas: Vec<u64> = recent.iter().map(|d| d.result.unwrap().0).collect();
    let mut sorted = enas.clone();
    sorted.sort_unstable();
    assert_eq!(enas, sorted, "oldest first");
    assert_eq!(*enas.last().unwrap(), packrat.bodies.borrow().len() as u64);
    // A suppressed report is remembered too, with no length.
    let _ = r.deliver_at(&packrat, &Alert { status: 1 }, 0);
    let _ = r.deliver_at(&packrat, &Alert { status: 1 }, 0);
    let _ = r.deliver_at(&packrat, &Alert { status: 1 }, 0);
    let last = r.state().recent().last().unwrap();
    assert_eq!(
        (last.class, last.len, last.result),
        ("hw.pwr.pmbus.alert", 0, Err(DeliverError::Suppressed))
    );
}

mod upstream_style {
    use super::*;

    ereport_sdk::declare_ereporter! {
        /// Declared the way upstream declares its reporters.
        pub struct Ereporter<PowerEreport> { Alert, Overtemp }
    }

    /// Code written against upstream's generated trait.
    fn report(e: &mut Ereporter<Packrat>, r: &impl PowerEreport) -> Result<Ena, DeliverError> {
        e.deliver_ereport_at(r, 0)
    }

    #[test]
    fn owns_its_client_and_a_static_buffer_claimed_once() {
        let mut e = Ereporter::claim_static_resources(Packrat::default());
        assert_eq!(
            Ereporter::<Packrat>::BUF_LEN,
            Alert::MAX_LEN
                .max(Overtemp::MAX_LEN)
                .max(ereport_sdk::storm::Suppressed::max_len(
                    "hw.pwr.pmbus.alert".len()
                ))
        );
        assert_eq!(report(&mut e, &Overtemp { sensor: 4 }), Ok(Ena(1)));
        assert_eq!(report(&mut e, &Alert { status: 1 }), Ok(Ena(2)));
        assert_eq!(e.counts::<Overtemp>().sent, 1);
        assert_eq!(e.counts::<Alert>().sent, 1);
        // The buffer is the program's one static: a second claim gets
        // nothing (and `claim_static_resources` would panic, as upstream's).
        assert!(Ereporter::try_claim_static_resources(Packrat::default()).is_none());
        // A class chosen at run time, through the same reporter.
        assert!(e.deliver_any_at(&Overtemp { sensor: 5 }, 0).is_ok());
        assert_eq!(e.counts::<Overtemp>().sent, 2);
        // Upstream's own call: no result, the outcome counted.
        e.deliver_ereport(&Overtemp { sensor: 6 });
        assert_eq!(e.counts::<Overtemp>().sent, 3);
        assert_eq!(e.try_deliver_ereport(&Overtemp { sensor: 7 }), Ok(Ena(5)));
    }

    mod named {
        use super::super::{Alert, Overtemp};

        // Upstream's later form, each class named.
        ereport_sdk::declare_ereporter! {
            pub(super) struct Named<NamedEreport> {
                PmbusAlert(Alert),
                Overtemp(Overtemp),
            }
        }

        #[test]
        fn the_named_form_declares_the_same_reporter() {
            assert_eq!(
                Named::<super::Packrat>::CLASSES,
                ["hw.pwr.pmbus.alert", "hw.temp.overtemp"]
            );
            let mut e = Named::claim_static_resources(super::Packrat::default());
            e.deliver_ereport(&Alert { status: 3 });
            assert_eq!(e.counts::<Alert>().sent, 1);
        }
    }
}
