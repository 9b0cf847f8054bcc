//! The wgpu renderer: runs replay and batching, then draws each batch with one instanced
//! call into pooled offscreen targets (the page, and one per opacity group, groups first)
//! and reads the page back. Instances, uniforms, targets and the readback buffer are reused
//! from frame to frame; only what changed is uploaded.

use std::time::Instant;

use armature_api::{
    ColorF, DeviceIntSize, DisplayList, FrameStats, IdNamespace, ImageBufferId, ProbePoint, ResourceUpdate,
    SharedProbe,
};

use crate::batch::{self, BlendMode, PrimitiveKind, SurfaceIndex, TextureSource};
use crate::device::GpuDevice;
use crate::glyph_atlas::{GlyphAtlas, INITIAL_ATLAS_SIDE, MAX_ATLAS_SIDE};
use crate::readback;
use crate::replay::{self, Instance, ReplayError};
use crate::resources::{ContentResources, ResourceError};
use crate::texture_cache::{TextureCache, texture_bind_group};

/// The render-target format: 8-bit RGBA holding sRGB values, blended as browsers do.
pub const TARGET_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// Why a frame could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The display list is invalid.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The list's device pixel ratio is out of range.
    #[error(transparent)]
    DevicePixelRatio(#[from] armature_api::RatioOutOfRange),
    /// The viewport is empty or, at its device pixel ratio, larger than the device allows.
    #[error(
        "viewport {width}x{height} at device pixel ratio {ratio} is outside 1..={max} device pixels per side"
    )]
    ViewportSize {
        /// Requested width in layout pixels.
        width: f32,
        /// Requested height in layout pixels.
        height: f32,
        /// The list's device pixel ratio.
        ratio: armature_api::DevicePixelRatio,
        /// The device's limit.
        max: u32,
    },
    /// wgpu reported an error while drawing (out of memory, a lost device).
    #[error("the GPU failed while drawing the frame: {0}")]
    Gpu(String),
    /// Reading the frame back failed.
    #[error("reading the frame back from the GPU failed: {0}")]
    Readback(String),
    /// Presenting to the attached window failed (not the display list's fault).
    #[cfg(feature = "window")]
    #[error(transparent)]
    Window(#[from] crate::window::WindowError),
}

/// Where a rendered frame goes.
enum Output<'a> {
    /// Read back into memory.
    Readback,
    /// Drawn over an image buffer's contents (canvas drawing), left on the GPU.
    Buffer(wgpu::TextureView),
    /// Presented in a window.
    #[cfg(feature = "window")]
    Window(&'a mut crate::window::WindowPresenter),
    /// Without windows there is nowhere else; this only carries the lifetime.
    #[cfg(not(feature = "window"))]
    #[allow(dead_code)]
    Never(std::marker::PhantomData<&'a ()>),
}

/// A rendered frame's pixels and what it cost.
pub struct RenderedFrame {
    /// Size in pixels.
    pub size: DeviceIntSize,
    /// Tightly packed RGBA8 rows; empty for a frame presented in a window.
    pub rgba: Vec<u8>,
    /// Counts and stage times.
    pub stats: FrameStats,
}

/// What the renderer built for a frame: kept for FRAME captures when asked.
#[derive(Clone, Debug, Default)]
pub struct FrameDetails {
    /// Replay's output: each surface's primitives in paint order.
    pub primitives: batch::FramePrimitives,
    /// Batching's output: the draw calls.
    pub batches: batch::FrameBatches,
}

/// Frames a pooled render target survives unused before it is freed.
const TARGET_RETAIN_FRAMES: u64 = 2;
/// Byte stride of per-surface uniforms (wgpu's minimum uniform offset alignment).
const GLOBALS_STRIDE: u64 = 256;

/// A render target kept across frames (WebRender's render-target pool).
struct PooledTarget {
    texture: wgpu::Texture,
    view: wgpu::TextureView,
    /// Samples this target when it is an opacity group composited into its parent.
    bind_group: wgpu::BindGroup,
    size: DeviceIntSize,
    last_used: u64,
}

/// A buffer that grows (to powers of two) and is otherwise reused every frame.
struct GrowableBuffer {
    buffer: Option<wgpu::Buffer>,
    label: &'static str,
    usage: wgpu::BufferUsages,
}

impl GrowableBuffer {
    fn new(label: &'static str, usage: wgpu::BufferUsages) -> GrowableBuffer {
        GrowableBuffer { buffer: None, label, usage: usage | wgpu::BufferUsages::COPY_DST }
    }

    /// The buffer, at least `size` bytes; `true` if it had to be replaced.
    fn reserve(&mut self, device: &wgpu::Device, size: u64) -> (&wgpu::Buffer, bool) {
        if self.buffer.as_ref().is_some_and(|buffer| buffer.size() < size) {
            self.buffer = None;
        }
        let replaced = self.buffer.is_none();
        let (label, usage) = (self.label, self.usage);
        let buffer = self.buffer.get_or_insert_with(|| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: size.max(256).next_power_of_two(),
                usage,
                mapped_at_creation: false,
            })
        });
        (buffer, replaced)
    }
}

/// Pipelines and long-lived resources of the GPU process.
pub struct Renderer {
    gpu: GpuDevice,
    /// Opaque rects: blending off.
    rect_opaque_pipeline: wgpu::RenderPipeline,
    rect_pipeline: wgpu::RenderPipeline,
    rounded_rect_pipeline: wgpu::RenderPipeline,
    border_pipeline: wgpu::RenderPipeline,
    glyph_pipeline: wgpu::RenderPipeline,
    image_pipeline: wgpu::RenderPipeline,
    globals_layout: wgpu::BindGroupLayout,
    texture_layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    atlas: GlyphAtlas,
    cache: TextureCache,
    instances: GrowableBuffer,
    globals: GrowableBuffer,
    globals_bind_group: Option<wgpu::BindGroup>,
    readback: GrowableBuffer,
    targets: Vec<PooledTarget>,
    frame: u64,
    probe: SharedProbe,
    /// Keep each frame's [`FrameDetails`] (a FRAME capture is on).
    keep_details: bool,
    details: Option<FrameDetails>,
}

/// Sizes of the renderer's caches.
#[derive(Clone, Copy, Debug)]
pub struct RendererOptions {
    /// Side the glyph atlas starts at, in texels.
    pub glyph_atlas_initial_side: u32,
    /// Side the glyph atlas may grow to before it evicts instead.
    pub glyph_atlas_max_side: u32,
}

impl Default for RendererOptions {
    fn default() -> RendererOptions {
        RendererOptions { glyph_atlas_initial_side: INITIAL_ATLAS_SIDE, glyph_atlas_max_side: MAX_ATLAS_SIDE }
    }
}

impl Renderer {
    /// Compiles the pipelines on a device.
    pub fn new(gpu: GpuDevice) -> Renderer {
        Renderer::with_options(gpu, RendererOptions::default())
    }

    /// Reports this renderer's progress through a frame ([`ProbePoint::MidFrame`],
    /// [`ProbePoint::Readback`]) to `probe`.
    pub fn set_probe(&mut self, probe: SharedProbe) {
        self.probe = probe;
    }

    /// Compiles the pipelines on a device, with cache sizes of choice.
    pub fn with_options(gpu: GpuDevice, options: RendererOptions) -> Renderer {
        let device = &gpu.device;
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("primitives"),
            source: wgpu::ShaderSource::Wgsl(include_str!("shaders.wgsl").into()),
        });
        let globals_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("globals"),
            entries: &[wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::VERTEX,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    // One buffer for every surface of a frame, each at its own offset.
                    has_dynamic_offset: true,
                    min_binding_size: wgpu::BufferSize::new(16),
                },
                count: None,
            }],
        });
        let texture_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("source texture"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: true },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
            ],
        });
        let solid_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("solid primitives"),
            bind_group_layouts: &[Some(&globals_layout)],
            immediate_size: 0,
        });
        let textured_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("textured primitives"),
            bind_group_layouts: &[Some(&globals_layout), Some(&texture_layout)],
            immediate_size: 0,
        });
        let instance_layout = wgpu::VertexBufferLayout {
            array_stride: std::mem::size_of::<Instance>() as wgpu::BufferAddress,
            step_mode: wgpu::VertexStepMode::Instance,
            attributes: &wgpu::vertex_attr_array![
                0 => Float32x4, 1 => Float32x4, 2 => Float32x4, 3 => Float32x4, 4 => Float32x4,
                5 => Float32x4, 6 => Uint32
            ],
        };
        let pipeline =
            |label: &str, layout: &wgpu::PipelineLayout, fragment_entry: &str, blend: BlendMode| {
                let blend = match blend {
                    BlendMode::Opaque => None,
                    BlendMode::PremultipliedAlpha => Some(wgpu::BlendState::PREMULTIPLIED_ALPHA_BLENDING),
                };
                device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
                    label: Some(label),
                    layout: Some(layout),
                    vertex: wgpu::VertexState {
                        module: &shader,
                        entry_point: Some("vs_main"),
                        compilation_options: Default::default(),
                        buffers: &[Some(instance_layout.clone())],
                    },
                    primitive: wgpu::PrimitiveState {
                        topology: wgpu::PrimitiveTopology::TriangleStrip,
                        ..Default::default()
                    },
                    depth_stencil: None,
                    multisample: wgpu::MultisampleState::default(),
                    fragment: Some(wgpu::FragmentState {
                        module: &shader,
                        entry_point: Some(fragment_entry),
                        compilation_options: Default::default(),
                        targets: &[Some(wgpu::ColorTargetState {
                            format: TARGET_FORMAT,
                            blend,
                            write_mask: wgpu::ColorWrites::ALL,
                        })],
                    }),
                    multiview_mask: None,
                    cache: None,
                })
            };
        let alpha = BlendMode::PremultipliedAlpha;
        let rect_opaque_pipeline = pipeline("rect (opaque)", &solid_layout, "fs_rect", BlendMode::Opaque);
        let rect_pipeline = pipeline("rect", &solid_layout, "fs_rect", alpha);
        let rounded_rect_pipeline = pipeline("rounded rect", &solid_layout, "fs_rounded_rect", alpha);
        let border_pipeline = pipeline("border", &solid_layout, "fs_border", alpha);
        let glyph_pipeline = pipeline("glyph", &textured_layout, "fs_glyph", alpha);
        let image_pipeline = pipeline("image", &textured_layout, "fs_image", alpha);
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("linear clamp"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        let atlas = GlyphAtlas::new(
            device,
            &gpu.queue,
            &texture_layout,
            &sampler,
            options.glyph_atlas_initial_side,
            options.glyph_atlas_max_side,
        );
        let cache =
            TextureCache::new(device.clone(), gpu.queue.clone(), texture_layout.clone(), sampler.clone());
        Renderer {
            gpu,
            rect_opaque_pipeline,
            rect_pipeline,
            rounded_rect_pipeline,
            border_pipeline,
            glyph_pipeline,
            image_pipeline,
            globals_layout,
            texture_layout,
            sampler,
            atlas,
            cache,
            instances: GrowableBuffer::new("instances", wgpu::BufferUsages::VERTEX),
            globals: GrowableBuffer::new("globals", wgpu::BufferUsages::UNIFORM),
            globals_bind_group: None,
            readback: GrowableBuffer::new("readback", wgpu::BufferUsages::MAP_READ),
            targets: Vec::new(),
            frame: 0,
            probe: armature_api::probe::no_probe(),
            keep_details: false,
            details: None,
        }
    }

    /// The device this renderer draws with.
    pub fn gpu(&self) -> &GpuDevice {
        &self.gpu
    }

    /// The glyph atlas.
    pub fn glyph_atlas(&self) -> &GlyphAtlas {
        &self.atlas
    }

    /// The texture cache.
    pub fn texture_cache(&self) -> &TextureCache {
        &self.cache
    }

    /// Whether to keep what each frame built (primitives and batches) for a FRAME capture.
    pub fn keep_frame_details(&mut self, keep: bool) {
        self.keep_details = keep;
        if !keep {
            self.details = None;
        }
    }

    /// What the last frame built, if [`Renderer::keep_frame_details`] is on.
    pub fn frame_details(&self) -> Option<&FrameDetails> {
        self.details.as_ref()
    }

    /// Render targets pooled for reuse.
    pub fn pooled_targets(&self) -> usize {
        self.targets.len()
    }

    /// Validates and applies one resource update from the content process owning `namespace`.
    pub fn update_resources(
        &mut self,
        resources: &mut ContentResources,
        update: ResourceUpdate,
        namespace: IdNamespace,
    ) -> Result<(), ResourceError> {
        resources.apply(update, namespace, &mut self.cache, &mut self.atlas)
    }

    /// Frees what a content process that went away held.
    pub fn release(&mut self, resources: ContentResources) {
        resources.release(&mut self.cache, &mut self.atlas);
    }

    /// Renders a display list into an offscreen texture and reads the pixels back.
    pub fn render(
        &mut self,
        list: &DisplayList,
        resources: &ContentResources,
    ) -> Result<RenderedFrame, RenderError> {
        self.render_to(list, resources, Output::Readback)
    }

    /// Renders a display list and presents it in a window; the frame has no pixels.
    #[cfg(feature = "window")]
    pub fn present(
        &mut self,
        list: &DisplayList,
        resources: &ContentResources,
        window: &mut crate::window::WindowPresenter,
    ) -> Result<RenderedFrame, RenderError> {
        self.render_to(list, resources, Output::Window(window))
    }

    /// Draws a display list over image buffer `buffer`'s contents (its viewport must be the
    /// buffer's size); the pixels stay on the GPU.
    pub fn render_into_buffer(
        &mut self,
        list: &DisplayList,
        resources: &ContentResources,
        buffer: ImageBufferId,
    ) -> Result<FrameStats, RenderError> {
        let view = resources
            .buffers
            .get(&buffer)
            .and_then(|entry| self.cache.wgpu_texture(entry.texture))
            .map(|texture| texture.create_view(&wgpu::TextureViewDescriptor::default()))
            .ok_or(RenderError::Replay(ReplayError::UnknownImageBuffer { item: 0, buffer }))?;
        Ok(self.render_to(list, resources, Output::Buffer(view))?.stats)
    }

    /// Makes whole pixels of image buffer `buffer` transparent: `rect` is x0, y0, x1, y1,
    /// clamped to the buffer.
    pub fn clear_buffer_rect(&mut self, resources: &ContentResources, buffer: ImageBufferId, rect: [u32; 4]) {
        let Some(entry) = resources.buffers.get(&buffer) else { return };
        let Some(texture) = self.cache.wgpu_texture(entry.texture) else { return };
        let [x0, y0] = [rect[0].min(entry.size.width), rect[1].min(entry.size.height)];
        let [x1, y1] = [rect[2].clamp(x0, entry.size.width), rect[3].clamp(y0, entry.size.height)];
        if x1 == x0 || y1 == y0 {
            return;
        }
        let zeros = vec![0u8; ((x1 - x0) * (y1 - y0) * 4) as usize];
        self.gpu.queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture,
                mip_level: 0,
                origin: wgpu::Origin3d { x: x0, y: y0, z: 0 },
                aspect: wgpu::TextureAspect::All,
            },
            &zeros,
            wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some((x1 - x0) * 4),
                rows_per_image: None,
            },
            wgpu::Extent3d { width: x1 - x0, height: y1 - y0, depth_or_array_layers: 1 },
        );
        // Queue writes run before the next submission: submit now so later drawing follows.
        self.gpu.queue.submit([]);
    }

    fn render_to(
        &mut self,
        list: &DisplayList,
        resources: &ContentResources,
        output: Output<'_>,
    ) -> Result<RenderedFrame, RenderError> {
        let max = self.gpu.max_texture_side();
        let (width, height) = (list.viewport.width, list.viewport.height);
        let ratio = list.device_pixel_ratio.checked()?;
        let in_range = |side: f32| side.is_finite() && side >= 1.0 && side * ratio.get() <= max as f32;
        if !in_range(width) || !in_range(height) {
            return Err(RenderError::ViewportSize { width, height, ratio, max });
        }
        let size = list.device_size();
        // Errors of this frame are caught here and returned, never left to a global handler.
        let out_of_memory = self.gpu.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let result = self.draw(list, resources, size, output);
        let errors = [pollster::block_on(validation.pop()), pollster::block_on(out_of_memory.pop())];
        if let Some(error) = errors.into_iter().flatten().next() {
            return Err(RenderError::Gpu(error.to_string()));
        }
        result
    }

    fn draw(
        &mut self,
        list: &DisplayList,
        resources: &ContentResources,
        size: DeviceIntSize,
        output: Output<'_>,
    ) -> Result<RenderedFrame, RenderError> {
        self.frame += 1;
        self.atlas.begin_frame();
        let mut stats = FrameStats { items: list.items.len() as u32, ..FrameStats::default() };

        let started = Instant::now();
        let mut primitives = replay::replay(list, resources, &mut self.atlas, &self.cache)?;
        if self.atlas.overflowed() {
            // Glyphs of earlier frames fragment the atlas: start it afresh with this frame's.
            self.atlas.clear();
            primitives = replay::replay(list, resources, &mut self.atlas, &self.cache)?;
            if self.atlas.overflowed() {
                tracing::warn!(
                    target: "armature::gpu",
                    "this frame's glyphs do not fit a {0}x{0} glyph atlas; some are not drawn",
                    self.atlas.side()
                );
            }
        }
        let replayed = Instant::now();
        let frame = batch::build(&primitives);
        let batched = Instant::now();
        for (index, surface) in frame.surfaces.iter().enumerate() {
            for batch in &surface.batches {
                let count = batch.instances.len();
                tracing::debug!(target: "armature::gpu::batch", "surface {index}: {:?} ×{count}", batch.key);
            }
        }
        stats.primitives = primitives.primitive_count() as u32;
        stats.batches = frame.batch_count() as u32;
        stats.surfaces = frame.order.len() as u32;
        stats.cpu.replay_us = micros(replayed - started);
        stats.cpu.batch_us = micros(batched - replayed);

        let device = self.gpu.device.clone();
        let queue = self.gpu.queue.clone();
        let mut uploaded = 0;
        let instance_bytes: &[u8] = bytemuck::cast_slice(&frame.instances);
        if !instance_bytes.is_empty() {
            let (buffer, _) = self.instances.reserve(&device, instance_bytes.len() as u64);
            queue.write_buffer(buffer, 0, instance_bytes);
            uploaded += instance_bytes.len() as u64;
        }
        // Each surface's globals: target size, and the page pixel at its top-left.
        let mut globals = vec![0u8; frame.surfaces.len() * GLOBALS_STRIDE as usize];
        let target_sizes: Vec<(DeviceIntSize, [f32; 2])> = frame
            .surfaces
            .iter()
            .enumerate()
            .map(|(index, surface)| {
                if index == 0 {
                    // The page surface's origin is the scroll offset.
                    (size, [surface.bounds[0], surface.bounds[1]])
                } else {
                    let [x0, y0, x1, y1] = surface.bounds;
                    let size = DeviceIntSize::new(((x1 - x0) as u32).max(1), ((y1 - y0) as u32).max(1));
                    (size, [x0, y0])
                }
            })
            .collect();
        for (index, (target_size, origin)) in target_sizes.iter().enumerate() {
            let values = [target_size.width as f32, target_size.height as f32, origin[0], origin[1]];
            let offset = index * GLOBALS_STRIDE as usize;
            globals[offset..offset + 16].copy_from_slice(bytemuck::cast_slice(&values));
        }
        let (globals_buffer, replaced) = self.globals.reserve(&device, globals.len() as u64);
        queue.write_buffer(globals_buffer, 0, &globals);
        uploaded += globals.len() as u64;
        if replaced || self.globals_bind_group.is_none() {
            self.globals_bind_group = Some(device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("globals"),
                layout: &self.globals_layout,
                entries: &[wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: globals_buffer,
                        offset: 0,
                        size: wgpu::BufferSize::new(16),
                    }),
                }],
            }));
        }

        // One target per surface from the pool; groups render first, so their textures
        // hold their content when a parent composites them.
        let mut surface_targets: Vec<Option<usize>> = vec![None; frame.surfaces.len()];
        let mut encoder =
            device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("frame") });
        let mut page_target = None;
        let buffer_view = match &output {
            Output::Buffer(view) => Some(view.clone()),
            _ => None,
        };
        for &SurfaceIndex(surface_index) in &frame.order {
            let Some(surface) = frame.surfaces.get(surface_index) else { continue };
            let (target_size, _) = target_sizes[surface_index];
            // An image buffer's page surface is the buffer itself, drawn over (not cleared).
            let (view, load) = match (&buffer_view, surface_index) {
                (Some(view), 0) => (view, wgpu::LoadOp::Load),
                _ => {
                    let target = self.acquire_target(target_size, &surface_targets);
                    surface_targets[surface_index] = Some(target);
                    let clear = if surface_index == 0 {
                        clear_color(list.background)
                    } else {
                        wgpu::Color::TRANSPARENT
                    };
                    (&self.targets[target].view, wgpu::LoadOp::Clear(clear))
                }
            };
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("surface"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations { load, store: wgpu::StoreOp::Store },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            let (Some(instances), Some(globals)) = (&self.instances.buffer, &self.globals_bind_group) else {
                continue;
            };
            if surface.batches.is_empty() {
                continue;
            }
            pass.set_bind_group(0, globals, &[(surface_index as u64 * GLOBALS_STRIDE) as u32]);
            pass.set_vertex_buffer(0, instances.slice(..));
            for batch in &surface.batches {
                let textures = match batch.key.texture {
                    TextureSource::None => None,
                    TextureSource::GlyphAtlas => Some(self.atlas.bind_group()),
                    TextureSource::Cache(id) => match self.cache.bind_group(id) {
                        Some(group) => Some(group),
                        // Replay checked every key; a missing texture means nothing to draw.
                        None => continue,
                    },
                    TextureSource::Surface(SurfaceIndex(index)) => {
                        match surface_targets.get(index).copied().flatten() {
                            Some(target) => Some(&self.targets[target].bind_group),
                            None => continue,
                        }
                    }
                };
                pass.set_pipeline(self.pipeline(batch.key.kind, batch.key.blend));
                if let Some(textures) = textures {
                    pass.set_bind_group(1, textures, &[]);
                }
                pass.draw(0..4, batch.instances.clone());
                stats.draw_calls += 1;
            }
            drop(pass);
            if surface_index == 0 {
                page_target = surface_targets[0];
            }
        }
        if buffer_view.is_some() {
            self.gpu.queue.submit([encoder.finish()]);
            stats.cpu.encode_us = micros(batched.elapsed());
            return Ok(RenderedFrame { size, rgba: Vec::new(), stats });
        }
        let Some(page_target) = page_target else {
            return Err(RenderError::Gpu("replay produced no page surface".into()));
        };
        let encoded = Instant::now();
        stats.cpu.encode_us = micros(encoded - batched);
        self.probe.reached(ProbePoint::MidFrame);

        let rgba = match output {
            Output::Readback => {
                let padded = u64::from(readback::padded_bytes_per_row(size.width)) * u64::from(size.height);
                let (readback_buffer, _) = self.readback.reserve(&device, padded);
                readback::read_texture(
                    &device,
                    &queue,
                    encoder,
                    &self.targets[page_target].texture,
                    readback_buffer,
                    size,
                    &*self.probe,
                )
                .map_err(RenderError::Readback)?
            }
            #[cfg(feature = "window")]
            Output::Window(window) => {
                window
                    .present(&self.gpu, encoder, &self.targets[page_target].view, size, list.background)
                    .map_err(RenderError::Window)?;
                Vec::new()
            }
            #[cfg(not(feature = "window"))]
            Output::Never(_) => Vec::new(),
            Output::Buffer(_) => Vec::new(),
        };
        stats.cpu.execute_us = micros(encoded.elapsed());

        // Targets unused for a while go back to the driver.
        let frame_id = self.frame;
        self.targets.retain(|target| frame_id - target.last_used <= TARGET_RETAIN_FRAMES);

        let atlas = self.atlas.take_activity();
        stats.glyphs_rasterized = atlas.rasterized;
        stats.glyphs_evicted = atlas.evicted;
        stats.glyph_atlas_side = self.atlas.side();
        stats.cached_textures = self.cache.texture_count() as u32;
        stats.bytes_uploaded = uploaded + atlas.bytes_uploaded + self.cache.take_bytes_uploaded();
        if self.keep_details {
            self.details = Some(FrameDetails { primitives, batches: frame });
        }
        Ok(RenderedFrame { size, rgba, stats })
    }

    fn pipeline(&self, kind: PrimitiveKind, blend: BlendMode) -> &wgpu::RenderPipeline {
        match (kind, blend) {
            (PrimitiveKind::Rect, BlendMode::Opaque) => &self.rect_opaque_pipeline,
            (PrimitiveKind::Rect, _) => &self.rect_pipeline,
            (PrimitiveKind::RoundedRect, _) => &self.rounded_rect_pipeline,
            (PrimitiveKind::Border, _) => &self.border_pipeline,
            (PrimitiveKind::Glyph, _) => &self.glyph_pipeline,
            (PrimitiveKind::Image | PrimitiveKind::Canvas | PrimitiveKind::Composite, _) => {
                &self.image_pipeline
            }
        }
    }

    /// A pooled target of `size` not already used this frame, or a new one.
    fn acquire_target(&mut self, size: DeviceIntSize, taken: &[Option<usize>]) -> usize {
        let free = (0..self.targets.len())
            .find(|&index| self.targets[index].size == size && !taken.contains(&Some(index)));
        let index = match free {
            Some(index) => index,
            None => {
                let device = &self.gpu.device;
                let texture = device.create_texture(&wgpu::TextureDescriptor {
                    label: Some("render target"),
                    size: wgpu::Extent3d { width: size.width, height: size.height, depth_or_array_layers: 1 },
                    mip_level_count: 1,
                    sample_count: 1,
                    dimension: wgpu::TextureDimension::D2,
                    format: TARGET_FORMAT,
                    usage: wgpu::TextureUsages::RENDER_ATTACHMENT
                        | wgpu::TextureUsages::TEXTURE_BINDING
                        | wgpu::TextureUsages::COPY_SRC,
                    view_formats: &[],
                });
                let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
                let bind_group =
                    texture_bind_group(device, &self.texture_layout, &view, &self.sampler, "render target");
                self.targets.push(PooledTarget { texture, view, bind_group, size, last_used: 0 });
                self.targets.len() - 1
            }
        };
        self.targets[index].last_used = self.frame;
        index
    }
}

fn micros(duration: std::time::Duration) -> u64 {
    duration.as_micros().try_into().unwrap_or(u64::MAX)
}

/// The clear colour, premultiplied like everything the pipelines write.
fn clear_color(color: ColorF) -> wgpu::Color {
    let [r, g, b, a] = color.premultiplied().map(|channel| f64::from(channel.clamp(0.0, 1.0)));
    wgpu::Color { r, g, b, a }
}
