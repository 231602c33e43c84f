use ereport_sdk::{Ereport, EreportField};

// Upstream's attribute name is read like ours: its keys are checked too.
#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct UnknownKey {
    #[cbor(skip_if_none)]
    a: Option<u8>,
}

// A key given in both spellings is a duplicate.
#[derive(EreportField)]
#[ereport(variant_id = "kind")]
#[cbor(variant_id = "type")]
enum TwoIds {
    A,
}

#[derive(EreportField)]
#[cbor(variant_id = "kind")]
#[cbor(rename = "x")]
enum TwoCbor {
    A,
}

fn main() {}
