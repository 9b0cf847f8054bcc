//! Stream throughput (issue 5): canvas items through the shared-memory ring (a client thread
//! encoding and writing, a server thread reading and decoding, as the two processes do),
//! against a plain memcpy of the same bytes and against one ipc-channel message per item;
//! and the ring alone (the same records, already encoded), to separate the transport from
//! the encoding.
//!
//! The client builds each item as it sends it, as the content process's canvas API does
//! when a script draws (the item goes from registers into the ring). A pre-built array of
//! 200,000 items would be 20 MB the sender must first read back from memory, a cost of the
//! benchmark, not of the stream.
//! Prints a table; run with `cargo bench -p armature-stream --bench throughput`.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use armature_api::messages::{ContentToGpu, GpuToContent, OutOfLineItem, StreamClientEnd, StreamServerEnd};
use armature_api::{
    CanvasItem, ColorF, FontKey, GlyphInstance, IdNamespace, ImageBufferId, LayoutPoint, LayoutRect,
    LayoutSize,
};
use armature_stream::ring::RecordKind;
use armature_stream::wire::canvas;
use armature_stream::{StreamClient, StreamServer};
use ipc_channel::ipc;

const ITEMS: usize = 200_000;
const RUNS: usize = 5;
/// Payload bytes `warm` sends before the clock starts.
const WARM_BYTES: u64 = 2 * armature_stream::DEFAULT_CAPACITY as u64;

/// A text run of `GLYPHS` glyphs (the item-size sweep).
fn text_run<const GLYPHS: u32>(index: usize) -> ContentToGpu {
    let item = CanvasItem::FillText {
        font: FontKey(IdNamespace(1), 0),
        size: 16.0,
        origin: LayoutPoint::new(index as f32, 30.0),
        glyphs: (0..GLYPHS)
            .map(|glyph| GlyphInstance {
                index: 40 + glyph,
                point: LayoutPoint::new(glyph as f32 * 9.5, 0.0),
            })
            .collect(),
    };
    ContentToGpu::DrawToImageBuffer { buffer: ImageBufferId(IdNamespace(1), 0), item }
}

/// The stream and memcpy for text runs of `GLYPHS` glyphs, about 13 MB of them.
fn sweep_row<const GLYPHS: u32>() {
    let record = 32 + 12 * GLYPHS as usize;
    let count = 13_000_000 / record;
    let mut bytes = 0;
    let time = median(
        (0..RUNS)
            .map(|_| {
                let (time, payload, _) = stream_of(count, text_run::<GLYPHS>);
                bytes = payload;
                time
            })
            .collect(),
    );
    let memcpy_time = median((0..RUNS).map(|_| memcpy(bytes)).collect());
    println!(
        "| {GLYPHS} | {record} | {count} | {:.0} | {:.0} | {:.2}× |",
        bytes as f64 / time.as_secs_f64() / 1e6,
        bytes as f64 / memcpy_time.as_secs_f64() / 1e6,
        memcpy_time.as_secs_f64() / time.as_secs_f64()
    );
}

/// Item `index` of a canvas frame's mix: state changes, rects, and text runs of a dozen
/// glyphs.
fn item(index: usize) -> ContentToGpu {
    let buffer = ImageBufferId(IdNamespace(1), 0);
    let at = index as f32;
    let item = match index % 4 {
        0 => CanvasItem::SetFillColor(ColorF::new(at / 1e6, 0.5, 0.25, 1.0)),
        1 => CanvasItem::FillRect(LayoutRect::new(LayoutPoint::new(at, 2.0), LayoutSize::new(10.0, 20.0))),
        2 => CanvasItem::StrokeRect(LayoutRect::new(LayoutPoint::new(1.0, at), LayoutSize::new(5.0, 6.0))),
        _ => CanvasItem::FillText {
            font: FontKey(IdNamespace(1), 0),
            size: 16.0,
            origin: LayoutPoint::new(at, 30.0),
            glyphs: (0..12)
                .map(|glyph| GlyphInstance {
                    index: 40 + glyph,
                    point: LayoutPoint::new(glyph as f32 * 9.5, 0.0),
                })
                .collect(),
        },
    };
    ContentToGpu::DrawToImageBuffer { buffer, item }
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

/// Items `0..ITEMS`, encoded once, back to back (the ring-alone and decode-alone rows).
struct Records {
    bytes: Vec<u8>,
    /// Each record's kind and its range in `bytes`.
    spans: Vec<(RecordKind, std::ops::Range<usize>)>,
}

impl Records {
    fn new() -> Records {
        let mut bytes = Vec::new();
        let mut spans = Vec::new();
        let mut scratch = Vec::new();
        for index in 0..ITEMS {
            let (kind, record) = encode(&item(index), &mut scratch);
            spans.push((kind, bytes.len()..bytes.len() + record.len()));
            bytes.extend_from_slice(record);
        }
        Records { bytes, spans }
    }

    fn iter(&self) -> impl Iterator<Item = (RecordKind, &[u8])> {
        self.spans.iter().map(|(kind, span)| (*kind, &self.bytes[span.clone()]))
    }
}

/// An item as the stream client encodes it.
fn encode<'a>(command: &ContentToGpu, scratch: &'a mut Vec<u8>) -> (RecordKind, &'a [u8]) {
    match command {
        ContentToGpu::DrawToImageBuffer { buffer, item } => {
            canvas::encode(*buffer, item, scratch);
            (RecordKind::Canvas, scratch.as_slice())
        }
        _ => (RecordKind::Inline, armature_stream::wire::encode(command, scratch).expect("encodes")),
    }
}

/// Building the items alone (the sender's own work, part of every path below), then
/// building and encoding them, then decoding the records: one thread, no ring.
fn codec(records: &Records) -> (Duration, Duration, Duration) {
    let started = Instant::now();
    for index in 0..ITEMS {
        std::hint::black_box(item(index));
    }
    let built = started.elapsed();
    let mut scratch = Vec::new();
    let started = Instant::now();
    for index in 0..ITEMS {
        std::hint::black_box(encode(&item(index), &mut scratch));
    }
    let encoded = started.elapsed();
    let started = Instant::now();
    for (kind, record) in records.iter() {
        std::hint::black_box(armature_stream::wire::decode_record(kind, record).expect("decodes"));
    }
    (built, encoded, started.elapsed())
}

fn raw_ring(records: &Records) -> Duration {
    use armature_stream::ring::{RingReader, RingWriter};
    use armature_stream::shm::SharedRing;
    let memory = armature_stream::create_ring_memory(armature_stream::DEFAULT_CAPACITY).expect("ring");
    let mut writer = RingWriter::new(SharedRing::map(memory.clone()).expect("map"));
    let mut reader = RingReader::new(SharedRing::map(memory).expect("map"));
    warm(&mut writer, &mut reader);
    let count = records.spans.len();
    let started = Instant::now();
    let thread = std::thread::spawn(move || {
        let mut payload = Vec::with_capacity(4096);
        for _ in 0..count {
            std::hint::black_box(reader.read(&mut payload, &mut || true).expect("well-formed"));
        }
    });
    for (kind, record) in records.iter() {
        writer.write(kind, record, &mut || true).expect("room");
    }
    writer.flush();
    thread.join().expect("reader");
    started.elapsed()
}

/// Takes a fresh ring twice around, from one thread, so neither side's first touch of a
/// page (a fault in each process's mapping) is timed: a content process's ring lives as
/// long as its page, and those faults are paid once.
fn warm<M: armature_stream::ring::RingMemory>(
    writer: &mut armature_stream::ring::RingWriter<M>,
    reader: &mut armature_stream::ring::RingReader<M>,
) {
    let filler = vec![0u8; 4096];
    let mut payload = Vec::new();
    let laps = 2 * armature_stream::DEFAULT_CAPACITY / filler.len();
    for _ in 0..laps {
        writer.write(RecordKind::Inline, &filler, &mut || true).expect("room");
        writer.flush();
        reader.try_read(&mut payload).expect("well-formed");
    }
}

/// The stream of `count` items built by `build` (see [`item`]).
fn stream_of(count: usize, build: fn(usize) -> ContentToGpu) -> (Duration, u64, u64) {
    let (client_end, server_end) = ends();
    let mut client = StreamClient::connect(client_end).expect("client");
    let (mut server, _replies) = StreamServer::accept(server_end).expect("server");
    warm(client.raw_writer(), server.raw_reader());
    let started = Instant::now();
    let reader = std::thread::spawn(move || {
        let stop = AtomicBool::new(false);
        for _ in 0..count {
            std::hint::black_box(server.next(&stop).expect("well-formed").expect("an item"));
        }
        server.stats()
    });
    for index in 0..count {
        client.send(build(index)).expect("send");
    }
    client.flush();
    let stats = reader.join().expect("reader");
    (started.elapsed(), stats.bytes - WARM_BYTES, stats.sleeps + client.stats().0.sleeps)
}

fn ipc_per_item() -> Duration {
    let (sender, receiver) = ipc::channel::<ContentToGpu>().expect("channel");
    let started = Instant::now();
    let reader = std::thread::spawn(move || {
        for _ in 0..ITEMS {
            std::hint::black_box(receiver.recv().expect("an item"));
        }
    });
    for index in 0..ITEMS {
        sender.send(item(index)).expect("send");
    }
    reader.join().expect("reader");
    started.elapsed()
}

fn memcpy(bytes: u64) -> Duration {
    // The same number of bytes, copied through a buffer the size of the ring.
    let source = vec![7u8; bytes as usize];
    // Touched before timing, as the rings are (see `warm`).
    let mut ring = vec![1u8; armature_stream::DEFAULT_CAPACITY];
    let started = Instant::now();
    for chunk in source.chunks(ring.len()) {
        ring[..chunk.len()].copy_from_slice(chunk);
        std::hint::black_box(&ring);
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

fn main() {
    let mut stream_times = Vec::new();
    let mut bytes = 0;
    let mut sleeps = 0;
    for _ in 0..RUNS {
        let (time, payload, slept) = stream_of(ITEMS, item);
        stream_times.push(time);
        bytes = payload;
        sleeps += slept;
    }
    let stream_time = median(stream_times);
    let records = Records::new();
    let ring_time = median((0..RUNS).map(|_| raw_ring(&records)).collect());
    let codec_times: Vec<_> = (0..RUNS).map(|_| codec(&records)).collect();
    let build_time = median(codec_times.iter().map(|times| times.0).collect());
    let encode_time = median(codec_times.iter().map(|times| times.1).collect());
    let decode_time = median(codec_times.iter().map(|times| times.2).collect());
    let memcpy_time = median((0..RUNS).map(|_| memcpy(bytes)).collect());
    let floor_time = median((0..RUNS).map(|_| cross_core_copy(bytes)).collect());
    let ipc_time = median((0..RUNS).map(|_| ipc_per_item()).collect());
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
        ("build items alone (sender, one thread)", build_time),
        ("build + encode (sender, one thread)", encode_time),
        ("decode alone (server side, one thread)", decode_time),
        ("stream (build + encode + ring + decode)", stream_time),
        ("ipc-channel, one message per item", ipc_time),
    ] {
        println!(
            "| {name} | {:.2} | {:.0} | {:.2}× |",
            time.as_secs_f64() * 1e3,
            rate(time),
            time.as_secs_f64() / stream_time.as_secs_f64()
        );
    }
    println!(
        "cross-core floor: {:.2}× memcpy; ring alone: {:.2}× memcpy; stream: {:.2}× memcpy, {:.1}× ipc-channel per item; {} sleeps in all runs",
        memcpy_time.as_secs_f64() / floor_time.as_secs_f64(),
        memcpy_time.as_secs_f64() / ring_time.as_secs_f64(),
        memcpy_time.as_secs_f64() / stream_time.as_secs_f64(),
        ipc_time.as_secs_f64() / stream_time.as_secs_f64(),
        sleeps
    );
    println!();
    println!("item-size sweep: text runs only, about 13 MB per run, medians of {RUNS} runs");
    println!("| glyphs per run | bytes per record | items | stream MB/s | memcpy MB/s | stream ÷ memcpy |");
    println!("|---|---|---|---|---|---|");
    sweep_row::<12>();
    sweep_row::<100>();
    sweep_row::<1000>();
}
