use ereport_sdk::Ereport;

#[derive(Ereport)]
#[ereport(class = "hw.x")]
#[ereport(version = 0)]
struct Twice {
    a: u8,
}

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0, class = "hw.y")]
struct KeyTwice {
    a: u8,
}

fn main() {}
