//! The host API page scripts import (module `armature`), and the [`Host`] the embedder
//! (the content process) provides behind it. docs/host-api.md is the reference.

use crate::manager::VmId;

/// A canvas drawing call from a script; `canvas` is the page's `<canvas>` index in
/// document order.
#[derive(Clone, Debug, PartialEq)]
pub enum CanvasCall {
    /// `fillStyle = rgba`.
    FillColor { canvas: u32, rgba: u32 },
    /// `strokeStyle = rgba`.
    StrokeColor { canvas: u32, rgba: u32 },
    /// `lineWidth = width`.
    LineWidth { canvas: u32, width: f32 },
    /// `fillRect`.
    FillRect { canvas: u32, rect: [f32; 4] },
    /// `strokeRect`.
    StrokeRect { canvas: u32, rect: [f32; 4] },
    /// `clearRect`.
    ClearRect { canvas: u32, rect: [f32; 4] },
    /// `fillText(text, x, y)` at `size` pixels.
    FillText { canvas: u32, text: String, x: f32, y: f32, size: f32 },
    /// `save()`.
    Save { canvas: u32 },
    /// `restore()`.
    Restore { canvas: u32 },
    /// `translate(x, y)`.
    Translate { canvas: u32, x: f32, y: f32 },
    /// `scale(x, y)`.
    Scale { canvas: u32, x: f32, y: f32 },
    /// `drawImage(source, x, y, w, h)` with another of the page's canvases, as it is now.
    DrawCanvas { canvas: u32, source: u32, rect: [f32; 4] },
}

impl CanvasCall {
    /// The canvas it draws on.
    pub fn canvas(&self) -> u32 {
        match *self {
            CanvasCall::FillColor { canvas, .. }
            | CanvasCall::StrokeColor { canvas, .. }
            | CanvasCall::LineWidth { canvas, .. }
            | CanvasCall::FillRect { canvas, .. }
            | CanvasCall::StrokeRect { canvas, .. }
            | CanvasCall::ClearRect { canvas, .. }
            | CanvasCall::FillText { canvas, .. }
            | CanvasCall::Save { canvas }
            | CanvasCall::Restore { canvas }
            | CanvasCall::Translate { canvas, .. }
            | CanvasCall::Scale { canvas, .. }
            | CanvasCall::DrawCanvas { canvas, .. } => canvas,
        }
    }
}

/// What the embedder does for scripts. Called on VM threads.
pub trait Host: Send + Sync {
    /// `console.log` from `script` in `vm`.
    fn console(&self, vm: VmId, script: &str, message: &str);
    /// How many `<canvas>` elements the page has.
    fn canvas_count(&self) -> u32;
    /// A drawing call (already checked against `canvas_count`).
    fn canvas(&self, vm: VmId, call: CanvasCall);
    /// A VM asked for an animation frame.
    fn animation_frame_requested(&self, vm: VmId);
    /// A script failed; the page goes on.
    fn script_error(&self, vm: VmId, error: &crate::ScriptError);
    /// A VM finished a task and is idle again (the embedder may present what it drew).
    fn task_done(&self, vm: VmId);
}
