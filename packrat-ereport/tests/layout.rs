//! The store's memory layout (`packrat_ereport::layout`) pinned in golden
//! bytes: what `ereport-dump` and any other reader of a memory image relies
//! on.

use ereport_sdk::{Ena, ReadRequest, RestartId, TaskId};
use ereport_w1::W1Tasks;
use packrat_ereport::Store;
use packrat_ereport::layout::{LAYOUT_VERSION, MAGIC, RING_HEADER_LEN, RingHeader};

/// The store's bytes as they lie in memory.
fn memory<const N: usize>(s: &Store<N, W1Tasks>) -> &[u8] {
    // SAFETY: the store is a plain `#[repr(C)]` struct of integers and byte
    // arrays with no padding in the header and ring; viewing its bytes for
    // reading, while it is borrowed, is sound. The length covers the header
    // and the ring only, which have no padding bytes.
    unsafe {
        std::slice::from_raw_parts(
            (s as *const Store<N, W1Tasks>).cast::<u8>(),
            RING_HEADER_LEN + N,
        )
    }
}

#[test]
fn a_new_store_is_all_zeroes() {
    let s: Store<256, W1Tasks> = Store::new();
    assert!(memory(&s).iter().all(|b| *b == 0));
    assert_eq!(s.ring_header().to_bytes(), [0u8; RING_HEADER_LEN]);
}

#[test]
fn the_header_in_golden_bytes() {
    let mut s: Store<256, W1Tasks> = Store::new();
    s.init(TaskId::new(5, 2), 7);
    s.set_restart_id(RestartId(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10))
        .unwrap();
    // Three 20-byte records (33 bytes each), then commit the first two.
    for i in 0..3u8 {
        let body = [
            0xa1, 0x61, b'x', 0x58, 15, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i,
        ];
        s.deliver(TaskId::new(1, 0), 100, &body[..]).unwrap();
    }
    s.flush_thru(Ena(3));
    // Fill to force losses: two pending.
    while s.deliver(TaskId::new(1, 0), 200, &[0xa0; 40][..]).is_ok() {}
    s.deliver(TaskId::new(1, 0), 300, &[0xa0; 40][..])
        .unwrap_err();
    let h = s.ring_header().to_bytes();
    let mut want = Vec::new();
    want.extend_from_slice(&MAGIC);
    want.extend_from_slice(&LAYOUT_VERSION.to_le_bytes());
    want.extend_from_slice(&13u16.to_le_bytes());
    want.extend_from_slice(&256u32.to_le_bytes());
    // ENA 1 (loss record, 20 bytes) and ENAs 2, 3 (33 each) freed: the
    // oldest record, ENA 4, is at 20 + 66 = 86.
    want.extend_from_slice(&86u32.to_le_bytes());
    want.extend_from_slice(&245u32.to_le_bytes());
    want.extend_from_slice(&4u64.to_le_bytes());
    want.extend_from_slice(&9u64.to_le_bytes());
    want.extend_from_slice(&0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10u128.to_le_bytes());
    want.extend_from_slice(&2u32.to_le_bytes());
    want.extend_from_slice(&[1, 2]);
    want.extend_from_slice(&5u16.to_le_bytes());
    want.extend_from_slice(&300u64.to_le_bytes());
    assert_eq!(h.as_slice(), want.as_slice());
    // The same bytes read back through the declared type.
    use zerocopy::FromBytes;
    let read = RingHeader::read_from_bytes(&want[..]).unwrap();
    assert_eq!(&read, s.ring_header());
    assert_eq!((read.head.get(), read.used.get()), (86, 245));
    assert_eq!((read.earliest.get(), read.next.get()), (4, 9));
    assert_eq!(s.used_bytes(), 33 + 4 * 53, "ENA 4 and four 40-byte bodies");
    assert_eq!(s.next_ena(), Ena(9));
}

#[test]
fn memory_holds_the_header_then_the_ring() {
    let mut s: Store<512, W1Tasks> = Store::new();
    s.init(TaskId::new(5, 0), 0);
    s.set_restart_id(RestartId(9)).unwrap();
    s.deliver(TaskId::new(2, 1), 55, &[0xa1, 0x61, b'a', 0x01][..])
        .unwrap();
    let mut lease = [0u8; 1024];
    s.read_ereports(&ReadRequest::new(RestartId(9)), &mut lease[..], None)
        .unwrap();
    let m = memory(&s);
    assert_eq!(&m[..RING_HEADER_LEN], s.ring_header().to_bytes().as_slice());
    assert_eq!(&m[RING_HEADER_LEN..], s.ring_bytes().as_slice());
    // The first record: ENA 1's 13-byte header and `{"lost": null}`.
    assert_eq!(
        &m[RING_HEADER_LEN..RING_HEADER_LEN + 20],
        &[
            7, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa1, 0x64, b'l', b'o', b's', b't', 0xf6
        ]
    );
}
