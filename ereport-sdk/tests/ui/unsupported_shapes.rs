use ereport_sdk::{Ereport, EreportField};

#[derive(EreportField)]
union Either {
    a: u8,
    b: u16,
}

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct Tuple(u8);

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
enum NeedsNames {
    Tuple(u8),
}

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
enum UnitNeedsId {
    Unit,
}

fn main() {}
