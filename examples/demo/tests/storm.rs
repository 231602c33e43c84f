//! A storm on the simulated SP: with storm control every report of the
//! quiet producers reaches the gateway; without it, they are lost.

use ereport_demo::storm as scenario;

use std::time::Duration;

#[test]
fn storm_control_keeps_the_quiet_producers_heard() {
    let on = scenario::run(
        true,
        4000.0,
        30.0,
        Duration::from_secs(2),
        Duration::from_millis(500),
        3,
    );
    assert!(on.quiet_attempted > 20, "{on:?}");
    assert_eq!(on.quiet_lost, 0, "{on:?}");
    assert_eq!(on.quiet_at_gateway, on.quiet_attempted, "{on:?}");
    assert!(on.storm_suppressed > on.storm_stored * 10, "{on:?}");
    // Burst 20, then 10 a second: at most 20 + 10 per second (and a bit
    // for scheduling) got through.
    assert!(on.storm_stored <= 20 + 10 * 3, "{on:?}");

    let off = scenario::run(
        false,
        4000.0,
        30.0,
        Duration::from_secs(2),
        Duration::from_millis(500),
        3,
    );
    assert!(off.quiet_lost > 0, "{off:?}");
    assert!(off.quiet_at_gateway < off.quiet_attempted, "{off:?}");
    assert_eq!(off.storm_suppressed, 0);
}
