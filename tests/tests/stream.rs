//! The content→GPU stream (issue 5): WebKit's "missing image buffer destination" race as a
//! deterministic test, a stress run, hostile streams, and canvases end to end.

use std::path::{Path, PathBuf};

use armature_api::capture::StreamRecording;
use armature_api::messages::{ContentToGpu, GpuToContent, OutOfLineItem, StreamClientEnd, StreamServerEnd};
use armature_api::{ContentId, DeviceIntSize, IdNamespace};
use armature_content::canvas::RemoteRenderingBackendProxy;
use armature_content::test_support::{HOSTILE_KINDS, stress_color};
use armature_gpu::backend::RemoteRenderingBackend;
use armature_gpu::device::GpuDevice;
use armature_gpu::renderer::Renderer;
use armature_stream::StreamServer;
use armature_tests::{armature, page, stderr};
use ipc_channel::ipc;

/// The two ends of a stream, made as the launcher (the broker) makes them.
fn stream_ends() -> (StreamClientEnd, StreamServerEnd) {
    let ring = armature_stream::create_ring_memory(armature_stream::DEFAULT_CAPACITY).expect("ring");
    let (to_gpu, from_content) = ipc::channel::<OutOfLineItem>().expect("channel");
    let (to_content, from_gpu) = ipc::channel::<GpuToContent>().expect("channel");
    (
        StreamClientEnd { ring: ring.clone(), out_of_line: to_gpu, replies: from_gpu },
        StreamServerEnd { ring, out_of_line: from_content, replies: to_content },
    )
}

/// Reads everything published and applies it, as the GPU process's stream thread and main
/// thread do; returns how many items there were.
fn serve_published(
    server: &mut StreamServer,
    backend: &mut RemoteRenderingBackend,
    renderer: &mut Renderer,
    replies: &ipc::IpcSender<GpuToContent>,
) -> usize {
    let mut items = 0;
    while let Some(item) = server.try_next().expect("a well-formed stream") {
        let applied = backend.apply(renderer, item).expect("no missing image buffer destination");
        for created in applied.created {
            replies.send(GpuToContent::ImageBufferCreated(created)).expect("reply");
        }
        items += 1;
    }
    items
}

/// Premultiplied RGBA at (x, y) of a read-back buffer.
fn pixel(pixels: &(DeviceIntSize, Vec<u8>), x: u32, y: u32) -> [u8; 4] {
    let at = ((y * pixels.0.width + x) * 4) as usize;
    [pixels.1[at], pixels.1[at + 1], pixels.1[at + 2], pixels.1[at + 3]]
}

#[test]
fn the_seed_scenario_lands_every_item_in_its_own_buffer() {
    let (client_end, server_end) = stream_ends();
    let namespace = IdNamespace(7);
    let mut proxy =
        RemoteRenderingBackendProxy::connect(client_end, namespace, StreamRecording::OFF).expect("client");
    let (mut server, replies) = StreamServer::accept(server_end).expect("server");
    let mut renderer = Renderer::new(GpuDevice::open().expect("a GPU or lavapipe"));
    let mut backend = RemoteRenderingBackend::new(ContentId(7));
    let mut serve = |server: &mut StreamServer, backend: &mut RemoteRenderingBackend| {
        serve_published(server, backend, &mut renderer, &replies)
    };
    let red = armature_api::ColorF::new(1.0, 0.0, 0.0, 1.0);
    let green = armature_api::ColorF::new(0.0, 1.0, 0.0, 1.0);
    let blue = armature_api::ColorF::new(0.0, 0.0, 1.0, 1.0);
    let size = DeviceIntSize::new(40, 40);

    // Create A, draw to A: nothing is published yet, the GPU process sees nothing.
    let a = proxy.create_image_buffer(size);
    proxy.context(a).set_fill_color(red).fill_rect(0.0, 0.0, 40.0, 40.0).clear_rect(0.0, 0.0, 10.0, 10.0);
    assert_eq!(serve(&mut server, &mut backend), 0, "unflushed items stay with the client");
    // Create B, draw to B before any acknowledgement.
    let b = proxy.create_image_buffer(size);
    proxy.context(b).set_fill_color(green).fill_rect(0.0, 0.0, 40.0, 40.0);
    assert!(!proxy.is_acknowledged(a) && !proxy.is_acknowledged(b), "no acknowledgement yet");
    // Wake the server with A's (and B's) items.
    proxy.flush().expect("flush");
    assert_eq!(serve(&mut server, &mut backend), 7, "create A, 3 items, create B, 2 items");
    // Create C and draw to C (C draws A too) — then resume at C.
    let c = proxy.create_image_buffer(size);
    proxy
        .context(c)
        .set_fill_color(blue)
        .fill_rect(0.0, 0.0, 40.0, 40.0)
        .draw_buffer(a, 20.0, 20.0, 20.0, 20.0);
    assert_eq!(serve(&mut server, &mut backend), 0, "C's creation is not published yet, nor its items");
    proxy.flush().expect("flush");
    assert_eq!(serve(&mut server, &mut backend), 4, "create C, 3 items");
    let mut acknowledged = false;
    for _ in 0..100 {
        acknowledged = [a, b, c].iter().all(|buffer| proxy.is_acknowledged(*buffer));
        if acknowledged {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(acknowledged, "every buffer is acknowledged in the end");

    let a_pixels = backend.read_buffer(&mut renderer, a.id()).expect("A");
    let b_pixels = backend.read_buffer(&mut renderer, b.id()).expect("B");
    let c_pixels = backend.read_buffer(&mut renderer, c.id()).expect("C");
    assert_eq!(pixel(&a_pixels, 30, 30), [255, 0, 0, 255], "A is red");
    assert_eq!(pixel(&a_pixels, 5, 5), [0, 0, 0, 0], "A's cleared corner is transparent");
    assert_eq!(pixel(&b_pixels, 5, 5), [0, 255, 0, 255], "B is green, everywhere");
    assert_eq!(pixel(&b_pixels, 30, 30), [0, 255, 0, 255]);
    assert_eq!(pixel(&c_pixels, 5, 5), [0, 0, 255, 255], "C is blue");
    assert_eq!(pixel(&c_pixels, 35, 35), [255, 0, 0, 255], "A drawn into C's corner");
    assert_eq!(pixel(&c_pixels, 22, 22), [0, 0, 255, 255], "A's transparent corner shows C's blue");
    let (sent, _) = proxy.stream_stats();
    assert_eq!(sent.records, server.stats().records, "nothing dropped");
}

#[test]
fn a_sleeping_server_is_woken_and_a_full_ring_makes_the_client_wait() {
    // Real threads, real futexes: 2,000 items of ~4 KB (almost four times the ring). The client
    // pauses early, so the server drains the ring and sleeps; later the server pauses, so
    // the ring fills and the client waits. Each must be woken by the other.
    let (client_end, server_end) = stream_ends();
    let mut proxy = RemoteRenderingBackendProxy::connect(client_end, IdNamespace(3), StreamRecording::OFF)
        .expect("client");
    let (mut server, _replies) = StreamServer::accept(server_end).expect("server");
    const ITEMS: u32 = 2_000;
    // The server reads in batches, as the GPU process's stream thread does.
    let reader = std::thread::spawn(move || {
        let stop = std::sync::atomic::AtomicBool::new(false);
        let (mut seen, mut batch, mut paused) = (Vec::new(), Vec::new(), false);
        while seen.len() < ITEMS as usize {
            batch.clear();
            assert!(server.next_batch(&stop, &mut batch).expect("a well-formed stream"), "more items");
            for item in batch.drain(..) {
                let ContentToGpu::DrawToImageBuffer {
                    item: armature_api::CanvasItem::FillText { glyphs, .. },
                    ..
                } = item
                else {
                    panic!("an unexpected item");
                };
                seen.push(glyphs[0].index);
            }
            if seen.len() >= 100 && !paused {
                paused = true;
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
        }
        (seen, server.stats())
    });
    let buffer = armature_api::ImageBufferId(IdNamespace(3), 0);
    for index in 0..ITEMS {
        let glyphs =
            (0..400).map(|_| armature_api::GlyphInstance { index, point: Default::default() }).collect();
        let item = armature_api::CanvasItem::FillText {
            font: armature_api::FontKey(IdNamespace(3), 0),
            size: 12.0,
            origin: Default::default(),
            glyphs,
        };
        proxy.send(ContentToGpu::DrawToImageBuffer { buffer, item });
        if index == 10 {
            proxy.flush().expect("flush");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
    proxy.flush().expect("flush");
    let (seen, server_stats) = reader.join().expect("reader");
    assert_eq!(seen, (0..ITEMS).collect::<Vec<_>>(), "every item, once, in order");
    let (client_stats, _) = proxy.stream_stats();
    assert!(
        server_stats.sleeps > 0 && client_stats.wakeups > 0,
        "the server slept and was woken: {client_stats:?}"
    );
    assert!(
        client_stats.sleeps > 0 && server_stats.wakeups > 0,
        "the client waited for space and was woken: {server_stats:?}"
    );
    assert!(server_stats.bytes > 3 * armature_stream::DEFAULT_CAPACITY as u64, "{server_stats:?}");
}

/// Runs `armature PAGES… --headless --screenshot-dir DIR`, returning (exit code, stderr).
fn run_pages(pages: &[PathBuf], dir: &Path, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = armature()
        .args(pages)
        .args(["--headless", "--screenshot-dir"])
        .arg(dir)
        .envs(env.iter().copied())
        .output()
        .expect("armature runs");
    (output.status.code(), stderr(&output))
}

#[test]
fn the_seed_scenario_end_to_end_composites_a_b_and_c() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, err) = run_pages(&[page("canvas.html")], dir.path(), &[("ARMATURE_TEST_CANVAS", "seed")]);
    assert_eq!(code, Some(0), "{err}");
    let image = image::open(dir.path().join("canvas.png")).expect("png").to_rgba8();
    let at = |x, y| image.get_pixel(x, y).0;
    assert_eq!(at(90, 90), [255, 0, 0, 255], "A: red");
    assert_eq!(at(50, 50), [255, 255, 255, 255], "A: white square, translated and scaled");
    assert_eq!(at(3, 3), [255, 255, 0, 255], "A: cleared corner shows the canvas's yellow background");
    assert_eq!(at(150, 50), [0, 255, 0, 255], "B: green");
    assert_eq!(at(122, 50), [0, 0, 0, 255], "B: stroked outline");
    assert_eq!(at(280, 20), [0, 0, 255, 255], "C: blue");
    assert_eq!(at(275, 75), [255, 255, 255, 255], "C: A drawn into it, scaled down");
    assert_eq!(at(215, 95), [0, 0, 255, 255], "C: the page image drawn into it (blue half)");
}

#[test]
fn a_thousand_buffers_created_back_to_back_twenty_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    // 4 launches × 5 pages at once: 20 content processes, 1,000 buffers each.
    let pages: Vec<PathBuf> = (0..5)
        .map(|index| {
            let copy = dir.path().join(format!("grid-{index}.html"));
            std::fs::copy(page("canvas-grid.html"), &copy).expect("copy page");
            copy
        })
        .collect();
    for run in 0..4 {
        let out = dir.path().join(format!("run-{run}"));
        let (code, err) = run_pages(&pages, &out, &[("ARMATURE_TEST_CANVAS", "stress:1000")]);
        assert_eq!(code, Some(0), "{err}");
        for index in 0..5 {
            let image = image::open(out.join(format!("grid-{index}.png"))).expect("png").to_rgba8();
            for cell in 0..1000u32 {
                let (x, y) = (cell % 40 * 10 + 5, cell / 40 * 10 + 5);
                let [r, g, b] = stress_color(cell);
                assert_eq!(image.get_pixel(x, y).0, [r, g, b, 255], "run {run}, page {index}, buffer {cell}");
            }
        }
    }
}

#[test]
fn hostile_streams_terminate_their_content_process_and_the_gpu_process_serves_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let reference = dir.path().join("reference");
    let (code, err) = run_pages(&[page("hello.html")], &reference, &[]);
    assert_eq!(code, Some(0), "{err}");
    let expected = image::open(reference.join("hello.png")).expect("png").to_rgba8();
    let reasons = [
        ("unknown-id", "missing image buffer destination"),
        ("foreign-id", "outside this content process's id namespace"),
        ("offset", "out of range"),
        ("size", "takes at most"),
        ("truncated", "truncated item"),
        ("garbage", "undecodable item"),
        ("canvas-garbage", "canvas record of 16 bytes does not fit operation 8"),
        ("huge-buffer", "each side must be 1..=8192"),
        (
            "buffer-flood",
            "one more than the 4096 images and image buffers a content process may hold at once",
        ),
        ("pixel-ratio", "device pixel ratio 100 is outside 0.25..=4"),
    ];
    assert_eq!(reasons.len(), HOSTILE_KINDS.len());
    for (kind, reason) in reasons {
        let out = dir.path().join(kind);
        let hostile = format!("{kind}:canvas.html");
        let pages = [page("canvas.html"), page("hello.html")];
        let (code, err) = run_pages(&pages, &out, &[("ARMATURE_TEST_HOSTILE_STREAM", &hostile)]);
        assert_eq!(code, Some(1), "{kind}: {err}");
        assert!(err.contains("canvas.html': terminate content process "), "{kind}: {err}");
        assert!(err.contains(reason), "{kind}: expected '{reason}' in {err}");
        assert!(!err.contains("panicked"), "{kind}: {err}");
        let served = image::open(out.join("hello.png")).expect("the other page still rendered").to_rgba8();
        assert!(served == expected, "{kind}: the other page's pixels are right");
        assert!(!out.join("canvas.png").exists(), "{kind}: no screenshot of the terminated page");
    }
}
