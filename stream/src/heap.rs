//! A ring in one process's heap, with the same protocol and the same words (futexes work on
//! any process's memory): the fuzzer's input and the unit tests' fixture.

use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use crate::ring::RingMemory;
use crate::shm::{SharedOffset, SharedState};

/// A ring's memory on the heap.
pub struct HeapRing {
    client: SharedOffset,
    server: SharedOffset,
    server_state: SharedState,
    client_state: SharedState,
    data: Box<[UnsafeCell<u8>]>,
}

// SAFETY: the data is only touched through the ring protocol, which gives each range to one
// side at a time (and the fuzzer drives both sides from one thread).
unsafe impl Sync for HeapRing {}

impl HeapRing {
    /// A ring of `capacity` data bytes (a power of two, at least 16).
    pub fn new(capacity: usize) -> HeapRing {
        assert!(capacity.is_power_of_two() && capacity >= 16, "ring capacity must be a power of two ≥ 16");
        HeapRing {
            client: SharedOffset(AtomicU64::new(0)),
            server: SharedOffset(AtomicU64::new(0)),
            server_state: SharedState(AtomicU32::new(0)),
            client_state: SharedState(AtomicU32::new(0)),
            data: (0..capacity).map(|_| UnsafeCell::new(0)).collect(),
        }
    }
}

impl RingMemory for &HeapRing {
    type Offset = SharedOffset;
    type State = SharedState;

    fn client_offset(&self) -> &SharedOffset {
        &self.client
    }

    fn server_offset(&self) -> &SharedOffset {
        &self.server
    }

    fn server_state(&self) -> &SharedState {
        &self.server_state
    }

    fn client_state(&self) -> &SharedState {
        &self.client_state
    }

    fn capacity(&self) -> usize {
        self.data.len()
    }

    unsafe fn write(&self, at: usize, bytes: &[u8]) {
        for (offset, byte) in bytes.iter().enumerate() {
            // SAFETY: the caller owns the range (ring protocol); `at + offset < capacity`.
            unsafe { *self.data[at + offset].get() = *byte };
        }
    }

    unsafe fn lend(&self, at: usize, len: usize) -> Option<NonNull<[u8]>> {
        let cells = &self.data[at..at + len];
        // `UnsafeCell<u8>` has `u8`'s layout and lets us write through a shared reference; the
        // caller owns the range (ring protocol), so nothing else touches it.
        let start = NonNull::new(UnsafeCell::raw_get(cells.as_ptr()))?;
        Some(NonNull::slice_from_raw_parts(start, len))
    }

    unsafe fn read(&self, at: usize, out: &mut [u8]) {
        for (offset, byte) in out.iter_mut().enumerate() {
            // SAFETY: the range was published to the caller; `at + offset < capacity`.
            *byte = unsafe { *self.data[at + offset].get() };
        }
    }
}

/// The fuzz target's body: `input` is a client offset (8 bytes, LE) and then the ring's data
/// as a hostile client left it; every record is read and decoded until the stream ends or a
/// violation stops it. Never panics (that is what the fuzzer checks).
pub fn decode_ring(input: &[u8]) -> Result<usize, crate::StreamViolation> {
    const CAPACITY: usize = 4096;
    let Some((offset, data)) = input.split_first_chunk::<8>() else { return Ok(0) };
    let ring = HeapRing::new(CAPACITY);
    let data = &data[..data.len().min(CAPACITY)];
    // SAFETY: no reader yet; `data` fits the data area.
    unsafe { (&ring).write(0, data) };
    ring.client.0.store(u64::from_le_bytes(*offset), Ordering::SeqCst);
    let mut reader = crate::ring::RingReader::new(&ring);
    // Batches, as the GPU process reads (`StreamServer::next_batch`), until nothing is left.
    let mut items = 0;
    while reader.read_published(|record| {
        if record.kind != crate::ring::RecordKind::OutOfLine {
            crate::wire::decode_record(record.kind, record.payload)?;
            items += 1;
        }
        Ok::<_, crate::StreamViolation>(())
    })? > 0
    {}
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::{READ_SPAN, RECORD_HEADER, Record, RecordKind, RingReader, RingViolation, RingWriter};

    #[test]
    fn records_round_trip_through_many_wraps_in_order() {
        let ring = HeapRing::new(64);
        let mut writer = RingWriter::new(&ring);
        let mut reader = RingReader::new(&ring);
        for round in 0..100u8 {
            let bytes = vec![round; usize::from(round % 20)];
            // Every other record is filled in place, over whatever stale bytes it lands on.
            if round % 2 == 0 {
                writer.write(RecordKind::Inline, &bytes, &mut || true).expect("room");
            } else {
                let fill = |out: &mut [u8]| out.copy_from_slice(&bytes);
                writer.write_with(RecordKind::Inline, bytes.len(), fill, &mut || true).expect("room");
            }
            writer.flush();
            assert_eq!(reader.try_read(), Ok(Some(Record { kind: RecordKind::Inline, payload: &bytes })));
        }
        assert_eq!(reader.try_read(), Ok(None));
    }

    #[test]
    fn records_that_cross_a_read_span_arrive_whole() {
        // Published in one go, so the reader copies READ_SPAN at a time and records of
        // every size straddle the copies' ends.
        let ring = HeapRing::new(16 * READ_SPAN);
        let mut writer = RingWriter::new(&ring);
        let mut reader = RingReader::new(&ring);
        for lap in 0..3 {
            let sent = write_lap(&mut writer, 6, lap * 1000, |index| vec![index as u8; (index * 997) % 3000]);
            for bytes in &sent {
                assert_eq!(reader.try_read(), Ok(Some(Record { kind: RecordKind::Inline, payload: bytes })));
            }
            assert_eq!(reader.try_read(), Ok(None), "lap {lap}: nothing more");
        }
    }

    /// Writes and publishes the records `record` makes (numbered from `first`) until `spans`
    /// read spans are written; returns them.
    fn write_lap(
        writer: &mut RingWriter<&HeapRing>,
        spans: usize,
        first: usize,
        record: impl Fn(usize) -> Vec<u8>,
    ) -> Vec<Vec<u8>> {
        let (mut sent, mut written) = (Vec::new(), 0);
        while written < spans * READ_SPAN {
            let bytes = record(first + sent.len());
            writer.write(RecordKind::Inline, &bytes, &mut || true).expect("room");
            written += bytes.len() + 2 * RECORD_HEADER;
            sent.push(bytes);
        }
        writer.flush();
        sent
    }

    /// Everything `read_published` hands out until it says nothing is published, batch by
    /// batch, and each batch's payload bytes.
    fn batches(reader: &mut RingReader<&HeapRing>) -> (Vec<Vec<u8>>, Vec<usize>) {
        let (mut records, mut sizes) = (Vec::new(), Vec::new());
        loop {
            let mut size = 0;
            let count = reader
                .read_published(|record| {
                    size += record.payload.len() + RECORD_HEADER;
                    records.push(record.payload.to_vec());
                    Ok::<_, RingViolation>(())
                })
                .expect("well-formed");
            if count == 0 {
                return (records, sizes);
            }
            sizes.push(size);
        }
    }

    #[test]
    fn batches_hand_out_every_record_in_order_about_a_read_span_each() {
        let ring = HeapRing::new(16 * READ_SPAN);
        let mut writer = RingWriter::new(&ring);
        let mut reader = RingReader::new(&ring);
        for lap in 0..4 {
            // Laps of 7 read spans, so wraps fall in every place within a batch.
            let sent = write_lap(&mut writer, 7, lap * 1000, |index| vec![index as u8; (index * 389) % 2000]);
            let (records, sizes) = batches(&mut reader);
            assert_eq!(records, sent, "lap {lap}: every record, in order");
            // A batch ends at the first record that reaches past a read span.
            assert!(sizes.iter().all(|&size| size <= READ_SPAN + 2000 + 2 * RECORD_HEADER), "{sizes:?}");
            assert!(sizes.len() >= 7, "lap {lap}: batches of a read span, not one: {sizes:?}");
        }
    }

    #[test]
    fn a_wrap_alone_is_no_batch_and_the_record_after_it_is_the_next() {
        let ring = HeapRing::new(128);
        let mut writer = RingWriter::new(&ring);
        let mut reader = RingReader::new(&ring);
        writer.write(RecordKind::Inline, &[1; 48], &mut || true).expect("room");
        writer.flush();
        assert_eq!(batches(&mut reader).0, vec![vec![1; 48]]);
        // A wrap at 56 published without the record after it (a well-behaved client
        // publishes both at once): no batch, and the record that follows is not lost.
        writer.write_raw(&[0, 0, 0, 0, 3, 0, 0, 0]);
        writer.write_raw(&[0; 64]);
        writer.flush();
        assert_eq!(reader.read_published(|_| Ok::<_, RingViolation>(())), Ok(0));
        writer.write(RecordKind::Inline, &[2; 20], &mut || true).expect("room");
        writer.flush();
        assert_eq!(batches(&mut reader).0, vec![vec![2; 20]]);
    }

    #[test]
    fn a_violation_ends_a_batch_after_the_records_before_it() {
        let ring = HeapRing::new(4096);
        let mut writer = RingWriter::new(&ring);
        let mut reader = RingReader::new(&ring);
        writer.write(RecordKind::Inline, &[1; 10], &mut || true).expect("room");
        writer.write(RecordKind::Inline, &[2; 10], &mut || true).expect("room");
        writer.write_raw(&[0, 0, 0, 0, 9, 0, 0, 0]);
        writer.flush();
        let mut records = Vec::new();
        let read = reader.read_published(|record| {
            records.push(record.payload.to_vec());
            Ok::<_, RingViolation>(())
        });
        assert_eq!(read, Err(RingViolation::UnknownKind { kind: 9, offset: 48 }));
        assert_eq!(records, vec![vec![1; 10], vec![2; 10]]);
    }

    #[test]
    fn hostile_rings_are_named_violations() {
        let with = |offset: u64, data: &[u8]| {
            let mut input = offset.to_le_bytes().to_vec();
            input.extend_from_slice(data);
            decode_ring(&input)
        };
        let header = |len: u32, kind: u32| [len.to_le_bytes(), kind.to_le_bytes()].concat();
        let ring = |error| Err(crate::StreamViolation::Ring(error));
        assert_eq!(
            with(1 << 40, &[]),
            ring(RingViolation::OffsetOutOfRange { offset: 1 << 40, read: 0, capacity: 4096 })
        );
        assert_eq!(with(12, &header(0, 1)), ring(RingViolation::Misaligned { offset: 12 }));
        assert_eq!(with(8, &header(0, 9)), ring(RingViolation::UnknownKind { kind: 9, offset: 0 }));
        assert!(matches!(
            with(8, &header(u32::MAX, 1)),
            Err(crate::StreamViolation::Ring(RingViolation::AbsurdSize { .. }))
        ));
        assert_eq!(with(16, &header(100, 1)), ring(RingViolation::Truncated { needed: 112, published: 16 }));
        let mut garbage = header(8, 1);
        garbage.extend_from_slice(&[0xff; 8]);
        assert!(matches!(with(16, &garbage), Err(crate::StreamViolation::Wire(_))));
        let mut canvas = header(12, 4);
        for word in [77u32, 1, 0, 0] {
            canvas.extend_from_slice(&word.to_le_bytes());
        }
        assert_eq!(
            with(24, &canvas),
            Err(crate::StreamViolation::Wire(crate::wire::WireError::UnknownCanvasOp(77)))
        );
        assert_eq!(with(0, &[]), Ok(0));
    }
}
