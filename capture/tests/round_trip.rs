//! Writing a capture and reading it back: STREAM and SCENE agree, every replay source
//! yields the commands that were recorded, and damaged captures are named errors.

use std::path::Path;

use armature_api::messages::ContentToGpu;
use armature_api::{
    BorderRadius, ColorF, ContentId, DeviceIntSize, DisplayItem, DisplayList, Epoch, FontKey, GlyphInstance,
    IdNamespace, ImageKey, LayoutPoint, LayoutRect, LayoutSize, ResourceUpdate,
};
use armature_capture::format::{FORMAT_VERSION, MANIFEST, SceneFrame};
use armature_capture::recorder::StreamRecorder;
use armature_capture::replay::{Replay, ReplayStep};
use armature_capture::{Capture, CaptureError, CaptureWriter, Level, Levels, ReplaySource, StreamRecording};
use ipc_channel::ipc::IpcSharedMemory;

const CONTENT: ContentId = ContentId(1);
const NS: IdNamespace = IdNamespace(1);

fn list(color: ColorF) -> DisplayList {
    DisplayList {
        viewport: LayoutSize::new(64.0, 48.0),
        scroll_offset: LayoutPoint::zero(),
        device_pixel_ratio: armature_api::DevicePixelRatio::ONE,
        background: ColorF::WHITE,
        items: vec![
            DisplayItem::Rect {
                rect: LayoutRect::new(LayoutPoint::new(4.0, 4.0), LayoutSize::new(20.0, 10.0)),
                color,
                radius: BorderRadius::ZERO,
            },
            DisplayItem::Text {
                font: FontKey(NS, 0),
                size: 16.0,
                color: ColorF::BLACK,
                glyphs: vec![GlyphInstance { index: 36, point: LayoutPoint::new(4.0, 30.0) }],
            },
            DisplayItem::Image {
                key: ImageKey(NS, 0),
                rect: LayoutRect::new(LayoutPoint::new(30.0, 4.0), LayoutSize::new(2.0, 2.0)),
            },
        ],
    }
}

/// Two frames: the first uploads a font and an image; the second changes a colour.
fn stream() -> Vec<ContentToGpu> {
    let image = ResourceUpdate::AddImage {
        key: ImageKey(NS, 0),
        size: DeviceIntSize::new(2, 2),
        rgba: IpcSharedMemory::from_bytes(&[255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 9, 9, 9, 128]),
    };
    let font = ResourceUpdate::AddFont { key: FontKey(NS, 0), bytes: b"not really a font".to_vec() };
    vec![
        ContentToGpu::UpdateResources(vec![font, image]),
        ContentToGpu::SetDisplayList(Epoch(1), list(ColorF::new(1.0, 0.0, 0.0, 1.0))),
        ContentToGpu::Present(Epoch(1)),
        ContentToGpu::SetDisplayList(Epoch(2), list(ColorF::new(0.0, 0.5, 1.0, 1.0))),
        ContentToGpu::Present(Epoch(2)),
    ]
}

/// Records the stream and captures every frame at STREAM and SCENE, as the GPU process does.
fn write_capture(dir: &Path, levels: Levels) {
    let mut writer = CaptureWriter::create(dir, levels).expect("create");
    let mut recorder = StreamRecorder::new(StreamRecording::default());
    let mut since_present = Vec::new();
    for command in stream() {
        since_present.push(command.clone());
        recorder.record(&command);
        if let ContentToGpu::Present(epoch) = command {
            let mut frame = writer.begin_frame(CONTENT, epoch, DeviceIntSize::new(64, 48)).expect("frame");
            if frame.wants(Level::Stream) {
                frame.stream(None, &since_present).expect("stream");
            }
            if frame.wants(Level::Scene) {
                frame.scene(recorder.live()).expect("scene");
            }
            frame.finish().expect("finish");
            since_present.clear();
        }
    }
}

fn steps(capture: &Capture, source: ReplaySource, only: Option<u32>) -> Vec<ReplayStep> {
    let mut replay = Replay::new(capture, source, only).expect("replay");
    std::iter::from_fn(|| replay.next_step()).collect::<Result<_, _>>().expect("steps")
}

fn display_lists(steps: &[ReplayStep]) -> Vec<(bool, DisplayList)> {
    steps
        .iter()
        .flat_map(|step| {
            step.commands.iter().filter_map(move |command| match command {
                ContentToGpu::SetDisplayList(_, list) => Some((step.draw, list.clone())),
                _ => None,
            })
        })
        .collect()
}

#[test]
fn stream_and_scene_replay_the_same_frames() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_capture(dir.path(), Levels::ALL);
    let capture = Capture::open(dir.path()).expect("open");
    assert_eq!(capture.manifest().format_version, FORMAT_VERSION);
    assert_eq!(capture.manifest().frames.len(), 2);

    // The SCENE each STREAM frame leads to is the SCENE that was captured.
    let folded = Replay::scenes_from_stream(&capture).expect("fold");
    let captured: Vec<SceneFrame> =
        capture.manifest().frames.iter().map(|frame| capture.load_scene(frame).expect("scene")).collect();
    assert_eq!(folded, captured);

    // Both sources give frame 2 its own display list, and its image and font come back.
    let scene = steps(&capture, ReplaySource::Scene, Some(2));
    assert_eq!(scene.len(), 1, "a scene stands alone");
    let stream = steps(&capture, ReplaySource::Stream, Some(2));
    assert_eq!(stream.len(), 2, "a stream replays from its first frame");
    assert!(!stream[0].draw && stream[1].draw);
    assert_eq!(display_lists(&scene).last(), display_lists(&stream).last());
    let ContentToGpu::UpdateResources(updates) = &scene[0].commands[0] else { panic!("resources first") };
    let Some(ResourceUpdate::AddImage { rgba, size, .. }) =
        updates.iter().find(|update| matches!(update, ResourceUpdate::AddImage { .. }))
    else {
        panic!("the image is in the scene")
    };
    assert_eq!(*size, DeviceIntSize::new(2, 2));
    assert_eq!(rgba[12..], [9, 9, 9, 128], "straight alpha survives the PNG");
    assert!(updates.iter().any(|update| matches!(update,
        ResourceUpdate::AddFont { bytes, .. } if bytes == b"not really a font")));
}

#[test]
fn a_hand_edited_colour_replays() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_capture(dir.path(), Levels::ALL);
    let scene_path = dir.path().join("frames/0001/scene.ron");
    let text = std::fs::read_to_string(&scene_path).expect("scene");
    // One display item per line: the rect's colour is on the rect's line.
    let rect_line = text.lines().find(|line| line.trim_start().starts_with("Rect(")).expect("a rect line");
    assert!(rect_line.contains("color: (r: 1.0, g: 0.0, b: 0.0, a: 1.0)"), "{rect_line}");
    std::fs::write(
        &scene_path,
        text.replace("color: (r: 1.0, g: 0.0, b: 0.0, a: 1.0)", "color: (r: 0.0, g: 1.0, b: 0.0, a: 1.0)"),
    )
    .expect("edit");
    let capture = Capture::open(dir.path()).expect("open");
    let lists = display_lists(&steps(&capture, ReplaySource::Scene, Some(1)));
    let DisplayItem::Rect { color, .. } = &lists[0].1.items[0] else { panic!("a rect first") };
    assert_eq!(*color, ColorF::new(0.0, 1.0, 0.0, 1.0));
}

#[test]
fn a_corrupt_file_names_its_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_capture(dir.path(), Levels::ALL);
    let scene_path = dir.path().join("frames/0002/scene.ron");
    let text = std::fs::read_to_string(&scene_path).expect("scene");
    let (line_index, line) = text.lines().enumerate().find(|(_, line)| line.contains("Rect(")).expect("rect");
    let column = line.find("Rect(").expect("column") + 1;
    std::fs::write(&scene_path, text.replacen("Rect(", "Rectangle(", 1)).expect("corrupt");
    let capture = Capture::open(dir.path()).expect("the manifest is fine");
    let error = Replay::new(&capture, ReplaySource::Scene, Some(2))
        .expect("replay")
        .next_step()
        .expect("a step")
        .expect_err("the scene is corrupt");
    let CaptureError::Parse { path, line: at_line, column: at_column, .. } = &error else {
        panic!("a parse error, not {error}")
    };
    assert_eq!(path, &scene_path);
    assert_eq!((*at_line, *at_column), (line_index + 1, column), "{error}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{}:{}:{}: ", scene_path.display(), line_index + 1, column)),
        "{message}"
    );
    assert!(message.contains("Rectangle"), "{message}");
}

#[test]
fn other_format_versions_are_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_capture(dir.path(), Levels::ALL);
    let manifest = dir.path().join(MANIFEST);
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    let current = format!("format_version: {FORMAT_VERSION},");
    assert!(text.contains(&current), "{text}");

    std::fs::write(&manifest, text.replace(&current, "format_version: 7,")).expect("newer");
    let message = Capture::open(dir.path()).expect_err("newer").to_string();
    assert!(
        message.contains("format version 7 is newer")
            && message.contains(&format!("(version {FORMAT_VERSION})")),
        "{message}"
    );

    std::fs::write(&manifest, text.replace(&current, "format_version: 0,")).expect("older");
    let message = Capture::open(dir.path()).expect_err("older").to_string();
    assert!(
        message.contains("format version 0 is older")
            && message.contains(&format!("versions {FORMAT_VERSION} to {FORMAT_VERSION}")),
        "{message}"
    );

    let message = Capture::open(&dir.path().join("frames")).expect_err("not a capture").to_string();
    assert!(message.contains("has no manifest.ron"), "{message}");
}

#[test]
fn missing_levels_and_escaping_paths_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_capture(dir.path(), "stream".parse().expect("levels"));
    let capture = Capture::open(dir.path()).expect("open");
    let error = Replay::new(&capture, ReplaySource::Scene, None).expect("replay").next_step().expect("step");
    let message = error.expect_err("no scene").to_string();
    assert!(message.contains("frame 1 has no SCENE level") && message.contains("--from stream"), "{message}");
    // Auto picks the stream when there is no scene.
    assert_eq!(
        Replay::new(&capture, ReplaySource::Auto, None).expect("replay").source(),
        ReplaySource::Stream
    );

    let stream_path = dir.path().join("frames/0001/stream.ron");
    let text = std::fs::read_to_string(&stream_path).expect("stream");
    std::fs::write(&stream_path, text.replace("\"resources/font-1-0.ttf\"", "\"../../../etc/passwd\""))
        .expect("edit");
    let message = steps_error(&capture);
    assert!(
        message.contains("'../../../etc/passwd' must be a relative path inside the capture"),
        "{message}"
    );
    assert!(Replay::new(&capture, ReplaySource::Stream, Some(3)).is_err(), "there is no frame 3");
}

fn steps_error(capture: &Capture) -> String {
    let mut replay = Replay::new(capture, ReplaySource::Stream, None).expect("replay");
    match replay.next_step() {
        Some(Err(error)) => error.to_string(),
        other => panic!("expected an error, got {other:?}"),
    }
}
