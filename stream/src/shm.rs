//! The ring's memory: one memfd both processes map (`IpcSharedMemory`, which ipc-channel
//! creates with `memfd_create` and maps `MAP_SHARED` on each side after handing the fd over),
//! with the four protocol words on cache lines of their own, and futexes on the state words
//! that work across processes (no `FUTEX_PRIVATE_FLAG`).

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use ipc_channel::ipc::IpcSharedMemory;
use rustix::thread::futex;

use crate::ring::{OffsetWord, RingMemory, StateWord};

/// Bytes per protocol word's line: two cache lines, as x86's adjacent-line prefetcher pairs
/// them (crossbeam's `CachePadded` uses the same).
const LINE: usize = 128;
/// The header: client offset, server offset, server state, client state, a line each.
pub const RING_HEADER: usize = 4 * LINE;
/// The smallest data area a ring may have.
pub const MIN_CAPACITY: usize = 4096;
/// The largest data area a ring may have.
pub const MAX_CAPACITY: usize = 64 << 20;
/// How many times a side looks again before it sleeps (see `RingMemory::spins`): 2,000
/// `spin_loop` hints are a few µs to about 100 µs, as x86's `pause` takes 10 to 140 cycles
/// depending on the core.
const SPINS: u32 = 2000;
/// The data area the launcher gives each content process (WebKit uses 2 MiB for its
/// rendering backend's stream).
pub const DEFAULT_CAPACITY: usize = 2 << 20;

/// Why a ring's memory cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RingSetupError {
    /// Its size is not a header plus a power-of-two data area within the limits.
    #[error(
        "a stream ring of {len} bytes is not a {RING_HEADER}-byte header plus a power-of-two \
         data area of {MIN_CAPACITY}..={MAX_CAPACITY} bytes"
    )]
    BadSize {
        /// The mapping's length.
        len: usize,
    },
}

/// Makes the memory of a ring with `capacity` bytes of data (a power of two within limits),
/// zeroed: both offsets 0, both sides awake.
pub fn create_ring_memory(capacity: usize) -> Result<IpcSharedMemory, RingSetupError> {
    check_size(RING_HEADER + capacity)?;
    Ok(IpcSharedMemory::from_byte(0, RING_HEADER + capacity))
}

fn check_size(len: usize) -> Result<usize, RingSetupError> {
    let capacity = len.checked_sub(RING_HEADER).ok_or(RingSetupError::BadSize { len })?;
    if capacity.is_power_of_two() && (MIN_CAPACITY..=MAX_CAPACITY).contains(&capacity) {
        Ok(capacity)
    } else {
        Err(RingSetupError::BadSize { len })
    }
}

/// One side's mapping of a ring.
pub struct SharedRing {
    /// Keeps the mapping alive; never read through after `base` was taken.
    _memory: IpcSharedMemory,
    base: NonNull<u8>,
    capacity: usize,
}

// SAFETY: the mapping lives as long as `_memory`; all shared access goes through atomics
// (the four words) or the ring protocol (the data), which hands each range to one side.
unsafe impl Send for SharedRing {}
// SAFETY: as above; `&SharedRing` allows only atomic operations and protocol copies.
unsafe impl Sync for SharedRing {}

impl SharedRing {
    /// Maps a ring's memory, checking its size (it came from another process).
    pub fn map(mut memory: IpcSharedMemory) -> Result<SharedRing, RingSetupError> {
        // SAFETY: we take a raw pointer once and never make another reference to the bytes;
        // every later access is atomic or a protocol copy through that pointer.
        let bytes = unsafe { memory.deref_mut() };
        let capacity = check_size(bytes.len())?;
        let base = NonNull::new(bytes.as_mut_ptr()).ok_or(RingSetupError::BadSize { len: 0 })?;
        Ok(SharedRing { _memory: memory, base, capacity })
    }

    fn word<T>(&self, line: usize) -> &T {
        // SAFETY: `line < 4`, so the word is inside the header; mmap returns page-aligned
        // memory, so each line start is aligned for any atomic; atomics are valid for any
        // bit pattern and the memory lives as long as `self`.
        unsafe { &*self.base.as_ptr().add(line * LINE).cast::<T>() }
    }
}

/// A word in the shared header (or in a heap ring: the same type).
pub struct SharedOffset(pub(crate) AtomicU64);
/// A futex word in the shared header (a futex works as well on a heap ring's word).
pub struct SharedState(pub(crate) AtomicU32);

impl OffsetWord for SharedOffset {
    #[inline]
    fn load(&self, order: Ordering) -> u64 {
        self.0.load(order)
    }

    #[inline]
    fn store(&self, value: u64, order: Ordering) {
        self.0.store(value, order)
    }
}

impl StateWord for SharedState {
    #[inline]
    fn load(&self, order: Ordering) -> u32 {
        self.0.load(order)
    }

    #[inline]
    fn store(&self, value: u32, order: Ordering) {
        self.0.store(value, order)
    }

    #[inline]
    fn swap(&self, value: u32, order: Ordering) -> u32 {
        self.0.swap(value, order)
    }

    fn wait(&self, expected: u32, timeout: Duration) {
        let timeout =
            futex::Timespec { tv_sec: timeout.as_secs() as i64, tv_nsec: i64::from(timeout.subsec_nanos()) };
        // EAGAIN (the word changed), EINTR and ETIMEDOUT all mean "look again".
        let _ = futex::wait(&self.0, futex::Flags::empty(), expected, Some(&timeout));
    }

    fn wake(&self) {
        let _ = futex::wake(&self.0, futex::Flags::empty(), u32::MAX);
    }
}

impl RingMemory for SharedRing {
    type Offset = SharedOffset;
    type State = SharedState;

    #[inline]
    fn client_offset(&self) -> &SharedOffset {
        self.word(0)
    }

    #[inline]
    fn server_offset(&self) -> &SharedOffset {
        self.word(1)
    }

    #[inline]
    fn server_state(&self) -> &SharedState {
        self.word(2)
    }

    #[inline]
    fn client_state(&self) -> &SharedState {
        self.word(3)
    }

    #[inline]
    fn capacity(&self) -> usize {
        self.capacity
    }

    #[inline]
    fn spins(&self) -> u32 {
        SPINS
    }

    #[inline]
    unsafe fn write(&self, at: usize, bytes: &[u8]) {
        debug_assert!(at + bytes.len() <= self.capacity);
        // SAFETY: the caller keeps `at..at + len` inside the data area and owns the range.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.base.as_ptr().add(RING_HEADER + at),
                bytes.len(),
            )
        }
    }

    #[inline]
    unsafe fn lend(&self, at: usize, len: usize) -> Option<NonNull<[u8]>> {
        debug_assert!(at + len <= self.capacity);
        // SAFETY: the caller keeps `at..at + len` inside the data area.
        let start = unsafe { self.base.add(RING_HEADER + at) };
        Some(NonNull::slice_from_raw_parts(start, len))
    }

    #[inline]
    unsafe fn read_to_vec(&self, at: usize, len: usize, out: &mut Vec<u8>) {
        debug_assert!(at + len <= self.capacity);
        out.clear();
        out.reserve(len);
        // SAFETY: the caller keeps the range inside the data area and it was published to us;
        // `out` has room for `len` bytes, all of which the copy initialises before `set_len`.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base.as_ptr().add(RING_HEADER + at), out.as_mut_ptr(), len);
            out.set_len(len);
        }
    }

    #[inline]
    unsafe fn read(&self, at: usize, out: &mut [u8]) {
        debug_assert!(at + out.len() <= self.capacity);
        // SAFETY: the caller keeps the range inside the data area; it was published to us.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.base.as_ptr().add(RING_HEADER + at),
                out.as_mut_ptr(),
                out.len(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_other_than_a_header_and_a_power_of_two_are_refused() {
        assert!(check_size(RING_HEADER + 4096).is_ok());
        for len in [0, 100, RING_HEADER, RING_HEADER + 4097, RING_HEADER + 2048, RING_HEADER + (128 << 20)] {
            assert_eq!(check_size(len), Err(RingSetupError::BadSize { len }));
        }
    }
}
