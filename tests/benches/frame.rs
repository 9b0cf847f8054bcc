//! Frame time of the 10,000-rect page: Armature's renderer (replay, batching, one instanced
//! draw per batch, readback) against a bare wgpu program that draws the same 10,000
//! instanced quads with the simplest pipeline there is, on the same device, in the same
//! run, interleaved, both reading the frame back the same way.
//!
//! `cargo bench -p armature-tests --bench frame` prints a table: medians and 90th
//! percentiles of each, and their ratio (the goal is at most 1.5×).

use std::time::{Duration, Instant};

use armature_api::{ContentId, DeviceIntSize, DevicePixelRatio, DisplayItem, DisplayList, Viewport};
use armature_gpu::device::GpuDevice;
use armature_gpu::readback;
use armature_gpu::renderer::{Renderer, TARGET_FORMAT};
use armature_gpu::resources::ContentResources;
use wgpu::util::DeviceExt;

const RECTS: usize = 10_000;
const ROUNDS: usize = 40;

/// The bare program's whole shader: a quad per instance, one colour.
const BARE_SHADER: &str = r#"
struct Quad { @location(0) rect: vec4<f32>, @location(1) color: vec4<f32> };
struct Out { @builtin(position) position: vec4<f32>, @location(0) color: vec4<f32> };
@group(0) @binding(0) var<uniform> target_size: vec4<f32>;
@vertex fn vs(@builtin(vertex_index) vertex: u32, quad: Quad) -> Out {
    let corner = vec2<f32>(f32(vertex & 1u), f32((vertex >> 1u) & 1u));
    let p = mix(quad.rect.xy, quad.rect.zw, corner) / target_size.xy;
    var out: Out;
    out.position = vec4<f32>(p.x * 2.0 - 1.0, 1.0 - p.y * 2.0, 0.0, 1.0);
    out.color = quad.color;
    return out;
}
@fragment fn fs(input: Out) -> @location(0) vec4<f32> { return input.color; }
"#;

/// The bare program: pipeline, buffers and target made once; per frame it uploads the
/// quads, draws them, and reads the pixels back.
struct Bare {
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipeline: wgpu::RenderPipeline,
    bind_group: wgpu::BindGroup,
    quads: wgpu::Buffer,
    target: wgpu::Texture,
    readback: wgpu::Buffer,
    size: armature_api::DeviceIntSize,
}

impl Bare {
    fn new(gpu: &GpuDevice, size: armature_api::DeviceIntSize, quads: usize) -> Bare {
        let device = gpu.device.clone();
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("bare"),
            source: wgpu::ShaderSource::Wgsl(BARE_SHADER.into()),
        });
        let uniforms = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("bare size"),
            contents: bytemuck::cast_slice(&[size.width as f32, size.height as f32, 0.0, 0.0]),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: None,
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
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &layout,
            entries: &[wgpu::BindGroupEntry { binding: 0, resource: uniforms.as_entire_binding() }],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: None,
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("bare"),
            layout: Some(&pipeline_layout),
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some("vs"),
                compilation_options: Default::default(),
                buffers: &[Some(wgpu::VertexBufferLayout {
                    array_stride: 32,
                    step_mode: wgpu::VertexStepMode::Instance,
                    attributes: &wgpu::vertex_attr_array![0 => Float32x4, 1 => Float32x4],
                })],
            },
            primitive: wgpu::PrimitiveState {
                topology: wgpu::PrimitiveTopology::TriangleStrip,
                ..Default::default()
            },
            depth_stencil: None,
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some("fs"),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format: TARGET_FORMAT,
                    blend: None,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        });
        let quads = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("bare quads"),
            size: (quads * 32) as u64,
            usage: wgpu::BufferUsages::VERTEX | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let target = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("bare target"),
            size: wgpu::Extent3d { width: size.width, height: size.height, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: TARGET_FORMAT,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("bare readback"),
            size: u64::from(readback::padded_bytes_per_row(size.width)) * u64::from(size.height),
            usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        Bare { device, queue: gpu.queue.clone(), pipeline, bind_group, quads, target, readback, size }
    }

    fn frame(&self, quads: &[[f32; 8]]) -> Vec<u8> {
        self.queue.write_buffer(&self.quads, 0, bytemuck::cast_slice(quads));
        let view = self.target.create_view(&wgpu::TextureViewDescriptor::default());
        let mut encoder = self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: None,
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: &view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::WHITE),
                        store: wgpu::StoreOp::Store,
                    },
                })],
                depth_stencil_attachment: None,
                timestamp_writes: None,
                occlusion_query_set: None,
                multiview_mask: None,
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &self.bind_group, &[]);
            pass.set_vertex_buffer(0, self.quads.slice(..));
            pass.draw(0..4, 0..quads.len() as u32);
        }
        readback::read_texture(
            &self.device,
            &self.queue,
            encoder,
            &self.target,
            &self.readback,
            self.size,
            &armature_api::NoProbe,
        )
        .expect("bare readback")
    }
}

/// The page's rects as the bare program's quads: x0, y0, x1, y1, premultiplied colour.
fn quads_of(list: &DisplayList) -> Vec<[f32; 8]> {
    list.items
        .iter()
        .filter_map(|item| match item {
            DisplayItem::Rect { rect, color, .. } => {
                let [r, g, b, a] = color.premultiplied();
                let (x, y) = (rect.origin.x, rect.origin.y);
                Some([x, y, x + rect.size.width, y + rect.size.height, r, g, b, a])
            }
            _ => None,
        })
        .collect()
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

fn main() {
    // `cargo test --benches` runs this with --bench absent; a quick pass is enough there.
    let rounds = if std::env::args().any(|arg| arg == "--bench") { ROUNDS } else { 3 };
    let directory = tempfile::tempdir().expect("temp dir");
    let page = directory.path().join("rects.html");
    std::fs::write(&page, armature_tests::rect_grid_page(RECTS)).expect("write page");
    let viewport = Viewport::from_css(DeviceIntSize::new(1024, 768), DevicePixelRatio::ONE);
    let rendered = armature_content::render_page(ContentId(1), &page, viewport).expect("the page renders");

    let gpu = GpuDevice::open().expect("a Vulkan adapter (install mesa-vulkan-drivers)");
    let adapter = format!("{} ({})", gpu.summary.name, gpu.summary.driver);
    let bare = Bare::new(&gpu, armature_api::DeviceIntSize::new(1024, 768), RECTS + 16);
    let mut renderer = Renderer::new(gpu);
    let mut resources = ContentResources::default();
    let namespace = ContentId(1).namespace();
    for update in rendered.resources {
        renderer.update_resources(&mut resources, update, namespace).expect("valid resources");
    }
    let list = rendered.display_list;
    let quads = quads_of(&list);

    // Warm up both (pipelines, caches, pooled targets), and check they draw the same page.
    let ours = renderer.render(&list, &resources).expect("renders");
    let theirs = bare.frame(&quads);
    let differing = ours.rgba.chunks(4).zip(theirs.chunks(4)).filter(|(a, b)| a != b).count();
    let stats = ours.stats;

    let (mut armature, mut baseline, mut cpu) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        let frame = renderer.render(&list, &resources).expect("renders");
        armature.push(started.elapsed());
        cpu.push(Duration::from_micros(frame.stats.cpu.replay_us + frame.stats.cpu.batch_us));
        let started = Instant::now();
        std::hint::black_box(bare.frame(&quads));
        baseline.push(started.elapsed());
    }
    let (ours_p50, theirs_p50) = (percentile(&mut armature, 0.5), percentile(&mut baseline, 0.5));
    println!("frame time, {RECTS}-rect page at 1024x768, {rounds} interleaved rounds on {adapter}");
    println!("  {:<34}{:>12}{:>12}", "", "median", "p90");
    println!("  {:<34}{:>12}{:>12}", "armature renderer", ms(ours_p50), ms(percentile(&mut armature, 0.9)));
    println!(
        "  {:<34}{:>12}{:>12}",
        "bare wgpu, 10k instanced quads",
        ms(theirs_p50),
        ms(percentile(&mut baseline, 0.9))
    );
    println!("  {:<34}{:>12}", "armature replay + batch (CPU)", ms(percentile(&mut cpu, 0.5)));
    println!(
        "  ratio armature / bare: {:.2}x  ({} primitives, {} batches, {} draw calls; {differing} pixels differ)",
        ours_p50.as_secs_f64() / theirs_p50.as_secs_f64(),
        stats.primitives,
        stats.batches,
        stats.draw_calls
    );
}
