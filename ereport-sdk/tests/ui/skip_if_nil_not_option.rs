use ereport_sdk::Ereport;

// `skip_if_nil` leaves the key out when the value is null: a `u32` never is.
#[derive(Ereport)]
#[ereport(class = "hw.x", version = 0)]
struct NotNullable {
    #[cbor(skip_if_nil)]
    count: u32,
}

fn main() {}
