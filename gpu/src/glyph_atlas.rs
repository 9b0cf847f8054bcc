//! The glyph atlas: glyphs rasterised with swash (grayscale AA) into one R8 texture,
//! packed on shelves. Owned by the GPU process's main thread.

use std::collections::HashMap;

use armature_api::FontKey;
use swash::scale::{Render, ScaleContext, Source};
use swash::zeno::Format;

use crate::fonts::FontData;

/// Side of the square atlas texture in texels.
pub const ATLAS_SIZE: u32 = 1024;

/// A rasterised glyph's identity: font, glyph index, size in 1/64 px.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GlyphKey {
    /// The font.
    pub font: FontKey,
    /// Glyph index in the font (swash and OpenType glyph ids are 16-bit).
    pub index: u16,
    /// Size in 1/64 px, so nearby sizes share nothing and equal sizes share everything.
    pub size_64ths: u32,
}

impl GlyphKey {
    /// The key for a glyph at a size in px.
    pub fn new(font: FontKey, index: u16, size: f32) -> GlyphKey {
        GlyphKey { font, index, size_64ths: (size * 64.0).round() as u32 }
    }

    fn size(self) -> f32 {
        self.size_64ths as f32 / 64.0
    }
}

/// Where a glyph's bitmap is and how it sits relative to the pen position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AtlasGlyph {
    /// Left edge relative to the pen x.
    pub left: i32,
    /// Top edge relative to the baseline (positive = above).
    pub top: i32,
    /// Bitmap width.
    pub width: u32,
    /// Bitmap height.
    pub height: u32,
    /// Texel x in the atlas.
    pub atlas_x: u32,
    /// Texel y in the atlas.
    pub atlas_y: u32,
}

/// A horizontal strip of the atlas that glyphs of similar height fill left to right.
struct Shelf {
    y: u32,
    height: u32,
    cursor_x: u32,
}

/// The atlas texture and what is in it.
pub struct GlyphAtlas {
    texture: wgpu::Texture,
    view: wgpu::TextureView,
    glyphs: HashMap<GlyphKey, Option<AtlasGlyph>>,
    shelves: Vec<Shelf>,
    scale_context: ScaleContext,
}

/// Gap between glyphs so neighbours never bleed into each other.
const PADDING: u32 = 1;

impl GlyphAtlas {
    /// An empty atlas.
    pub fn new(device: &wgpu::Device) -> GlyphAtlas {
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("glyph atlas"),
            size: wgpu::Extent3d { width: ATLAS_SIZE, height: ATLAS_SIZE, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::R8Unorm,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        GlyphAtlas {
            texture,
            view,
            glyphs: HashMap::new(),
            shelves: Vec::new(),
            scale_context: ScaleContext::new(),
        }
    }

    /// The texture view shaders sample.
    pub fn view(&self) -> &wgpu::TextureView {
        &self.view
    }

    /// Finds or rasterises a glyph; `None` for glyphs with no ink (spaces) or no room.
    pub fn get_or_insert(
        &mut self,
        queue: &wgpu::Queue,
        key: GlyphKey,
        font: &FontData,
    ) -> Option<AtlasGlyph> {
        if let Some(entry) = self.glyphs.get(&key) {
            return *entry;
        }
        let entry = self.rasterise(queue, key, font);
        self.glyphs.insert(key, entry);
        entry
    }

    fn rasterise(&mut self, queue: &wgpu::Queue, key: GlyphKey, font: &FontData) -> Option<AtlasGlyph> {
        let mut scaler = self.scale_context.builder(font.font_ref()).size(key.size()).hint(false).build();
        let image = Render::new(&[Source::Outline]).format(Format::Alpha).render(&mut scaler, key.index)?;
        let (width, height) = (image.placement.width, image.placement.height);
        if width == 0 || height == 0 {
            return None;
        }
        let Some((atlas_x, atlas_y)) = self.allocate(width, height) else {
            tracing::warn!(target: "armature::gpu", "glyph atlas is full; glyph {key:?} not drawn");
            return None;
        };
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &self.texture,
                mip_level: 0,
                origin: wgpu::Origin3d { x: atlas_x, y: atlas_y, z: 0 },
                aspect: wgpu::TextureAspect::All,
            },
            &image.data,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(width),
                rows_per_image: Some(height),
            },
            wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
        );
        Some(AtlasGlyph {
            left: image.placement.left,
            top: image.placement.top,
            width,
            height,
            atlas_x,
            atlas_y,
        })
    }

    /// Shelf packing: the first shelf tall enough with room, else a new shelf.
    fn allocate(&mut self, width: u32, height: u32) -> Option<(u32, u32)> {
        let (padded_width, padded_height) = (width + PADDING, height + PADDING);
        if padded_width > ATLAS_SIZE {
            return None;
        }
        if let Some(shelf) = self
            .shelves
            .iter_mut()
            .find(|shelf| shelf.height >= padded_height && shelf.cursor_x + padded_width <= ATLAS_SIZE)
        {
            let x = shelf.cursor_x;
            shelf.cursor_x += padded_width;
            return Some((x, shelf.y));
        }
        let y = self.shelves.last().map_or(0, |shelf| shelf.y + shelf.height);
        if y + padded_height > ATLAS_SIZE {
            return None;
        }
        self.shelves.push(Shelf { y, height: padded_height, cursor_x: padded_width });
        Some((0, y))
    }
}
