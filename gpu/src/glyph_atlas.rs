//! The glyph atlas: glyphs rasterised with swash (grayscale AA) into one R8 texture, packed
//! by etagere's bucketed shelf allocator (as WebRender packs its glyph cache). When full, it
//! evicts the glyphs used least recently — never one the current frame uses — and then
//! grows. Owned by the GPU process's main thread.

use std::collections::HashMap;

use armature_api::FontKey;
use etagere::{AllocId, Allocation, BucketedAtlasAllocator, size2};
use swash::scale::{Render, ScaleContext, Source};
use swash::zeno::Format;

use crate::fonts::FontData;
use crate::texture_cache::texture_bind_group;

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

/// A glyph in the cache, rasterised or known to have no ink.
struct CachedGlyph {
    glyph: Option<AtlasGlyph>,
    alloc: Option<AllocId>,
    /// The last frame that drew it: eviction takes the least recently used first.
    last_used: u64,
}

/// What the atlas did since it was last asked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AtlasActivity {
    /// Glyphs rasterised.
    pub rasterized: u32,
    /// Glyphs evicted to make room.
    pub evicted: u32,
    /// Bytes written to the texture (glyph bitmaps and copies when growing).
    pub bytes_uploaded: u64,
}

/// The atlas texture and what is in it.
pub struct GlyphAtlas {
    device: wgpu::Device,
    queue: wgpu::Queue,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    texture: wgpu::Texture,
    bind_group: wgpu::BindGroup,
    side: u32,
    max_side: u32,
    allocator: BucketedAtlasAllocator,
    glyphs: HashMap<GlyphKey, CachedGlyph>,
    frame: u64,
    activity: AtlasActivity,
    /// A glyph found no room this frame.
    overflowed: bool,
    scale_context: ScaleContext,
}

/// Side the atlas starts at.
pub const INITIAL_ATLAS_SIDE: u32 = 512;
/// Side the atlas may grow to (16 MiB of R8), if the device allows it.
pub const MAX_ATLAS_SIDE: u32 = 4096;

impl GlyphAtlas {
    /// An empty atlas of `initial_side` texels, growing up to `max_side`, sampled through
    /// `layout` (texture + sampler).
    pub fn new(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        layout: &wgpu::BindGroupLayout,
        sampler: &wgpu::Sampler,
        initial_side: u32,
        max_side: u32,
    ) -> GlyphAtlas {
        let max_side = max_side.min(device.limits().max_texture_dimension_2d).max(initial_side);
        let (texture, bind_group) = create_texture(device, layout, sampler, initial_side);
        GlyphAtlas {
            device: device.clone(),
            queue: queue.clone(),
            layout: layout.clone(),
            sampler: sampler.clone(),
            texture,
            bind_group,
            side: initial_side,
            max_side,
            allocator: BucketedAtlasAllocator::new(size2(initial_side as i32, initial_side as i32)),
            glyphs: HashMap::new(),
            frame: 0,
            activity: AtlasActivity::default(),
            overflowed: false,
            scale_context: ScaleContext::new(),
        }
    }

    /// The bind group shaders sample the atlas through (it changes when the atlas grows).
    pub fn bind_group(&self) -> &wgpu::BindGroup {
        &self.bind_group
    }

    /// The atlas texture (R8 coverage), for captures.
    pub fn texture(&self) -> &wgpu::Texture {
        &self.texture
    }

    /// The atlas's side in texels.
    pub fn side(&self) -> u32 {
        self.side
    }

    /// Glyphs cached (with or without ink).
    pub fn len(&self) -> usize {
        self.glyphs.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.glyphs.is_empty()
    }

    /// Starts a frame: glyphs it uses are safe from eviction until the next one.
    pub fn begin_frame(&mut self) {
        self.frame += 1;
        self.overflowed = false;
    }

    /// Whether a glyph of this frame found no room, even after evicting and growing.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Empties the atlas (its texture stays). The shelf allocator cannot move what this
    /// frame already placed, so when a frame's glyphs fragment a full atlas the renderer
    /// clears it and replays the frame once, packing only that frame's glyphs.
    pub fn clear(&mut self) {
        let evicted = self.glyphs.values().filter(|entry| entry.alloc.is_some()).count();
        self.activity.evicted += evicted as u32;
        self.glyphs.clear();
        self.allocator.clear();
        self.overflowed = false;
    }

    /// What happened since the last call.
    pub fn take_activity(&mut self) -> AtlasActivity {
        std::mem::take(&mut self.activity)
    }

    /// Finds or rasterises a glyph; `None` for glyphs with no ink (spaces), or when even a
    /// full-grown atlas holds only glyphs this frame uses.
    pub fn get_or_insert(&mut self, key: GlyphKey, font: &FontData) -> Option<AtlasGlyph> {
        if let Some(entry) = self.glyphs.get_mut(&key) {
            entry.last_used = self.frame;
            return entry.glyph;
        }
        let mut scaler = self.scale_context.builder(font.font_ref()).size(key.size()).hint(false).build();
        let image = Render::new(&[Source::Outline]).format(Format::Alpha).render(&mut scaler, key.index);
        let Some(image) = image.filter(|image| image.placement.width > 0 && image.placement.height > 0)
        else {
            self.glyphs.insert(key, CachedGlyph { glyph: None, alloc: None, last_used: self.frame });
            return None;
        };
        let (width, height) = (image.placement.width, image.placement.height);
        let Some(allocation) = self.allocate(width, height) else {
            self.overflowed = true;
            return None;
        };
        let (atlas_x, atlas_y) = (allocation.rectangle.min.x as u32, allocation.rectangle.min.y as u32);
        self.queue.write_texture(
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
        self.activity.rasterized += 1;
        self.activity.bytes_uploaded += image.data.len() as u64;
        let glyph = AtlasGlyph {
            left: image.placement.left,
            top: image.placement.top,
            width,
            height,
            atlas_x,
            atlas_y,
        };
        self.glyphs.insert(
            key,
            CachedGlyph { glyph: Some(glyph), alloc: Some(allocation.id), last_used: self.frame },
        );
        Some(glyph)
    }

    /// Drops every glyph of a font (deleted, or its content process went away).
    pub fn remove_font(&mut self, font: FontKey) {
        let allocator = &mut self.allocator;
        self.glyphs.retain(|key, entry| {
            if key.font != font {
                return true;
            }
            if let Some(alloc) = entry.alloc {
                allocator.deallocate(alloc);
            }
            false
        });
    }

    /// Room for a bitmap: from free space, else by evicting glyphs no frame has used since
    /// the previous one (least recently used first), else by growing.
    fn allocate(&mut self, width: u32, height: u32) -> Option<Allocation> {
        if width > self.max_side || height > self.max_side {
            return None;
        }
        let request = size2(width as i32, height as i32);
        loop {
            if let Some(allocation) = self.allocator.allocate(request) {
                return Some(allocation);
            }
            if !self.evict_least_recently_used() && !self.grow() {
                return None;
            }
        }
    }

    /// Evicts a quarter (at least one) of the glyphs not used this frame, oldest first.
    /// Returns whether anything was evicted.
    fn evict_least_recently_used(&mut self) -> bool {
        let frame = self.frame;
        let mut stale: Vec<(u64, GlyphKey)> = self
            .glyphs
            .iter()
            .filter(|(_, entry)| entry.alloc.is_some() && entry.last_used < frame)
            .map(|(key, entry)| (entry.last_used, *key))
            .collect();
        if stale.is_empty() {
            return false;
        }
        stale.sort_unstable_by_key(|&(last_used, _)| last_used);
        let count = (stale.len() / 4).max(1);
        for (_, key) in &stale[..count] {
            if let Some(alloc) = self.glyphs.remove(key).and_then(|entry| entry.alloc) {
                self.allocator.deallocate(alloc);
            }
        }
        self.activity.evicted += count as u32;
        true
    }

    /// Doubles the texture (up to the maximum), copying what is there: glyphs keep their
    /// texels, so nothing cached needs to change.
    fn grow(&mut self) -> bool {
        if self.side >= self.max_side {
            return false;
        }
        let side = (self.side * 2).min(self.max_side);
        let (texture, bind_group) = create_texture(&self.device, &self.layout, &self.sampler, side);
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("grow glyph atlas") });
        encoder.copy_texture_to_texture(
            self.texture.as_image_copy(),
            texture.as_image_copy(),
            wgpu::Extent3d { width: self.side, height: self.side, depth_or_array_layers: 1 },
        );
        // Queue writes made to the old texture so far run before this submission.
        self.queue.submit([encoder.finish()]);
        self.activity.bytes_uploaded += u64::from(self.side) * u64::from(self.side);
        tracing::debug!(target: "armature::gpu", "glyph atlas grows to {side}x{side}");
        self.allocator.grow(size2(side as i32, side as i32));
        self.texture = texture;
        self.bind_group = bind_group;
        self.side = side;
        true
    }
}

fn create_texture(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    sampler: &wgpu::Sampler,
    side: u32,
) -> (wgpu::Texture, wgpu::BindGroup) {
    let texture = device.create_texture(&wgpu::TextureDescriptor {
        label: Some("glyph atlas"),
        size: wgpu::Extent3d { width: side, height: side, depth_or_array_layers: 1 },
        mip_level_count: 1,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::R8Unorm,
        usage: wgpu::TextureUsages::TEXTURE_BINDING
            | wgpu::TextureUsages::COPY_DST
            | wgpu::TextureUsages::COPY_SRC,
        view_formats: &[],
    });
    let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
    let bind_group = texture_bind_group(device, layout, &view, sampler, "glyph atlas");
    (texture, bind_group)
}
