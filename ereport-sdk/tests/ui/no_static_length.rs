use ereport_sdk::Ereport;

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct Growable {
    bytes: Vec<u8>,
}

#[derive(Ereport)]
#[ereport(class = "hw.y", version = 0)]
struct Borrowed {
    name: &'static str,
}

fn main() {}
