use ereport_sdk::Ereport;

#[derive(Ereport)]
#[ereport(class = "hw.x", version = "0")]
struct StrVersion {
    a: u8,
}

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 1.5)]
struct FloatVersion {
    a: u8,
}

#[derive(Ereport)]
#[ereport(class = "hw.x", version = -1)]
struct NegativeVersion {
    a: u8,
}

fn main() {}
