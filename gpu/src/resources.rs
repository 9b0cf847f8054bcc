//! What one content process has uploaded: fonts, decoded images and image buffers (canvas
//! backing stores), each validated on arrival. A bad upload is a named error that ends the
//! content process's connection; nothing here panics on its bytes.

use std::collections::HashMap;

pub use armature_api::limits::MAX_IMAGE_SIDE;
use armature_api::limits::{self, Held, Refused};
use armature_api::{DeviceIntSize, IdNamespace, ImageBufferId, ImageKey, ResourceUpdate};

use crate::fonts::{FontStore, FontUploadError};
use crate::glyph_atlas::GlyphAtlas;
use crate::texture_cache::{CacheEntry, TextureCache};

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
    /// One more would pass the count of [`limits::PROCESS`].
    #[error(
        "{what} would be one more than the {max} images and image buffers a content process may hold at once"
    )]
    TooMany {
        /// The key or id, printed.
        what: String,
        /// The limit.
        max: usize,
    },
    /// It would pass the pixels of [`limits::PROCESS`].
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

/// What one content process's images and buffers hold, against [`limits::PROCESS`].
#[derive(Debug, Default)]
struct Budget(Held);

impl Budget {
    /// Whether an entry of `size` may be added, in place of one of size `replaced` if the
    /// key has one; checked before anything is allocated. `Ok` holds what the budget
    /// holds with it, for [`Budget::set`] once it is allocated.
    fn admit(
        &self,
        what: String,
        size: DeviceIntSize,
        replaced: Option<DeviceIntSize>,
    ) -> Result<Held, ResourceError> {
        self.0.with(size, replaced, limits::PROCESS).map_err(|refused| match refused {
            Refused::TooMany { max } => ResourceError::TooMany { what, max },
            Refused::TooManyPixels { pixels, max } => {
                ResourceError::OverBudget { what, width: size.width, height: size.height, pixels, max }
            }
        })
    }

    /// What [`Budget::admit`] said, now that the entry is in.
    fn set(&mut self, held: Held) {
        self.0 = held;
    }

    fn remove(&mut self, size: DeviceIntSize) {
        self.0 = self.0.without(size);
    }
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
                let held = self.budget.admit(format!("image {key:?}"), size, replaced)?;
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
                self.budget.set(held);
                if let Some(old) = self.images.insert(key, entry) {
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
                let held = self.budget.admit(format!("image buffer {id:?}"), size, replaced)?;
                let entry = cache.add_render_target(size);
                self.budget.set(held);
                if let Some(old) = self.buffers.insert(id, entry) {
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
    use armature_api::limits::area;

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
        let (max_textures, max_pixels) = (limits::PROCESS.textures, limits::PROCESS.pixels);
        let side = DeviceIntSize::new(MAX_IMAGE_SIDE, MAX_IMAGE_SIDE);
        let mut budget = Budget::default();
        // The whole process's pixels of the largest buffers fit; one more pixel does not.
        for _ in 0..max_pixels / area(side) {
            let held = budget.admit("b".into(), side, None).expect("within the budget");
            budget.set(held);
        }
        let one = DeviceIntSize::new(1, 1);
        let over = budget.admit("image buffer X".into(), one, None).expect_err("over the budget");
        assert!(
            matches!(over, ResourceError::OverBudget { pixels, .. } if pixels == max_pixels + 1),
            "{over}"
        );
        assert!(over.to_string().contains("image buffer X (1x1) would bring"), "{over}");
        // Replacing an entry counts only the difference.
        budget.admit("b".into(), side, Some(side)).expect("a same-size replacement fits");
        budget.remove(side);
        budget.admit("b".into(), one, None).expect("room again once one is freed");
        // The count: the process's textures of any size, however few pixels.
        let mut budget = Budget::default();
        for _ in 0..max_textures {
            let held = budget.admit("i".into(), one, None).expect("within the count");
            budget.set(held);
        }
        let many = budget.admit("image K".into(), one, None).expect_err("one too many");
        assert!(many.to_string().contains(&format!("one more than the {max_textures}")), "{many}");
        budget.admit("image K".into(), one, Some(one)).expect("a replacement is not one more");
    }
}
