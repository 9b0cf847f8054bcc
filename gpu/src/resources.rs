//! What one content process has uploaded: fonts, decoded images and image buffers (canvas
//! backing stores), each validated on arrival. A bad upload is a named error that ends the
//! content process's connection; nothing here panics on its bytes.

use std::collections::HashMap;

use armature_api::{DeviceIntSize, IdNamespace, ImageBufferId, ImageKey, ResourceUpdate};

use crate::fonts::{FontStore, FontUploadError};
use crate::glyph_atlas::GlyphAtlas;
use crate::texture_cache::{CacheEntry, TextureCache};

/// Largest image or image-buffer side accepted, in pixels.
pub const MAX_IMAGE_SIDE: u32 = 8192;

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

/// One content process's resources in the GPU process. Its textures live in the renderer's
/// [`TextureCache`]; [`ContentResources::release`] frees them when the process goes away.
#[derive(Default)]
pub struct ContentResources {
    /// Fonts.
    pub fonts: FontStore,
    /// Decoded images.
    pub images: HashMap<ImageKey, CacheEntry>,
    /// Image buffers (canvases).
    pub buffers: HashMap<ImageBufferId, CacheEntry>,
}

impl ContentResources {
    /// Validates and applies one update from the content process owning `namespace`.
    pub fn apply(
        &mut self,
        update: ResourceUpdate,
        namespace: IdNamespace,
        cache: &mut TextureCache,
        atlas: &mut GlyphAtlas,
    ) -> Result<(), ResourceError> {
        let foreign = |what: String| ResourceError::ForeignNamespace { what, namespace };
        let max = MAX_IMAGE_SIDE.min(cache.max_texture_side());
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
                // A re-added key may carry another font: its old glyphs must go.
                atlas.remove_font(key);
                self.fonts.add(key, bytes)?;
            }
            ResourceUpdate::DeleteFont(key) => {
                atlas.remove_font(key);
                self.fonts.remove(key);
            }
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
                let entry = cache.add_image(size, &pixels);
                if let Some(old) = self.images.insert(key, entry) {
                    cache.free(old);
                }
            }
            ResourceUpdate::DeleteImage(key) => {
                if let Some(entry) = self.images.remove(&key) {
                    cache.free(entry);
                }
            }
            ResourceUpdate::CreateImageBuffer { id, size } => {
                if id.0 != namespace {
                    return Err(foreign(format!("image buffer {id:?}")));
                }
                check_size(format!("image buffer {id:?}"), size)?;
                let entry = cache.add_render_target(size);
                if let Some(old) = self.buffers.insert(id, entry) {
                    cache.free(old);
                }
            }
            ResourceUpdate::DestroyImageBuffer(id) => {
                if let Some(entry) = self.buffers.remove(&id) {
                    cache.free(entry);
                }
            }
        }
        Ok(())
    }

    /// Frees everything this content process holds in the renderer's caches.
    pub fn release(self, cache: &mut TextureCache, atlas: &mut GlyphAtlas) {
        for entry in self.images.into_values().chain(self.buffers.into_values()) {
            cache.free(entry);
        }
        for key in self.fonts.keys() {
            atlas.remove_font(key);
        }
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
