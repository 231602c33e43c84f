//! The Hubris glue macro, expanded against a stand-in `idol_runtime` with the
//! real signatures.

mod idol_runtime {
    use core::marker::PhantomData;
    use core::ops::Range;
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    pub struct R;
    pub struct W;

    /// Stand-in for the kernel's view of the lender's memory.
    pub struct Lender {
        pub mem: RefCell<Vec<u8>>,
        pub alive: Cell<bool>,
        pub calls: Cell<usize>,
    }

    pub struct Leased<A, T: ?Sized> {
        lender: Rc<Lender>,
        len: usize,
        _marker: PhantomData<(A, *const T)>,
    }

    impl<A> Leased<A, [u8]> {
        pub fn new(lender: Rc<Lender>) -> Self {
            let len = lender.mem.borrow().len();
            Self {
                lender,
                len,
                _marker: PhantomData,
            }
        }

        pub fn len(&self) -> usize {
            self.len
        }
    }

    impl Leased<W, [u8]> {
        pub fn write_range(&self, range: Range<usize>, src: &[u8]) -> Result<(), ()> {
            self.lender.calls.set(self.lender.calls.get() + 1);
            if !self.lender.alive.get() {
                return Err(());
            }
            self.lender
                .mem
                .borrow_mut()
                .get_mut(range)
                .ok_or(())?
                .copy_from_slice(src);
            Ok(())
        }
    }

    impl Leased<R, [u8]> {
        pub fn read_range(&self, range: Range<usize>, dst: &mut [u8]) -> Result<(), ()> {
            self.lender.calls.set(self.lender.calls.get() + 1);
            if !self.lender.alive.get() {
                return Err(());
            }
            dst.copy_from_slice(self.lender.mem.borrow().get(range).ok_or(())?);
            Ok(())
        }
    }
}

lease_writer::hubris_lease_glue!(idol_runtime);

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use lease_writer::{AccessError, Lease, LeaseWriter, ReadLease, WriteError, WriteLease};
use minicbor::encode::Write;

fn lender(len: usize) -> Rc<idol_runtime::Lender> {
    Rc::new(idol_runtime::Lender {
        mem: RefCell::new((0..len as u8).collect()),
        alive: Cell::new(true),
        calls: Cell::new(0),
    })
}

#[test]
fn write_lease_checks_bounds_before_the_kernel() {
    let l = lender(8);
    let mut lease = HubrisWriteLease(idol_runtime::Leased::new(l.clone()));
    assert_eq!(lease.len(), 8);
    lease.write_at(6, &[0xEE, 0xFF]).unwrap();
    assert_eq!(lease.write_at(7, &[1, 2]), Err(AccessError::OutOfBounds));
    assert_eq!(
        lease.write_at(usize::MAX, &[1]),
        Err(AccessError::OutOfBounds)
    );
    assert_eq!(
        l.calls.get(),
        1,
        "out-of-bounds accesses never reach the kernel"
    );
    l.alive.set(false);
    assert_eq!(lease.write_at(0, &[1]), Err(AccessError::WentAway));
    assert_eq!(&l.mem.borrow()[6..], &[0xEE, 0xFF]);
}

#[test]
fn read_lease_reports_went_away() {
    let l = lender(8);
    let lease = HubrisReadLease(idol_runtime::Leased::new(l.clone()));
    let mut out = [0u8; 3];
    lease.read_at(5, &mut out).unwrap();
    assert_eq!(out, [5, 6, 7]);
    assert_eq!(lease.read_at(6, &mut out), Err(AccessError::OutOfBounds));
    l.alive.set(false);
    assert_eq!(lease.read_at(0, &mut out), Err(AccessError::WentAway));
}

#[test]
fn lease_writer_runs_over_the_glue() {
    let l = lender(16);
    let mut w =
        LeaseWriter::<_, 4>::starting_at(HubrisWriteLease(idol_runtime::Leased::new(l.clone())), 2)
            .unwrap();
    w.write_all(&[0xA0; 14]).unwrap();
    assert_eq!(w.write_all(&[1]), Err(WriteError::OutOfSpace));
    assert_eq!(w.finish(), Ok(16));
    assert_eq!(&l.mem.borrow()[..3], &[0, 1, 0xA0]);
    l.alive.set(false);
    assert_eq!(w.write_all(&[]), Ok(()));
}
