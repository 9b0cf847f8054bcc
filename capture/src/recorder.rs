//! The stream recorder: the last frames of one content→GPU stream, in memory.
//!
//! Each side of a stream keeps one (the GPU process per connection, a content process for
//! the stream it sends), so whichever process crashes, the survivor can write the stream
//! that led up to it into the crash report. Bounded in frames and bytes: when a frame falls
//! out of the window, its resource updates fold into the base state, so the window always
//! replays on its own (base resources first, then the frames' commands).
//!
//! Resources are held as the messages carried them: images are shared-memory handles (a
//! clone maps the same pages, it copies nothing), fonts are bytes.

use std::collections::{BTreeMap, VecDeque};

use armature_api::capture::StreamRecording;
use armature_api::messages::ContentToGpu;
use armature_api::{DisplayList, Epoch, FontKey, ImageBufferId, ImageKey, ResourceUpdate};

use crate::canvas::CanvasLog;
use crate::format::CanvasRecord;

/// What a resource is, whatever its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum ResourceId {
    Font(FontKey),
    Image(ImageKey),
    Buffer(ImageBufferId),
}

/// The resources and display list in force at some point of a stream.
#[derive(Clone, Debug, Default)]
pub struct StreamState {
    /// Live resources, as the `Add…`/`Create…` updates that made them, in key order.
    resources: BTreeMap<ResourceId, ResourceUpdate>,
    /// The latest display list.
    display_list: Option<(Epoch, DisplayList)>,
    /// What the image buffers hold: the canvas commands that drew them, in stream order
    /// (across buffers: one may draw another), less what full clears hid.
    canvas: CanvasLog,
}

impl StreamState {
    /// Applies one command.
    pub fn apply(&mut self, command: &ContentToGpu) {
        match command {
            ContentToGpu::UpdateResources(updates) => {
                for update in updates {
                    match update {
                        ResourceUpdate::AddFont { key, .. } => {
                            self.resources.insert(ResourceId::Font(*key), update.clone());
                        }
                        ResourceUpdate::AddImage { key, .. } => {
                            self.resources.insert(ResourceId::Image(*key), update.clone());
                        }
                        ResourceUpdate::CreateImageBuffer { id, size } => {
                            self.resources.insert(ResourceId::Buffer(*id), update.clone());
                            self.canvas.create(*id, *size);
                        }
                        ResourceUpdate::DeleteFont(key) => {
                            self.resources.remove(&ResourceId::Font(*key));
                        }
                        ResourceUpdate::DeleteImage(key) => {
                            self.resources.remove(&ResourceId::Image(*key));
                        }
                        ResourceUpdate::DestroyImageBuffer(id) => {
                            self.resources.remove(&ResourceId::Buffer(*id));
                            self.canvas.destroy(*id);
                        }
                    }
                }
            }
            ContentToGpu::DrawToImageBuffer { buffer, item } => self.canvas.draw(*buffer, item),
            ContentToGpu::SetDisplayList(epoch, list) => self.display_list = Some((*epoch, list.clone())),
            ContentToGpu::Present(_) => {}
        }
    }

    /// Every live resource, as updates that recreate it.
    pub fn resources(&self) -> impl Iterator<Item = &ResourceUpdate> {
        self.resources.values()
    }

    /// The latest display list and its epoch.
    pub fn display_list(&self) -> Option<&(Epoch, DisplayList)> {
        self.display_list.as_ref()
    }

    /// What the image buffers hold (see [`CanvasLog`]).
    pub fn canvas(&self) -> &CanvasLog {
        &self.canvas
    }

    /// Commands that rebuild this state from nothing (resources, canvas drawing, then the
    /// display list).
    pub fn to_commands(&self) -> Vec<ContentToGpu> {
        let mut commands = Vec::new();
        if !self.resources.is_empty() {
            commands.push(ContentToGpu::UpdateResources(self.resources.values().cloned().collect()));
        }
        commands.extend(self.canvas.scene_records().iter().map(CanvasRecord::command));
        if let Some((epoch, list)) = &self.display_list {
            commands.push(ContentToGpu::SetDisplayList(*epoch, list.clone()));
        }
        commands
    }
}

/// One frame's commands, ending with its `Present`.
#[derive(Clone, Debug)]
pub struct RecordedFrame {
    /// The epoch presented.
    pub epoch: Epoch,
    /// The commands since the previous `Present`, this frame's `Present` last.
    pub commands: Vec<ContentToGpu>,
    bytes: usize,
}

/// The last frames of one content→GPU stream.
#[derive(Debug)]
pub struct StreamRecorder {
    limits: StreamRecording,
    /// The state before the oldest kept frame.
    base: StreamState,
    /// The state now.
    live: StreamState,
    frames: VecDeque<RecordedFrame>,
    /// Commands since the last `Present`.
    pending: Vec<ContentToGpu>,
    pending_bytes: usize,
    window_bytes: usize,
}

impl StreamRecorder {
    /// An empty recorder.
    pub fn new(limits: StreamRecording) -> StreamRecorder {
        StreamRecorder {
            limits,
            base: StreamState::default(),
            live: StreamState::default(),
            frames: VecDeque::new(),
            pending: Vec::new(),
            pending_bytes: 0,
            window_bytes: 0,
        }
    }

    /// Records one command, in stream order.
    pub fn record(&mut self, command: &ContentToGpu) {
        self.live.apply(command);
        self.pending_bytes += approximate_bytes(command);
        self.pending.push(command.clone());
        let ContentToGpu::Present(epoch) = command else { return };
        let frame = RecordedFrame {
            epoch: *epoch,
            commands: std::mem::take(&mut self.pending),
            bytes: std::mem::take(&mut self.pending_bytes),
        };
        self.window_bytes += frame.bytes;
        self.frames.push_back(frame);
        self.evict();
    }

    fn evict(&mut self) {
        let max_frames = self.limits.frames as usize;
        let max_bytes = usize::try_from(self.limits.max_bytes).unwrap_or(usize::MAX);
        while self.frames.len() > max_frames || (self.window_bytes > max_bytes && self.frames.len() > 1) {
            let Some(oldest) = self.frames.pop_front() else { break };
            self.window_bytes -= oldest.bytes;
            for command in &oldest.commands {
                self.base.apply(command);
            }
        }
    }

    /// The state now: what a SCENE capture of the latest frame holds.
    pub fn live(&self) -> &StreamState {
        &self.live
    }

    /// The state as of the last `Present` (the live state without the pending commands).
    pub fn presented(&self) -> StreamState {
        let mut state = self.base.clone();
        for frame in &self.frames {
            for command in &frame.commands {
                state.apply(command);
            }
        }
        state
    }

    /// The state before the first kept frame.
    pub fn base(&self) -> &StreamState {
        &self.base
    }

    /// The kept frames, oldest first.
    pub fn frames(&self) -> impl ExactSizeIterator<Item = &RecordedFrame> {
        self.frames.iter()
    }

    /// Commands received since the last `Present` (a frame in the making when a process
    /// crashed).
    pub fn pending(&self) -> &[ContentToGpu] {
        &self.pending
    }

    /// Bytes of commands in the window now (approximate).
    pub fn window_bytes(&self) -> usize {
        self.window_bytes
    }
}

/// Roughly what a command weighs: its resource bytes plus a display item's worth per item.
fn approximate_bytes(command: &ContentToGpu) -> usize {
    const ITEM_BYTES: usize = 64;
    const GLYPH_BYTES: usize = 12;
    match command {
        ContentToGpu::UpdateResources(updates) => updates
            .iter()
            .map(|update| match update {
                ResourceUpdate::AddFont { bytes, .. } => bytes.len(),
                ResourceUpdate::AddImage { rgba, .. } => rgba.len(),
                _ => ITEM_BYTES,
            })
            .sum(),
        ContentToGpu::SetDisplayList(_, list) => list
            .items
            .iter()
            .map(|item| match item {
                armature_api::DisplayItem::Text { glyphs, .. } => ITEM_BYTES + glyphs.len() * GLYPH_BYTES,
                _ => ITEM_BYTES,
            })
            .sum(),
        ContentToGpu::DrawToImageBuffer { item, .. } => match item {
            armature_api::CanvasItem::FillText { glyphs, .. } => ITEM_BYTES + glyphs.len() * GLYPH_BYTES,
            _ => ITEM_BYTES,
        },
        ContentToGpu::Present(_) => 8,
    }
}

#[cfg(test)]
mod tests {
    use armature_api::{ColorF, DeviceIntSize, IdNamespace, LayoutPoint, LayoutSize};

    use super::*;

    fn list(marker: f32) -> DisplayList {
        DisplayList {
            viewport: LayoutSize::new(marker, 10.0),
            scroll_offset: LayoutPoint::zero(),
            device_pixel_ratio: armature_api::DevicePixelRatio::ONE,
            background: ColorF::WHITE,
            items: Vec::new(),
        }
    }

    fn font(n: u32, bytes: usize) -> ResourceUpdate {
        ResourceUpdate::AddFont { key: FontKey(IdNamespace(1), n), bytes: vec![0; bytes] }
    }

    fn frame(recorder: &mut StreamRecorder, epoch: u32, updates: Vec<ResourceUpdate>) {
        recorder.record(&ContentToGpu::UpdateResources(updates));
        recorder.record(&ContentToGpu::SetDisplayList(Epoch(epoch), list(epoch as f32)));
        recorder.record(&ContentToGpu::Present(Epoch(epoch)));
    }

    #[test]
    fn old_frames_fold_into_the_base_state() {
        let mut recorder = StreamRecorder::new(StreamRecording { frames: 2, max_bytes: u64::MAX });
        frame(&mut recorder, 1, vec![font(0, 10), font(1, 10)]);
        frame(&mut recorder, 2, vec![ResourceUpdate::DeleteFont(FontKey(IdNamespace(1), 0))]);
        frame(&mut recorder, 3, vec![font(2, 10)]);
        let epochs: Vec<u32> = recorder.frames().map(|frame| frame.epoch.0).collect();
        assert_eq!(epochs, [2, 3]);
        // Frame 1 fell out: its two fonts are the base, with its display list.
        assert_eq!(recorder.base().resources().count(), 2);
        assert_eq!(recorder.base().display_list().map(|(epoch, _)| epoch.0), Some(1));
        // Live: font 0 deleted, fonts 1 and 2 remain.
        assert_eq!(recorder.live().resources().count(), 2);
        assert_eq!(recorder.live().display_list().map(|(epoch, _)| epoch.0), Some(3));
    }

    #[test]
    fn the_byte_bound_keeps_at_least_the_newest_frame() {
        let mut recorder = StreamRecorder::new(StreamRecording { frames: 10, max_bytes: 1000 });
        frame(&mut recorder, 1, vec![font(0, 800)]);
        frame(&mut recorder, 2, vec![font(1, 800)]);
        assert_eq!(recorder.frames().len(), 1, "the first frame is over the bound with the second");
        assert!(recorder.window_bytes() < 1000);
        frame(&mut recorder, 3, vec![font(2, 5000)]);
        assert_eq!(recorder.frames().len(), 1, "a frame alone over the bound still stays");
        assert_eq!(recorder.frames().next().map(|frame| frame.epoch), Some(Epoch(3)));
    }

    #[test]
    fn a_zero_frame_window_keeps_only_live_state() {
        let mut recorder = StreamRecorder::new(StreamRecording::OFF);
        frame(&mut recorder, 1, vec![font(0, 10)]);
        assert_eq!(recorder.frames().len(), 0);
        assert_eq!(recorder.live().resources().count(), 1);
        let commands = recorder.live().to_commands();
        assert_eq!(commands.len(), 2, "resources then the display list");
        let size = DeviceIntSize::new(1, 1);
        recorder.record(&ContentToGpu::UpdateResources(vec![ResourceUpdate::CreateImageBuffer {
            id: ImageBufferId(IdNamespace(1), 0),
            size,
        }]));
        assert_eq!(recorder.pending().len(), 1);
        assert_eq!(recorder.live().resources().count(), 2);
    }
}
