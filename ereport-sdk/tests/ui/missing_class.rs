use ereport_sdk::Ereport;

#[derive(Ereport)]
#[ereport(version = 0)]
struct NoClass {
    a: u8,
}

fn main() {}
