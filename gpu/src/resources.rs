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
/// Most images and image buffers one content process may hold at once.
pub const MAX_TEXTURES: usize = 4096;
/// Most pixels one content process's images and image buffers may hold together (2 GiB of
/// RGBA): a hostile or runaway process must not take every other page's GPU memory.
pub const MAX_PIXELS: u64 = 512 * 1024 * 1024;

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
    /// One more would pass [`MAX_TEXTURES`].
    #[error(
        "{what} would be one more than the {max} images and image buffers a content process may hold at once"
    )]
    TooMany {
        /// The key or id, printed.
        what: String,
        /// The limit.
        max: usize,
    },
    /// It would pass [`MAX_PIXELS`].
    #[error(
        "{what} ({width}x{height}) would bring this content process's images and image buffers to {pixels} pixels; at most {max} may be held at once"
    )]
    OverBudget {
        /// The key or id, printed.
        what: String,
        /// Width asked for.
        width: u32,
        /// Height asked for.
        height: u32,
        /// What they would hold together.
        pixels: u64,
        /// The limit.
        max: u64,
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
    /// What the images and buffers hold together.
    budget: Budget,
}

/// What one content process's images and buffers hold, against [`MAX_TEXTURES`] and
/// [`MAX_PIXELS`].
#[derive(Debug, Default)]
struct Budget {
    textures: usize,
    pixels: u64,
}

impl Budget {
    /// Whether an entry of `size` may be added, in place of one of size `replaced` if the
    /// key has one; checked before anything is allocated.
    fn admit(
        &self,
        what: String,
        size: DeviceIntSize,
        replaced: Option<DeviceIntSize>,
    ) -> Result<(), ResourceError> {
        if replaced.is_none() && self.textures >= MAX_TEXTURES {
            return Err(ResourceError::TooMany { what, max: MAX_TEXTURES });
        }
        let pixels = self.pixels - replaced.map_or(0, area) + area(size);
        if pixels > MAX_PIXELS {
            let (width, height) = (size.width, size.height);
            return Err(ResourceError::OverBudget { what, width, height, pixels, max: MAX_PIXELS });
        }
        Ok(())
    }

    fn add(&mut self, size: DeviceIntSize) {
        self.textures += 1;
        self.pixels += area(size);
    }

    fn remove(&mut self, size: DeviceIntSize) {
        self.textures -= 1;
        self.pixels -= area(size);
    }
}

/// Pixels of an entry of `size`.
fn area(size: DeviceIntSize) -> u64 {
    u64::from(size.width) * u64::from(size.height)
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
                let replaced = self.images.get(&key).map(|entry| entry.size);
                self.budget.admit(format!("image {key:?}"), size, replaced)?;
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
                self.budget.add(size);
                if let Some(old) = self.images.insert(key, entry) {
                    self.budget.remove(old.size);
                    cache.free(old);
                }
            }
            ResourceUpdate::DeleteImage(key) => {
                if let Some(entry) = self.images.remove(&key) {
                    self.budget.remove(entry.size);
                    cache.free(entry);
                }
            }
            ResourceUpdate::CreateImageBuffer { id, size } => {
                if id.0 != namespace {
                    return Err(foreign(format!("image buffer {id:?}")));
                }
                check_size(format!("image buffer {id:?}"), size)?;
                let replaced = self.buffers.get(&id).map(|entry| entry.size);
                self.budget.admit(format!("image buffer {id:?}"), size, replaced)?;
                let entry = cache.add_render_target(size);
                self.budget.add(size);
                if let Some(old) = self.buffers.insert(id, entry) {
                    self.budget.remove(old.size);
                    cache.free(old);
                }
            }
            ResourceUpdate::DestroyImageBuffer(id) => {
                if let Some(entry) = self.buffers.remove(&id) {
                    self.budget.remove(entry.size);
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

    #[test]
    fn the_budget_counts_what_is_held_and_refuses_past_its_limits() {
        let side = DeviceIntSize::new(MAX_IMAGE_SIDE, MAX_IMAGE_SIDE);
        let per_side = area(side);
        let mut budget = Budget::default();
        // MAX_PIXELS of the largest buffers fit; one more pixel does not.
        for _ in 0..MAX_PIXELS / per_side {
            budget.admit("b".into(), side, None).expect("within the budget");
            budget.add(side);
        }
        let one = DeviceIntSize::new(1, 1);
        let over = budget.admit("image buffer X".into(), one, None).expect_err("over the budget");
        assert!(
            matches!(over, ResourceError::OverBudget { pixels, .. } if pixels == MAX_PIXELS + 1),
            "{over}"
        );
        assert!(over.to_string().contains("image buffer X (1x1) would bring"), "{over}");
        // Replacing an entry counts only the difference.
        budget.admit("b".into(), side, Some(side)).expect("a same-size replacement fits");
        budget.remove(side);
        budget.admit("b".into(), one, None).expect("room again once one is freed");
        // The count: MAX_TEXTURES entries of any size, however few pixels.
        let mut budget = Budget::default();
        for _ in 0..MAX_TEXTURES {
            budget.add(one);
        }
        let many = budget.admit("image K".into(), one, None).expect_err("one too many");
        assert!(many.to_string().contains(&format!("one more than the {MAX_TEXTURES}")), "{many}");
        budget.admit("image K".into(), one, Some(one)).expect("a replacement is not one more");
    }
}
