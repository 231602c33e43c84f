//! Property test: fit-or-roll-back writes exactly the items that fit.

use lease_writer::testing::FakeLease;
use lease_writer::{Fit, LeaseWriter, encode_if_fits};
use minicbor::Encoder;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Item {
    U64(u64),
    I64(i64),
    Text(String),
    Bytes(Vec<u8>),
    Array(Vec<u32>),
    Null,
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        any::<u64>().prop_map(Item::U64),
        any::<i64>().prop_map(Item::I64),
        "[a-z]{0,40}".prop_map(Item::Text),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Item::Bytes),
        proptest::collection::vec(any::<u32>(), 0..20).prop_map(Item::Array),
        Just(Item::Null),
    ]
}

fn encode<W: minicbor::encode::Write>(
    e: &mut Encoder<W>,
    item: &Item,
) -> Result<(), minicbor::encode::Error<W::Error>> {
    match item {
        Item::U64(v) => e.u64(*v)?,
        Item::I64(v) => e.i64(*v)?,
        Item::Text(s) => e.str(s)?,
        Item::Bytes(b) => e.bytes(b)?,
        Item::Array(a) => {
            e.array(a.len() as u64)?;
            for v in a {
                e.u32(*v)?;
            }
            e
        }
        Item::Null => e.null()?,
    };
    Ok(())
}

fn to_vec(item: &Item) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    encode(&mut e, item).unwrap();
    e.into_writer()
}

fn run<const S: usize>(len: usize, offset: usize, items: &[Item]) -> Result<(), TestCaseError> {
    let offset = offset.min(len);
    let mut enc =
        Encoder::new(LeaseWriter::<_, S>::starting_at(FakeLease::new(len), offset).unwrap());
    let mut expect = Vec::new();
    for item in items {
        let bytes = to_vec(item);
        let room = len - offset - expect.len();
        let fit = encode_if_fits(&mut enc, |e| encode(e, item)).unwrap();
        if bytes.len() <= room {
            prop_assert_eq!(fit, Fit::Fitted, "an item that fits was skipped");
            expect.extend(bytes);
        } else {
            prop_assert_eq!(fit, Fit::DidNotFit);
        }
    }
    let end = enc.writer_mut().finish().unwrap();
    prop_assert_eq!(end, offset + expect.len());
    let lease = enc.into_writer().into_lease();
    prop_assert_eq!(&lease.bytes()[offset..end], &expect[..]);
    prop_assert!(lease.bytes()[..offset].iter().all(|b| *b == 0));
    prop_assert_eq!(lease.stats().zero_length_writes, 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn fitted_items_are_exactly_what_is_in_the_lease(
        len in 0usize..=2048,
        offset in 0usize..40,
        staging in 0usize..5,
        items in proptest::collection::vec(item(), 0..60),
    ) {
        match staging {
            0 => run::<0>(len, offset, &items)?,
            1 => run::<1>(len, offset, &items)?,
            2 => run::<16>(len, offset, &items)?,
            3 => run::<128>(len, offset, &items)?,
            _ => run::<509>(len, offset, &items)?,
        }
    }
}
