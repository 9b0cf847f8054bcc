//! Test switches for canvas drawing until page scripts can draw (the VM issue): end-to-end
//! tests drive the canvas proxies from Rust through the real processes.
//!
//! - `ARMATURE_TEST_CANVAS=seed`: WebKit's seed scenario for "missing image buffer
//!   destination": create A, draw A, create B, draw B (no acknowledgement waited for), flush
//!   (wake the GPU process with A's items), create C, draw C (C also draws A and the page's
//!   first image), flush; then the page's first `<canvas>` composites A, B and C side by
//!   side. Every item must land in its own buffer.
//! - `ARMATURE_TEST_CANVAS=stress:N`: N offscreen 10×10 buffers created back to back, each
//!   filled with its own colour at once, composited into a grid on the first canvas (40
//!   cells a row), then destroyed.
//! - `ARMATURE_TEST_HOSTILE_STREAM=KIND:PAGE`: the content process showing PAGE (a file
//!   name) writes a broken stream of KIND (see [`HOSTILE_KINDS`]) before its display list.

use std::path::Path;

use armature_api::messages::ContentToGpu;
use armature_api::{ColorF, DeviceIntSize, ImageBufferId, LayoutRect, ResourceUpdate};
use armature_stream::ring::RecordKind;

use crate::canvas::{RemoteImageBufferProxy, RemoteRenderingBackendProxy};
use crate::layout::PageCanvas;
use crate::process::LaidOutPage;

/// The scenario switch.
pub const CANVAS_ENV: &str = "ARMATURE_TEST_CANVAS";
/// The hostile-stream switch.
pub const HOSTILE_ENV: &str = "ARMATURE_TEST_HOSTILE_STREAM";
/// The broken streams `ARMATURE_TEST_HOSTILE_STREAM` can write.
pub const HOSTILE_KINDS: [&str; 10] = [
    "unknown-id",
    "foreign-id",
    "offset",
    "size",
    "truncated",
    "garbage",
    "canvas-garbage",
    "huge-buffer",
    "buffer-flood",
    "pixel-ratio",
];

/// The colour of stress cell `index`: distinct for the first 4096.
pub fn stress_color(index: u32) -> [u8; 3] {
    [(index * 37 % 256) as u8, (index / 16 * 16 % 256) as u8, (255 - index % 16 * 16) as u8]
}

/// Draws what the test switches ask for into the page's canvases (nothing without them).
pub fn draw(
    gpu: &mut RemoteRenderingBackendProxy,
    page: &mut LaidOutPage,
    path: &Path,
) -> Result<(), String> {
    if let Ok(switch) = std::env::var(HOSTILE_ENV)
        && let Some((kind, target)) = switch.split_once(':')
        && path.file_name().is_some_and(|name| name == target)
    {
        hostile(gpu, kind, page)?;
    }
    let Ok(scenario) = std::env::var(CANVAS_ENV) else { return Ok(()) };
    let Some((id, size)) = page.layout.canvases.first().and_then(PageCanvas::buffer) else {
        return Err(format!(
            "{CANVAS_ENV}={scenario} needs a page with a <canvas> (not 0 pixels wide or high)"
        ));
    };
    let canvas = RemoteImageBufferProxy::existing(id, size);
    match scenario.split_once(':') {
        None if scenario == "seed" => seed(gpu, page, canvas),
        Some(("stress", count)) => {
            let count =
                count.parse().map_err(|_| format!("{CANVAS_ENV}=stress:N needs a number, not '{count}'"))?;
            stress(gpu, canvas, count)
        }
        _ => Err(format!("unknown {CANVAS_ENV} scenario '{scenario}' (seed or stress:N)")),
    }
}

fn seed(
    gpu: &mut RemoteRenderingBackendProxy,
    page: &mut LaidOutPage,
    canvas: RemoteImageBufferProxy,
) -> Result<(), String> {
    let (red, green, blue, white, black) = (
        ColorF::new(1.0, 0.0, 0.0, 1.0),
        ColorF::new(0.0, 1.0, 0.0, 1.0),
        ColorF::new(0.0, 0.0, 1.0, 1.0),
        ColorF::WHITE,
        ColorF::BLACK,
    );
    let size = DeviceIntSize::new(100, 100);
    let a = gpu.create_image_buffer(size);
    gpu.context(a)
        .set_fill_color(red)
        .fill_rect(0.0, 0.0, 100.0, 100.0)
        .save()
        .translate(25.0, 25.0)
        .scale(2.0, 2.0)
        .set_fill_color(white)
        .fill_rect(0.0, 0.0, 25.0, 25.0)
        .restore()
        .clear_rect(0.0, 0.0, 10.0, 10.0);
    let b = gpu.create_image_buffer(size);
    gpu.context(b)
        .set_fill_color(green)
        .fill_rect(0.0, 0.0, 100.0, 100.0)
        .set_stroke_color(black)
        .set_line_width(10.0)
        .stroke_rect(20.0, 20.0, 60.0, 60.0);
    // Wake the GPU process: it reads A's and B's items while C does not exist yet.
    gpu.flush().map_err(|error| error.to_string())?;
    let c = gpu.create_image_buffer(size);
    let image = page.images.keys().next();
    let mut context = gpu.context(c);
    context.set_fill_color(blue).fill_rect(0.0, 0.0, 100.0, 100.0).draw_buffer(a, 50.0, 50.0, 50.0, 50.0);
    if let Some(image) = image {
        context.draw_image(image, 0.0, 50.0, 50.0, 50.0);
    }
    context.set_fill_color(white).fill_text(&mut page.fonts, "C", 10.0, 40.0, 30.0);
    // Resume at C.
    gpu.flush().map_err(|error| error.to_string())?;
    gpu.context(canvas)
        .draw_buffer(a, 0.0, 0.0, 100.0, 100.0)
        .draw_buffer(b, 100.0, 0.0, 100.0, 100.0)
        .draw_buffer(c, 200.0, 0.0, 100.0, 100.0);
    Ok(())
}

fn stress(
    gpu: &mut RemoteRenderingBackendProxy,
    canvas: RemoteImageBufferProxy,
    count: u32,
) -> Result<(), String> {
    const CELL: f32 = 10.0;
    const COLUMNS: u32 = 40;
    let mut buffers = Vec::with_capacity(count as usize);
    for index in 0..count {
        let buffer = gpu.create_image_buffer(DeviceIntSize::new(10, 10));
        let [r, g, b] = stress_color(index);
        let color = ColorF::new(f32::from(r) / 255.0, f32::from(g) / 255.0, f32::from(b) / 255.0, 1.0);
        gpu.context(buffer).set_fill_color(color).fill_rect(0.0, 0.0, CELL, CELL);
        buffers.push(buffer);
    }
    for (index, buffer) in buffers.iter().enumerate() {
        let (column, row) = (index as u32 % COLUMNS, index as u32 / COLUMNS);
        gpu.context(canvas).draw_buffer(*buffer, column as f32 * CELL, row as f32 * CELL, CELL, CELL);
    }
    for buffer in buffers {
        gpu.destroy_image_buffer(buffer);
    }
    Ok(())
}

/// Writes a broken stream of `kind`.
fn hostile(gpu: &mut RemoteRenderingBackendProxy, kind: &str, page: &LaidOutPage) -> Result<(), String> {
    let namespace =
        page.layout.canvases.first().map(|canvas| canvas.id.0).unwrap_or(armature_api::IdNamespace(0));
    let fill = armature_api::CanvasItem::FillRect(LayoutRect::new(
        armature_api::LayoutPoint::new(0.0, 0.0),
        armature_api::LayoutSize::new(5.0, 5.0),
    ));
    gpu.flush().map_err(|error| error.to_string())?;
    let header = |len: u32| {
        let mut bytes = len.to_le_bytes().to_vec();
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes
    };
    match kind {
        "unknown-id" => {
            gpu.send(ContentToGpu::DrawToImageBuffer {
                buffer: ImageBufferId(namespace, 999_999),
                item: fill,
            });
        }
        "foreign-id" => {
            let foreign = armature_api::IdNamespace(namespace.0.wrapping_add(1000));
            gpu.send(ContentToGpu::UpdateResources(vec![ResourceUpdate::CreateImageBuffer {
                id: ImageBufferId(foreign, 0),
                size: DeviceIntSize::new(4, 4),
            }]));
        }
        "huge-buffer" => {
            gpu.send(ContentToGpu::UpdateResources(vec![ResourceUpdate::CreateImageBuffer {
                id: ImageBufferId(namespace, 4242),
                size: DeviceIntSize::new(1_000_000, 1_000_000),
            }]));
        }
        "buffer-flood" => {
            // Small buffers, each valid, one more than the GPU process holds for one content
            // process (its `resources::MAX_TEXTURES`, 4096).
            let flood = (0..=4096).map(|index| ResourceUpdate::CreateImageBuffer {
                id: ImageBufferId(namespace, 10_000 + index),
                size: DeviceIntSize::new(2, 2),
            });
            gpu.send(ContentToGpu::UpdateResources(flood.collect()));
        }
        "offset" => {
            let writer = gpu.raw_stream().raw_writer();
            let far = writer.position() + (64 << 20);
            writer.publish_raw(far);
        }
        "size" => {
            let writer = gpu.raw_stream().raw_writer();
            writer.write_raw(&header(0x7fff_fff0));
            writer.flush();
        }
        "truncated" => {
            let writer = gpu.raw_stream().raw_writer();
            writer.write_raw(&header(100));
            writer.write_raw(&[7; 8]);
            writer.flush();
        }
        "garbage" => {
            let writer = gpu.raw_stream().raw_writer();
            let garbage: Vec<u8> =
                (0..64u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 0x80).collect();
            writer.write(RecordKind::Inline, &garbage, &mut || true).map_err(|error| error.to_string())?;
            writer.flush();
        }
        "canvas-garbage" => {
            // A canvas record (fixed layout) whose op says FillRect but carries one operand.
            let writer = gpu.raw_stream().raw_writer();
            let record: Vec<u8> =
                [8u32, namespace.0, 0, 0].iter().flat_map(|word| word.to_le_bytes()).collect();
            writer.write(RecordKind::Canvas, &record, &mut || true).map_err(|error| error.to_string())?;
            writer.flush();
        }
        "pixel-ratio" => {
            // A display list drawn at 100 device pixels per CSS pixel (10,000 times the
            // pixels): well-formed postcard, so the renderer's own check must refuse it.
            // The ratio cannot be made through the API; its bytes are patched in.
            let marker = armature_api::DevicePixelRatio::new(1.234_567).map_err(|error| error.to_string())?;
            let list = armature_api::DisplayList {
                viewport: armature_api::LayoutSize::new(400.0, 300.0),
                scroll_offset: armature_api::LayoutPoint::zero(),
                device_pixel_ratio: marker,
                background: ColorF::WHITE,
                items: Vec::new(),
            };
            let mut scratch = Vec::new();
            let command = ContentToGpu::SetDisplayList(armature_api::Epoch(1), list);
            let mut bytes = armature_stream::wire::encode(&command, &mut scratch)
                .map_err(|error| error.to_string())?
                .to_vec();
            let needle = marker.get().to_le_bytes();
            let at =
                bytes.windows(4).position(|window| window == needle).ok_or("no ratio in the encoding")?;
            bytes[at..at + 4].copy_from_slice(&100f32.to_le_bytes());
            let writer = gpu.raw_stream().raw_writer();
            writer.write(RecordKind::Inline, &bytes, &mut || true).map_err(|error| error.to_string())?;
            gpu.send(ContentToGpu::Present(armature_api::Epoch(1)));
        }
        other => return Err(format!("unknown {HOSTILE_ENV} kind '{other}' (one of {HOSTILE_KINDS:?})")),
    }
    gpu.flush().map_err(|error| error.to_string())?;
    if matches!(kind, "truncated" | "size" | "offset") {
        // Framing is broken: anything written after would only be read as part of it. A
        // hostile process stops here and waits to be killed.
        std::thread::sleep(std::time::Duration::from_secs(120));
    }
    Ok(())
}
