use ereport_sdk::Ereport;

#[derive(Ereport)]
#[ereport(class = "hw.Pwr.pmbus-alert", version = 0)]
struct Upper {
    a: u8,
}

#[derive(Ereport)]
#[ereport(class = "hw..pwr", version = 0)]
struct EmptySegment {
    a: u8,
}

fn main() {}
