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
//! client: no free space) spins a few microseconds for the other to catch up, then sets
//! its state word (`SLEEPING` / `WAITING`), looks once more,
//! and sleeps on the word (a futex in the shared page). The other side, after publishing,
//! looks at that word and wakes the sleeper only if it sleeps, so a busy stream makes no
//! system calls. Both "store my word, then load yours" steps have a `SeqCst` fence between
//! the store and the load (Dekker's pattern), so at least one side sees the other's store:
//! no wakeup can be lost (the loom model in `tests/loom_ring.rs` checks this).
//!
//! The reader trusts nothing in the shared memory: an offset out of range, a record longer
//! than its space or than the ring allows, or an unknown kind is a [`RingViolation`], and
//! the reader never touches memory outside the data area.

use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::time::Duration;

/// Bytes of every record's header: payload length (u32 LE), then kind (u32 LE).
pub const RECORD_HEADER: usize = 8;
/// Records start at multiples of this.
pub const RECORD_ALIGN: usize = 8;
/// See [`publish_span`].
const PUBLISH_SPAN: usize = 16 * 1024;
/// The most the reader copies out of the shared memory at once (see [`RingReader`]): the
/// writer's [`PUBLISH_SPAN`], so a busy stream's reader copies what each publish adds.
pub const READ_SPAN: usize = PUBLISH_SPAN;
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
}

/// The kind word of a wrap: nothing more fits before the end of the data, the next record
/// is at its start. The ring's own bookkeeping; the reader never hands one out.
const WRAP: u32 = 3;

impl RecordKind {
    #[inline]
    fn to_u32(self) -> u32 {
        match self {
            RecordKind::Inline => 1,
            RecordKind::OutOfLine => 2,
            RecordKind::Canvas => 4,
        }
    }

    #[inline]
    fn from_u32(value: u32) -> Option<RecordKind> {
        match value {
            1 => Some(RecordKind::Inline),
            2 => Some(RecordKind::OutOfLine),
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
    /// How many times a side that ran out of work looks again, spinning, before it sleeps on
    /// its word: a busy peer on another core publishes again within microseconds, and a
    /// futex sleep and wake cost more than that. The default, 0, never spins (the loom
    /// model, where spinning only multiplies interleavings).
    fn spins(&self) -> u32 {
        0
    }
    /// Copies `bytes` into the data at `at`.
    ///
    /// # Safety
    /// `at + bytes.len() <= capacity()`, and the range is the writer's: free space it has
    /// not published.
    unsafe fn write(&self, at: usize, bytes: &[u8]);
    /// The data's `at..at + len` as bytes the writer may fill in place (it encodes straight
    /// into the ring, skipping a scratch buffer and a copy); `None`, the default, for
    /// memories that cannot lend their bytes (loom's cells), where the writer fills a
    /// scratch buffer and [`write`](Self::write)s it.
    ///
    /// # Safety
    /// As for [`write`](Self::write), with `len` for `bytes.len()`; the caller writes
    /// through the pointer only, and only until it publishes the range.
    unsafe fn lend(&self, at: usize, len: usize) -> Option<NonNull<[u8]>> {
        let _ = (at, len);
        None
    }
    /// Copies data at `at` into `out`.
    ///
    /// # Safety
    /// `at + out.len() <= capacity()`, and the range was published by the writer and not
    /// yet released by the reader. (A hostile writer may still scribble on it: the reader
    /// treats what it copies as untrusted bytes.)
    unsafe fn read(&self, at: usize, out: &mut [u8]);
    /// Replaces `out` with `len` bytes of data at `at`. The default zeroes `out` and
    /// [`read`](Self::read)s into it; memories of plain bytes copy into its spare capacity.
    ///
    /// # Safety
    /// As for [`read`](Self::read), with `len` for `out.len()`.
    unsafe fn read_to_vec(&self, at: usize, len: usize, out: &mut Vec<u8>) {
        out.clear();
        out.resize(len, 0);
        // SAFETY: the caller's promise for `read_to_vec` is the one `read` needs.
        unsafe { self.read(at, out) };
    }
}

/// The largest record (header, payload and padding) a ring of `capacity` takes inline:
/// half of it, so a record always fits once the ring drains, wherever the end falls.
pub fn max_record(capacity: usize) -> usize {
    capacity / 2
}

/// Where stream offset `offset` falls in the data: `offset % capacity`, as a mask (the
/// capacity is a power of two; a 64-bit division would cost more than the rest of a write).
#[inline]
fn place(offset: u64, capacity: usize) -> usize {
    debug_assert!(capacity.is_power_of_two());
    (offset & (capacity as u64 - 1)) as usize
}

/// How many bytes a side moves before it publishes its offset unasked: small enough that
/// the other side, on another core, works on one span while this side fills the next (a
/// few hundred records), large enough that the shared line's transfer and the fence are
/// paid rarely.
#[inline]
fn publish_span(capacity: usize) -> u64 {
    (capacity / 8).min(PUBLISH_SPAN) as u64
}

#[inline]
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
    /// once a publish span (16 KiB) is unpublished, so the reader is never starved).
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
    #[inline]
    pub fn write_with(
        &mut self,
        kind: RecordKind,
        len: usize,
        fill: impl FnOnce(&mut [u8]),
        peer_alive: &mut dyn FnMut() -> bool,
    ) -> Result<(), WriteError> {
        let at = self.reserve(kind, len, peer_alive)?;
        // SAFETY: `reserve` gave us `at..at + len`: inside the ring, and free.
        match unsafe { self.memory.lend(at, len) } {
            // SAFETY: the lent range is ours alone until `commit` publishes it (the server
            // does not read unpublished space; a hostile one that writes there only spoils
            // what it will read), and nothing else holds a reference to it.
            Some(mut out) => fill(unsafe { out.as_mut() }),
            None => {
                let mut scratch = vec![0; len];
                fill(&mut scratch);
                // SAFETY: as above.
                unsafe { self.memory.write(at, &scratch) };
            }
        }
        self.commit(len);
        Ok(())
    }

    /// Waits for room for a record of `len` payload bytes (and a wrap before it, if it
    /// would run past the end), writes the wrap and the record's header, and returns where
    /// the payload goes: `at..at + len` is inside the ring and free.
    #[inline]
    fn reserve(
        &mut self,
        kind: RecordKind,
        len: usize,
        peer_alive: &mut dyn FnMut() -> bool,
    ) -> Result<usize, WriteError> {
        let capacity = self.memory.capacity();
        let size = aligned((RECORD_HEADER + len) as u64);
        // The common case, a record that fits before the end in space already known to be
        // free, is a few compares and the header's store.
        let fits = size <= max_record(capacity) as u64
            && size <= (capacity - place(self.position, capacity)) as u64
            && self.position + size - self.seen_read <= capacity as u64;
        if !fits {
            self.make_room(size as usize, peer_alive)?;
        }
        let at = place(self.position, capacity);
        // SAFETY: `at + size <= capacity` (it fits before the end, or starts at 0 after a
        // wrap) and the space is free: the server was past it when we last looked.
        unsafe { self.memory.write(at, &header(kind.to_u32(), len)) };
        Ok(at + RECORD_HEADER)
    }

    /// Makes room for a record of `size` bytes (header and padding included) at the write
    /// position: refuses one larger than the ring takes, waits for the server to free
    /// space, and wraps to the start if the record would run past the end.
    #[cold]
    fn make_room(&mut self, size: usize, peer_alive: &mut dyn FnMut() -> bool) -> Result<(), WriteError> {
        let capacity = self.memory.capacity();
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
            unsafe { self.memory.write(at, &header(WRAP, 0)) };
            self.position += padding as u64;
        }
        Ok(())
    }

    /// Moves past the record `reserve` placed (its payload now written), publishing once a
    /// [`publish_span`] is unpublished.
    #[inline]
    fn commit(&mut self, len: usize) {
        self.position += aligned((RECORD_HEADER + len) as u64);
        self.stats.records += 1;
        self.stats.bytes += len as u64;
        if self.position - self.published >= publish_span(self.memory.capacity()) {
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

    /// Spins a while (see [`RingMemory::spins`]) for the server to free room for `needed`
    /// bytes; `true` once it has.
    fn spin_for_space(&mut self, needed: u64) -> bool {
        let capacity = self.memory.capacity() as u64;
        for _ in 0..self.memory.spins() {
            std::hint::spin_loop();
            self.seen_read = self.server_offset(Acquire);
            if self.position + needed - self.seen_read <= capacity {
                return true;
            }
        }
        false
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
            if self.spin_for_space(needed) {
                return Ok(());
            }
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

/// A record's header: `len`, then the kind word. Callers have checked `len` against
/// [`max_record`] (at most half the ring), so it fits the u32 for any ring that can be mapped.
#[inline]
fn header(kind: u32, len: usize) -> [u8; RECORD_HEADER] {
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    (u64::from(len) | u64::from(kind) << 32).to_le_bytes()
}

/// One record the reader hands out: its kind and payload, in the reader's private copy.
#[derive(Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// What the payload holds.
    pub kind: RecordKind,
    /// The payload, copied out of the shared memory: the writer cannot change it any more.
    pub payload: &'a [u8],
}

/// The server's end: reads records in order, sleeps while the ring is empty.
///
/// It copies what the client published out of the shared memory a span at a time (up to
/// [`READ_SPAN`] bytes, one bulk copy) and parses records from that private copy. Reading
/// record by record from the shared memory would make each header a dependent load from a
/// line the other core just wrote (the header says where the next one is), a chain of
/// cross-core misses; and a private copy is also what makes every check hold: a hostile
/// client cannot change bytes after they were checked.
pub struct RingReader<M: RingMemory> {
    memory: M,
    /// The next byte to read (ours; never taken from the shared memory).
    position: u64,
    /// What the client last knew of `position`.
    published: u64,
    /// The client offset last read and found valid.
    limit: u64,
    /// A private copy of the data from stream offset `span_start` on (never across the
    /// ring's end, never past `limit`).
    span: Vec<u8>,
    span_start: u64,
    stats: RingStats,
}

impl<M: RingMemory> RingReader<M> {
    /// The reader of a fresh ring.
    pub fn new(memory: M) -> RingReader<M> {
        RingReader {
            memory,
            position: 0,
            published: 0,
            limit: 0,
            span: Vec::new(),
            span_start: 0,
            stats: RingStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> RingStats {
        self.stats
    }

    /// The next record. Sleeps while the ring is empty; `keep_waiting` is asked after each
    /// sleep slice and `Ok(None)` returned once it says no.
    pub fn read(
        &mut self,
        keep_waiting: &mut dyn FnMut() -> bool,
    ) -> Result<Option<Record<'_>>, RingViolation> {
        loop {
            if !self.wait(keep_waiting)? {
                return Ok(None);
            }
            if let Some((kind, payload)) = self.next_record()? {
                return Ok(Some(Record { kind, payload: &self.span[payload] }));
            }
        }
    }

    /// Waits until something is published (sleeping while the ring is empty; `keep_waiting`
    /// is asked after each sleep slice); `false` once it says no with nothing published.
    pub fn wait(&mut self, keep_waiting: &mut dyn FnMut() -> bool) -> Result<bool, RingViolation> {
        while self.position == self.limit {
            self.refresh()?;
            if self.position == self.limit && !self.sleep() && !keep_waiting() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Hands `each` the records published so far, in order, without waiting: about one
    /// [`READ_SPAN`] of them (a batch that a caller can pass on while the client fills the
    /// next). Returns how many: 0 only when nothing (or only a wrap) was published. The
    /// records are parsed in one loop that `each` inlines into, so no record goes back
    /// through a returned `Result` (a record at a time, through [`read`](Self::read), made
    /// the stream bench 10–15 % slower). A violation stops the batch; the records before it
    /// were handed out.
    #[inline]
    pub fn read_published<E: From<RingViolation>>(
        &mut self,
        mut each: impl FnMut(Record<'_>) -> Result<(), E>,
    ) -> Result<usize, E> {
        if self.position == self.limit {
            self.refresh()?;
        }
        let end = self.limit.min(self.position + READ_SPAN as u64);
        let mut records = 0;
        // Past a wrap at the span's end, on to a record if one is published.
        while self.position < end || (records == 0 && self.position < self.limit) {
            if let Some((kind, payload)) = self.next_record()? {
                each(Record { kind, payload: &self.span[payload] })?;
                records += 1;
            }
        }
        Ok(records)
    }

    /// The next record without waiting: `Ok(None)` if nothing is published.
    pub fn try_read(&mut self) -> Result<Option<Record<'_>>, RingViolation> {
        loop {
            if self.position == self.limit {
                self.refresh()?;
                if self.position == self.limit {
                    self.publish();
                    return Ok(None);
                }
            }
            if let Some((kind, payload)) = self.next_record()? {
                return Ok(Some(Record { kind, payload: &self.span[payload] }));
            }
        }
    }

    /// Parses the record at `position` (below `limit`): its kind and where its payload is in
    /// `span`; `None` for a wrap.
    #[inline]
    fn next_record(&mut self) -> Result<Option<(RecordKind, std::ops::Range<usize>)>, RingViolation> {
        let capacity = self.memory.capacity();
        let available = self.limit - self.position;
        let at = place(self.position, capacity);
        let to_end = (capacity - at) as u64;
        if available < RECORD_HEADER as u64 {
            return Err(RingViolation::Truncated { needed: RECORD_HEADER as u64, published: available });
        }
        // `at` is 8-aligned (offsets are checked aligned) and the capacity a multiple of 8, so
        // the header fits before the end; `available >= 8` says it is published.
        let header = self.copied(RECORD_HEADER);
        let mut bytes = [0; RECORD_HEADER];
        bytes.copy_from_slice(&self.span[header]);
        let word = u64::from_le_bytes(bytes);
        let len = word & u64::from(u32::MAX);
        let raw_kind = (word >> 32) as u32;
        let Some(kind) = RecordKind::from_u32(raw_kind) else {
            if raw_kind != WRAP {
                return Err(RingViolation::UnknownKind { kind: raw_kind, offset: self.position });
            }
            if to_end > available {
                return Err(RingViolation::Truncated { needed: to_end, published: available });
            }
            self.advance(to_end);
            return Ok(None);
        };
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
        // Checked above: the whole record is published and before the end.
        let record = self.copied(size as usize);
        let payload = record.start + RECORD_HEADER..record.start + RECORD_HEADER + len as usize;
        self.advance(size);
        self.stats.records += 1;
        self.stats.bytes += len;
        Ok(Some((kind, payload)))
    }

    /// Where `position..position + len` is in `span`, copying a new span from the shared
    /// memory first if the current one does not hold all of it. The caller has checked that
    /// the range is published and does not cross the ring's end.
    #[inline]
    fn copied(&mut self, len: usize) -> std::ops::Range<usize> {
        let from = (self.position - self.span_start) as usize;
        if self.position < self.span_start || from + len > self.span.len() {
            self.copy_span(len);
            return 0..len;
        }
        from..from + len
    }

    /// Copies the published data from `position` on into `span`: at least `len` bytes,
    /// [`READ_SPAN`] if that much is published before the ring's end.
    #[cold]
    fn copy_span(&mut self, len: usize) {
        let capacity = self.memory.capacity();
        let at = place(self.position, capacity);
        let published = (self.limit - self.position) as usize;
        let copy = READ_SPAN.max(len).min(published).min(capacity - at);
        debug_assert!(copy >= len, "the caller checked that `len` bytes are published before the end");
        // SAFETY: `at + copy <= capacity`, and all of it was published and not yet released.
        unsafe { self.memory.read_to_vec(at, copy, &mut self.span) };
        self.span_start = self.position;
    }

    fn advance(&mut self, by: u64) {
        self.position += by;
        // Free space in steps: publishing is a shared-cache-line write.
        if self.position - self.published >= publish_span(self.memory.capacity()) {
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
        for _ in 0..self.memory.spins() {
            std::hint::spin_loop();
            if self.memory.client_offset().load(Relaxed) != self.position {
                return true;
            }
        }
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
