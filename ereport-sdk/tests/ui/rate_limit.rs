// Malformed rate limits, and the class the SDK keeps for its own records.
use ereport_sdk::{Ereport, EreportField};

#[derive(Ereport)]
#[ereport(class = "hw.a", version = 0, rate_limit(per_second = 10))]
struct NoBurst {
    x: u8,
}

#[derive(Ereport)]
#[ereport(class = "hw.b", version = 0, rate_limit(per_second = 0, burst = 5))]
struct Zero {
    x: u8,
}

#[derive(Ereport)]
#[ereport(class = "hw.c", version = 0, rate_limit(per_minute = 10, burst = 5))]
struct UnknownKey {
    x: u8,
}

#[derive(Ereport)]
#[ereport(class = "hw.d", version = 0, rate_limit = 10)]
struct NoParens {
    x: u8,
}

#[derive(EreportField)]
#[ereport(rate_limit(per_second = 1, burst = 1))]
struct OnAField {
    x: u8,
}

#[derive(Ereport)]
#[ereport(class = "ereport.suppressed", version = 0)]
struct Reserved {
    x: u8,
}

fn main() {}
