//! Loom model of the ring's protocol: the real `RingWriter`/`RingReader` code over loom's
//! atomics, a futex modelled by a mutex and condvar (a futex's check-then-sleep is atomic
//! with respect to wakes, as a check under the lock is), and data bytes in loom cells.
//! Loom explores the interleavings (and weak-memory reorderings) of the two sides:
//! - no lost wakeup: a side that sleeps is always woken (no timeouts in the model, so a lost
//!   wakeup is a deadlock, which loom reports);
//! - no overwrite of unread data and no read of unwritten data: each byte is a loom cell,
//!   and loom fails a write and a read of it that are not ordered by happens-before;
//! - every record arrives, once, in order (checked by value).

use std::sync::atomic::Ordering;
use std::time::Duration;

use armature_stream::ring::{OffsetWord, RecordKind, RingMemory, RingReader, RingWriter, StateWord};
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicU32, AtomicU64};
use loom::sync::{Arc, Condvar, Mutex};

struct Offset(AtomicU64);

struct Futex {
    word: AtomicU32,
    lock: Mutex<()>,
    woken: Condvar,
}

struct Memory {
    client: Offset,
    server: Offset,
    server_state: Futex,
    client_state: Futex,
    data: Vec<UnsafeCell<u8>>,
}

// SAFETY: the cells are only touched through the ring protocol, which loom checks.
unsafe impl Sync for Memory {}
// SAFETY: as above.
unsafe impl Send for Memory {}

impl OffsetWord for Offset {
    fn load(&self, order: Ordering) -> u64 {
        self.0.load(order)
    }

    fn store(&self, value: u64, order: Ordering) {
        self.0.store(value, order)
    }
}

impl StateWord for Futex {
    fn load(&self, order: Ordering) -> u32 {
        self.word.load(order)
    }

    fn store(&self, value: u32, order: Ordering) {
        self.word.store(value, order)
    }

    fn swap(&self, value: u32, order: Ordering) -> u32 {
        self.word.swap(value, order)
    }

    fn wait(&self, expected: u32, _timeout: Duration) {
        // No timeout: a wakeup the protocol loses shows up as a deadlock.
        let guard = self.lock.lock().unwrap();
        if self.word.load(Ordering::SeqCst) == expected {
            drop(self.woken.wait(guard).unwrap());
        }
    }

    fn wake(&self) {
        let _guard = self.lock.lock().unwrap();
        self.woken.notify_all();
    }
}

#[derive(Clone)]
struct Shared(Arc<Memory>);

impl RingMemory for Shared {
    type Offset = Offset;
    type State = Futex;

    fn client_offset(&self) -> &Offset {
        &self.0.client
    }

    fn server_offset(&self) -> &Offset {
        &self.0.server
    }

    fn server_state(&self) -> &Futex {
        &self.0.server_state
    }

    fn client_state(&self) -> &Futex {
        &self.0.client_state
    }

    fn capacity(&self) -> usize {
        self.0.data.len()
    }

    fn fence(&self) {
        loom::sync::atomic::fence(Ordering::SeqCst);
    }

    unsafe fn write(&self, at: usize, bytes: &[u8]) {
        for (offset, byte) in bytes.iter().enumerate() {
            // SAFETY: loom checks that no read of this cell races the write.
            self.0.data[at + offset].with_mut(|cell| unsafe { *cell = *byte });
        }
    }

    unsafe fn read(&self, at: usize, out: &mut [u8]) {
        for (offset, byte) in out.iter_mut().enumerate() {
            // SAFETY: loom checks that no write of this cell races the read.
            *byte = self.0.data[at + offset].with(|cell| unsafe { *cell });
        }
    }
}

fn futex() -> Futex {
    Futex { word: AtomicU32::new(0), lock: Mutex::new(()), woken: Condvar::new() }
}

/// Two sides, a ring of `capacity` bytes, `records` one-byte records (16 bytes each with
/// header and padding), the client flushing after each `flush_every`.
fn model(capacity: usize, records: u8, flush_every: u8) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(move || {
        let memory = Shared(Arc::new(Memory {
            client: Offset(AtomicU64::new(0)),
            server: Offset(AtomicU64::new(0)),
            server_state: futex(),
            client_state: futex(),
            data: (0..capacity).map(|_| UnsafeCell::new(0)).collect(),
        }));
        let client = memory.clone();
        let writer = loom::thread::spawn(move || {
            let mut writer = RingWriter::new(client);
            for value in 0..records {
                writer.write(RecordKind::Inline, &[value], &mut || true).expect("space frees up");
                if (value + 1) % flush_every == 0 {
                    writer.flush();
                }
            }
            writer.flush();
        });
        let mut reader = RingReader::new(memory);
        for expected in 0..records {
            let record = reader.read(&mut || true).expect("a well-formed stream").expect("a record");
            assert_eq!(record.kind, RecordKind::Inline);
            assert_eq!(record.payload, [expected], "records arrive once, in order");
        }
        writer.join().unwrap();
    });
}

#[test]
fn the_server_sleeping_on_an_empty_ring_is_always_woken() {
    // 64 bytes hold four records, so the writer never waits: this is the server's side.
    model(64, 2, 1);
}

#[test]
fn the_client_waiting_on_a_full_ring_is_always_woken_and_nothing_is_overwritten() {
    // A 32-byte ring holds two records: the third waits for the server to free one, and
    // the fourth wraps around over bytes the server must have read first.
    model(32, 4, 4);
}
