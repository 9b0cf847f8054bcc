//! The display list: what content asks the GPU process to paint, in paint order.
//!
//! Items refer to resources (fonts, images, image buffers) by key; the resources themselves
//! travel once as [`ResourceUpdate`]s, never inside items. Clips and opacity groups nest:
//! every `Push*` has a matching `Pop*` later in the same list.

use ipc_channel::ipc::IpcSharedMemory;
use serde::{Deserialize, Serialize};

use crate::{
    ColorF, DeviceIntSize, DevicePixelRatio, FontKey, ImageBufferId, ImageKey, LayoutPoint, LayoutRect,
    LayoutSize, LayoutVector,
};

/// One glyph of a text run: its id in the font and its baseline origin in layout space.
///
/// Plain old data in a fixed layout (three 4-byte words, no padding), so a run of glyphs is
/// one block of bytes: the stream copies runs whole (`armature_stream::wire::canvas`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GlyphInstance {
    /// Glyph id in the font (not a character).
    pub index: u32,
    /// Where the glyph's origin sits on the baseline.
    pub point: LayoutPoint,
}

/// Per-corner radii of a rounded rectangle, in layout pixels (circular corners).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BorderRadius {
    /// Top-left corner.
    pub top_left: f32,
    /// Top-right corner.
    pub top_right: f32,
    /// Bottom-right corner.
    pub bottom_right: f32,
    /// Bottom-left corner.
    pub bottom_left: f32,
}

impl BorderRadius {
    /// Square corners.
    pub const ZERO: BorderRadius =
        BorderRadius { top_left: 0.0, top_right: 0.0, bottom_right: 0.0, bottom_left: 0.0 };

    /// The radii in CSS order: top-left, top-right, bottom-right, bottom-left.
    pub fn to_array(self) -> [f32; 4] {
        [self.top_left, self.top_right, self.bottom_right, self.bottom_left]
    }

    /// Whether every corner is square.
    pub fn is_zero(self) -> bool {
        self.to_array().iter().all(|&radius| radius <= 0.0)
    }
}

/// One side of a solid border.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BorderSide {
    /// Width in layout pixels (0 = no border on this side).
    pub width: f32,
    /// Colour.
    pub color: ColorF,
}

/// The four sides of a border, CSS order.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BorderSides {
    /// Top side.
    pub top: BorderSide,
    /// Right side.
    pub right: BorderSide,
    /// Bottom side.
    pub bottom: BorderSide,
    /// Left side.
    pub left: BorderSide,
}

impl BorderSides {
    /// The sides in CSS order.
    pub fn to_array(self) -> [BorderSide; 4] {
        [self.top, self.right, self.bottom, self.left]
    }
}

/// One paint operation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DisplayItem {
    /// A solid rectangle, optionally with rounded corners.
    Rect {
        /// Where to paint.
        rect: LayoutRect,
        /// What colour.
        color: ColorF,
        /// Corner radii.
        radius: BorderRadius,
    },
    /// A solid border drawn inside `rect` (the border box).
    Border {
        /// The border box.
        rect: LayoutRect,
        /// Width and colour per side.
        sides: BorderSides,
        /// Outer corner radii.
        radius: BorderRadius,
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
    /// A decoded image stretched over `rect`.
    Image {
        /// The image, uploaded earlier with [`ResourceUpdate::AddImage`].
        key: ImageKey,
        /// Where to paint it.
        rect: LayoutRect,
    },
    /// An image buffer's current contents (a `<canvas>`) stretched over `rect`.
    Canvas {
        /// The buffer, created earlier with [`ResourceUpdate::CreateImageBuffer`].
        buffer: ImageBufferId,
        /// Where to paint it.
        rect: LayoutRect,
    },
    /// Clip everything up to the matching [`DisplayItem::PopClip`] to `rect` (intersected
    /// with any enclosing clip).
    PushClip {
        /// The clip rectangle.
        rect: LayoutRect,
    },
    /// Ends the innermost clip.
    PopClip,
    /// Paint everything up to the matching [`DisplayItem::PopOpacity`] as one group, then
    /// blend the group with `opacity` (CSS `opacity` makes a stacking context).
    PushOpacity {
        /// 0 (invisible) ..= 1 (opaque).
        opacity: f32,
    },
    /// Ends the innermost opacity group.
    PopOpacity,
}

impl DisplayItem {
    /// Moves the item by `by` (a `position: fixed` box's items follow the scroll offset).
    pub fn translate(&mut self, by: LayoutVector) {
        match self {
            DisplayItem::Rect { rect, .. }
            | DisplayItem::Border { rect, .. }
            | DisplayItem::Image { rect, .. }
            | DisplayItem::Canvas { rect, .. }
            | DisplayItem::PushClip { rect } => *rect = rect.translate(by),
            DisplayItem::Text { glyphs, .. } => {
                for glyph in glyphs {
                    glyph.point += by;
                }
            }
            DisplayItem::PopClip | DisplayItem::PushOpacity { .. } | DisplayItem::PopOpacity => {}
        }
    }
}

/// A frame's worth of paint operations for one page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DisplayList {
    /// The size of the page's viewport in layout pixels.
    pub viewport: LayoutSize,
    /// The page point shown at the viewport's top-left: the scroll position. Items are in
    /// page coordinates; the GPU process offsets the whole frame by this.
    #[serde(default = "LayoutPoint::zero")]
    pub scroll_offset: LayoutPoint,
    /// Device pixels per layout pixel: the GPU process draws the viewport into
    /// `device_pixel_ratio.device_size(viewport)` pixels, scaling every item.
    #[serde(default)]
    pub device_pixel_ratio: DevicePixelRatio,
    /// The canvas colour behind everything.
    pub background: ColorF,
    /// Items in paint order (later items paint over earlier ones).
    pub items: Vec<DisplayItem>,
}

impl DisplayList {
    /// The pixels the GPU process draws this list into: the viewport at the list's device
    /// pixel ratio. (A hostile viewport saturates here; the renderer checks it first.)
    pub fn device_size(&self) -> DeviceIntSize {
        self.device_pixel_ratio.device_size(self.viewport)
    }
}

/// A change to the resources the GPU process holds for one content process.
#[derive(Clone, Debug, Serialize, Deserialize)]
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
    /// Make a decoded image available under `key`.
    AddImage {
        /// The key items will use.
        key: ImageKey,
        /// Size in pixels.
        size: DeviceIntSize,
        /// Tightly packed RGBA8 rows, straight (not premultiplied) alpha, sRGB values.
        rgba: IpcSharedMemory,
    },
    /// Forget an image.
    DeleteImage(ImageKey),
    /// Create an image buffer, cleared to transparent.
    CreateImageBuffer {
        /// The id content allocated for it.
        id: ImageBufferId,
        /// Size in pixels.
        size: DeviceIntSize,
    },
    /// Destroy an image buffer.
    DestroyImageBuffer(ImageBufferId),
}
