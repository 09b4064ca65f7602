//! crosswire-kit: the protocol-free part of crosswire's Rust peers. The contract loop
//! (`peer`), text-form tokens and the codec runtime the generated code calls (`codec`),
//! frames found on a stream (`wire`), the transports (`transport`: Unix sockets, TCP, and the
//! shared-memory rings of protocols/SHM.md in `shm` over the platform layer `sys`), the streams
//! of BLAST/DRAIN (`stream`) and the benchmarks PING/PONG/FLOOD/SINK (`bench`), on the stream
//! message's layout that STREAM gives (`layout`); a peer ends when its harness goes
//! (`orphan`). It knows no message: the generated code
//! implements `Protocol` and calls `run`.
//!
//! `unsafe` is denied everywhere but in `sys`: the mapping, the futex and the few libc calls,
//! each block with the reason it is sound.
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod adapter;
pub mod bench;
pub mod codec;
pub mod error;
pub mod layout;
mod orphan;
pub mod peer;
pub mod protocol;
pub mod shm;
pub mod stream;
#[allow(unsafe_code)]
mod sys;
pub mod transport;
pub mod wire;

pub use error::{Error, Result};
pub use peer::{run, KIT_VERSION};
pub use protocol::Protocol;

/// Serve on the CPUs the process was given, also when they were given to its main thread
/// only after the serving thread started (Linux; nothing elsewhere).
pub fn follow_process_cpus() {
    sys::follow_process_cpus();
}
