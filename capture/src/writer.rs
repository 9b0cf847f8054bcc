//! Writing a capture directory, frame by frame.
//!
//! The manifest is rewritten (atomically, by rename) after every frame, so a process that
//! dies mid-capture leaves a capture of the frames it finished. Each resource file is
//! written once per capture.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use armature_api::messages::ContentToGpu;
use armature_api::{ContentId, DeviceIntSize, Epoch, ResourceUpdate};
use serde::Serialize;

use crate::format::{
    self, FORMAT_VERSION, FrameEntry, FrameNumber, MANIFEST, Manifest, ResourceRecord, SceneFrame,
    StreamCommand, StreamFrame,
};
use crate::recorder::{StreamRecorder, StreamState};
use crate::{CaptureError, Level, Levels};

/// How RON files are laid out: structure expanded down to `depth`, everything deeper on one
/// line. Display items sit at depth 3 in a SCENE and 5 in a STREAM, so either file reads (and
/// diffs) as one paint operation per line.
pub fn pretty(depth: usize) -> ron::ser::PrettyConfig {
    ron::ser::PrettyConfig::new().depth_limit(depth).indentor("  ".to_owned())
}

/// Depth of the display items in a SCENE file (and of most other files' entries).
const SCENE_DEPTH: usize = 3;
/// Depth of the display items in a STREAM file.
const STREAM_DEPTH: usize = 5;

/// Writes one capture directory.
pub struct CaptureWriter {
    dir: PathBuf,
    manifest: Manifest,
    levels: Levels,
    /// Resource files already on disk.
    written: HashSet<String>,
    /// Content processes with a frame in the capture (their first frame's STREAM carries
    /// everything they had sent before).
    streamed: HashSet<ContentId>,
}

impl CaptureWriter {
    /// Creates the capture in `dir` (made if missing; it must be empty) at `levels`.
    pub fn create(dir: &Path, levels: Levels) -> Result<CaptureWriter, CaptureError> {
        std::fs::create_dir_all(dir).map_err(CaptureError::io(dir))?;
        let mut entries = std::fs::read_dir(dir).map_err(CaptureError::io(dir))?;
        if entries.next().is_some() {
            return Err(CaptureError::DirectoryNotEmpty { dir: dir.to_owned() });
        }
        let writer = CaptureWriter {
            dir: dir.to_owned(),
            manifest: Manifest {
                format_version: FORMAT_VERSION,
                armature_version: env!("CARGO_PKG_VERSION").to_owned(),
                levels: levels.iter().collect(),
                viewport: None,
                frames: Vec::new(),
            },
            levels,
            written: HashSet::new(),
            streamed: HashSet::new(),
        };
        writer.write_manifest()?;
        Ok(writer)
    }

    /// The capture's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The levels being captured.
    pub fn levels(&self) -> Levels {
        self.levels
    }

    /// Whether a STREAM frame of `content` is in the capture already.
    pub fn has_stream_of(&self, content: ContentId) -> bool {
        self.streamed.contains(&content)
    }

    /// Frames written so far.
    pub fn frame_count(&self) -> usize {
        self.manifest.frames.len()
    }

    /// Starts the next frame: `content`'s frame of `epoch`, `viewport` pixels.
    pub fn begin_frame(
        &mut self,
        content: ContentId,
        epoch: Epoch,
        viewport: DeviceIntSize,
    ) -> Result<FrameWriter<'_>, CaptureError> {
        let number = FrameNumber(self.manifest.frames.len() as u32 + 1);
        let dir = self.dir.join(number.dir());
        std::fs::create_dir_all(&dir).map_err(CaptureError::io(&dir))?;
        let entry = FrameEntry { number, content, epoch, viewport, levels: Vec::new() };
        Ok(FrameWriter { writer: self, entry, dir })
    }

    /// Writes a whole recorder's window as a STREAM capture: its base state, then every kept
    /// frame. Used for crash reports; the recorder's unfinished frame (commands after the
    /// last `Present`) is written as a last frame if there is one, marked by a `Present` of
    /// the epoch it set, so replay shows how far it got.
    pub fn write_recording(
        &mut self,
        content: ContentId,
        recorder: &StreamRecorder,
    ) -> Result<usize, CaptureError> {
        let mut prelude = Some(recorder.base());
        let mut state = recorder.base().clone();
        let mut frames: Vec<(Epoch, Vec<ContentToGpu>)> =
            recorder.frames().map(|frame| (frame.epoch, frame.commands.clone())).collect();
        if !recorder.pending().is_empty() {
            let mut pending = recorder.pending().to_vec();
            let epoch = pending.iter().rev().find_map(|command| match command {
                ContentToGpu::SetDisplayList(epoch, _) => Some(*epoch),
                _ => None,
            });
            if let Some(epoch) = epoch {
                pending.push(ContentToGpu::Present(epoch));
                frames.push((epoch, pending));
            }
        }
        let count = frames.len();
        for (epoch, commands) in frames {
            for command in &commands {
                state.apply(command);
            }
            let viewport =
                state.display_list().map_or(DeviceIntSize::new(1, 1), |(_, list)| list.device_size());
            let mut frame = self.begin_frame(content, epoch, viewport)?;
            frame.stream(prelude.take(), &commands)?;
            frame.finish()?;
        }
        Ok(count)
    }

    fn write_manifest(&self) -> Result<(), CaptureError> {
        write_ron(&self.dir.join(MANIFEST), &self.manifest, SCENE_DEPTH)
    }

    /// Writes a resource's bytes unless this capture has them, and names them in a record.
    fn record(&mut self, update: &ResourceUpdate) -> Result<ResourceRecord, CaptureError> {
        Ok(match update {
            ResourceUpdate::AddFont { key, bytes } => {
                let file = format::font_file(*key);
                if self.written.insert(file.clone()) {
                    write_file(&self.dir.join(&file), bytes)?;
                }
                ResourceRecord::AddFont { key: *key, file }
            }
            ResourceUpdate::AddImage { key, size, rgba } => {
                let png = format::image_file(*key);
                let expected = size.width as usize * size.height as usize * 4;
                // An image whose bytes do not match its size (the GPU process refuses it) is
                // kept raw, so replay refuses it the same way.
                let file = if rgba.len() == expected { png } else { png.replace(".png", ".rgba") };
                if self.written.insert(file.clone()) {
                    let path = self.dir.join(&file);
                    if rgba.len() == expected {
                        write_png(&path, *size, image::ColorType::Rgba8, rgba)?;
                    } else {
                        write_file(&path, rgba)?;
                    }
                }
                ResourceRecord::AddImage { key: *key, size: *size, file }
            }
            ResourceUpdate::DeleteFont(key) => ResourceRecord::DeleteFont(*key),
            ResourceUpdate::DeleteImage(key) => ResourceRecord::DeleteImage(*key),
            ResourceUpdate::CreateImageBuffer { id, size } => {
                ResourceRecord::CreateImageBuffer { id: *id, size: *size }
            }
            ResourceUpdate::DestroyImageBuffer(id) => ResourceRecord::DestroyImageBuffer(*id),
        })
    }

    fn stream_command(&mut self, command: &ContentToGpu) -> Result<StreamCommand, CaptureError> {
        Ok(match command {
            ContentToGpu::UpdateResources(updates) => StreamCommand::UpdateResources(
                updates.iter().map(|update| self.record(update)).collect::<Result<_, _>>()?,
            ),
            ContentToGpu::SetDisplayList(epoch, list) => StreamCommand::SetDisplayList(*epoch, list.clone()),
            ContentToGpu::DrawToImageBuffer { buffer, item } => {
                StreamCommand::DrawToImageBuffer { buffer: *buffer, item: item.clone() }
            }
            ContentToGpu::Present(epoch) => StreamCommand::Present(*epoch),
        })
    }
}

/// One frame being written; [`FrameWriter::finish`] adds it to the manifest.
pub struct FrameWriter<'a> {
    writer: &'a mut CaptureWriter,
    entry: FrameEntry,
    dir: PathBuf,
}

impl FrameWriter<'_> {
    /// Whether the capture wants `level`.
    pub fn wants(&self, level: Level) -> bool {
        self.writer.levels.contains(level)
    }

    /// The frame's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// STREAM: this frame's commands. The first frame of a content process in the capture
    /// starts with `earlier` (what it had sent before the capture began), so the capture
    /// replays on its own.
    pub fn stream(
        &mut self,
        earlier: Option<&StreamState>,
        commands: &[ContentToGpu],
    ) -> Result<(), CaptureError> {
        let content = self.entry.content;
        let mut recorded = Vec::new();
        if self.writer.streamed.insert(content)
            && let Some(earlier) = earlier
        {
            for command in earlier.to_commands() {
                recorded.push(self.writer.stream_command(&command)?);
            }
        }
        for command in commands {
            recorded.push(self.writer.stream_command(command)?);
        }
        write_ron(
            &self.dir.join(format::STREAM_FILE),
            &StreamFrame { content, commands: recorded },
            STREAM_DEPTH,
        )?;
        self.entry.levels.push(Level::Stream);
        Ok(())
    }

    /// SCENE: the presented display list with every resource live now.
    pub fn scene(&mut self, state: &StreamState) -> Result<(), CaptureError> {
        let Some((epoch, list)) = state.display_list() else {
            return Err(CaptureError::Inconsistent {
                path: self.dir.clone(),
                message: "a frame was presented without a display list".into(),
            });
        };
        let resources =
            state.resources().map(|update| self.writer.record(update)).collect::<Result<Vec<_>, _>>()?;
        let scene = SceneFrame {
            content: self.entry.content,
            epoch: *epoch,
            resources,
            canvas: state.canvas().scene_records(),
            display_list: list.clone(),
        };
        write_ron(&self.dir.join(format::SCENE_FILE), &scene, SCENE_DEPTH)?;
        self.entry.levels.push(Level::Scene);
        Ok(())
    }

    /// Any level's RON file, e.g. FRAME's `frame.ron`.
    pub fn ron<T: Serialize>(&mut self, level: Level, file: &str, value: &T) -> Result<(), CaptureError> {
        write_ron(&self.dir.join(file), value, SCENE_DEPTH)?;
        if !self.entry.levels.contains(&level) {
            self.entry.levels.push(level);
        }
        Ok(())
    }

    /// A PNG of tightly packed RGBA8 (`Rgba8`) or 8-bit grey (`L8`) pixels.
    pub fn png(
        &mut self,
        level: Level,
        file: &str,
        size: DeviceIntSize,
        color: image::ColorType,
        pixels: &[u8],
    ) -> Result<(), CaptureError> {
        write_png(&self.dir.join(file), size, color, pixels)?;
        if !self.entry.levels.contains(&level) {
            self.entry.levels.push(level);
        }
        Ok(())
    }

    /// Adds the frame to the manifest (rewritten atomically) and returns its number.
    pub fn finish(mut self) -> Result<FrameNumber, CaptureError> {
        let number = self.entry.number;
        self.entry.levels.sort();
        let manifest = &mut self.writer.manifest;
        manifest.viewport.get_or_insert(self.entry.viewport);
        manifest.frames.push(self.entry);
        self.writer.write_manifest()?;
        Ok(number)
    }
}

/// Writes pretty RON through a temporary file and a rename.
pub fn write_ron<T: Serialize>(path: &Path, value: &T, depth: usize) -> Result<(), CaptureError> {
    let text = ron::ser::to_string_pretty(value, pretty(depth)).map_err(|error| CaptureError::Io {
        path: path.to_owned(),
        source: std::io::Error::other(error.to_string()),
    })?;
    write_file(path, format!("{text}\n").as_bytes())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CaptureError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(CaptureError::io(parent))?;
    }
    let temporary = path.with_extension("partial");
    std::fs::write(&temporary, bytes).map_err(CaptureError::io(&temporary))?;
    std::fs::rename(&temporary, path).map_err(CaptureError::io(path))
}

fn write_png(
    path: &Path,
    size: DeviceIntSize,
    color: image::ColorType,
    pixels: &[u8],
) -> Result<(), CaptureError> {
    let mut png = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new_with_quality(
        &mut png,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::Adaptive,
    );
    image::ImageEncoder::write_image(encoder, pixels, size.width, size.height, color.into())
        .map_err(|error| CaptureError::Image { path: path.to_owned(), message: error.to_string() })?;
    write_file(path, &png)
}
