//! The demo and the storm scenario: a simulated SP and a gateway run
//! together in one process (not shipped; `cargo run -p ereport-demo` runs
//! the demo, `cargo run --release -p ereport-demo --example storm` the storm
//! figures).

pub mod storm;
