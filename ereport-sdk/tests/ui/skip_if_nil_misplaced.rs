use ereport_sdk::{Ereport, EreportField};

#[derive(EreportField)]
struct Inner {
    a: u8,
}

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct SkippedToo {
    #[ereport(skip, skip_if_nil)]
    a: Option<u8>,
}

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct Flattened {
    #[cbor(flatten, skip_if_nil)]
    inner: Option<Inner>,
}

#[derive(EreportField)]
struct Tuple(#[cbor(skip_if_nil)] Option<u8>, u8);

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct Twice {
    #[ereport(skip_if_nil)]
    #[cbor(skip_if_nil)]
    a: Option<u8>,
}

fn main() {}
