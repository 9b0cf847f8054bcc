//! Capture cost for the largest sample page: writing a frame's capture (per level, and all
//! levels) and loading it back for replay, each as a multiple of the frame's own render
//! time, all on the same device in one run.
//!
//! `cargo bench -p armature-tests --bench capture` prints a table of medians.

use std::time::{Duration, Instant};

use armature_api::capture::{Levels, StreamRecording};
use armature_api::messages::{CaptureRequest, CaptureScope};
use armature_capture::replay::Replay;
use armature_capture::{Capture, ReplaySource, StreamRecorder};
use armature_gpu::backend::RemoteRenderingBackend;
use armature_gpu::capture::{ActiveCapture, PresentedFrame};
use armature_gpu::device::GpuDevice;
use armature_gpu::renderer::Renderer;
use armature_tests::{armature, page};

const ROUNDS: usize = 15;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The largest sample page: the one whose display list is longest.
    let mut largest = None;
    for name in ["paragraphs.html", "tall.html", "text.html", "unicode.html"] {
        let capture_dir = dir.path().join(name);
        let status = armature()
            .arg(page(name))
            .args(["--headless", "--window-size", "1024x768", "--capture"])
            .arg(&capture_dir)
            .args(["--capture-levels", "scene"])
            .status()
            .expect("armature runs");
        assert!(status.success(), "capturing {name}");
        let bytes = std::fs::metadata(capture_dir.join("frames/0001/scene.ron")).expect("scene").len();
        if largest.as_ref().is_none_or(|(_, _, most)| bytes > *most) {
            largest = Some((name, capture_dir, bytes));
        }
    }
    let (name, capture_dir, _) = largest.expect("a page");

    let capture = Capture::open(&capture_dir).expect("open");
    let load = || {
        let capture = Capture::open(&capture_dir).expect("open");
        let mut replay = Replay::new(&capture, ReplaySource::Scene, None).expect("replay");
        replay.next_step().expect("a frame").expect("loads")
    };
    let step = load();
    let gpu = GpuDevice::open().expect("a device");
    let mut renderer = Renderer::new(gpu);
    let content = step.frame.content;
    let mut backend = RemoteRenderingBackend::new(content);
    for command in &step.commands {
        backend.apply(&mut renderer, command.clone()).expect("the GPU process takes it");
    }
    let (epoch, list) = backend.display_list.clone().expect("a display list");
    let resources = &backend.resources;
    let items = list.items.len();

    let mut frame_times = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        renderer.render(&list, resources).expect("renders");
        frame_times.push(started.elapsed());
    }
    let frame = median(frame_times);

    let mut load_times = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        std::hint::black_box(load());
        load_times.push(started.elapsed());
    }
    let loaded = median(load_times);

    let mut recorder = StreamRecorder::new(StreamRecording::default());
    for command in &step.commands {
        recorder.record(command);
    }
    let mut rows = Vec::new();
    for levels in ["stream", "scene", "frame", "pixels", "all"] {
        let levels: Levels = levels.parse().expect("levels");
        let mut times = Vec::new();
        for round in 0..ROUNDS {
            let out = dir.path().join(format!("write-{levels}-{round}"));
            let request = CaptureRequest { dir: out, levels, scope: CaptureScope::Run };
            // The frame is drawn as a live GPU process draws it (keeping what FRAME needs);
            // only the capture is timed.
            renderer.keep_frame_details(levels.contains(armature_api::capture::Level::Frame));
            let drawn = renderer.render(&list, resources).expect("renders");
            let started = Instant::now();
            let mut active = ActiveCapture::start(&request).expect("start");
            let presented = PresentedFrame {
                content,
                epoch,
                list: &list,
                resources,
                rendered: &drawn,
                commands: &step.commands,
                earlier: None,
            };
            armature_gpu::capture::write_frame(&mut active, &mut renderer, &recorder, presented)
                .expect("writes");
            times.push(started.elapsed());
        }
        let label = if levels == Levels::ALL { "all".to_owned() } else { levels.to_string() };
        rows.push((label, median(times)));
    }

    let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
    println!(
        "capture of {name} ({items} display items, {} frame), {ROUNDS} rounds, medians",
        capture.manifest().frames.len()
    );
    println!("{:<40} {:>9} {:>12}", "", "ms", "× frame");
    println!("{:<40} {:>9.2} {:>12.2}", "frame (render + readback)", ms(frame), 1.0);
    for (levels, time) in rows {
        println!(
            "{:<40} {:>9.2} {:>12.2}",
            format!("write capture: {levels}"),
            ms(time),
            ms(time) / ms(frame)
        );
    }
    println!("{:<40} {:>9.2} {:>12.2}", "load for replay: scene", ms(loaded), ms(loaded) / ms(frame));
}
