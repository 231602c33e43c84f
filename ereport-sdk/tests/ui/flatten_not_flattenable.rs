use ereport_sdk::{Ereport, EreportField};

#[derive(EreportField)]
enum Unit {
    A,
    B,
}

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct Outer {
    #[ereport(flatten)]
    n: u32,
    #[ereport(flatten)]
    unit: Unit,
}

fn main() {}
