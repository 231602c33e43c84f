//! Support shared by benchmarks and tests (not shipped):
//!
//! - [`callgrind`]: instructions executed inside one function, counted by
//!   running the benchmark again under `valgrind --tool=callgrind`;
//! - [`cortex_m`]: builds a program of `examples/cortex-m` for thumbv7em
//!   with the firmware profile and says where cargo put it.

pub mod callgrind;
pub mod cortex_m;
