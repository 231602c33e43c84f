//! Golden bytes: every field's offset in the request and response header.

use ereport_sdk::wire::{
    MAX_RESPONSE_LEN, MGS_PORT, REQUEST_LEN, RESPONSE_HEADER_LEN, Request, RequestError,
    ResponseHeader, SP_PORT,
};
use ereport_sdk::{Ena, RestartId};
use zerocopy::{FromBytes, IntoBytes};

const RID: u128 = 0x0f0e0d0c_0b0a0908_07060504_03020100;

#[test]
fn constants() {
    assert_eq!(SP_PORT, 57005);
    assert_eq!(MGS_PORT, 57007);
    assert_eq!(MAX_RESPONSE_LEN, 1024);
    assert_eq!(REQUEST_LEN, 35);
    assert_eq!(RESPONSE_HEADER_LEN, 26);
}

#[test]
fn request_layout() {
    let req = Request::new(
        RestartId(RID),
        Ena(0x1122334455667788),
        Ena(0x99aabbccddeeff00),
        0xfe,
        0x42,
    );
    let b = req.as_bytes();
    assert_eq!(b.len(), 35);
    assert_eq!(b[0], 0, "version at offset 0");
    assert_eq!(&b[1..17], &RID.to_le_bytes(), "restart id at 1..17");
    assert_eq!(
        &b[17..25],
        &0x1122334455667788u64.to_le_bytes(),
        "start ENA at 17..25"
    );
    assert_eq!(
        &b[25..33],
        &0x99aabbccddeeff00u64.to_le_bytes(),
        "committed ENA at 25..33"
    );
    assert_eq!(b[33], 0xfe, "limit at 33");
    assert_eq!(b[34], 0x42, "request id at 34");
    let parsed = Request::parse(b).unwrap();
    assert_eq!(parsed.restart_id(), RestartId(RID));
    assert_eq!(parsed.start_ena(), Ena(0x1122334455667788));
    assert_eq!(parsed.committed_ena(), Ena(0x99aabbccddeeff00));
    assert_eq!((parsed.limit, parsed.request_id), (0xfe, 0x42));
}

#[test]
fn request_golden_bytes() {
    // MGS's metadata refresh: restart id 0, start 0, limit 0, request id 7.
    let mut golden = [0u8; 35];
    golden[34] = 7;
    let req = Request::parse(&golden).unwrap();
    assert_eq!(req.restart_id(), RestartId::UNKNOWN);
    assert_eq!(req.limit, 0);
    assert_eq!(req.request_id, 7);
}

#[test]
fn response_header_layout() {
    let h = ResponseHeader::new(RestartId(RID), Ena(0x0102030405060708), 0x99);
    let b = h.as_bytes();
    assert_eq!(b.len(), 26);
    assert_eq!(b[0], 0, "version at offset 0");
    assert_eq!(&b[1..17], &RID.to_le_bytes(), "restart id at 1..17");
    assert_eq!(&b[17..25], &[8, 7, 6, 5, 4, 3, 2, 1], "start ENA at 17..25");
    assert_eq!(b[25], 0x99, "request id at 25");
    let back = ResponseHeader::read_from_bytes(b).unwrap();
    assert_eq!(back, h);
}

#[test]
fn bad_requests_say_why() {
    let good = Request::new(RestartId(1), Ena(1), Ena(0), 1, 1);
    let b = good.as_bytes();
    assert_eq!(Request::parse(&b[..34]), Err(RequestError::Short(34)));
    assert_eq!(Request::parse(&[]), Err(RequestError::Short(0)));
    let mut long = b.to_vec();
    long.push(0);
    assert_eq!(Request::parse(&long), Err(RequestError::Long(36)));
    let mut v1 = b.to_vec();
    v1[0] = 1;
    assert_eq!(Request::parse(&v1), Err(RequestError::Version(1)));
}

proptest::proptest! {
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80)) {
        let r = Request::parse(&bytes);
        proptest::prop_assert_eq!(r.is_ok(), bytes.len() == 35 && bytes[0] == 0);
    }
}
