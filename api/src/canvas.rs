//! Canvas drawing items: what a `RemoteImageBufferProxy` streams to the GPU process for one
//! image buffer, in order (WebKit's display-list items for a remote image buffer, reduced to
//! a Canvas 2D subset). State (colours, line width, transform) travels as items too, and the
//! GPU process keeps it per buffer, as a `GraphicsContext` would.

use serde::{Deserialize, Serialize};

use crate::{ColorF, FontKey, GlyphInstance, ImageBufferId, ImageKey, LayoutRect};

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
