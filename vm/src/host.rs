//! The host API page scripts import (module `armature`), and the [`Host`] the embedder
//! (the content process) provides behind it. docs/host-api.md is the reference.

use crate::manager::VmId;

/// A canvas drawing call from a script. `canvas` is a canvas index: the page's `<canvas>`
/// elements in document order (`0..canvas_count`), then the offscreen canvases scripts
/// made, numbered on from there.
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
    /// `drawImage(source, x, y, w, h)` with another canvas, as it is now.
    DrawCanvas { canvas: u32, source: u32, rect: [f32; 4] },
    /// `drawImage(image, x, y, w, h)` with the page's `<img>` number `image` (document order).
    DrawImage { canvas: u32, image: u32, rect: [f32; 4] },
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
            | CanvasCall::DrawCanvas { canvas, .. }
            | CanvasCall::DrawImage { canvas, .. } => canvas,
        }
    }
}

/// What the embedder does for scripts. Called on VM threads.
pub trait Host: Send + Sync {
    /// `console.log` from `script` in `vm`.
    fn console(&self, vm: VmId, script: &str, message: &str);
    /// How many `<canvas>` elements the page has.
    fn canvas_count(&self) -> u32;
    /// Whether scripts may draw on canvas `canvas`; `Err` is the trap's message. The default
    /// knows the page's canvases only.
    fn check_canvas(&self, canvas: u32) -> Result<(), String> {
        let count = self.canvas_count();
        if canvas < count { Ok(()) } else { Err(no_such_canvas(canvas, count, 0)) }
    }
    /// Whether canvas `canvas` may be drawn into another (`draw_canvas`'s source); `Err`
    /// is the trap's message. The default: any canvas scripts may draw on.
    fn check_source(&self, canvas: u32) -> Result<(), String> {
        self.check_canvas(canvas)
    }
    /// `new OffscreenCanvas(width, height)`: a transparent canvas of its own, not on the
    /// page, drawn with the same calls; its index, or why not (the trap's message).
    fn create_canvas(&self, vm: VmId, width: u32, height: u32) -> Result<u32, String> {
        let _ = vm;
        Err(format!("create_canvas({width}, {height}): this host has no offscreen canvases"))
    }
    /// The script is done with offscreen canvas `canvas`: its pixels are freed and its index
    /// names nothing from now on. `Err` is the trap's message.
    fn drop_canvas(&self, vm: VmId, canvas: u32) -> Result<(), String> {
        let _ = vm;
        Err(format!("drop_canvas({canvas}): this host has no offscreen canvases"))
    }
    /// `window.devicePixelRatio`: device pixels per CSS pixel of the screen the page is on
    /// (a script sizes a canvas's bitmap by it to draw crisply on a HiDPI screen).
    fn device_pixel_ratio(&self) -> f32 {
        1.0
    }
    /// How many `<img>` elements the page has.
    fn image_count(&self) -> u32 {
        0
    }
    /// Whether scripts may draw the page's `<img>` number `image`; `Err` is the trap's
    /// message (no such image, or it did not load: Canvas 2D's "broken" image).
    fn check_image(&self, image: u32) -> Result<(), String> {
        Err(format!("there is no image {image} on the page (it has {})", self.image_count()))
    }
    /// A drawing call (its canvas, source and image already checked).
    fn canvas(&self, vm: VmId, call: CanvasCall);
    /// A VM asked for an animation frame.
    fn animation_frame_requested(&self, vm: VmId);
    /// A script failed; the page goes on.
    fn script_error(&self, vm: VmId, error: &crate::ScriptError);
    /// A VM finished a task and is idle again (the embedder may present what it drew).
    fn task_done(&self, vm: VmId);
}

/// The trap's message for a canvas index that names nothing: the page has `page` canvases and
/// `offscreen` offscreen ones are live.
pub fn no_such_canvas(canvas: u32, page: u32, offscreen: u32) -> String {
    match offscreen {
        0 => format!("there is no canvas {canvas} on the page (it has {page})"),
        _ => format!("there is no canvas {canvas} on the page (it has {page}, and {offscreen} offscreen)"),
    }
}
