// A rate-limited class needs the time: `deliver` without it does not
// compile.
use ereport_sdk::{DeliverError, DeliverEreport, Ena, Ereport};

#[derive(Ereport)]
#[ereport(class = "hw.pwr.alert", version = 0, rate_limit(per_second = 10, burst = 20))]
struct Alert {
    status: u16,
}

ereport_sdk::reporter! {
    struct Power { Alert }
}

struct Packrat;
impl DeliverEreport for Packrat {
    fn deliver_ereport(&self, _: &[u8]) -> Result<Ena, DeliverError> {
        Ok(Ena(1))
    }
}

fn main() {
    let mut r = Power::new();
    let _ = r.deliver(&Packrat, &Alert { status: 1 });
}
