use ereport_sdk::{Ereport, EreportField};

#[derive(EreportField)]
struct Inner {
    a: u8,
}

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct RenameFlatten {
    #[ereport(flatten, rename = "x")]
    inner: Inner,
}

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct RenameSkip {
    #[ereport(skip, rename = "x")]
    a: u8,
}

#[derive(EreportField)]
struct Tuple(#[ereport(rename = "x")] u8, u8);

#[derive(EreportField)]
enum NoId {
    #[ereport(rename = "x")]
    Named { a: u8 },
}

#[derive(EreportField)]
#[ereport(variant_id = "kind")]
struct NotAnEnum {
    a: u8,
}

fn main() {}
