//! A simulated rack: many SPs in one process, each a [`Sim`] on its own
//! loopback port with its own restart id, identity, producers and faults.
//!
//! A rack of 36 is what one management gateway serves: 32 sleds, 2
//! switches and 2 power-shelf controllers. [`Rack::start`] lays out any
//! number the same way (the last four are switches and power shelves once
//! there are more than four), on consecutive ports from the first, and
//! [`Rack::inventory`] says where each one is, for the gateway.

use std::net::SocketAddr;

use ereport_sdk::{Caboose, Identity};
use serde_json::{Value, json};

use crate::sim::{Sim, SimConfig, SimError};

/// SPs in a full rack.
pub const RACK_SIZE: usize = 36;

/// What an SP manages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpKind {
    /// A compute sled.
    Sled,
    /// A rack switch.
    Switch,
    /// A power-shelf controller.
    Power,
}

impl SpKind {
    /// The name the inventory and the control plane use.
    pub fn name(self) -> &'static str {
        match self {
            SpKind::Sled => "sled",
            SpKind::Switch => "switch",
            SpKind::Power => "power",
        }
    }

    /// The baseboard part number of this kind.
    pub fn part_number(self) -> &'static str {
        match self {
            SpKind::Sled => "913-0000019",
            SpKind::Switch => "913-0000006",
            SpKind::Power => "913-0000003",
        }
    }

    /// The board name in its caboose.
    pub fn board(self) -> &'static str {
        match self {
            SpKind::Sled => "sim-gimlet",
            SpKind::Switch => "sim-sidecar",
            SpKind::Power => "sim-psc",
        }
    }
}

/// One SP of a rack: its place and address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RackSlot {
    /// A name unique in the rack (`sled-07`, `switch-1`, `power-0`).
    pub name: String,
    /// What it manages.
    pub kind: SpKind,
    /// Its slot among SPs of its kind.
    pub slot: u32,
    /// Where its snitch listens.
    pub addr: SocketAddr,
}

/// The kind and slot of position `i` of `count`.
pub fn layout(i: usize, count: usize) -> (SpKind, u32) {
    let sleds = if count > 4 { count - 4 } else { count };
    match i.checked_sub(sleds) {
        None => (SpKind::Sled, i as u32),
        Some(j) if j < 2 => (SpKind::Switch, j as u32),
        Some(j) => (SpKind::Power, (j - 2) as u32),
    }
}

/// The identity of an SP: its kind's part number, a serial unique in the
/// rack, its kind's board.
pub fn identity(kind: SpKind, slot: u32) -> Identity {
    fn s<const N: usize>(v: &str) -> heapless::String<N> {
        v.try_into().unwrap_or_default()
    }
    let prefix = match kind {
        SpKind::Sled => "BRM",
        SpKind::Switch => "SWT",
        SpKind::Power => "PSC",
    };
    Identity {
        part_number: s(kind.part_number()),
        serial_number: s(&format!("{prefix}{slot:08}")),
        revision: 6,
        caboose: Some(Caboose {
            board: s(kind.board()),
            version: s("1.0.0"),
            commit: s("0123456789abcdef"),
        }),
    }
}

/// A running rack.
pub struct Rack {
    sps: Vec<(RackSlot, Sim)>,
}

impl Rack {
    /// Starts `count` SPs, the first listening on `first` and each next on
    /// the next port (port 0: each on any free port). Every SP gets `base`'s
    /// settings, its own identity, and its own seed (`base.seed + i`).
    pub fn start(count: usize, first: SocketAddr, base: &SimConfig) -> Result<Rack, SimError> {
        let mut sps = Vec::with_capacity(count);
        for i in 0..count {
            let (kind, slot) = layout(i, count);
            let listen = if first.port() == 0 {
                first
            } else {
                let port =
                    u16::try_from(usize::from(first.port()) + i).map_err(|_| SimError::Listen {
                        addr: first,
                        source: std::io::Error::other(format!("no port for SP {i}: past 65535")),
                    })?;
                SocketAddr::new(first.ip(), port)
            };
            let sim = Sim::start(SimConfig {
                listen,
                seed: base.seed.wrapping_add(i as u64),
                identity: identity(kind, slot),
                ..base.clone()
            })?;
            let name = match kind {
                SpKind::Sled => format!("sled-{slot:02}"),
                SpKind::Switch => format!("switch-{slot}"),
                SpKind::Power => format!("power-{slot}"),
            };
            let addr = sim.local_addr();
            sps.push((
                RackSlot {
                    name,
                    kind,
                    slot,
                    addr,
                },
                sim,
            ));
        }
        Ok(Rack { sps })
    }

    /// The SPs.
    pub fn sps(&self) -> impl Iterator<Item = &(RackSlot, Sim)> {
        self.sps.iter()
    }

    /// The inventory as JSON: `[{"name", "kind", "slot", "address"}]`,
    /// what `ereport-gateway --inventory` reads.
    pub fn inventory(&self) -> Value {
        Value::Array(
            self.sps
                .iter()
                .map(|(s, _)| {
                    json!({
                        "name": s.name,
                        "kind": s.kind.name(),
                        "slot": s.slot,
                        "address": s.addr.to_string(),
                    })
                })
                .collect(),
        )
    }

    /// Stops every SP; returns each one's final counters.
    pub fn stop(self) -> Vec<(RackSlot, crate::sim::SimStats)> {
        self.sps
            .into_iter()
            .map(|(slot, sim)| (slot, sim.stop()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rack_of_36_is_32_sleds_2_switches_2_power_shelves() {
        let kinds: Vec<(SpKind, u32)> = (0..RACK_SIZE).map(|i| layout(i, RACK_SIZE)).collect();
        assert_eq!(kinds.iter().filter(|k| k.0 == SpKind::Sled).count(), 32);
        assert_eq!(kinds[32], (SpKind::Switch, 0));
        assert_eq!(kinds[33], (SpKind::Switch, 1));
        assert_eq!(kinds[34], (SpKind::Power, 0));
        assert_eq!(kinds[35], (SpKind::Power, 1));
        assert!((0..3).all(|i| layout(i, 3).0 == SpKind::Sled));
    }

    #[test]
    fn identities_are_distinct() {
        let serials: std::collections::BTreeSet<String> = (0..RACK_SIZE)
            .map(|i| {
                let (k, s) = layout(i, RACK_SIZE);
                identity(k, s).serial_number.to_string()
            })
            .collect();
        assert_eq!(serials.len(), RACK_SIZE);
        assert_eq!(
            identity(SpKind::Power, 1).part_number.as_str(),
            "913-0000003"
        );
    }
}
