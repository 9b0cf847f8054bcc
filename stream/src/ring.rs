//! The ring's protocol: WebKit's StreamConnectionBuffer, a byte ring that one writer (the
//! content process, the *client*) and one reader (the GPU process, the *server*) share.
//!
//! ```text
//!  memory:  [client offset][server offset][server state][client state] | data ............ |
//!            each on its own cache line                                 capacity bytes, 2^n
//!  data:    ... | len kind payload pad | len kind payload pad | WRAP (skip to the start) |
//! ```
//! Offsets count bytes since the stream began (they never wrap; `offset % capacity` is the
//! place in the data). The client writes whole records and then *publishes* its offset;
//! the server reads up to that offset and publishes its own, which frees the space.
//!
//! Sleeping and waking: a side that runs out of work (the server: nothing published; the
//! client: no free space) sets its state word (`SLEEPING` / `WAITING`), looks once more,
//! and sleeps on the word (a futex in the shared page). The other side, after publishing,
//! looks at that word and wakes the sleeper only if it sleeps, so a busy stream makes no
//! system calls. Both "store my word, then load yours" steps have a `SeqCst` fence between
//! the store and the load (Dekker's pattern), so at least one side sees the other's store:
//! no wakeup can be lost (the loom model in `tests/loom_ring.rs` checks this).
//!
//! The reader trusts nothing in the shared memory: an offset out of range, a record longer
//! than its space or than the ring allows, or an unknown kind is a [`RingViolation`], and
//! the reader never touches memory outside the data area.

use std::sync::atomic::Ordering;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::time::Duration;

/// Bytes of every record's header: payload length (u32 LE), then kind (u32 LE).
pub const RECORD_HEADER: usize = 8;
/// Records start at multiples of this.
pub const RECORD_ALIGN: usize = 8;
/// How far ahead of its position the reader prefetches (a few records of a busy stream).
const PREFETCH_AHEAD: u64 = 512;
/// The server state: reading, or about to sleep on its word.
pub const AWAKE: u32 = 0;
/// The server state: asleep until the client publishes and wakes it.
pub const SLEEPING: u32 = 1;
/// The client state: writing.
pub const RUNNING: u32 = 0;
/// The client state: asleep until the server frees space.
pub const WAITING: u32 = 1;
/// How long one sleep lasts before a side checks that its peer is still there.
pub const WAIT_SLICE: Duration = Duration::from_millis(50);

/// What a record holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// An item, encoded in the payload with postcard.
    Inline,
    /// A canvas drawing item, in the fixed layout of `wire::canvas`.
    Canvas,
    /// An item that travels out of line; the payload is its sequence number (u64 LE).
    OutOfLine,
    /// Nothing more fits before the end of the data: the next record is at its start.
    Wrap,
}

impl RecordKind {
    fn to_u32(self) -> u32 {
        match self {
            RecordKind::Inline => 1,
            RecordKind::OutOfLine => 2,
            RecordKind::Wrap => 3,
            RecordKind::Canvas => 4,
        }
    }

    fn from_u32(value: u32) -> Option<RecordKind> {
        match value {
            1 => Some(RecordKind::Inline),
            2 => Some(RecordKind::OutOfLine),
            3 => Some(RecordKind::Wrap),
            4 => Some(RecordKind::Canvas),
            _ => None,
        }
    }
}

/// An offset word in the shared memory.
pub trait OffsetWord: Send + Sync {
    /// Atomic load.
    fn load(&self, order: Ordering) -> u64;
    /// Atomic store.
    fn store(&self, value: u64, order: Ordering);
}

/// A state word in the shared memory that a side can sleep on (a futex).
pub trait StateWord: Send + Sync {
    /// Atomic load.
    fn load(&self, order: Ordering) -> u32;
    /// Atomic store.
    fn store(&self, value: u32, order: Ordering);
    /// Atomic swap.
    fn swap(&self, value: u32, order: Ordering) -> u32;
    /// Sleeps while the word holds `expected`, for at most `timeout` (spurious returns allowed).
    fn wait(&self, expected: u32, timeout: Duration);
    /// Wakes every sleeper on the word.
    fn wake(&self);
}

/// The memory a ring lives in: the four words and the data area.
pub trait RingMemory: Send + Sync {
    /// The offset words' type.
    type Offset: OffsetWord;
    /// The state words' type.
    type State: StateWord;
    /// The client's published write offset.
    fn client_offset(&self) -> &Self::Offset;
    /// The server's published read offset.
    fn server_offset(&self) -> &Self::Offset;
    /// `AWAKE` or `SLEEPING`.
    fn server_state(&self) -> &Self::State;
    /// `RUNNING` or `WAITING`.
    fn client_state(&self) -> &Self::State;
    /// Bytes of data; a power of two, a multiple of [`RECORD_ALIGN`].
    fn capacity(&self) -> usize;
    /// A `SeqCst` fence (loom's, in the model).
    fn fence(&self) {
        std::sync::atomic::fence(SeqCst);
    }
    /// A hint that the data at `at` (below `capacity()`) will be read soon: the reader asks
    /// for lines the writer filled on another core a few records ahead, so their transfer
    /// overlaps its decoding. Optional; the default does nothing.
    fn prefetch(&self, at: usize) {
        let _ = at;
    }
    /// Copies `bytes` into the data at `at`.
    ///
    /// # Safety
    /// `at + bytes.len() <= capacity()`, and the range is the writer's: free space it has
    /// not published.
    unsafe fn write(&self, at: usize, bytes: &[u8]);
    /// Lets `fill` write `len` bytes at `at` in place (the writer encodes straight into the
    /// ring, skipping a scratch buffer and a copy). The default fills a scratch buffer and
    /// [`write`](Self::write)s it, for memories that cannot lend a slice (loom's cells).
    ///
    /// # Safety
    /// As for [`write`](Self::write), with `len` for `bytes.len()`.
    unsafe fn write_with(&self, at: usize, len: usize, fill: &mut dyn FnMut(&mut [u8])) {
        let mut scratch = vec![0; len];
        fill(&mut scratch);
        // SAFETY: the caller's promise for `write_with` is the one `write` needs.
        unsafe { self.write(at, &scratch) };
    }
    /// Copies data at `at` into `out`.
    ///
    /// # Safety
    /// `at + out.len() <= capacity()`, and the range was published by the writer and not
    /// yet released by the reader. (A hostile writer may still scribble on it: the reader
    /// treats what it copies as untrusted bytes.)
    unsafe fn read(&self, at: usize, out: &mut [u8]);
}

/// The largest record (header, payload and padding) a ring of `capacity` takes inline:
/// half of it, so a record always fits once the ring drains, wherever the end falls.
pub fn max_record(capacity: usize) -> usize {
    capacity / 2
}

/// Where stream offset `offset` falls in the data: `offset % capacity`, as a mask (the
/// capacity is a power of two; a 64-bit division would cost more than the rest of a write).
fn place(offset: u64, capacity: usize) -> usize {
    debug_assert!(capacity.is_power_of_two());
    (offset & (capacity as u64 - 1)) as usize
}

fn aligned(len: u64) -> u64 {
    len.div_ceil(RECORD_ALIGN as u64) * RECORD_ALIGN as u64
}

/// The writer is told its peer went away while it waited for space.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WriteError {
    /// The record is larger than [`max_record`]; send it out of line.
    #[error("a record of {size} bytes is larger than this ring takes inline ({max})")]
    TooLarge {
        /// The record's size.
        size: usize,
        /// The largest inline record.
        max: usize,
    },
    /// The reader stopped (its process died) while the ring was full.
    #[error("the reading side is gone")]
    PeerGone,
}

/// What the reader found wrong in the shared memory. Each ends the stream.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RingViolation {
    /// The published client offset is behind the reader or more than a ring ahead.
    #[error("client offset {offset} out of range (read offset {read}, ring of {capacity} bytes)")]
    OffsetOutOfRange {
        /// The offset the client published.
        offset: u64,
        /// Where the reader is.
        read: u64,
        /// The ring's capacity.
        capacity: usize,
    },
    /// The published client offset is not at a record boundary.
    #[error("client offset {offset} is not a multiple of {RECORD_ALIGN}")]
    Misaligned {
        /// The offset the client published.
        offset: u64,
    },
    /// A record's header says it is larger than a ring record may be.
    #[error("item of {len} bytes announced; a ring of {capacity} bytes takes at most {max} inline")]
    AbsurdSize {
        /// The announced payload length.
        len: u64,
        /// The largest record.
        max: usize,
        /// The ring's capacity.
        capacity: usize,
    },
    /// A record's header says it runs past the end of the data.
    #[error("item of {len} bytes at ring offset {at} runs past the ring's end")]
    PastEnd {
        /// The announced payload length.
        len: u64,
        /// Where in the data it starts.
        at: usize,
    },
    /// Fewer bytes are published than the record needs.
    #[error("truncated item: {needed} bytes announced, {published} published")]
    Truncated {
        /// Bytes the record needs (header included).
        needed: u64,
        /// Bytes published from its start.
        published: u64,
    },
    /// A header's kind is none of the known ones.
    #[error("unknown record kind {kind} at stream offset {offset}")]
    UnknownKind {
        /// The kind word.
        kind: u32,
        /// Where the record is.
        offset: u64,
    },
}

/// Counters of one side of a ring, for benchmarks and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Records written or read.
    pub records: u64,
    /// Payload bytes written or read.
    pub bytes: u64,
    /// Times this side published its offset.
    pub publishes: u64,
    /// Times this side slept on its state word.
    pub sleeps: u64,
    /// Times this side woke the other (a system call).
    pub wakeups: u64,
}

/// The client's end: writes records, waits while the ring is full.
pub struct RingWriter<M: RingMemory> {
    memory: M,
    /// The next byte to write.
    position: u64,
    /// What the server last knew of `position`.
    published: u64,
    /// The server's offset when we last looked (space below it is free).
    seen_read: u64,
    stats: RingStats,
}

impl<M: RingMemory> RingWriter<M> {
    /// The writer of a fresh ring.
    pub fn new(memory: M) -> RingWriter<M> {
        let position = memory.client_offset().load(Relaxed);
        RingWriter { memory, position, published: position, seen_read: position, stats: RingStats::default() }
    }

    /// The memory the ring lives in.
    pub fn memory(&self) -> &M {
        &self.memory
    }

    /// Counters so far.
    pub fn stats(&self) -> RingStats {
        self.stats
    }

    /// The stream offset the next record goes to.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The largest payload that goes inline.
    pub fn max_payload(&self) -> usize {
        max_record(self.memory.capacity()) - RECORD_HEADER
    }

    /// Writes one record, waiting while the ring is full; `peer_alive` is asked after each
    /// wait slice. The record is published at the next [`flush`](Self::flush) (or sooner,
    /// once an eighth of the ring is unpublished, so the reader is never starved).
    pub fn write(
        &mut self,
        kind: RecordKind,
        payload: &[u8],
        peer_alive: &mut dyn FnMut() -> bool,
    ) -> Result<(), WriteError> {
        let at = self.reserve(kind, payload.len(), peer_alive)?;
        // SAFETY: `reserve` gave us `at..at + payload.len()`: inside the ring, and free.
        unsafe { self.memory.write(at, payload) };
        self.commit(payload.len());
        Ok(())
    }

    /// Writes one record of `len` bytes that `fill` encodes in place, in the ring itself.
    /// `fill` must write all `len` bytes (the slice holds stale data); waiting and
    /// publishing are as for [`write`](Self::write).
    pub fn write_with(
        &mut self,
        kind: RecordKind,
        len: usize,
        fill: impl FnOnce(&mut [u8]),
        peer_alive: &mut dyn FnMut() -> bool,
    ) -> Result<(), WriteError> {
        let at = self.reserve(kind, len, peer_alive)?;
        let mut fill = Some(fill);
        // SAFETY: `reserve` gave us `at..at + len`: inside the ring, and free.
        unsafe {
            self.memory.write_with(at, len, &mut |out| {
                if let Some(fill) = fill.take() {
                    fill(out);
                }
            })
        };
        self.commit(len);
        Ok(())
    }

    /// Waits for room for a record of `len` payload bytes (and a wrap before it, if it
    /// would run past the end), writes the wrap and the record's header, and returns where
    /// the payload goes: `at..at + len` is inside the ring and free.
    fn reserve(
        &mut self,
        kind: RecordKind,
        len: usize,
        peer_alive: &mut dyn FnMut() -> bool,
    ) -> Result<usize, WriteError> {
        let capacity = self.memory.capacity();
        let size = aligned((RECORD_HEADER + len) as u64) as usize;
        if size > max_record(capacity) {
            return Err(WriteError::TooLarge { size, max: max_record(capacity) });
        }
        let at = place(self.position, capacity);
        let to_end = capacity - at;
        let padding = if size > to_end { to_end } else { 0 };
        self.wait_for_space((padding + size) as u64, peer_alive)?;
        if padding > 0 {
            // SAFETY: `at + 8 <= capacity` (records are 8-aligned, capacity a multiple of 8)
            // and the space is free: `wait_for_space` saw the server past it.
            unsafe { self.memory.write(at, &header(RecordKind::Wrap, 0)) };
            self.position += padding as u64;
        }
        let at = place(self.position, capacity);
        // `size <= capacity / 2`, so the length fits a u32 for any ring that can be mapped.
        let header_len = u32::try_from(len).unwrap_or(u32::MAX);
        // SAFETY: `at + size <= capacity` (it fits before the end, or starts at 0 after a
        // wrap) and the space is free, as above.
        unsafe { self.memory.write(at, &header(kind, header_len)) };
        Ok(at + RECORD_HEADER)
    }

    /// Moves past the record `reserve` placed (its payload now written), publishing once an
    /// eighth of the ring is unpublished.
    fn commit(&mut self, len: usize) {
        self.position += aligned((RECORD_HEADER + len) as u64);
        self.stats.records += 1;
        self.stats.bytes += len as u64;
        if self.position - self.published >= (self.memory.capacity() / 8) as u64 {
            self.publish();
        }
    }

    /// Publishes everything written, waking the server if it sleeps.
    pub fn flush(&mut self) {
        if self.position != self.published {
            self.publish();
        }
    }

    /// Test and fuzz support: publishes `offset` as the client offset, whatever it is.
    #[doc(hidden)]
    pub fn publish_raw(&mut self, offset: u64) {
        self.position = offset;
        self.publish();
    }

    /// Test support: writes raw bytes at the write position (which moves past them).
    #[doc(hidden)]
    pub fn write_raw(&mut self, bytes: &[u8]) {
        let capacity = self.memory.capacity();
        let at = place(self.position, capacity);
        let len = bytes.len().min(capacity - at);
        // SAFETY: clamped to the data area; the ring is ours to corrupt in a hostile test.
        unsafe { self.memory.write(at, &bytes[..len]) };
        self.position += aligned(len as u64);
    }

    fn publish(&mut self) {
        self.memory.client_offset().store(self.position, Release);
        self.memory.fence();
        self.published = self.position;
        self.stats.publishes += 1;
        let state = self.memory.server_state();
        if state.load(Relaxed) == SLEEPING && state.swap(AWAKE, SeqCst) == SLEEPING {
            state.wake();
            self.stats.wakeups += 1;
        }
    }

    /// The server's offset, clamped to what it can be (it cannot have read past us).
    fn server_offset(&self, order: Ordering) -> u64 {
        self.memory.server_offset().load(order).clamp(self.seen_read, self.position)
    }

    fn wait_for_space(
        &mut self,
        needed: u64,
        peer_alive: &mut dyn FnMut() -> bool,
    ) -> Result<(), WriteError> {
        let capacity = self.memory.capacity() as u64;
        loop {
            if self.position + needed - self.seen_read <= capacity {
                return Ok(());
            }
            self.seen_read = self.server_offset(Acquire);
            if self.position + needed - self.seen_read <= capacity {
                return Ok(());
            }
            // Full: the server must see all we wrote before we sleep, or it might sleep too.
            self.publish();
            let state = self.memory.client_state();
            state.store(WAITING, Relaxed);
            self.memory.fence();
            self.seen_read = self.server_offset(Acquire);
            if self.position + needed - self.seen_read <= capacity {
                state.store(RUNNING, Relaxed);
                return Ok(());
            }
            state.wait(WAITING, WAIT_SLICE);
            state.store(RUNNING, Relaxed);
            self.stats.sleeps += 1;
            if !peer_alive() {
                return Err(WriteError::PeerGone);
            }
        }
    }
}

fn header(kind: RecordKind, len: u32) -> [u8; RECORD_HEADER] {
    let mut bytes = [0; RECORD_HEADER];
    bytes[..4].copy_from_slice(&len.to_le_bytes());
    bytes[4..].copy_from_slice(&kind.to_u32().to_le_bytes());
    bytes
}

/// The server's end: reads records in order, sleeps while the ring is empty.
pub struct RingReader<M: RingMemory> {
    memory: M,
    /// The next byte to read (ours; never taken from the shared memory).
    position: u64,
    /// What the client last knew of `position`.
    published: u64,
    /// The client offset last read and found valid.
    limit: u64,
    stats: RingStats,
}

impl<M: RingMemory> RingReader<M> {
    /// The reader of a fresh ring.
    pub fn new(memory: M) -> RingReader<M> {
        RingReader { memory, position: 0, published: 0, limit: 0, stats: RingStats::default() }
    }

    /// Counters so far.
    pub fn stats(&self) -> RingStats {
        self.stats
    }

    /// The next record: its kind, its payload in `payload`. Sleeps while the ring is empty;
    /// `keep_waiting` is asked after each sleep slice and `Ok(None)` returned once it says no.
    pub fn read(
        &mut self,
        payload: &mut Vec<u8>,
        keep_waiting: &mut dyn FnMut() -> bool,
    ) -> Result<Option<RecordKind>, RingViolation> {
        loop {
            if self.position == self.limit {
                self.refresh()?;
                if self.position == self.limit {
                    if !self.sleep() && !keep_waiting() {
                        return Ok(None);
                    }
                    continue;
                }
            }
            if let Some(kind) = self.next_record(payload)? {
                return Ok(Some(kind));
            }
        }
    }

    /// The next record without waiting: `Ok(None)` if nothing is published.
    pub fn try_read(&mut self, payload: &mut Vec<u8>) -> Result<Option<RecordKind>, RingViolation> {
        loop {
            if self.position == self.limit {
                self.refresh()?;
                if self.position == self.limit {
                    self.publish();
                    return Ok(None);
                }
            }
            if let Some(kind) = self.next_record(payload)? {
                return Ok(Some(kind));
            }
        }
    }

    /// Parses the record at `position` (below `limit`); `None` for a wrap.
    fn next_record(&mut self, payload: &mut Vec<u8>) -> Result<Option<RecordKind>, RingViolation> {
        let capacity = self.memory.capacity();
        let available = self.limit - self.position;
        let at = place(self.position, capacity);
        let to_end = (capacity - at) as u64;
        if available < RECORD_HEADER as u64 {
            return Err(RingViolation::Truncated { needed: RECORD_HEADER as u64, published: available });
        }
        if available > PREFETCH_AHEAD {
            self.memory.prefetch(place(self.position + PREFETCH_AHEAD, capacity));
        }
        let mut bytes = [0u8; RECORD_HEADER];
        // SAFETY: `at + 8 <= capacity` (`at` is 8-aligned: offsets are checked aligned) and
        // the bytes are published (`available >= 8`).
        unsafe { self.memory.read(at, &mut bytes) };
        let len = u64::from(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
        let raw_kind = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let Some(kind) = RecordKind::from_u32(raw_kind) else {
            return Err(RingViolation::UnknownKind { kind: raw_kind, offset: self.position });
        };
        if kind == RecordKind::Wrap {
            if to_end > available {
                return Err(RingViolation::Truncated { needed: to_end, published: available });
            }
            self.advance(to_end);
            return Ok(None);
        }
        let size = aligned(RECORD_HEADER as u64 + len);
        let max = max_record(capacity);
        if size > max as u64 {
            return Err(RingViolation::AbsurdSize { len, max, capacity });
        }
        if size > to_end {
            return Err(RingViolation::PastEnd { len, at });
        }
        if size > available {
            return Err(RingViolation::Truncated { needed: size, published: available });
        }
        payload.clear();
        payload.resize(len as usize, 0);
        // SAFETY: `at + 8 + len <= at + size <= capacity`, all of it published.
        unsafe { self.memory.read(at + RECORD_HEADER, payload) };
        self.advance(size);
        self.stats.records += 1;
        self.stats.bytes += len;
        Ok(Some(kind))
    }

    fn advance(&mut self, by: u64) {
        self.position += by;
        // Free space in large steps: publishing is a shared-cache-line write.
        if self.position - self.published >= (self.memory.capacity() / 8) as u64 {
            self.publish();
        }
    }

    /// Reads the client's offset, checking it before trusting it.
    fn refresh(&mut self) -> Result<(), RingViolation> {
        let offset = self.memory.client_offset().load(Acquire);
        self.check(offset)?;
        self.limit = offset;
        Ok(())
    }

    fn check(&self, offset: u64) -> Result<(), RingViolation> {
        let capacity = self.memory.capacity();
        if offset < self.position || offset - self.position > capacity as u64 {
            return Err(RingViolation::OffsetOutOfRange { offset, read: self.position, capacity });
        }
        if !offset.is_multiple_of(RECORD_ALIGN as u64) {
            return Err(RingViolation::Misaligned { offset });
        }
        Ok(())
    }

    fn publish(&mut self) {
        if self.position == self.published {
            return;
        }
        self.memory.server_offset().store(self.position, Release);
        self.memory.fence();
        self.published = self.position;
        self.stats.publishes += 1;
        let state = self.memory.client_state();
        if state.load(Relaxed) == WAITING && state.swap(RUNNING, SeqCst) == WAITING {
            state.wake();
            self.stats.wakeups += 1;
        }
    }

    /// Sleeps one slice unless something was published meanwhile; `true` if there is more.
    fn sleep(&mut self) -> bool {
        // The client may be waiting for the space we freed: publish before sleeping.
        self.publish();
        let state = self.memory.server_state();
        state.store(SLEEPING, Relaxed);
        self.memory.fence();
        if self.memory.client_offset().load(Acquire) != self.position {
            state.store(AWAKE, Relaxed);
            return true;
        }
        state.wait(SLEEPING, WAIT_SLICE);
        state.store(AWAKE, Relaxed);
        self.stats.sleeps += 1;
        false
    }
}
