use ereport_sdk::Ereport;

#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct Growable {
    bytes: Vec<u8>,
}

// Behind a generic, a `&str` meets the trait bound, whose note names the
// types that do have a bound.
#[derive(Ereport)]
#[ereport(class = "hw.y", version = 0)]
struct Borrowed {
    name: Option<&'static str>,
}

fn main() {}
