//! The replay driver: a capture turned back into the content→GPU commands that drew it.
//!
//! Replay is "a content process made of files": whoever renders (the launcher's bare GPU
//! pipeline) applies these commands exactly as the GPU process applies a live stream, with
//! the same validation, so a hand-edited or corrupt capture is refused the same way a
//! hostile content process is.

use std::collections::BTreeMap;

use armature_api::messages::ContentToGpu;
use armature_api::{ContentId, DisplayList, Epoch, FontKey, ImageBufferId, ImageKey};

use crate::canvas::CanvasLog;
use crate::format::{
    CanvasRecord, FrameEntry, ResourceRecord, SCENE_FILE, STREAM_FILE, SceneFrame, StreamCommand,
};
use crate::{Capture, CaptureError};

/// Which level a replay draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplaySource {
    /// SCENE where every frame has it, else STREAM.
    Auto,
    /// Each frame's SCENE, on its own.
    Scene,
    /// The STREAM, every command in order from the first frame.
    Stream,
}

impl std::str::FromStr for ReplaySource {
    type Err = String;

    fn from_str(text: &str) -> Result<ReplaySource, String> {
        match text {
            "auto" => Ok(ReplaySource::Auto),
            "scene" => Ok(ReplaySource::Scene),
            "stream" => Ok(ReplaySource::Stream),
            other => Err(format!("unknown replay source '{other}' (expected auto, scene or stream)")),
        }
    }
}

/// What to apply for one frame of a replay.
#[derive(Debug)]
pub struct ReplayStep {
    /// The frame.
    pub frame: FrameEntry,
    /// Forget everything of this frame's content process before applying (a SCENE stands
    /// alone).
    pub fresh: bool,
    /// Whether the frame is one asked for: draw its `Present` (else only apply it).
    pub draw: bool,
    /// The commands, ending with the frame's `Present`.
    pub commands: Vec<ContentToGpu>,
}

/// Walks a capture frame by frame.
pub struct Replay<'a> {
    capture: &'a Capture,
    source: ReplaySource,
    only: Option<u32>,
    next: usize,
}

impl<'a> Replay<'a> {
    /// Replays `capture` from `source`, drawing every frame or `only` that one.
    pub fn new(
        capture: &'a Capture,
        source: ReplaySource,
        only: Option<u32>,
    ) -> Result<Replay<'a>, CaptureError> {
        if let Some(number) = only {
            capture.frame(number)?;
        }
        let source = match source {
            ReplaySource::Auto => {
                let frames = &capture.manifest().frames;
                let has = |level| frames.iter().all(|frame| frame.levels.contains(&level));
                if has(crate::Level::Scene) || !has(crate::Level::Stream) {
                    ReplaySource::Scene
                } else {
                    ReplaySource::Stream
                }
            }
            source => source,
        };
        // SCENE frames stand alone: start at the one asked for.
        let next = match (source, only) {
            (ReplaySource::Scene, Some(number)) => number as usize - 1,
            _ => 0,
        };
        Ok(Replay { capture, source, only, next })
    }

    /// The level frames are drawn from.
    pub fn source(&self) -> ReplaySource {
        self.source
    }

    /// The next frame's step, or `None` after the last one needed.
    pub fn next_step(&mut self) -> Option<Result<ReplayStep, CaptureError>> {
        let frames = &self.capture.manifest().frames;
        let frame = frames.get(self.next)?.clone();
        if let Some(only) = self.only
            && frame.number.0 > only
        {
            return None;
        }
        self.next += 1;
        let draw = self.only.is_none_or(|only| only == frame.number.0);
        Some(match self.source {
            ReplaySource::Stream => self.stream_step(frame, draw),
            _ => self.scene_step(frame, draw),
        })
    }

    fn scene_step(&self, frame: FrameEntry, draw: bool) -> Result<ReplayStep, CaptureError> {
        let scene = self.capture.load_scene(&frame)?;
        let path = self.capture.frame_path(&frame, SCENE_FILE);
        check_scene(&path, &frame, &scene)?;
        let updates = scene
            .resources
            .iter()
            .map(|record| self.capture.resource_update(&path, record))
            .collect::<Result<Vec<_>, _>>()?;
        let mut commands = vec![ContentToGpu::UpdateResources(updates)];
        commands.extend(scene.canvas.iter().map(CanvasRecord::command));
        commands.push(ContentToGpu::SetDisplayList(scene.epoch, scene.display_list));
        commands.push(ContentToGpu::Present(scene.epoch));
        Ok(ReplayStep { frame, fresh: true, draw, commands })
    }

    fn stream_step(&self, frame: FrameEntry, draw: bool) -> Result<ReplayStep, CaptureError> {
        let stream = self.capture.load_stream(&frame)?;
        let path = self.capture.frame_path(&frame, STREAM_FILE);
        if stream.content != frame.content {
            return Err(CaptureError::Inconsistent {
                path,
                message: format!(
                    "the stream is {}'s but the manifest says frame {} is {}'s",
                    stream.content, frame.number.0, frame.content
                ),
            });
        }
        let mut commands = Vec::with_capacity(stream.commands.len());
        for command in stream.commands {
            commands.push(match command {
                StreamCommand::UpdateResources(records) => ContentToGpu::UpdateResources(
                    records
                        .iter()
                        .map(|record| self.capture.resource_update(&path, record))
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                StreamCommand::SetDisplayList(epoch, list) => ContentToGpu::SetDisplayList(epoch, list),
                StreamCommand::DrawToImageBuffer { buffer, item } => {
                    ContentToGpu::DrawToImageBuffer { buffer, item }
                }
                StreamCommand::Present(epoch) => ContentToGpu::Present(epoch),
            });
        }
        if !matches!(commands.last(), Some(ContentToGpu::Present(epoch)) if *epoch == frame.epoch) {
            return Err(CaptureError::Inconsistent {
                path,
                message: format!(
                    "the stream of frame {} does not end with Present({})",
                    frame.number.0, frame.epoch.0
                ),
            });
        }
        Ok(ReplayStep { frame, fresh: false, draw, commands })
    }

    /// The SCENE each frame's STREAM leads to, folded from the records alone (no files are
    /// read): what a SCENE capture of the same run holds.
    pub fn scenes_from_stream(capture: &Capture) -> Result<Vec<SceneFrame>, CaptureError> {
        #[derive(Default)]
        struct State {
            resources: BTreeMap<RecordKey, ResourceRecord>,
            canvas: CanvasLog,
            display_list: Option<(Epoch, DisplayList)>,
        }
        let mut states: BTreeMap<ContentId, State> = BTreeMap::new();
        let mut scenes = Vec::new();
        for frame in &capture.manifest().frames {
            let stream = capture.load_stream(frame)?;
            let state = states.entry(stream.content).or_default();
            for command in stream.commands {
                match command {
                    StreamCommand::UpdateResources(records) => {
                        for record in records {
                            match record {
                                ResourceRecord::CreateImageBuffer { id, size } => {
                                    state.canvas.create(id, size)
                                }
                                ResourceRecord::DestroyImageBuffer(id) => state.canvas.destroy(id),
                                _ => {}
                            }
                            match RecordKey::of(&record) {
                                (key, true) => state.resources.insert(key, record),
                                (key, false) => state.resources.remove(&key),
                            };
                        }
                    }
                    StreamCommand::SetDisplayList(epoch, list) => state.display_list = Some((epoch, list)),
                    StreamCommand::DrawToImageBuffer { buffer, item } => state.canvas.draw(buffer, &item),
                    StreamCommand::Present(_) => {}
                }
            }
            let Some((epoch, display_list)) = state.display_list.clone() else {
                return Err(CaptureError::Inconsistent {
                    path: capture.frame_path(frame, STREAM_FILE),
                    message: "a frame is presented before any display list".into(),
                });
            };
            scenes.push(SceneFrame {
                content: stream.content,
                epoch,
                resources: state.resources.values().cloned().collect(),
                canvas: state.canvas.scene_records(),
                display_list,
            });
        }
        Ok(scenes)
    }
}

/// A resource's identity, ordered as the recorder orders live resources (fonts, images,
/// image buffers, each by key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum RecordKey {
    Font(FontKey),
    Image(ImageKey),
    Buffer(ImageBufferId),
}

impl RecordKey {
    /// The resource a record is about, and whether it adds (or removes) it.
    fn of(record: &ResourceRecord) -> (RecordKey, bool) {
        match record {
            ResourceRecord::AddFont { key, .. } => (RecordKey::Font(*key), true),
            ResourceRecord::DeleteFont(key) => (RecordKey::Font(*key), false),
            ResourceRecord::AddImage { key, .. } => (RecordKey::Image(*key), true),
            ResourceRecord::DeleteImage(key) => (RecordKey::Image(*key), false),
            ResourceRecord::CreateImageBuffer { id, .. } => (RecordKey::Buffer(*id), true),
            ResourceRecord::DestroyImageBuffer(id) => (RecordKey::Buffer(*id), false),
        }
    }
}

fn check_scene(path: &std::path::Path, frame: &FrameEntry, scene: &SceneFrame) -> Result<(), CaptureError> {
    let inconsistent = |message: String| CaptureError::Inconsistent { path: path.to_owned(), message };
    if scene.content != frame.content || scene.epoch != frame.epoch {
        return Err(inconsistent(format!(
            "the scene is {} epoch {} but the manifest says frame {} is {} epoch {}",
            scene.content, scene.epoch.0, frame.number.0, frame.content, frame.epoch.0
        )));
    }
    if let Some(record) = scene.resources.iter().find(|record| !RecordKey::of(record).1) {
        return Err(inconsistent(format!("a scene lists live resources only, not {record:?}")));
    }
    Ok(())
}
