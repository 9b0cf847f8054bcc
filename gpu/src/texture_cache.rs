//! The texture cache: every texture that display items sample, owned by the renderer.
//!
//! As in WebRender's texture cache, small images share RGBA8 pages packed by etagere, so a
//! page of icons draws in one batch; large images and image buffers (canvases, which are
//! also render targets) get textures of their own. Entries are uploaded once, reused every
//! frame, and freed when content deletes them or disconnects.

use armature_api::DeviceIntSize;
use etagere::{AllocId, AtlasAllocator, size2};

/// Side of a shared page in texels.
pub const PAGE_SIZE: u32 = 1024;
/// Images at most this large on both sides go into shared pages.
pub const MAX_SHARED_SIDE: u32 = 256;
/// The format of every cached texture: premultiplied RGBA8, as the pipelines blend.
pub const CACHE_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// A texture in the cache: a shared page or a standalone texture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "capture", derive(serde::Serialize))]
pub struct CacheTextureId(u32);

/// Where one image lives in the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheEntry {
    /// The texture holding it.
    pub texture: CacheTextureId,
    /// Its top-left texel in that texture.
    pub origin: (u32, u32),
    /// Its size in texels.
    pub size: DeviceIntSize,
    /// Its slot in a shared page, if it is in one.
    alloc: Option<AllocId>,
}

struct CacheTexture {
    texture: wgpu::Texture,
    bind_group: wgpu::BindGroup,
    size: DeviceIntSize,
    /// Shared pages only: what is allocated where.
    allocator: Option<AtlasAllocator>,
}

/// What the cache needs of the device to make textures.
pub struct TextureCache {
    device: wgpu::Device,
    queue: wgpu::Queue,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    /// Slot per id; `None` once freed (ids are reused through `free_ids`).
    textures: Vec<Option<CacheTexture>>,
    free_ids: Vec<u32>,
    /// Shared pages, in allocation-preference order.
    pages: Vec<CacheTextureId>,
    bytes_uploaded: u64,
}

impl TextureCache {
    /// An empty cache making textures on `device`, sampled through `layout` with `sampler`.
    pub fn new(
        device: wgpu::Device,
        queue: wgpu::Queue,
        layout: wgpu::BindGroupLayout,
        sampler: wgpu::Sampler,
    ) -> TextureCache {
        TextureCache {
            device,
            queue,
            layout,
            sampler,
            textures: Vec::new(),
            free_ids: Vec::new(),
            pages: Vec::new(),
            bytes_uploaded: 0,
        }
    }

    /// Adds an image of premultiplied RGBA8 pixels (`size.width * size.height * 4` bytes).
    pub fn add_image(&mut self, size: DeviceIntSize, premultiplied_rgba: &[u8]) -> CacheEntry {
        let entry = if size.width <= MAX_SHARED_SIDE && size.height <= MAX_SHARED_SIDE {
            self.allocate_shared(size)
        } else {
            let texture = self.add_texture("image", size, None);
            CacheEntry { texture, origin: (0, 0), size, alloc: None }
        };
        self.upload(&entry, premultiplied_rgba);
        entry
    }

    /// Adds a transparent texture of its own that can also be drawn into (an image buffer).
    pub fn add_render_target(&mut self, size: DeviceIntSize) -> CacheEntry {
        // wgpu zero-fills new textures, so an untouched buffer is transparent.
        let texture = self.add_texture("image buffer", size, None);
        CacheEntry { texture, origin: (0, 0), size, alloc: None }
    }

    /// Frees an entry; its texels may be reused at once.
    pub fn free(&mut self, entry: CacheEntry) {
        match entry.alloc {
            Some(alloc) => {
                if let Some(Some(page)) = self.textures.get_mut(entry.texture.0 as usize)
                    && let Some(allocator) = &mut page.allocator
                {
                    allocator.deallocate(alloc);
                    // Keep one page for the next images; free other pages once empty.
                    if allocator.is_empty() && self.pages.first() != Some(&entry.texture) {
                        self.pages.retain(|&page| page != entry.texture);
                        self.remove_texture(entry.texture);
                    }
                }
            }
            None => self.remove_texture(entry.texture),
        }
    }

    /// The bind group sampling a texture, if it exists.
    pub fn bind_group(&self, id: CacheTextureId) -> Option<&wgpu::BindGroup> {
        self.texture(id).map(|texture| &texture.bind_group)
    }

    /// The entry's rect in normalised texture coordinates: x, y, width, height.
    pub fn uv_rect(&self, entry: &CacheEntry) -> [f32; 4] {
        let Some(texture) = self.texture(entry.texture) else { return [0.0, 0.0, 1.0, 1.0] };
        let (width, height) = (texture.size.width as f32, texture.size.height as f32);
        [
            entry.origin.0 as f32 / width,
            entry.origin.1 as f32 / height,
            entry.size.width as f32 / width,
            entry.size.height as f32 / height,
        ]
    }

    /// The largest texture side the device allows.
    pub fn max_texture_side(&self) -> u32 {
        self.device.limits().max_texture_dimension_2d
    }

    /// Textures alive: shared pages plus standalone textures.
    pub fn texture_count(&self) -> usize {
        self.textures.iter().filter(|slot| slot.is_some()).count()
    }

    /// Shared pages alive.
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Bytes written to textures since the last call.
    pub fn take_bytes_uploaded(&mut self) -> u64 {
        std::mem::take(&mut self.bytes_uploaded)
    }

    /// The wgpu texture behind an id (captures read image buffers back through it).
    pub fn wgpu_texture(&self, id: CacheTextureId) -> Option<&wgpu::Texture> {
        self.texture(id).map(|texture| &texture.texture)
    }

    fn texture(&self, id: CacheTextureId) -> Option<&CacheTexture> {
        self.textures.get(id.0 as usize).and_then(Option::as_ref)
    }

    fn allocate_shared(&mut self, size: DeviceIntSize) -> CacheEntry {
        let request = size2(size.width as i32, size.height as i32);
        for &page in &self.pages {
            let allocation = self.textures[page.0 as usize]
                .as_mut()
                .and_then(|texture| texture.allocator.as_mut())
                .and_then(|allocator| allocator.allocate(request));
            if let Some(allocation) = allocation {
                return shared_entry(page, size, allocation);
            }
        }
        let mut allocator = AtlasAllocator::new(size2(PAGE_SIZE as i32, PAGE_SIZE as i32));
        // An empty page always fits an image of at most MAX_SHARED_SIDE per side.
        let allocation = allocator.allocate(request);
        let page = self.add_texture("image page", DeviceIntSize::new(PAGE_SIZE, PAGE_SIZE), Some(allocator));
        self.pages.push(page);
        match allocation {
            Some(allocation) => shared_entry(page, size, allocation),
            None => CacheEntry { texture: page, origin: (0, 0), size, alloc: None },
        }
    }

    fn add_texture(
        &mut self,
        label: &str,
        size: DeviceIntSize,
        allocator: Option<AtlasAllocator>,
    ) -> CacheTextureId {
        let texture = self.device.create_texture(&wgpu::TextureDescriptor {
            label: Some(label),
            size: wgpu::Extent3d { width: size.width, height: size.height, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: CACHE_FORMAT,
            usage: wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_DST
                | wgpu::TextureUsages::COPY_SRC
                | wgpu::TextureUsages::RENDER_ATTACHMENT,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let bind_group = texture_bind_group(&self.device, &self.layout, &view, &self.sampler, label);
        let slot = Some(CacheTexture { texture, bind_group, size, allocator });
        match self.free_ids.pop() {
            Some(id) => {
                self.textures[id as usize] = slot;
                CacheTextureId(id)
            }
            None => {
                self.textures.push(slot);
                CacheTextureId(self.textures.len() as u32 - 1)
            }
        }
    }

    fn remove_texture(&mut self, id: CacheTextureId) {
        if let Some(slot) = self.textures.get_mut(id.0 as usize)
            && slot.take().is_some()
        {
            self.free_ids.push(id.0);
        }
    }

    fn upload(&mut self, entry: &CacheEntry, pixels: &[u8]) {
        let Some(texture) = self.texture(entry.texture) else { return };
        self.queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &texture.texture,
                mip_level: 0,
                origin: wgpu::Origin3d { x: entry.origin.0, y: entry.origin.1, z: 0 },
                aspect: wgpu::TextureAspect::All,
            },
            pixels,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(entry.size.width * 4),
                rows_per_image: Some(entry.size.height),
            },
            wgpu::Extent3d { width: entry.size.width, height: entry.size.height, depth_or_array_layers: 1 },
        );
        self.bytes_uploaded += pixels.len() as u64;
    }
}

fn shared_entry(page: CacheTextureId, size: DeviceIntSize, allocation: etagere::Allocation) -> CacheEntry {
    let min = allocation.rectangle.min;
    CacheEntry { texture: page, origin: (min.x as u32, min.y as u32), size, alloc: Some(allocation.id) }
}

/// A bind group of one texture and the shared sampler, for the textured pipelines.
pub fn texture_bind_group(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    view: &wgpu::TextureView,
    sampler: &wgpu::Sampler,
    label: &str,
) -> wgpu::BindGroup {
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout,
        entries: &[
            wgpu::BindGroupEntry { binding: 0, resource: wgpu::BindingResource::TextureView(view) },
            wgpu::BindGroupEntry { binding: 1, resource: wgpu::BindingResource::Sampler(sampler) },
        ],
    })
}
