use ereport_sdk::Ereport;

#[derive(Ereport)]
struct Bare {
    a: u8,
}

fn main() {}
