//! The emulated SP: one Cortex-M7 image in which packrat's store, the
//! snitch, four producer tasks declared with the derive, and a kernel that
//! injects task faults run together, answering the management gateway over
//! UDP through smoltcp and a LAN9118 driver. Run it with `run-sp.sh` (next
//! to this crate); `docs/emulated-sp.md` describes it.
//!
//! The tasks are run by one loop, cooperatively: the snitch answers what
//! the NIC received, producers deliver what is due, faults and the identity
//! come when their time does, and the CPU sleeps (`wfi`) until the next
//! millisecond when nothing is left. IPC goes through the lease traits with
//! real borrowed memory: a producer lends its encode buffer to packrat
//! (`TaskLease`, which fails once the lender restarted), and packrat
//! encodes the response into the snitch's buffer (`KernelWriteLease`).
//!
//! `unsafe` is only in the driver's register access and in start-up.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod lan9118;
#[allow(unsafe_code)]
mod startup;

mod config;
mod net;
mod tasks;

use core::fmt::{self, Write as _};

use cortex_m::peripheral::SYST;
use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use ereport_cortex_m::{exit_failure, exit_success};
use ereport_sdk::{DeliverError, RestartId};
use smoltcp::iface::SocketStorage;
use smoltcp::socket::udp;
use snitch::{Event, Snitch};
use sp_workload::{PRODUCERS, Producer, Rng, default_identity, next_fault, restart_id_from_seed};

use config::Config;
use lan9118::{Lan9118, MPS2_AN500_BASE};
use net::{Buffers, SpNet};
use startup::now_ms;
use tasks::{ProducerClient, SnitchClient};

/// The port the snitch serves (the SP port MGS talks to).
const PORT: u16 = ereport_sdk::wire::SP_PORT;

/// A restart id as a UUID, the way the gateway prints it.
struct Uuid(RestartId);

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            v >> 96,
            (v >> 80) & 0xffff,
            (v >> 64) & 0xffff,
            (v >> 48) & 0xffff,
            v & 0xffff_ffff_ffff
        )
    }
}

/// One producer task: its reports, its client, its schedule.
struct ProducerTask {
    producer: Producer,
    client: ProducerClient,
    rng: Rng,
    /// When its next report is due, in microseconds of uptime.
    due_us: u64,
}

/// What producers' deliveries came to.
#[derive(Default)]
struct Counts {
    attempted: u32,
    delivered: u32,
    suppressed: u32,
    lost: u32,
    went_away: u32,
    faults: u32,
    /// Core clock ticks spent answering requests (receive, packrat's
    /// encode, send), and how many were timed.
    response_ticks: u64,
    responses_timed: u32,
}

impl Counts {
    /// Adds one response's time, from SysTick's counter before and after
    /// (it counts down from its reload; a response takes well under a
    /// millisecond, so it wrapped at most once).
    fn timed(&mut self, before: u32, after: u32) {
        let period = startup::CORE_HZ / 1_000;
        let ticks = if before >= after {
            before - after
        } else {
            before + period - after
        };
        self.response_ticks = self.response_ticks.saturating_add(u64::from(ticks));
        self.responses_timed = self.responses_timed.saturating_add(1);
    }

    fn count(&mut self, r: Result<ereport_sdk::Ena, DeliverError>) {
        self.attempted = self.attempted.wrapping_add(1);
        let c = match r {
            Ok(_) => &mut self.delivered,
            Err(DeliverError::Suppressed) => &mut self.suppressed,
            Err(DeliverError::WentAway) => &mut self.went_away,
            Err(_) => &mut self.lost,
        };
        *c = c.wrapping_add(1);
    }
}

/// Reports a producer may deliver in one pass of the loop: a stalled
/// emulator does not deliver a burst afterwards.
const MAX_PER_PASS: u32 = 64;
/// Packets the snitch may handle in one pass before the tasks get a turn.
const SNITCH_BURST: u32 = 8;
/// How often a status line is printed.
const STATUS_EVERY_MS: u64 = 10_000;

#[entry]
fn main() -> ! {
    let boot = startup::boot_number();
    let mut line = [0u8; 256];
    let cfg = match Config::from_semihosting(&mut line) {
        Ok(c) => c,
        Err(e) => {
            hprintln!("emulated-sp: {}", e);
            exit_failure();
        }
    };
    let Some(core) = cortex_m::Peripherals::take() else {
        hprintln!("emulated-sp: the core peripherals were taken twice");
        exit_failure();
    };
    startup::start_clock(core.SYST);

    let nic = match Lan9118::take() {
        Ok(n) => n,
        Err(e) => {
            hprintln!("emulated-sp: no LAN9118 at {:#x}: {:?}", MPS2_AN500_BASE, e);
            exit_failure();
        }
    };
    let restart_id = restart_id_from_seed(cfg.seed, boot);
    tasks::start_packrat(restart_id);

    let mut socket_storage = [SocketStorage::EMPTY];
    let mut rx_meta = [udp::PacketMetadata::EMPTY; 16];
    let mut rx = [0u8; 16 * 64];
    let mut tx_meta = [udp::PacketMetadata::EMPTY; 4];
    let mut tx = [0u8; 4 * ereport_sdk::wire::MAX_RESPONSE_LEN];
    let buffers = Buffers {
        sockets: &mut socket_storage,
        rx_meta: &mut rx_meta,
        rx: &mut rx,
        tx_meta: &mut tx_meta,
        tx: &mut tx,
    };
    let mac = nic.mac();
    let id_rev = nic.id_rev();
    let net = match SpNet::new(nic, PORT, cfg.seed ^ u64::from(boot), buffers) {
        Ok(n) => n,
        Err(e) => {
            hprintln!("emulated-sp: {}", e);
            exit_failure();
        }
    };
    let mut snitch = Snitch::new(net, SnitchClient);

    hprintln!(
        "emulated-sp: boot {}, restart id {}, seed {}, {} ereports/s, faults every {} ms, identity after {} ms",
        boot,
        Uuid(restart_id),
        cfg.seed,
        cfg.rate,
        cfg.fault_every_ms,
        cfg.vpd_delay_ms
    );
    hprintln!(
        "emulated-sp: LAN9118 (id {:#010x}) mac {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}, listening on udp {}:{}",
        id_rev,
        mac[0],
        mac[1],
        mac[2],
        mac[3],
        mac[4],
        mac[5],
        net::ADDRESS,
        PORT
    );

    let mut producers = PRODUCERS.map(|index| {
        let mut producer = Producer::new(index);
        producer.enforce_rate_limits(cfg.rate_limit);
        ProducerTask {
            producer,
            client: ProducerClient { index },
            rng: Rng::new(cfg.seed.wrapping_add(u64::from(index) * 7919)),
            due_us: 0,
        }
    });
    // Mean gap between one producer's reports.
    let mean_gap_us =
        (cfg.rate > 0).then(|| 1_000_000 * PRODUCERS.len() as u64 / u64::from(cfg.rate));
    let mut fault_rng = Rng::new(cfg.seed ^ 0xfa17);
    let mut next_fault_ms = (cfg.fault_every_ms > 0).then_some(cfg.fault_every_ms);
    let mut identity_pending = true;
    let mut producing = true;
    let mut counts = Counts::default();
    let mut next_status_ms = STATUS_EVERY_MS;
    let mut next_flush_ms = 0;

    loop {
        // The snitch: answer what arrived.
        let mut idle = false;
        for _ in 0..SNITCH_BURST {
            let before = SYST::get_current();
            let event = snitch.poll();
            if event == Event::Responded {
                counts.timed(before, SYST::get_current());
            }
            if event == Event::Waited {
                idle = true;
                break;
            }
        }
        let now = now_ms();

        if identity_pending && now >= cfg.vpd_delay_ms {
            identity_pending = false;
            tasks::set_identity(default_identity());
            hprintln!("emulated-sp: {} ms: identity set", now);
        }
        if producing && cfg.produce_for_ms > 0 && now >= cfg.produce_for_ms {
            producing = false;
            // Suppression records now rather than after a quiet second:
            // once stopped, the store changes only by what is read.
            for t in &mut producers {
                let at = now.saturating_add(ereport_sdk::SUPPRESSION_QUIET_MS);
                let n = t.producer.flush_suppressed(&t.client, at);
                counts.delivered = counts.delivered.wrapping_add(n as u32);
            }
            hprintln!("emulated-sp: {} ms: producers and faults stopped", now);
        }
        if producing && let Some(mean) = mean_gap_us {
            let now_us = now.saturating_mul(1_000);
            for t in &mut producers {
                // Owed more than a second: start afresh.
                if now_us.saturating_sub(t.due_us) > 1_000_000 {
                    t.due_us = now_us;
                }
                let mut n = 0;
                while t.due_us <= now_us && n < MAX_PER_PASS {
                    n += 1;
                    t.due_us = t.due_us.saturating_add(t.rng.below(2 * mean + 1));
                    let report = t.producer.report(&mut t.rng);
                    counts.count(t.producer.deliver(&t.client, &report, now));
                }
            }
        }
        if producing && now >= next_flush_ms {
            next_flush_ms = now.saturating_add(100);
            for t in &mut producers {
                let n = t.producer.flush_suppressed(&t.client, now);
                counts.delivered = counts.delivered.wrapping_add(n as u32);
            }
        }
        if producing && let Some(at) = next_fault_ms.filter(|at| now >= *at) {
            next_fault_ms = Some(at.saturating_add(cfg.fault_every_ms));
            let (index, info, message) = next_fault(&mut fault_rng);
            let mid_copy = fault_rng.below(2) == 0;
            let report = tasks::inject_fault(index, info, message, mid_copy);
            counts.faults = counts.faults.wrapping_add(1);
            let name = <sp_workload::SimTasks as packrat_ereport::TaskTable>::NAMES
                .get(usize::from(index))
                .copied()
                .unwrap_or("?");
            hprintln!(
                "emulated-sp: {} ms: task {} faulted ({}); {}",
                now,
                name,
                info.class(),
                if report.pending > 0 {
                    "store full, fault ereport deferred"
                } else {
                    "fault ereport recorded"
                }
            );
        }
        if now >= next_status_ms {
            next_status_ms = now.saturating_add(STATUS_EVERY_MS);
            status(now, &counts, &snitch);
        }
        if cfg.run_for_ms > 0 && now >= cfg.run_for_ms {
            status(now, &counts, &snitch);
            hprintln!("emulated-sp: {} ms: run-for reached, exiting", now);
            exit_success();
        }
        if idle {
            // Until the next SysTick (1 ms): frames wait in the NIC's FIFO.
            cortex_m::asm::wfi();
        }
    }
}

/// Prints one status line.
fn status(now: u64, c: &Counts, snitch: &Snitch<SpNet<'_>, SnitchClient>) {
    let (stats, held, faults) = tasks::packrat_stats();
    let s = snitch.counters();
    let nic = snitch.net().nic().stats();
    let mut out = heapless::String::<448>::new();
    let _ = write!(
        out,
        "emulated-sp: {now} ms: producers attempted {}, delivered {}, suppressed {}, lost {}, went away {}; \
         faults {} ({} recorded); store holds {}, lost {}; snitch requests {}, responses {}, dropped {}; \
         udp sent {} ({} bytes); nic rx {} tx {}; {} core ticks per response",
        c.attempted,
        c.delivered,
        c.suppressed,
        c.lost,
        c.went_away,
        c.faults,
        faults,
        held,
        stats.lost,
        s.requests,
        s.responses_sent,
        s.short + s.long + s.bad_version + s.send_dropped + s.read_errors,
        snitch.net().sent,
        snitch.net().sent_bytes,
        nic.rx_frames,
        nic.tx_frames,
        c.response_ticks / u64::from(c.responses_timed.max(1)),
    );
    hprintln!("{}", out);
}
