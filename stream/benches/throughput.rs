//! Stream throughput (issue 5): canvas items through the shared-memory ring (a client thread
//! encoding and writing, a server thread reading and decoding them into owned items, as the
//! two processes do), against a plain memcpy of the same bytes and against one ipc-channel
//! message per item. Rows that time the stages alone (the ring with pre-encoded records,
//! encoding, decoding) and a cross-core copy floor show where the time goes.
//!
//! What the stream row times is the stream's own work: from items the client holds to items
//! the server owns. The client holds 200,000 different items of a canvas frame's mix and
//! sends each by reference through `StreamClient::draw`, as the canvas API hands over each
//! item it has made. Making items is the caller's work: "build items alone" times it, and a
//! second stream row includes it (each item built as it is sent, as when a script draws).
//! The server reads in batches (`StreamServer::next_batch`), as the GPU process's stream
//! thread does, and drops them; a row reads one item at a time (`next`) for comparison.
//! Two rows bound what a different server or wire could reach: the stream with records only
//! checked (no items built), and a ceiling with items coalesced many to a record.
//! memcpy copies the same items' encoded bytes, all 13 MB of them, into a buffer the ring's
//! size: both read their source from memory, not from cache.
//! Prints tables; run with `cargo bench -p armature-stream --bench throughput`.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use armature_api::messages::{ContentToGpu, GpuToContent, OutOfLineItem, StreamClientEnd, StreamServerEnd};
use armature_api::{
    CanvasItem, ColorF, FontKey, GlyphInstance, IdNamespace, ImageBufferId, LayoutPoint, LayoutRect,
    LayoutSize,
};
use armature_stream::ring::{RecordKind, RingMemory, RingReader, RingViolation, RingWriter};
use armature_stream::shm::SharedRing;
use armature_stream::wire::canvas;
use armature_stream::{StreamClient, StreamServer};
use ipc_channel::ipc;

/// The `armature` binary's allocator, so decoding allocates and frees as the GPU process does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ITEMS: usize = 200_000;
const RUNS: usize = 5;
/// Payload bytes `warm` sends before the clock starts.
const WARM_BYTES: u64 = 2 * armature_stream::DEFAULT_CAPACITY as u64;
const BUFFER: ImageBufferId = ImageBufferId(IdNamespace(1), 0);

/// Item `index` of a canvas frame's mix: state changes, rects, and text runs of a dozen
/// glyphs.
fn item(index: usize) -> CanvasItem {
    let at = index as f32;
    match index % 4 {
        0 => CanvasItem::SetFillColor(ColorF::new(at / 1e6, 0.5, 0.25, 1.0)),
        1 => CanvasItem::FillRect(LayoutRect::new(LayoutPoint::new(at, 2.0), LayoutSize::new(10.0, 20.0))),
        2 => CanvasItem::StrokeRect(LayoutRect::new(LayoutPoint::new(1.0, at), LayoutSize::new(5.0, 6.0))),
        _ => text_run::<12>(index),
    }
}

/// A text run of `GLYPHS` glyphs (the item-size sweep).
fn text_run<const GLYPHS: u32>(index: usize) -> CanvasItem {
    CanvasItem::FillText {
        font: FontKey(IdNamespace(1), 0),
        size: 16.0,
        origin: LayoutPoint::new(index as f32, 30.0),
        glyphs: (0..GLYPHS)
            .map(|glyph| GlyphInstance {
                index: 40 + glyph,
                point: LayoutPoint::new(glyph as f32 * 9.5, 0.0),
            })
            .collect(),
    }
}

/// The items a client holds and sends, all different, and their encoded records.
struct Items {
    items: Vec<CanvasItem>,
    /// The records back to back, and each one's range.
    bytes: Vec<u8>,
    spans: Vec<std::ops::Range<usize>>,
}

impl Items {
    fn new(build: fn(usize) -> CanvasItem, count: usize) -> Items {
        let (mut items, mut bytes, mut spans, mut scratch) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for index in 0..count {
            let item = build(index);
            canvas::encode(BUFFER, &item, &mut scratch);
            spans.push(bytes.len()..bytes.len() + scratch.len());
            bytes.extend_from_slice(&scratch);
            items.push(item);
        }
        Items { items, bytes, spans }
    }

    /// The record of item `index`, as the client encodes it.
    fn record(&self, index: usize) -> &[u8] {
        &self.bytes[self.spans[index].clone()]
    }

    /// Payload bytes of `count` items.
    fn payload(&self, count: usize) -> u64 {
        (0..count).map(|index| self.record(index).len() as u64).sum()
    }
}

fn ends() -> (StreamClientEnd, StreamServerEnd) {
    let ring = armature_stream::create_ring_memory(armature_stream::DEFAULT_CAPACITY).expect("ring");
    let (to_gpu, from_content) = ipc::channel::<OutOfLineItem>().expect("channel");
    let (to_content, from_gpu) = ipc::channel::<GpuToContent>().expect("channel");
    (
        StreamClientEnd { ring: ring.clone(), out_of_line: to_gpu, replies: from_gpu },
        StreamServerEnd { ring, out_of_line: from_content, replies: to_content },
    )
}

/// Encoding alone (items by reference into a slab, as into the ring), then decoding the
/// records into owned items (dropped, as the GPU process drops each once replayed): one
/// thread, no ring.
fn codec(set: &Items, count: usize) -> (Duration, Duration) {
    let mut slab = vec![0u8; armature_stream::DEFAULT_CAPACITY];
    let mut at = 0;
    let started = Instant::now();
    for item in &set.items[..count] {
        let len = canvas::encoded_len(item);
        if at + len > slab.len() {
            at = 0;
        }
        canvas::encode_into(BUFFER, item, &mut slab[at..at + len]);
        at += len.next_multiple_of(8);
    }
    std::hint::black_box(&slab);
    let encoded = started.elapsed();
    let started = Instant::now();
    for index in 0..count {
        std::hint::black_box(canvas::decode(set.record(index)).expect("decodes"));
    }
    (encoded, started.elapsed())
}

/// Building the items alone, as the stream row "built as sent" does before each send.
fn build(count: usize) -> Duration {
    let started = Instant::now();
    for index in 0..count {
        std::hint::black_box(item(index));
    }
    started.elapsed()
}

/// The ring alone on one thread, writing a few hundred records and then reading them: each
/// side's own work per record, without the lines' trips between cores (the reader takes
/// batches, as the stream does). Returns the writer's time and the reader's.
fn ring_one_thread(set: &Items, count: usize) -> (Duration, Duration) {
    let memory = armature_stream::create_ring_memory(armature_stream::DEFAULT_CAPACITY).expect("ring");
    let mut writer = RingWriter::new(SharedRing::map(memory.clone()).expect("map"));
    let mut reader = RingReader::new(SharedRing::map(memory).expect("map"));
    warm(&mut writer, &mut reader);
    let (mut writing, mut reading) = (Duration::ZERO, Duration::ZERO);
    let mut index = 0;
    while index < count {
        let started = Instant::now();
        let first = index;
        // About one publish span of the mix's records.
        while index < count && index - first < 250 {
            writer.write(RecordKind::Canvas, set.record(index), &mut || true).expect("room");
            index += 1;
        }
        writer.flush();
        writing += started.elapsed();
        let started = Instant::now();
        let mut read = first;
        while read < index {
            read += read_batch(&mut reader);
        }
        reading += started.elapsed();
    }
    (writing, reading)
}

/// Reads what is published in one batch, as `StreamServer::next_batch` does (without
/// decoding): how many records.
fn read_batch<M: RingMemory>(reader: &mut RingReader<M>) -> usize {
    reader
        .read_published(|record| {
            std::hint::black_box(record);
            Ok::<_, RingViolation>(())
        })
        .expect("well-formed")
}

/// The ring alone: `set`'s records, already encoded, written by one thread and read by
/// another in batches.
fn raw_ring(set: &Items, count: usize) -> Duration {
    let memory = armature_stream::create_ring_memory(armature_stream::DEFAULT_CAPACITY).expect("ring");
    let mut writer = RingWriter::new(SharedRing::map(memory.clone()).expect("map"));
    let mut reader = RingReader::new(SharedRing::map(memory).expect("map"));
    warm(&mut writer, &mut reader);
    let started = Instant::now();
    let thread = std::thread::spawn(move || {
        let mut read = 0;
        while read < count {
            if reader.wait(&mut || true).expect("well-formed") {
                read += read_batch(&mut reader);
            }
        }
    });
    for index in 0..count {
        writer.write(RecordKind::Canvas, set.record(index), &mut || true).expect("room");
    }
    writer.flush();
    thread.join().expect("reader");
    started.elapsed()
}

/// A client and server over a fresh ring, warmed (see `warm`), and the replies sender the
/// client watches to know the GPU side is alive (held by the caller until the end).
fn connected() -> (StreamClient, StreamServer, ipc::IpcSender<GpuToContent>) {
    let (client_end, server_end) = ends();
    let mut client = StreamClient::connect(client_end).expect("client");
    let (mut server, replies) = StreamServer::accept(server_end).expect("server");
    warm(client.raw_writer(), server.raw_reader());
    (client, server, replies)
}

/// Takes a fresh ring twice around, from one thread, so neither side's first touch of a
/// page (a fault in each process's mapping) is timed: a content process's ring lives as
/// long as its page, and those faults are paid once.
fn warm<M: RingMemory>(writer: &mut RingWriter<M>, reader: &mut RingReader<M>) {
    let filler = vec![0u8; 4096];
    let laps = 2 * armature_stream::DEFAULT_CAPACITY / filler.len();
    for _ in 0..laps {
        writer.write(RecordKind::Inline, &filler, &mut || true).expect("room");
        writer.flush();
        reader.try_read().expect("well-formed");
    }
}

/// How the server side of a stream row reads.
#[derive(Clone, Copy)]
enum Reading {
    /// `next_batch`, as the GPU process's stream thread does (it hands each batch on).
    Batches,
    /// `next`, one item at a time.
    OneByOne,
    /// The records in batches, each checked with `canvas::check` but not built into an item:
    /// a server that replayed records in place, without owned items.
    CheckedOnly,
}

/// The stream of `count` items: `set`'s, sent by reference, or (`built`) each built as it
/// is sent. Returns the time, the payload bytes and the sleeps of both sides.
fn stream_of(
    set: &Items,
    count: usize,
    built: Option<fn(usize) -> CanvasItem>,
    reading: Reading,
) -> (Duration, u64, u64) {
    let (mut client, mut server, _replies) = connected();
    let started = Instant::now();
    let reader = std::thread::spawn(move || {
        let stop = AtomicBool::new(false);
        match reading {
            Reading::Batches => {
                let (mut read, mut batch) = (0, Vec::new());
                while read < count {
                    // Dropped here: the GPU process's main thread drops each item once replayed.
                    batch.clear();
                    assert!(server.next_batch(&stop, &mut batch).expect("well-formed"), "items");
                    read += std::hint::black_box(&batch).len();
                }
            }
            Reading::CheckedOnly => {
                let (mut read, reader) = (0, server.raw_reader());
                while read < count {
                    if reader.wait(&mut || true).expect("well-formed") {
                        read += check_batch(reader);
                    }
                }
            }
            Reading::OneByOne => {
                for _ in 0..count {
                    std::hint::black_box(server.next(&stop).expect("well-formed").expect("an item"));
                }
            }
        }
        server.stats()
    });
    match built {
        Some(build) => {
            for index in 0..count {
                client.draw(BUFFER, &build(index)).expect("send");
            }
        }
        None => {
            for item in &set.items[..count] {
                client.draw(BUFFER, item).expect("send");
            }
        }
    }
    client.flush();
    let stats = reader.join().expect("reader");
    (started.elapsed(), stats.bytes - WARM_BYTES, stats.sleeps + client.stats().0.sleeps)
}

/// Checks the records published in one batch, as a server replaying in place would: how many.
fn check_batch<M: RingMemory>(reader: &mut RingReader<M>) -> usize {
    reader
        .read_published(|record| {
            canvas::check(record.payload).map_err(|_| RingViolation::Misaligned { offset: 0 })
        })
        .expect("well-formed")
}

/// Largest record of the ceiling row.
const COALESCED_RECORD: usize = 8 * 1024;

/// The ceiling of any stream of these items, for the goal: the client encodes items
/// straight into the ring, many to a record (up to 8 KiB, each item behind a 4-byte length,
/// so no ring header, room check or publish check per item), and the server only checks
/// each item's shape (`canvas::check`), building nothing. What is left is encoding the
/// items out of the client's memory and moving them between cores.
fn coalesced_ceiling(set: &Items, count: usize) -> Duration {
    let (mut client, mut server, _replies) = connected();
    let started = Instant::now();
    let reader = std::thread::spawn(move || {
        let (mut read, reader) = (0, server.raw_reader());
        while read < count {
            if !reader.wait(&mut || true).expect("well-formed") {
                continue;
            }
            reader
                .read_published(|record| {
                    let mut rest = record.payload;
                    while let Some((len, after)) = rest.split_first_chunk::<4>() {
                        let len = u32::from_le_bytes(*len) as usize;
                        let item = after.get(..len).ok_or(RingViolation::Misaligned { offset: 0 })?;
                        canvas::check(item).map_err(|_| RingViolation::Misaligned { offset: 0 })?;
                        read += 1;
                        rest = after.get(len.next_multiple_of(4)..).unwrap_or_default();
                    }
                    Ok::<_, RingViolation>(())
                })
                .expect("well-formed");
        }
    });
    let writer = client.raw_writer();
    let items = &set.items[..count];
    let framed = |item: &CanvasItem| 4 + canvas::encoded_len(item).next_multiple_of(4);
    let mut first = 0;
    while first < items.len() {
        let (mut end, mut len) = (first, 0);
        while end < items.len() && len + framed(&items[end]) <= COALESCED_RECORD {
            len += framed(&items[end]);
            end += 1;
        }
        let fill = |out: &mut [u8]| {
            let mut at = 0;
            for item in &items[first..end] {
                let item_len = canvas::encoded_len(item);
                out[at..at + 4].copy_from_slice(&(item_len as u32).to_le_bytes());
                canvas::encode_into(BUFFER, item, &mut out[at + 4..at + 4 + item_len]);
                out[at + 4 + item_len..at + framed(item)].fill(0);
                at += framed(item);
            }
        };
        writer.write_with(RecordKind::Canvas, len, fill, &mut || true).expect("room");
        first = end;
    }
    writer.flush();
    reader.join().expect("reader");
    started.elapsed()
}

fn ipc_per_item(count: usize) -> Duration {
    let (sender, receiver) = ipc::channel::<ContentToGpu>().expect("channel");
    let started = Instant::now();
    let reader = std::thread::spawn(move || {
        for _ in 0..count {
            std::hint::black_box(receiver.recv().expect("an item"));
        }
    });
    for index in 0..count {
        sender.send(ContentToGpu::DrawToImageBuffer { buffer: BUFFER, item: item(index) }).expect("send");
    }
    reader.join().expect("reader");
    started.elapsed()
}

/// `bytes` of `set`'s records, copied into a buffer the ring's size, round and round
/// (touched before timing, as the rings are: see `warm`).
fn memcpy(set: &Items, bytes: u64) -> Duration {
    let mut ring = vec![1u8; armature_stream::DEFAULT_CAPACITY];
    let source = &set.bytes;
    let mut left = bytes as usize;
    let mut at = 0;
    let started = Instant::now();
    while left > 0 {
        let len = left.min(source.len()).min(ring.len() - at);
        ring[at..at + len].copy_from_slice(&source[..len]);
        std::hint::black_box(&ring);
        left -= len;
        at = (at + len) % ring.len();
    }
    started.elapsed()
}

/// The floor under any ring between two cores: one thread copies `bytes` into a ring the
/// stream's size in 16 KiB blocks, another copies each block out as soon as it is
/// published (bare atomics, spinning, no records, no checks, no encoding). What this
/// reaches against `memcpy` bounds what the stream can.
fn cross_core_copy(bytes: u64) -> Duration {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    const BLOCK: usize = 16 * 1024;
    let capacity = armature_stream::DEFAULT_CAPACITY;
    let blocks = (bytes as usize).div_ceil(BLOCK) as u64;
    struct Ring {
        data: Vec<std::cell::UnsafeCell<u8>>,
        written: AtomicU64,
        read: AtomicU64,
    }
    // SAFETY: each block is written by one thread before `written` publishes it and read by
    // the other before `read` frees it: never both at once.
    unsafe impl Sync for Ring {}
    let ring = Arc::new(Ring {
        data: (0..capacity).map(|_| std::cell::UnsafeCell::new(1)).collect(),
        written: AtomicU64::new(0),
        read: AtomicU64::new(0),
    });
    let slots = (capacity / BLOCK) as u64;
    let source = vec![7u8; BLOCK];
    let started = Instant::now();
    let reader = {
        let ring = ring.clone();
        std::thread::spawn(move || {
            let mut out = vec![0u8; BLOCK];
            let base = std::cell::UnsafeCell::raw_get(ring.data.as_ptr());
            for block in 0..blocks {
                while ring.written.load(Ordering::Acquire) <= block {
                    std::hint::spin_loop();
                }
                let at = (block % slots) as usize * BLOCK;
                // SAFETY: the block is published and inside the ring (see `Ring`).
                unsafe { std::ptr::copy_nonoverlapping(base.add(at), out.as_mut_ptr(), BLOCK) };
                std::hint::black_box(&out);
                ring.read.store(block + 1, Ordering::Release);
            }
        })
    };
    let base = std::cell::UnsafeCell::raw_get(ring.data.as_ptr());
    for block in 0..blocks {
        while block - ring.read.load(Ordering::Acquire) >= slots {
            std::hint::spin_loop();
        }
        let at = (block % slots) as usize * BLOCK;
        // SAFETY: the reader has freed this block and it is inside the ring (see `Ring`).
        unsafe { std::ptr::copy_nonoverlapping(source.as_ptr(), base.add(at), BLOCK) };
        ring.written.store(block + 1, Ordering::Release);
    }
    reader.join().expect("reader");
    started.elapsed()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The stream and memcpy for text runs of `GLYPHS` glyphs, about 13 MB of them.
fn sweep_row<const GLYPHS: u32>() {
    let record = canvas::encoded_len(&text_run::<GLYPHS>(0)) + 8;
    let count = 13_000_000 / record;
    let set = Items::new(text_run::<GLYPHS>, count);
    let bytes = set.payload(count);
    let time = median((0..RUNS).map(|_| stream_of(&set, count, None, Reading::Batches).0).collect());
    let memcpy_time = median((0..RUNS).map(|_| memcpy(&set, bytes)).collect());
    println!(
        "| {GLYPHS} | {record} | {count} | {:.0} | {:.0} | {:.2}× |",
        bytes as f64 / time.as_secs_f64() / 1e6,
        bytes as f64 / memcpy_time.as_secs_f64() / 1e6,
        memcpy_time.as_secs_f64() / time.as_secs_f64()
    );
}

fn main() {
    let set = Items::new(item, ITEMS);
    let bytes = set.payload(ITEMS);
    let mut sleeps = 0;
    let mut stream = |built, reading| {
        median(
            (0..RUNS)
                .map(|_| {
                    let (time, payload, slept) = stream_of(&set, ITEMS, built, reading);
                    assert_eq!(payload, bytes, "every item's bytes arrived");
                    sleeps += slept;
                    time
                })
                .collect(),
        )
    };
    let stream_time = stream(None, Reading::Batches);
    let one_by_one_time = stream(None, Reading::OneByOne);
    let checked_time = stream(None, Reading::CheckedOnly);
    let ceiling_time = median((0..RUNS).map(|_| coalesced_ceiling(&set, ITEMS)).collect());
    let built_time = stream(Some(item), Reading::Batches);
    let ring_time = median((0..RUNS).map(|_| raw_ring(&set, ITEMS)).collect());
    let one_thread: Vec<_> = (0..RUNS).map(|_| ring_one_thread(&set, ITEMS)).collect();
    let ring_writer_time = median(one_thread.iter().map(|times| times.0).collect());
    let ring_reader_time = median(one_thread.iter().map(|times| times.1).collect());
    let codec_times: Vec<_> = (0..RUNS).map(|_| codec(&set, ITEMS)).collect();
    let encode_time = median(codec_times.iter().map(|times| times.0).collect());
    let decode_time = median(codec_times.iter().map(|times| times.1).collect());
    let build_time = median((0..RUNS).map(|_| build(ITEMS)).collect());
    let memcpy_time = median((0..RUNS).map(|_| memcpy(&set, bytes)).collect());
    let floor_time = median((0..RUNS).map(|_| cross_core_copy(bytes)).collect());
    let ipc_time = median((0..RUNS).map(|_| ipc_per_item(ITEMS)).collect());
    let rate = |time: Duration| bytes as f64 / time.as_secs_f64() / 1e6;
    println!(
        "{ITEMS} canvas items, {bytes} bytes encoded ({:.1} bytes/item), medians of {RUNS} runs",
        bytes as f64 / ITEMS as f64
    );
    println!("| path | ms | MB/s | stream ÷ this |");
    println!("|---|---|---|---|");
    for (name, time) in [
        ("memcpy (same bytes)", memcpy_time),
        ("cross-core copy floor (16 KiB blocks, no records)", floor_time),
        ("ring alone (same records, pre-encoded)", ring_time),
        ("ring's writer alone (one thread, no cross-core traffic)", ring_writer_time),
        ("ring's reader alone (one thread, no cross-core traffic)", ring_reader_time),
        ("encode alone (client side, one thread)", encode_time),
        ("decode alone (server side, one thread, owned items)", decode_time),
        ("**stream** (encode + ring + decode, read in batches)", stream_time),
        ("stream, read one item at a time", one_by_one_time),
        ("stream, records checked but no items built", checked_time),
        ("ceiling: items coalesced into 8 KiB records, checked, none built", ceiling_time),
        ("build items alone (the caller's work, one thread)", build_time),
        ("stream, each item built as it is sent", built_time),
        ("ipc-channel, one message per item", ipc_time),
    ] {
        println!(
            "| {name} | {:.2} | {:.0} | {:.2}× |",
            time.as_secs_f64() * 1e3,
            rate(time),
            time.as_secs_f64() / stream_time.as_secs_f64()
        );
    }
    let ratio = |time: Duration| memcpy_time.as_secs_f64() / time.as_secs_f64();
    println!(
        "stream: {:.2}× memcpy, {:.1}× ipc-channel per item; built as sent: {:.2}× memcpy; ring alone {:.2}×, cross-core floor {:.2}×; {sleeps} sleeps in all stream runs",
        ratio(stream_time),
        ipc_time.as_secs_f64() / stream_time.as_secs_f64(),
        ratio(built_time),
        ratio(ring_time),
        ratio(floor_time),
    );
    println!(
        "without building items: {:.2}× memcpy; ceiling (coalesced, checked, none built): {:.2}×; encoding alone: {:.2}×",
        ratio(checked_time),
        ratio(ceiling_time),
        ratio(encode_time),
    );
    println!();
    println!("item-size sweep: text runs only, about 13 MB per run, medians of {RUNS} runs");
    println!("| glyphs per run | bytes per record | items | stream MB/s | memcpy MB/s | stream ÷ memcpy |");
    println!("|---|---|---|---|---|---|");
    sweep_row::<12>();
    sweep_row::<100>();
    sweep_row::<1000>();
}
