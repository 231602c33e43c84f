use ereport_sdk::{Ereport, EreportField};

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct BorrowedText {
    name: &'static str,
}

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct BorrowedSlice {
    regs: &'static [u32],
}

#[derive(EreportField)]
struct Nested {
    name: &'static &'static str,
}

fn main() {}
