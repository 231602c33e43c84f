use ereport_sdk::{Ereport, EreportField};

#[derive(EreportField)]
struct Inner {
    slot: u8,
}

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct Outer {
    slot: u8,
    #[ereport(flatten)]
    inner: Inner,
}

#[derive(EreportField)]
struct HasK {
    k: u8,
}

#[derive(Ereport)]
#[ereport(class = "hw.y", version = 0)]
struct FlattensK {
    #[ereport(flatten)]
    inner: HasK,
}

fn main() {}
