//! The content→GPU stream (WebKit's StreamConnection): one ordered stream per content process.
//! Image-buffer creation, drawing items, display lists, `Present` and destruction all travel
//! in it, so "items for a buffer that does not exist yet" cannot happen by construction.
//!
//! ```text
//! content: StreamClient ──records──► ring (shared memory) ──► StreamServer: GPU process
//!                       └─ large items / shared memory ─► ipc-channel (marker in the ring)
//!          replies ◄──────────────── ipc-channel ◄────────────────────┘
//! ```
//! - [`ring`]: the protocol (offsets, sleeping/waiting flags, futex wakeups), generic over
//!   its memory so the loom model runs the same code.
//! - [`shm`]: the memory both processes map, and the futexes.
//! - [`wire`]: how an item becomes a record, and back (the untrusted decoder).
//! - [`client`] and [`server`]: the two ends.
//! - [`heap`]: a ring in one process's heap, for the fuzzer and unit tests.
//!
//! Architecture invariant: the server trusts nothing in the ring or beside it; every problem
//! is a [`server::StreamViolation`] naming it, never a panic.

pub mod client;
pub mod heap;
pub mod ring;
pub mod server;
pub mod shm;
pub mod wire;

pub use client::{ClientError, StreamClient};
pub use server::{StreamServer, StreamViolation};
pub use shm::{DEFAULT_CAPACITY, create_ring_memory};
