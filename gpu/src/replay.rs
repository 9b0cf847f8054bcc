//! Replay: a display list from content (untrusted) → validated primitives grouped into
//! batches in paint order.
//!
//! Consecutive primitives of the same kind share a batch, so paint order is kept by
//! construction. (The renderer issue makes batching overlap-aware, WebRender style.)

use std::ops::Range;

use armature_api::{ColorF, DisplayItem, DisplayList, FontKey};

use crate::fonts::FontStore;
use crate::glyph_atlas::{GlyphAtlas, GlyphKey};

/// Per-instance data of every primitive: one quad.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Instance {
    /// x, y, width, height in device pixels.
    pub rect: [f32; 4],
    /// Atlas texel x, y, width, height (glyphs only).
    pub uv_rect: [f32; 4],
    /// Premultiplied colour.
    pub color: [f32; 4],
}

/// What shader a batch needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BatchKind {
    /// Solid-colour quads.
    Solid,
    /// Glyph quads masked by the glyph atlas.
    Glyph,
}

/// A run of instances drawn with one draw call.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Which pipeline.
    pub kind: BatchKind,
    /// Which instances of the frame.
    pub instances: Range<u32>,
}

/// Everything the renderer needs to draw one frame.
#[derive(Debug, Default)]
pub struct FrameBatches {
    /// All instances of the frame.
    pub instances: Vec<Instance>,
    /// Batches in paint order.
    pub batches: Vec<Batch>,
}

impl FrameBatches {
    fn push(&mut self, kind: BatchKind, instance: Instance) {
        let index = self.instances.len() as u32;
        self.instances.push(instance);
        match self.batches.last_mut() {
            Some(batch) if batch.kind == kind => batch.instances.end = index + 1,
            _ => self.batches.push(Batch { kind, instances: index..index + 1 }),
        }
    }
}

/// A display list the GPU process refuses to draw. Content is untrusted: these end its
/// frame with a named reason instead of a panic.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReplayError {
    /// A text item uses a font that was never uploaded.
    #[error("display item {item} uses font {font:?}, which was never uploaded")]
    UnknownFont {
        /// Index of the item.
        item: usize,
        /// The missing key.
        font: FontKey,
    },
    /// A coordinate or size is NaN or infinite.
    #[error("display item {item} has a non-finite coordinate")]
    NonFinite {
        /// Index of the item.
        item: usize,
    },
    /// A text item asks for an absurd font size.
    #[error("display item {item} has font size {size}, outside 0..={MAX_FONT_SIZE}")]
    FontSize {
        /// Index of the item.
        item: usize,
        /// The size.
        size: f32,
    },
}

/// Largest font size rasterised; a hostile size would otherwise allocate huge bitmaps.
pub const MAX_FONT_SIZE: f32 = 1024.0;

fn finite(values: &[f32]) -> bool {
    values.iter().all(|value| value.is_finite())
}

fn color_array(color: ColorF) -> [f32; 4] {
    color.premultiplied().map(|channel| channel.clamp(0.0, 1.0))
}

/// Turns a display list into batches, rasterising any glyphs it needs into the atlas.
pub fn replay(
    list: &DisplayList,
    fonts: &FontStore,
    atlas: &mut GlyphAtlas,
    queue: &wgpu::Queue,
) -> Result<FrameBatches, ReplayError> {
    let mut frame = FrameBatches::default();
    for (item_index, item) in list.items.iter().enumerate() {
        match item {
            DisplayItem::Rect { rect, color } => {
                let rect = [rect.origin.x, rect.origin.y, rect.size.width, rect.size.height];
                if !finite(&rect) || !finite(&[color.r, color.g, color.b, color.a]) {
                    return Err(ReplayError::NonFinite { item: item_index });
                }
                if color.is_transparent() || rect[2] <= 0.0 || rect[3] <= 0.0 {
                    continue;
                }
                frame
                    .push(BatchKind::Solid, Instance { rect, uv_rect: [0.0; 4], color: color_array(*color) });
            }
            DisplayItem::Text { font, size, color, glyphs } => {
                if !size.is_finite() || *size <= 0.0 || *size > MAX_FONT_SIZE {
                    return Err(ReplayError::FontSize { item: item_index, size: *size });
                }
                let font_data =
                    fonts.get(*font).ok_or(ReplayError::UnknownFont { item: item_index, font: *font })?;
                let color = color_array(*color);
                for glyph in glyphs {
                    if !finite(&[glyph.point.x, glyph.point.y]) {
                        return Err(ReplayError::NonFinite { item: item_index });
                    }
                    let key = GlyphKey::new(*font, glyph.index, *size);
                    let Some(entry) = atlas.get_or_insert(queue, key, font_data) else { continue };
                    // Whole-pixel placement keeps the bitmap texel-aligned (crisp, exact).
                    let x = glyph.point.x.round() + entry.left as f32;
                    let y = glyph.point.y.round() - entry.top as f32;
                    let (width, height) = (entry.width as f32, entry.height as f32);
                    frame.push(
                        BatchKind::Glyph,
                        Instance {
                            rect: [x, y, width, height],
                            uv_rect: [entry.atlas_x as f32, entry.atlas_y as f32, width, height],
                            color,
                        },
                    );
                }
            }
        }
    }
    Ok(frame)
}
