use ereport_sdk::Ereport;

#[derive(Ereport)]
#[ereport(class = "", version = 0)]
struct Empty {
    a: u8,
}

fn main() {}
