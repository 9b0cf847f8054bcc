//! The wgpu renderer: draws a frame's batches into an offscreen texture and reads it back.

use armature_api::{ColorF, DeviceIntSize, DisplayList};
use wgpu::util::DeviceExt;

use crate::device::GpuDevice;
use crate::fonts::FontStore;
use crate::glyph_atlas::GlyphAtlas;
use crate::readback;
use crate::replay::{self, BatchKind, Instance, ReplayError};

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
}

/// Pipelines and long-lived resources of the GPU process.
pub struct Renderer {
    gpu: GpuDevice,
    solid_pipeline: wgpu::RenderPipeline,
    glyph_pipeline: wgpu::RenderPipeline,
    globals: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    atlas: GlyphAtlas,
}

impl Renderer {
    /// Compiles the pipelines on a device.
    pub fn new(gpu: GpuDevice) -> Renderer {
        let device = &gpu.device;
        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("primitives"),
            source: wgpu::ShaderSource::Wgsl(include_str!("shaders.wgsl").into()),
        });
        let bind_group_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("globals + atlas"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::VERTEX,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: false },
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
            ],
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("primitives"),
            bind_group_layouts: &[Some(&bind_group_layout)],
            immediate_size: 0,
        });
        let instance_layout = wgpu::VertexBufferLayout {
            array_stride: std::mem::size_of::<Instance>() as wgpu::BufferAddress,
            step_mode: wgpu::VertexStepMode::Instance,
            attributes: &wgpu::vertex_attr_array![0 => Float32x4, 1 => Float32x4, 2 => Float32x4],
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
        let globals = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("globals"),
            size: 16,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let atlas = GlyphAtlas::new(device);
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("globals + atlas"),
            layout: &bind_group_layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: globals.as_entire_binding() },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::TextureView(atlas.view()),
                },
            ],
        });
        Renderer { gpu, solid_pipeline, glyph_pipeline, globals, bind_group, atlas }
    }

    /// The device this renderer draws with.
    pub fn gpu(&self) -> &GpuDevice {
        &self.gpu
    }

    /// Renders a display list into a new offscreen texture and reads the pixels back.
    pub fn render(&mut self, list: &DisplayList, fonts: &FontStore) -> Result<RenderedFrame, RenderError> {
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
        let result = self.draw(list, fonts, size);
        let errors = [pollster::block_on(validation.pop()), pollster::block_on(out_of_memory.pop())];
        if let Some(error) = errors.into_iter().flatten().next() {
            return Err(RenderError::Gpu(error.to_string()));
        }
        result
    }

    fn draw(
        &mut self,
        list: &DisplayList,
        fonts: &FontStore,
        size: DeviceIntSize,
    ) -> Result<RenderedFrame, RenderError> {
        let frame = replay::replay(list, fonts, &mut self.atlas, &self.gpu.queue)?;
        let device = &self.gpu.device;
        let target = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("frame"),
            size: wgpu::Extent3d { width: size.width, height: size.height, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: TARGET_FORMAT,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = target.create_view(&wgpu::TextureViewDescriptor::default());
        let globals = [size.width as f32, size.height as f32, 0.0, 0.0];
        self.gpu.queue.write_buffer(&self.globals, 0, bytemuck::cast_slice(&globals));
        let instances = (!frame.instances.is_empty()).then(|| {
            device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("instances"),
                contents: bytemuck::cast_slice(&frame.instances),
                usage: wgpu::BufferUsages::VERTEX,
            })
        });

        let mut encoder =
            device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("frame") });
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("frame"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(clear_color(list.background)),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            if let Some(instances) = &instances {
                pass.set_bind_group(0, &self.bind_group, &[]);
                pass.set_vertex_buffer(0, instances.slice(..));
                for batch in &frame.batches {
                    pass.set_pipeline(match batch.kind {
                        BatchKind::Solid => &self.solid_pipeline,
                        BatchKind::Glyph => &self.glyph_pipeline,
                    });
                    pass.draw(0..4, batch.instances.clone());
                }
            }
        }
        let rgba = readback::read_texture(device, &self.gpu.queue, encoder, &target, size)
            .map_err(RenderError::Readback)?;
        Ok(RenderedFrame { size, rgba, draw_calls: frame.batches.len() })
    }
}

/// The clear colour, premultiplied like everything the pipelines write.
fn clear_color(color: ColorF) -> wgpu::Color {
    let [r, g, b, a] = color.premultiplied().map(|channel| f64::from(channel.clamp(0.0, 1.0)));
    wgpu::Color { r, g, b, a }
}
