//! Canvas proxies (WebKit's names): [`RemoteRenderingBackendProxy`] is this content process's
//! side of its GPU-process backend — the one ordered stream, the image-buffer ids it
//! allocates, the acknowledgements that come back — and [`ImageBufferContext`] is a
//! Canvas-2D-like drawing API over one [`RemoteImageBufferProxy`].
//!
//! Ids are allocated here, in this process's namespace, so a buffer can be named (and drawn
//! into) before the GPU process has made it: creation and drawing travel in one stream, so
//! the GPU process always sees the creation first. Drawing never waits for an
//! acknowledgement.
//!
//! Drawing calls do not fail one by one (as in Canvas 2D): the first error (the GPU process
//! went away) is kept, and [`RemoteRenderingBackendProxy::flush`] returns it.

use std::collections::{BTreeSet, HashSet};

use armature_api::messages::{ContentToGpu, GpuToContent, StreamClientEnd};
use armature_api::{
    CanvasImageSource, CanvasItem, ColorF, DeviceIntSize, Epoch, FontKey, GlyphInstance, IdNamespace,
    ImageBufferId, ImageKey, LayoutPoint, LayoutRect, LayoutSize, ResourceUpdate,
};
use armature_stream::{ClientError, StreamClient};

use crate::fonts::{Fonts, SANS_FAMILY};

/// The first id this proxy allocates: the page's `<canvas>` elements take 0.. in layout
/// order, and offscreen buffers start here.
pub const FIRST_OFFSCREEN_ID: u32 = 1 << 31;

/// A GPU-process image buffer, named by this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteImageBufferProxy {
    id: ImageBufferId,
    size: DeviceIntSize,
}

impl RemoteImageBufferProxy {
    /// A buffer that was created another way (a page canvas, sent with the page's resources).
    pub fn existing(id: ImageBufferId, size: DeviceIntSize) -> RemoteImageBufferProxy {
        RemoteImageBufferProxy { id, size }
    }

    /// Its id.
    pub fn id(&self) -> ImageBufferId {
        self.id
    }

    /// Its size in pixels.
    pub fn size(&self) -> DeviceIntSize {
        self.size
    }
}

/// This content process's connection to its backend in the GPU process.
pub struct RemoteRenderingBackendProxy {
    stream: StreamClient,
    namespace: IdNamespace,
    next_id: u32,
    acknowledged: HashSet<ImageBufferId>,
    presented: Option<Epoch>,
    /// Fonts the GPU process holds (fill_text uploads the ones it lacks).
    sent_fonts: BTreeSet<FontKey>,
    error: Option<ClientError>,
    /// Every item sent, for a crash report's stream capture.
    #[cfg(feature = "capture")]
    recorder: armature_capture::StreamRecorder,
}

impl RemoteRenderingBackendProxy {
    /// Connects to the stream the launcher brokered.
    pub fn connect(
        end: StreamClientEnd,
        namespace: IdNamespace,
        recording: armature_api::capture::StreamRecording,
    ) -> Result<RemoteRenderingBackendProxy, ClientError> {
        #[cfg(not(feature = "capture"))]
        let _ = recording;
        Ok(RemoteRenderingBackendProxy {
            stream: StreamClient::connect(end)?,
            namespace,
            next_id: FIRST_OFFSCREEN_ID,
            acknowledged: HashSet::new(),
            presented: None,
            sent_fonts: BTreeSet::new(),
            error: None,
            #[cfg(feature = "capture")]
            recorder: armature_capture::StreamRecorder::new(recording),
        })
    }

    /// A connection to a relaunched GPU process, which holds nothing of ours: everything
    /// starts afresh but the id allocator, so the ids of buffers we make again
    /// ([`recreate_image_buffer`](Self::recreate_image_buffer)) stay unique.
    pub fn reconnect(
        &self,
        end: StreamClientEnd,
        recording: armature_api::capture::StreamRecording,
    ) -> Result<RemoteRenderingBackendProxy, ClientError> {
        let mut proxy = RemoteRenderingBackendProxy::connect(end, self.namespace, recording)?;
        proxy.next_id = self.next_id;
        Ok(proxy)
    }

    /// Appends an item to the stream (the first error is kept for `flush`).
    pub fn send(&mut self, command: ContentToGpu) {
        if let ContentToGpu::UpdateResources(updates) = &command {
            for update in updates {
                if let ResourceUpdate::AddFont { key, .. } = update {
                    self.sent_fonts.insert(*key);
                }
            }
        }
        #[cfg(feature = "capture")]
        self.recorder.record(&command);
        if self.error.is_some() {
            return;
        }
        if let Err(error) = self.stream.send(command) {
            self.error = Some(error);
        }
    }

    /// Publishes everything sent and wakes the GPU process; the first error since the last
    /// flush, if any.
    pub fn flush(&mut self) -> Result<(), ClientError> {
        self.stream.flush();
        self.poll();
        match self.error.take() {
            Some(ClientError::GpuGone) => {
                // Stays gone: later sends fail the same way.
                self.error = Some(ClientError::GpuGone);
                Err(ClientError::GpuGone)
            }
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Creates an offscreen image buffer (transparent), with an id allocated here. Drawing
    /// into it may start at once.
    pub fn create_image_buffer(&mut self, size: DeviceIntSize) -> RemoteImageBufferProxy {
        let id = ImageBufferId(self.namespace, self.next_id);
        self.next_id = self.next_id.wrapping_add(1).max(FIRST_OFFSCREEN_ID);
        self.send(ContentToGpu::UpdateResources(vec![ResourceUpdate::CreateImageBuffer { id, size }]));
        RemoteImageBufferProxy { id, size }
    }

    /// Makes `buffer` again, transparent, under its id (in a relaunched GPU process).
    pub fn recreate_image_buffer(&mut self, buffer: RemoteImageBufferProxy) {
        self.send(ContentToGpu::UpdateResources(vec![ResourceUpdate::CreateImageBuffer {
            id: buffer.id,
            size: buffer.size,
        }]));
    }

    /// Destroys a buffer.
    pub fn destroy_image_buffer(&mut self, buffer: RemoteImageBufferProxy) {
        self.acknowledged.remove(&buffer.id);
        self.send(ContentToGpu::UpdateResources(vec![ResourceUpdate::DestroyImageBuffer(buffer.id)]));
    }

    /// A drawing context for `buffer`.
    pub fn context(&mut self, buffer: RemoteImageBufferProxy) -> ImageBufferContext<'_> {
        ImageBufferContext { backend: self, buffer: buffer.id }
    }

    /// Whether the GPU process has said it made `buffer` (drawing does not need this).
    pub fn is_acknowledged(&mut self, buffer: RemoteImageBufferProxy) -> bool {
        self.poll();
        self.acknowledged.contains(&buffer.id)
    }

    /// The newest epoch the GPU process presented.
    pub fn presented(&mut self) -> Option<Epoch> {
        self.poll();
        self.presented
    }

    fn poll(&mut self) {
        for reply in self.stream.replies() {
            match reply {
                GpuToContent::ImageBufferCreated(id) => {
                    self.acknowledged.insert(id);
                }
                GpuToContent::Presented(epoch) => self.presented = Some(epoch),
            }
        }
    }

    /// The stream's counters: records, payload bytes, sleeps and wakeups; items out of line.
    pub fn stream_stats(&self) -> (armature_stream::ring::RingStats, u64) {
        self.stream.stats()
    }

    /// Test support: the stream itself, to send what no well-behaved content process would.
    #[doc(hidden)]
    pub fn raw_stream(&mut self) -> &mut StreamClient {
        &mut self.stream
    }

    /// Writes the stream sent (its last frames) as a capture in `dir`.
    pub fn save_stream(
        &self,
        content: armature_api::ContentId,
        dir: &std::path::Path,
    ) -> Result<u32, String> {
        #[cfg(feature = "capture")]
        {
            let levels = armature_api::capture::Levels::default().with(armature_api::capture::Level::Stream);
            let mut writer =
                armature_capture::CaptureWriter::create(dir, levels).map_err(|error| error.to_string())?;
            let frames =
                writer.write_recording(content, &self.recorder).map_err(|error| error.to_string())?;
            Ok(frames as u32)
        }
        #[cfg(not(feature = "capture"))]
        {
            let _ = (content, dir);
            Err("this content process was built without the `capture` feature".into())
        }
    }
}

/// Canvas 2D drawing into one image buffer: each call is one item in the stream.
pub struct ImageBufferContext<'a> {
    backend: &'a mut RemoteRenderingBackendProxy,
    buffer: ImageBufferId,
}

impl ImageBufferContext<'_> {
    fn item(&mut self, item: CanvasItem) -> &mut Self {
        self.backend.send(ContentToGpu::DrawToImageBuffer { buffer: self.buffer, item });
        self
    }

    /// `fillStyle = color`.
    pub fn set_fill_color(&mut self, color: ColorF) -> &mut Self {
        self.item(CanvasItem::SetFillColor(color))
    }

    /// `strokeStyle = color`.
    pub fn set_stroke_color(&mut self, color: ColorF) -> &mut Self {
        self.item(CanvasItem::SetStrokeColor(color))
    }

    /// `lineWidth = width`.
    pub fn set_line_width(&mut self, width: f32) -> &mut Self {
        self.item(CanvasItem::SetLineWidth(width))
    }

    /// `save()`.
    pub fn save(&mut self) -> &mut Self {
        self.item(CanvasItem::Save)
    }

    /// `restore()`.
    pub fn restore(&mut self) -> &mut Self {
        self.item(CanvasItem::Restore)
    }

    /// `translate(x, y)`.
    pub fn translate(&mut self, x: f32, y: f32) -> &mut Self {
        self.item(CanvasItem::Translate { x, y })
    }

    /// `scale(x, y)`.
    pub fn scale(&mut self, x: f32, y: f32) -> &mut Self {
        self.item(CanvasItem::Scale { x, y })
    }

    /// `fillRect(x, y, w, h)`.
    pub fn fill_rect(&mut self, x: f32, y: f32, width: f32, height: f32) -> &mut Self {
        self.item(CanvasItem::FillRect(rect(x, y, width, height)))
    }

    /// `strokeRect(x, y, w, h)`.
    pub fn stroke_rect(&mut self, x: f32, y: f32, width: f32, height: f32) -> &mut Self {
        self.item(CanvasItem::StrokeRect(rect(x, y, width, height)))
    }

    /// `clearRect(x, y, w, h)`.
    pub fn clear_rect(&mut self, x: f32, y: f32, width: f32, height: f32) -> &mut Self {
        self.item(CanvasItem::ClearRect(rect(x, y, width, height)))
    }

    /// `drawImage(image, x, y, w, h)` with a page image.
    pub fn draw_image(&mut self, image: ImageKey, x: f32, y: f32, width: f32, height: f32) -> &mut Self {
        self.item(CanvasItem::DrawImage {
            source: CanvasImageSource::Image(image),
            rect: rect(x, y, width, height),
        })
    }

    /// `drawImage(canvas, x, y, w, h)` with another buffer, as it is at this point.
    pub fn draw_buffer(
        &mut self,
        source: RemoteImageBufferProxy,
        x: f32,
        y: f32,
        width: f32,
        height: f32,
    ) -> &mut Self {
        self.item(CanvasItem::DrawImage {
            source: CanvasImageSource::Buffer(source.id),
            rect: rect(x, y, width, height),
        })
    }

    /// `fillText(text, x, y)` in DejaVu Sans at `size` pixels, `y` being the baseline. The
    /// text is shaped here (as all text is, in content); the font is uploaded if the GPU
    /// process lacks it.
    pub fn fill_text(&mut self, fonts: &mut Fonts, text: &str, x: f32, y: f32, size: f32) -> &mut Self {
        for (font, glyphs) in shape_line(fonts, text, size) {
            if !self.backend.sent_fonts.contains(&font) {
                let upload = fonts.resource_updates(&BTreeSet::from([font]));
                self.backend.send(ContentToGpu::UpdateResources(upload));
            }
            self.item(CanvasItem::FillText { font, size, origin: LayoutPoint::new(x, y), glyphs });
        }
        self
    }
}

fn rect(x: f32, y: f32, width: f32, height: f32) -> LayoutRect {
    LayoutRect::new(LayoutPoint::new(x, y), LayoutSize::new(width, height))
}

/// Shapes one line of text: glyph runs per font, positioned from the baseline's start.
fn shape_line(fonts: &mut Fonts, text: &str, size: f32) -> Vec<(FontKey, Vec<GlyphInstance>)> {
    let mut context = parley::LayoutContext::<()>::new();
    let mut builder = context.ranged_builder(&mut fonts.context, text, 1.0, true);
    builder.push_default(parley::StyleProperty::FontFamily(parley::FontFamily::named(SANS_FAMILY)));
    builder.push_default(parley::StyleProperty::FontSize(size));
    let mut layout = builder.build(text);
    layout.break_all_lines(None);
    let mut runs = Vec::new();
    for line in layout.lines() {
        let baseline = line.metrics().baseline;
        for item in line.items() {
            let parley::PositionedLayoutItem::GlyphRun(glyph_run) = item else { continue };
            let Some(font) = fonts.key_for(glyph_run.run().font()) else { continue };
            let glyphs = glyph_run
                .positioned_glyphs()
                .map(|glyph| GlyphInstance {
                    index: glyph.id,
                    point: LayoutPoint::new(glyph.x, glyph.y - baseline),
                })
                .collect();
            runs.push((font, glyphs));
        }
    }
    runs
}
