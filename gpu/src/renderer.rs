//! The wgpu renderer: draws a frame's batches into offscreen textures (the page, and one per
//! opacity group, groups first) and reads the page back.

use armature_api::{ColorF, DeviceIntSize, DisplayList};
use wgpu::util::DeviceExt;

use crate::device::GpuDevice;
use crate::glyph_atlas::GlyphAtlas;
use crate::readback;
use crate::replay::{self, BatchKind, Instance, ReplayError, TextureSource};
use crate::resources::{ContentResources, GpuImage, TextureFactory};

/// The render-target format: 8-bit RGBA holding sRGB values, blended as browsers do.
pub const TARGET_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

/// Why a frame could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The display list is invalid.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// The viewport is empty or larger than the device allows.
    #[error("viewport {width}x{height} is outside 1..={max} pixels per side")]
    ViewportSize {
        /// Requested width.
        width: f32,
        /// Requested height.
        height: f32,
        /// The device's limit.
        max: u32,
    },
    /// wgpu reported an error while drawing (out of memory, a lost device).
    #[error("the GPU failed while drawing the frame: {0}")]
    Gpu(String),
    /// Reading the frame back failed.
    #[error("reading the frame back from the GPU failed: {0}")]
    Readback(String),
}

/// A rendered frame's pixels.
pub struct RenderedFrame {
    /// Size in pixels.
    pub size: DeviceIntSize,
    /// Tightly packed RGBA8 rows.
    pub rgba: Vec<u8>,
    /// How many draw calls the frame took.
    pub draw_calls: usize,
    /// How many render targets (the page plus one per opacity group) it drew into.
    pub surfaces: usize,
}

/// Pipelines and long-lived resources of the GPU process.
pub struct Renderer {
    gpu: GpuDevice,
    solid_pipeline: wgpu::RenderPipeline,
    glyph_pipeline: wgpu::RenderPipeline,
    image_pipeline: wgpu::RenderPipeline,
    globals_layout: wgpu::BindGroupLayout,
    texture_layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    atlas: GlyphAtlas,
    atlas_bind_group: wgpu::BindGroup,
}

impl Renderer {
    /// Compiles the pipelines on a device.
    pub fn new(gpu: GpuDevice) -> Renderer {
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
                    has_dynamic_offset: false,
                    min_binding_size: None,
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
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("primitives"),
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
        let pipeline = |label: &str, fragment_entry: &str| {
            device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
                label: Some(label),
                layout: Some(&layout),
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
                        blend: Some(wgpu::BlendState::PREMULTIPLIED_ALPHA_BLENDING),
                        write_mask: wgpu::ColorWrites::ALL,
                    })],
                }),
                multiview_mask: None,
                cache: None,
            })
        };
        let solid_pipeline = pipeline("solid", "fs_solid");
        let glyph_pipeline = pipeline("glyph", "fs_glyph");
        let image_pipeline = pipeline("image", "fs_image");
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("linear clamp"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        let atlas = GlyphAtlas::new(device);
        let atlas_bind_group =
            texture_bind_group(device, &texture_layout, atlas.view(), &sampler, "glyph atlas");
        Renderer {
            gpu,
            solid_pipeline,
            glyph_pipeline,
            image_pipeline,
            globals_layout,
            texture_layout,
            sampler,
            atlas,
            atlas_bind_group,
        }
    }

    /// The device this renderer draws with.
    pub fn gpu(&self) -> &GpuDevice {
        &self.gpu
    }

    /// Renders a display list into a new offscreen texture and reads the pixels back.
    pub fn render(
        &mut self,
        list: &DisplayList,
        resources: &ContentResources,
    ) -> Result<RenderedFrame, RenderError> {
        let max = self.gpu.max_texture_side();
        let (width, height) = (list.viewport.width, list.viewport.height);
        let in_range = |side: f32| side.is_finite() && side >= 1.0 && side <= max as f32;
        if !in_range(width) || !in_range(height) {
            return Err(RenderError::ViewportSize { width, height, max });
        }
        let size = DeviceIntSize::new(width.ceil() as u32, height.ceil() as u32);
        // Errors of this frame are caught here and returned, never left to a global handler.
        let out_of_memory = self.gpu.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let result = self.draw(list, resources, size);
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
    ) -> Result<RenderedFrame, RenderError> {
        let frame = replay::replay(list, resources, &mut self.atlas, &self.gpu.queue)?;
        let device = &self.gpu.device;
        let instances = (!frame.instances.is_empty()).then(|| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("instances"),
                contents: bytemuck::cast_slice(&frame.instances),
                usage: wgpu::BufferUsages::VERTEX,
            })
        });
        let mut encoder =
            device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("frame") });
        // One texture per surface; groups render first, so their textures exist when a parent
        // composites them.
        let mut surface_textures: Vec<Option<(wgpu::Texture, wgpu::BindGroup)>> =
            (0..frame.surfaces.len()).map(|_| None).collect();
        for &surface_index in &frame.order {
            let surface = &frame.surfaces[surface_index];
            let is_page = surface_index == 0;
            let (origin, target_size) = if is_page {
                ([0.0, 0.0], size)
            } else {
                let [x0, y0, x1, y1] = surface.bounds;
                ([x0, y0], DeviceIntSize::new(((x1 - x0) as u32).max(1), ((y1 - y0) as u32).max(1)))
            };
            let usage = if is_page {
                wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC
            } else {
                wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::TEXTURE_BINDING
            };
            let target = device.create_texture(&wgpu::TextureDescriptor {
                label: Some(if is_page { "frame" } else { "opacity group" }),
                size: wgpu::Extent3d {
                    width: target_size.width,
                    height: target_size.height,
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: TARGET_FORMAT,
                usage,
                view_formats: &[],
            });
            let view = target.create_view(&wgpu::TextureViewDescriptor::default());
            let globals = [target_size.width as f32, target_size.height as f32, origin[0], origin[1]];
            let globals_buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("globals"),
                contents: bytemuck::cast_slice(&globals),
                usage: wgpu::BufferUsages::UNIFORM,
            });
            let globals_bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("globals"),
                layout: &self.globals_layout,
                entries: &[wgpu::BindGroupEntry { binding: 0, resource: globals_buffer.as_entire_binding() }],
            });
            let clear = if is_page { clear_color(list.background) } else { wgpu::Color::TRANSPARENT };
            {
                let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                    label: Some("surface"),
                    color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                        view: &view,
                        depth_slice: None,
                        resolve_target: None,
                        ops: wgpu::Operations {
                            load: wgpu::LoadOp::Clear(clear),
                            store: wgpu::StoreOp::Store,
                        },
                    })],
                    depth_stencil_attachment: None,
                    timestamp_writes: None,
                    occlusion_query_set: None,
                    multiview_mask: None,
                });
                if let Some(instances) = &instances {
                    pass.set_bind_group(0, &globals_bind_group, &[]);
                    pass.set_vertex_buffer(0, instances.slice(..));
                    for batch in &surface.batches {
                        let (pipeline, textures) = match batch.kind {
                            BatchKind::Solid => (&self.solid_pipeline, Some(&self.atlas_bind_group)),
                            BatchKind::Glyph => (&self.glyph_pipeline, Some(&self.atlas_bind_group)),
                            BatchKind::Image(source) => {
                                let bind_group = match source {
                                    TextureSource::Image(key) => {
                                        resources.images.get(&key).map(|i| &i.bind_group)
                                    }
                                    TextureSource::Buffer(id) => {
                                        resources.buffers.get(&id).map(|b| &b.bind_group)
                                    }
                                    TextureSource::Surface(index) => surface_textures
                                        .get(index)
                                        .and_then(Option::as_ref)
                                        .map(|(_, group)| group),
                                };
                                (&self.image_pipeline, bind_group)
                            }
                        };
                        // Replay checked every key; a missing one here means nothing to draw.
                        let Some(textures) = textures else { continue };
                        pass.set_pipeline(pipeline);
                        pass.set_bind_group(1, textures, &[]);
                        pass.draw(0..4, batch.instances.clone());
                    }
                }
            }
            if is_page {
                let rgba = readback::read_texture(device, &self.gpu.queue, encoder, &target, size)
                    .map_err(RenderError::Readback)?;
                return Ok(RenderedFrame {
                    size,
                    rgba,
                    draw_calls: frame.draw_calls(),
                    surfaces: frame.order.len(),
                });
            }
            let bind_group =
                texture_bind_group(device, &self.texture_layout, &view, &self.sampler, "opacity group");
            surface_textures[surface_index] = Some((target, bind_group));
        }
        Err(RenderError::Gpu("replay produced no page surface".into()))
    }
}

impl TextureFactory for Renderer {
    fn create_image(&self, label: &str, size: DeviceIntSize, premultiplied_rgba: Option<&[u8]>) -> GpuImage {
        let device = &self.gpu.device;
        let extent = wgpu::Extent3d { width: size.width, height: size.height, depth_or_array_layers: 1 };
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some(label),
            size: extent,
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: TARGET_FORMAT,
            // Image buffers will also be drawn into (the canvas API); wgpu zero-fills new
            // textures, so an untouched buffer is transparent.
            usage: wgpu::TextureUsages::TEXTURE_BINDING
                | wgpu::TextureUsages::COPY_DST
                | wgpu::TextureUsages::RENDER_ATTACHMENT,
            view_formats: &[],
        });
        if let Some(pixels) = premultiplied_rgba {
            self.gpu.queue.write_texture(
                wgpu::TexelCopyTextureInfo {
                    texture: &texture,
                    mip_level: 0,
                    origin: wgpu::Origin3d::ZERO,
                    aspect: wgpu::TextureAspect::All,
                },
                pixels,
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(size.width * 4),
                    rows_per_image: Some(size.height),
                },
                extent,
            );
        }
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let bind_group = texture_bind_group(device, &self.texture_layout, &view, &self.sampler, label);
        GpuImage { texture, bind_group, size }
    }

    fn max_texture_side(&self) -> u32 {
        self.gpu.max_texture_side()
    }
}

fn texture_bind_group(
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

/// The clear colour, premultiplied like everything the pipelines write.
fn clear_color(color: ColorF) -> wgpu::Color {
    let [r, g, b, a] = color.premultiplied().map(|channel| f64::from(channel.clamp(0.0, 1.0)));
    wgpu::Color { r, g, b, a }
}
