//! What one content process has uploaded: fonts, decoded images and image buffers (canvas
//! backing stores), each validated on arrival. A bad upload is a named error that ends the
//! content process's connection; nothing here panics on its bytes.

use std::collections::HashMap;

use armature_api::{DeviceIntSize, IdNamespace, ImageBufferId, ImageKey, ResourceUpdate};

use crate::fonts::{FontStore, FontUploadError};

/// Largest image or image-buffer side accepted, in pixels.
pub const MAX_IMAGE_SIDE: u32 = 8192;

/// A texture content can draw from, with the bind group shaders sample it through.
pub struct GpuImage {
    /// The texture.
    pub texture: wgpu::Texture,
    /// Its bind group (texture + sampler) for the image pipeline.
    pub bind_group: wgpu::BindGroup,
    /// Its size.
    pub size: DeviceIntSize,
}

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum ResourceError {
    /// A font upload was invalid.
    #[error(transparent)]
    Font(#[from] FontUploadError),
    /// A key or id carries another process's namespace.
    #[error("{what} is outside this content process's id namespace {namespace:?}")]
    ForeignNamespace {
        /// The key or id, printed.
        what: String,
        /// The process's own namespace.
        namespace: IdNamespace,
    },
    /// An image or buffer is empty or too large.
    #[error("{what} is {width}x{height} pixels; each side must be 1..={max}")]
    ImageSize {
        /// The key or id, printed.
        what: String,
        /// Width asked for.
        width: u32,
        /// Height asked for.
        height: u32,
        /// The limit.
        max: u32,
    },
    /// Pixel data does not match the size it claims.
    #[error("image {key:?} claims {width}x{height} but carries {bytes} bytes (expected {expected})")]
    ImageBytes {
        /// The image.
        key: ImageKey,
        /// Claimed width.
        width: u32,
        /// Claimed height.
        height: u32,
        /// Bytes sent.
        bytes: usize,
        /// Bytes that size needs.
        expected: usize,
    },
}

/// Makes textures for uploads; the renderer implements it (it owns the device and layouts).
pub trait TextureFactory {
    /// A texture holding premultiplied RGBA8 pixels (`None`: leave it transparent), usable
    /// by the image pipeline.
    fn create_image(&self, label: &str, size: DeviceIntSize, premultiplied_rgba: Option<&[u8]>) -> GpuImage;
    /// The largest texture side the device allows.
    fn max_texture_side(&self) -> u32;
}

/// One content process's resources in the GPU process.
#[derive(Default)]
pub struct ContentResources {
    /// Fonts.
    pub fonts: FontStore,
    /// Decoded images.
    pub images: HashMap<ImageKey, GpuImage>,
    /// Image buffers (canvases).
    pub buffers: HashMap<ImageBufferId, GpuImage>,
}

impl ContentResources {
    /// Validates and applies one update from the content process owning `namespace`.
    pub fn apply(
        &mut self,
        update: ResourceUpdate,
        namespace: IdNamespace,
        factory: &dyn TextureFactory,
    ) -> Result<(), ResourceError> {
        let foreign = |what: String| ResourceError::ForeignNamespace { what, namespace };
        let max = MAX_IMAGE_SIDE.min(factory.max_texture_side());
        let check_size = |what: String, size: DeviceIntSize| {
            let ok = (1..=max).contains(&size.width) && (1..=max).contains(&size.height);
            if ok {
                Ok(())
            } else {
                Err(ResourceError::ImageSize { what, width: size.width, height: size.height, max })
            }
        };
        match update {
            ResourceUpdate::AddFont { key, bytes } => {
                if key.0 != namespace {
                    return Err(foreign(format!("font key {key:?}")));
                }
                self.fonts.add(key, bytes)?;
            }
            ResourceUpdate::DeleteFont(key) => self.fonts.remove(key),
            ResourceUpdate::AddImage { key, size, rgba } => {
                if key.0 != namespace {
                    return Err(foreign(format!("image key {key:?}")));
                }
                check_size(format!("image {key:?}"), size)?;
                let expected = size.width as usize * size.height as usize * 4;
                if rgba.len() != expected {
                    return Err(ResourceError::ImageBytes {
                        key,
                        width: size.width,
                        height: size.height,
                        bytes: rgba.len(),
                        expected,
                    });
                }
                let pixels = premultiply(&rgba);
                self.images.insert(key, factory.create_image("image", size, Some(&pixels)));
            }
            ResourceUpdate::DeleteImage(key) => {
                self.images.remove(&key);
            }
            ResourceUpdate::CreateImageBuffer { id, size } => {
                if id.0 != namespace {
                    return Err(foreign(format!("image buffer {id:?}")));
                }
                check_size(format!("image buffer {id:?}"), size)?;
                self.buffers.insert(id, factory.create_image("image buffer", size, None));
            }
            ResourceUpdate::DestroyImageBuffer(id) => {
                self.buffers.remove(&id);
            }
        }
        Ok(())
    }
}

/// Straight-alpha RGBA8 → premultiplied, which is what every pipeline blends.
fn premultiply(rgba: &[u8]) -> Vec<u8> {
    let mut out = rgba.to_vec();
    for pixel in out.chunks_exact_mut(4) {
        let alpha = u16::from(pixel[3]);
        for channel in &mut pixel[..3] {
            *channel = ((u16::from(*channel) * alpha + 127) / 255) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn premultiplying_scales_colour_by_alpha() {
        assert_eq!(
            premultiply(&[255, 128, 0, 128, 10, 20, 30, 255, 200, 200, 200, 0]),
            vec![128, 64, 0, 128, 10, 20, 30, 255, 0, 0, 0, 0]
        );
    }
}
