use ereport_sdk::{Ereport, Nested};

#[derive(Ereport)]
#[ereport(class = "hw.pwr.vout.fault", version = 0)]
struct VoutFault {
    rail: u8,
}

// Flattening a class would drop its "k" and "v": refused, naming the field.
#[derive(Ereport)]
#[ereport(class = "hw.pwr.summary", version = 0)]
struct Summary {
    #[ereport(flatten)]
    last: VoutFault,
}

// Nesting it as a field (`Nested`) keeps the whole ereport: accepted.
#[derive(Ereport)]
#[ereport(class = "hw.pwr.summary2", version = 0)]
struct Kept {
    last: Nested<VoutFault>,
}

fn main() {}
