//! The display list: what content asks the GPU process to paint, in paint order.
//!
//! Items refer to resources (fonts, later images) by key; the resources themselves travel
//! once as [`ResourceUpdate`]s, never inside items.

use serde::{Deserialize, Serialize};

use crate::{ColorF, FontKey, LayoutPoint, LayoutRect, LayoutSize};

/// One glyph of a text run: its id in the font and its baseline origin in layout space.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GlyphInstance {
    /// Glyph index in the font (not a character).
    pub index: u16,
    /// Where the glyph's origin sits on the baseline.
    pub point: LayoutPoint,
}

/// One paint operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DisplayItem {
    /// A solid rectangle.
    Rect {
        /// Where to paint.
        rect: LayoutRect,
        /// What colour.
        color: ColorF,
    },
    /// A run of glyphs from one font at one size and colour.
    Text {
        /// The font, uploaded earlier with [`ResourceUpdate::AddFont`].
        font: FontKey,
        /// Font size in layout pixels.
        size: f32,
        /// Glyph colour.
        color: ColorF,
        /// The glyphs, positioned.
        glyphs: Vec<GlyphInstance>,
    },
}

/// A frame's worth of paint operations for one page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DisplayList {
    /// The size of the page's viewport in layout pixels.
    pub viewport: LayoutSize,
    /// The canvas colour behind everything.
    pub background: ColorF,
    /// Items in paint order (later items paint over earlier ones).
    pub items: Vec<DisplayItem>,
}

/// A change to the resources the GPU process holds for one content process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ResourceUpdate {
    /// Make a font (TrueType/OpenType bytes) available under `key`.
    AddFont {
        /// The key items will use.
        key: FontKey,
        /// The font file's bytes.
        bytes: Vec<u8>,
    },
    /// Forget a font.
    DeleteFont(FontKey),
}
