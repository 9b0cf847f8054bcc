//! Readback: copies a rendered texture into a mappable buffer and unpads its rows.

use armature_api::{DeviceIntSize, Probe, ProbePoint};

/// Bytes per RGBA8 pixel.
const BYTES_PER_PIXEL: u32 = 4;

/// Row pitch of a texture→buffer copy: wgpu requires a multiple of 256 bytes.
pub fn padded_bytes_per_row(width: u32) -> u32 {
    let unpadded = width * BYTES_PER_PIXEL;
    unpadded.div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT
}

/// Finishes `encoder` with a copy of `texture` into `buffer` (`COPY_DST | MAP_READ`, at
/// least [`padded_bytes_per_row`] × height bytes) and returns tightly packed RGBA8 rows.
/// `probe` hears [`ProbePoint::Readback`] while the buffer is mapped.
pub fn read_texture(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    mut encoder: wgpu::CommandEncoder,
    texture: &wgpu::Texture,
    buffer: &wgpu::Buffer,
    size: DeviceIntSize,
    probe: &dyn Probe,
) -> Result<Vec<u8>, String> {
    let padded_row = padded_bytes_per_row(size.width);
    let bytes = u64::from(padded_row) * u64::from(size.height);
    encoder.copy_texture_to_buffer(
        wgpu::TexelCopyTextureInfo {
            texture,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        wgpu::TexelCopyBufferInfo {
            buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded_row),
                rows_per_image: Some(size.height),
            },
        },
        wgpu::Extent3d { width: size.width, height: size.height, depth_or_array_layers: 1 },
    );
    queue.submit([encoder.finish()]);
    map_rows(device, buffer, bytes, padded_row, size.width * BYTES_PER_PIXEL, probe)
}

/// Waits for `buffer`'s first `bytes` to map, then copies each `padded_row` down to its
/// first `row` bytes. `probe` hears [`ProbePoint::Readback`] while the buffer is mapped.
fn map_rows(
    device: &wgpu::Device,
    buffer: &wgpu::Buffer,
    bytes: u64,
    padded_row: u32,
    row: u32,
    probe: &dyn Probe,
) -> Result<Vec<u8>, String> {
    let (sender, receiver) = std::sync::mpsc::channel();
    buffer.map_async(wgpu::MapMode::Read, ..bytes, move |result| {
        // The receiver outlives the poll below; a failed send cannot happen.
        let _ = sender.send(result);
    });
    device.poll(wgpu::PollType::wait_indefinitely()).map_err(|error| error.to_string())?;
    receiver
        .recv()
        .map_err(|_| "the map callback never ran".to_owned())?
        .map_err(|error| error.to_string())?;

    let (row, rows) = (row as usize, (bytes / u64::from(padded_row)) as usize);
    let mut pixels = Vec::with_capacity(row * rows);
    {
        let mapped = buffer.get_mapped_range(..bytes).map_err(|error| error.to_string())?;
        probe.reached(ProbePoint::Readback);
        for padded in mapped.chunks_exact(padded_row as usize) {
            pixels.extend_from_slice(&padded[..row]);
        }
    }
    buffer.unmap();
    Ok(pixels)
}

/// Reads a whole texture of `bytes_per_pixel`-byte texels (RGBA8: 4, R8: 1) into tightly
/// packed rows, with a buffer of its own: for captures, not for the per-frame path.
pub fn read_whole_texture(
    device: &wgpu::Device,
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
    bytes_per_pixel: u32,
) -> Result<(DeviceIntSize, Vec<u8>), String> {
    let size = DeviceIntSize::new(texture.width(), texture.height());
    let row = size.width * bytes_per_pixel;
    let padded_row = row.div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
    let bytes = u64::from(padded_row) * u64::from(size.height);
    let buffer = device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("capture readback"),
        size: bytes,
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let mut encoder =
        device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("capture") });
    encoder.copy_texture_to_buffer(
        texture.as_image_copy(),
        wgpu::TexelCopyBufferInfo {
            buffer: &buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded_row),
                rows_per_image: Some(size.height),
            },
        },
        texture.size(),
    );
    queue.submit([encoder.finish()]);
    let pixels = map_rows(device, &buffer, bytes, padded_row, row, &armature_api::NoProbe)?;
    Ok((size, pixels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_padded_to_256_bytes() {
        assert_eq!(padded_bytes_per_row(1), 256);
        assert_eq!(padded_bytes_per_row(64), 256);
        assert_eq!(padded_bytes_per_row(65), 512);
        assert_eq!(padded_bytes_per_row(1024), 4096);
    }
}
