//! Support shared by benchmarks and tests (not shipped):
//!
//! - [`callgrind`]: instructions executed inside one function, counted by
//!   running the benchmark again under `valgrind --tool=callgrind`;
//! - [`cortex_m`]: builds a program of `examples/cortex-m` for thumbv7em
//!   with the firmware profile and says where cargo put it;
//! - [`fake_sp`]: SPs answering the protocol from a socket and a thread,
//!   scripted responses and SPs that never run dry;
//! - [`qemu`]: an emulator's output read with bounded waits, and QEMU's
//!   monitor.

pub mod callgrind;
pub mod cortex_m;
pub mod fake_sp;
pub mod qemu;
