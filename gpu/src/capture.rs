//! Capture in the GPU process (the `capture` feature): every content connection's stream is
//! recorded ([`armature_capture::StreamRecorder`]), and while a capture is on, each
//! presented frame is written at the levels asked for. The GPU process is where every
//! level is visible: the stream as it arrived, the scene it made, what the renderer built
//! and the pixels it drew.

use armature_api::capture::Level;
use armature_api::messages::{CaptureRequest, CaptureScope, ContentToGpu};
use armature_api::{ContentId, DeviceIntSize, DisplayList, Epoch};
use armature_capture::format::{ATLAS_FILE, FRAME_FILE, PIXELS_FILE, buffer_file};
use armature_capture::recorder::StreamState;
use armature_capture::{CaptureError, CaptureWriter, FrameNumber, StreamRecorder};
use serde::Serialize;

use crate::batch::{FrameBatches, FramePrimitives};
use crate::renderer::{RenderedFrame, Renderer};
use crate::resources::ContentResources;

/// A capture in progress.
pub struct ActiveCapture {
    writer: CaptureWriter,
    scope: CaptureScope,
}

impl ActiveCapture {
    /// Starts a capture as the launcher asked.
    pub fn start(request: &CaptureRequest) -> Result<ActiveCapture, CaptureError> {
        Ok(ActiveCapture {
            writer: CaptureWriter::create(&request.dir, request.levels)?,
            scope: request.scope,
        })
    }

    /// The capture directory.
    pub fn dir(&self) -> &std::path::Path {
        self.writer.dir()
    }

    /// Frames written.
    pub fn frames(&self) -> u32 {
        self.writer.frame_count() as u32
    }

    /// Whether it ends after one frame.
    pub fn is_one_frame(&self) -> bool {
        self.scope == CaptureScope::NextFrame
    }

    /// Whether the renderer must keep frame details for it.
    pub fn wants_details(&self) -> bool {
        self.writer.levels().contains(Level::Frame)
    }

    /// Whether this capture records `content`'s stream and has not seen it yet (its first
    /// frame then carries everything sent before).
    pub fn needs_earlier_stream(&self, content: ContentId) -> bool {
        self.writer.levels().contains(Level::Stream) && !self.writer.has_stream_of(content)
    }
}

/// A frame just presented, and what led to it.
pub struct PresentedFrame<'a> {
    /// Whose frame.
    pub content: ContentId,
    /// Its epoch.
    pub epoch: Epoch,
    /// The display list drawn.
    pub list: &'a DisplayList,
    /// The resources it drew with.
    pub resources: &'a ContentResources,
    /// The frame as rendered (pixels empty if it went to a window).
    pub rendered: &'a RenderedFrame,
    /// This frame's commands, its `Present` last.
    pub commands: &'a [ContentToGpu],
    /// The stream's state before those commands (for a capture's first frame of `content`).
    pub earlier: Option<&'a StreamState>,
}

/// The FRAME level's file: what replay and batching built.
#[derive(Serialize)]
struct FrameFile<'a> {
    viewport: DeviceIntSize,
    stats: &'a armature_api::FrameStats,
    glyph_atlas: AtlasFile,
    /// Replay's output: each surface's primitives in paint order.
    primitives: &'a FramePrimitives,
    /// Batching's output: instances in draw order, and each surface's batches over them.
    batches: &'a FrameBatches,
}

#[derive(Serialize)]
struct AtlasFile {
    side: u32,
    file: &'static str,
}

/// Writes one presented frame into `capture` at its levels.
pub fn write_frame(
    capture: &mut ActiveCapture,
    renderer: &mut Renderer,
    recorder: &StreamRecorder,
    frame: PresentedFrame<'_>,
) -> Result<FrameNumber, CaptureError> {
    let size = frame.rendered.size;
    let dir = capture.writer.dir().to_owned();
    let gpu_error = |what: &str, message: String| CaptureError::Inconsistent {
        path: dir.clone(),
        message: format!("reading {what} back from the GPU failed: {message}"),
    };
    // Window mode draws into the window only; PIXELS needs the frame read back too.
    let pixels = if capture.writer.levels().contains(Level::Pixels) && frame.rendered.rgba.is_empty() {
        Some(
            renderer
                .render(frame.list, frame.resources)
                .map_err(|error| gpu_error("the frame", error.to_string()))?,
        )
    } else {
        None
    };
    let mut writer = capture.writer.begin_frame(frame.content, frame.epoch, size)?;
    if writer.wants(Level::Stream) {
        writer.stream(frame.earlier, frame.commands)?;
    }
    if writer.wants(Level::Scene) {
        writer.scene(recorder.live())?;
    }
    if writer.wants(Level::Frame)
        && let Some(details) = renderer.frame_details()
    {
        let gpu = renderer.gpu();
        let atlas = renderer.glyph_atlas();
        let (atlas_size, coverage) =
            crate::readback::read_whole_texture(&gpu.device, &gpu.queue, atlas.texture(), 1)
                .map_err(|message| gpu_error("the glyph atlas", message))?;
        writer.png(Level::Frame, ATLAS_FILE, atlas_size, image::ColorType::L8, &coverage)?;
        let file = FrameFile {
            viewport: size,
            stats: &frame.rendered.stats,
            glyph_atlas: AtlasFile { side: atlas.side(), file: ATLAS_FILE },
            primitives: &details.primitives,
            batches: &details.batches,
        };
        writer.ron(Level::Frame, FRAME_FILE, &file)?;
    }
    if writer.wants(Level::Pixels) {
        let rgba = pixels.as_ref().map_or(&frame.rendered.rgba, |frame| &frame.rgba);
        writer.png(Level::Pixels, PIXELS_FILE, size, image::ColorType::Rgba8, rgba)?;
        let gpu = renderer.gpu();
        for (id, entry) in &frame.resources.buffers {
            let Some(texture) = renderer.texture_cache().wgpu_texture(entry.texture) else { continue };
            let (buffer_size, mut rgba) =
                crate::readback::read_whole_texture(&gpu.device, &gpu.queue, texture, 4)
                    .map_err(|message| gpu_error("an image buffer", message))?;
            unpremultiply(&mut rgba);
            writer.png(Level::Pixels, &buffer_file(*id), buffer_size, image::ColorType::Rgba8, &rgba)?;
        }
    }
    writer.finish()
}

/// Premultiplied RGBA8 (as textures hold it) → straight alpha (as PNG wants it).
fn unpremultiply(rgba: &mut [u8]) {
    for pixel in rgba.chunks_exact_mut(4) {
        let alpha = u32::from(pixel[3]);
        if alpha != 0 && alpha != 255 {
            for channel in &mut pixel[..3] {
                *channel = ((u32::from(*channel) * 255 + alpha / 2) / alpha).min(255) as u8;
            }
        }
    }
}
