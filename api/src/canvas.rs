//! Canvas drawing items: what a `RemoteImageBufferProxy` streams to the GPU process for one
//! image buffer, in order (WebKit's display-list items for a remote image buffer, reduced to
//! a Canvas 2D subset). State (colours, line width, transform) travels as items too, and the
//! GPU process keeps it per buffer, as a `GraphicsContext` would.

use serde::{Deserialize, Serialize};

use crate::{ColorF, FontKey, GlyphInstance, ImageBufferId, ImageKey, LayoutPoint, LayoutRect, LayoutSize};

/// One canvas drawing operation or state change, in the buffer's pixel space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum CanvasItem {
    /// The colour `FillRect` and `FillText` paint with (initially opaque black).
    SetFillColor(ColorF),
    /// The colour `StrokeRect` paints with (initially opaque black).
    SetStrokeColor(ColorF),
    /// The stroke width in pixels (initially 1; zero, negative or non-finite is ignored).
    SetLineWidth(f32),
    /// Pushes the state (colours, line width, transform).
    Save,
    /// Pops the state pushed by the matching `Save` (nothing if none).
    Restore,
    /// Moves the origin (non-finite values are ignored, as in Canvas 2D).
    Translate {
        /// Pixels right.
        x: f32,
        /// Pixels down.
        y: f32,
    },
    /// Scales what follows (non-finite values are ignored).
    Scale {
        /// Horizontal factor.
        x: f32,
        /// Vertical factor.
        y: f32,
    },
    /// Paints a rectangle with the fill colour.
    FillRect(LayoutRect),
    /// Paints a rectangle's outline, centred on its edges, with the stroke colour and width.
    StrokeRect(LayoutRect),
    /// Makes a rectangle transparent (whole pixels, after the transform).
    ClearRect(LayoutRect),
    /// Paints shaped glyphs with the fill colour; positions are relative to `origin`.
    FillText {
        /// The font, uploaded earlier.
        font: FontKey,
        /// Font size in pixels.
        size: f32,
        /// The baseline's start.
        origin: crate::LayoutPoint,
        /// The glyphs, positioned from `origin`.
        glyphs: Vec<GlyphInstance>,
    },
    /// Paints an image or another buffer (as it is at this point of the stream) over `rect`.
    DrawImage {
        /// What to paint.
        source: CanvasImageSource,
        /// Where.
        rect: LayoutRect,
    },
}

/// What `DrawImage` paints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CanvasImageSource {
    /// A decoded page image.
    Image(ImageKey),
    /// Another image buffer (a canvas or an offscreen buffer).
    Buffer(ImageBufferId),
}

/// A buffer's drawing state, as a `GraphicsContext` keeps it: colours, line width and a
/// scale-and-translate transform. The GPU process draws with it; captures follow it to know
/// when a clear hides everything before it. One copy of Canvas 2D's rules for both.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CanvasState {
    /// What `FillRect` and `FillText` paint with.
    pub fill: ColorF,
    /// What `StrokeRect` paints with.
    pub stroke: ColorF,
    /// The stroke width in pixels.
    pub line_width: f32,
    /// Horizontal and vertical factors.
    pub scale: (f32, f32),
    /// Where the origin is, in buffer pixels.
    pub translate: (f32, f32),
}

impl CanvasState {
    /// A new buffer's state: opaque black, width 1, no transform.
    pub const INITIAL: CanvasState = CanvasState {
        fill: ColorF::BLACK,
        stroke: ColorF::BLACK,
        line_width: 1.0,
        scale: (1.0, 1.0),
        translate: (0.0, 0.0),
    };

    /// Whether the transform is the identity.
    pub fn is_untransformed(&self) -> bool {
        self.scale == (1.0, 1.0) && self.translate == (0.0, 0.0)
    }

    /// `point` in buffer pixels.
    pub fn point(&self, point: LayoutPoint) -> LayoutPoint {
        LayoutPoint::new(point.x * self.scale.0 + self.translate.0, point.y * self.scale.1 + self.translate.1)
    }

    /// `rect` in buffer pixels (a negative factor flips it; the result has a positive size).
    pub fn rect(&self, rect: &LayoutRect) -> LayoutRect {
        let (a, b) = (self.point(rect.min()), self.point(rect.max()));
        let min = LayoutPoint::new(a.x.min(b.x), a.y.min(b.y));
        LayoutRect::new(min, LayoutSize::new(a.x.max(b.x) - min.x, a.y.max(b.y) - min.y))
    }
}

/// A buffer's state and its save stack, changed by the state items as Canvas 2D changes
/// them: non-finite values and non-positive widths are ignored, a `Restore` without a `Save`
/// does nothing.
#[derive(Clone, Debug)]
pub struct CanvasContext {
    /// The state now.
    pub state: CanvasState,
    stack: Vec<CanvasState>,
}

impl Default for CanvasContext {
    fn default() -> CanvasContext {
        CanvasContext { state: CanvasState::INITIAL, stack: Vec::new() }
    }
}

impl CanvasContext {
    /// How many `Save`s are not yet restored.
    pub fn saved(&self) -> usize {
        self.stack.len()
    }

    /// Applies `item` if it is a state item (`Set…`, `Save`, `Restore`, `Translate`,
    /// `Scale`) and says whether it was one; a drawing item changes nothing. (Bounding the
    /// save stack is the caller's: see [`saved`](Self::saved).)
    pub fn apply(&mut self, item: &CanvasItem) -> bool {
        let state = &mut self.state;
        match *item {
            CanvasItem::SetFillColor(color) if finite_color(color) => state.fill = color,
            CanvasItem::SetStrokeColor(color) if finite_color(color) => state.stroke = color,
            CanvasItem::SetLineWidth(width) if width.is_finite() && width > 0.0 => state.line_width = width,
            CanvasItem::Save => self.stack.push(*state),
            CanvasItem::Restore => {
                if let Some(saved) = self.stack.pop() {
                    *state = saved;
                }
            }
            CanvasItem::Translate { x, y } if x.is_finite() && y.is_finite() => {
                state.translate.0 += x * state.scale.0;
                state.translate.1 += y * state.scale.1;
            }
            CanvasItem::Scale { x, y } if x.is_finite() && y.is_finite() => {
                state.scale.0 *= x;
                state.scale.1 *= y;
            }
            CanvasItem::SetFillColor(_)
            | CanvasItem::SetStrokeColor(_)
            | CanvasItem::SetLineWidth(_)
            | CanvasItem::Translate { .. }
            | CanvasItem::Scale { .. } => {}
            CanvasItem::FillRect(_)
            | CanvasItem::StrokeRect(_)
            | CanvasItem::ClearRect(_)
            | CanvasItem::FillText { .. }
            | CanvasItem::DrawImage { .. } => return false,
        }
        true
    }
}

/// Whether every part of `rect` is finite (Canvas 2D ignores a drawing call otherwise).
pub fn finite_rect(rect: &LayoutRect) -> bool {
    [rect.origin.x, rect.origin.y, rect.size.width, rect.size.height].iter().all(|value| value.is_finite())
}

fn finite_color(color: ColorF) -> bool {
    [color.r, color.g, color.b, color.a].iter().all(|value| value.is_finite())
}
