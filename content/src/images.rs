//! Images: `<img src>` files read relative to the page, decoded (PNG, JPEG) in the content
//! process, and uploaded to the GPU process once per distinct source.
//!
//! A missing or undecodable image is not an error: the page renders with a broken-image
//! box and a warning naming the file, as browsers do. So is an image that would take the
//! page's images past their share of the GPU process ([`limits::PAGE_IMAGES`]): the GPU
//! process would end a page that sent it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use armature_api::limits::{self, Held, Refused};
use armature_api::{DeviceIntSize, IdNamespace, ImageKey, ResourceUpdate};
use ipc_channel::ipc::IpcSharedMemory;

/// Largest image side decoded, in pixels; bigger images are refused before decoding.
pub use armature_api::limits::MAX_IMAGE_SIDE;
/// Most bytes the decoder may allocate for one image.
pub const MAX_IMAGE_BYTES: u64 = 256 * 1024 * 1024;

/// What an `<img>` shows.
#[derive(Clone, Debug, PartialEq)]
pub enum ImageContent {
    /// A decoded image.
    Loaded {
        /// Its key in the GPU process.
        key: ImageKey,
        /// Its size in pixels.
        size: DeviceIntSize,
    },
    /// The broken-image box, and why.
    Broken {
        /// Why the image could not be shown.
        reason: String,
    },
}

struct Decoded {
    key: ImageKey,
    size: DeviceIntSize,
    rgba: Vec<u8>,
}

/// The images of one page.
pub struct Images {
    namespace: IdNamespace,
    base: PathBuf,
    by_source: HashMap<String, ImageContent>,
    decoded: Vec<Decoded>,
    /// What the decoded images hold of [`limits::PAGE_IMAGES`].
    held: Held,
}

impl Images {
    /// Images of the page at `page` (sources resolve against its directory).
    pub fn new(namespace: IdNamespace, page: &Path) -> Images {
        let base = page.parent().map(Path::to_owned).unwrap_or_default();
        Images { namespace, base, by_source: HashMap::new(), decoded: Vec::new(), held: Held::default() }
    }

    /// Loads (once) the image an `src` attribute names.
    pub fn load(&mut self, src: &str) -> ImageContent {
        if let Some(content) = self.by_source.get(src) {
            return content.clone();
        }
        let content = match self.decode(src).and_then(|decoded| self.admit(decoded)) {
            Ok((size, rgba)) => {
                let key = ImageKey(self.namespace, self.decoded.len() as u32);
                self.decoded.push(Decoded { key, size, rgba });
                ImageContent::Loaded { key, size }
            }
            Err(reason) => {
                tracing::warn!(target: "armature::images", "image '{src}' is not shown (broken-image box): {reason}");
                ImageContent::Broken { reason }
            }
        };
        self.by_source.insert(src.to_owned(), content.clone());
        content
    }

    fn decode(&self, src: &str) -> Result<(DeviceIntSize, Vec<u8>), String> {
        let path = self.resolve(src)?;
        let mut reader = image::ImageReader::open(&path)
            .map_err(|error| format!("cannot read '{}': {error}", path.display()))?
            .with_guessed_format()
            .map_err(|error| format!("cannot read '{}': {error}", path.display()))?;
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_IMAGE_SIDE);
        limits.max_image_height = Some(MAX_IMAGE_SIDE);
        limits.max_alloc = Some(MAX_IMAGE_BYTES);
        reader.limits(limits);
        let image =
            reader.decode().map_err(|error| format!("cannot decode '{}': {error}", path.display()))?;
        let rgba = image.into_rgba8();
        let size = DeviceIntSize::new(rgba.width(), rgba.height());
        if size.width == 0 || size.height == 0 {
            return Err(format!("'{}' has no pixels", path.display()));
        }
        Ok((size, rgba.into_raw()))
    }

    /// Takes a decoded image's pixels out of the page images' share, or says why not.
    fn admit(&mut self, (size, rgba): (DeviceIntSize, Vec<u8>)) -> Result<(DeviceIntSize, Vec<u8>), String> {
        let share = limits::PAGE_IMAGES;
        self.held = self.held.with(size, None, share).map_err(|refused| match refused {
            Refused::TooMany { max } => {
                format!("the page already shows {max} images, the most a page may hand the GPU process")
            }
            Refused::TooManyPixels { pixels, max } => format!(
                "its {}x{} pixels would bring the page's images to {pixels}, more than the {max} a page \
                 may hand the GPU process (use smaller images)",
                size.width, size.height
            ),
        })?;
        Ok((size, rgba))
    }

    fn resolve(&self, src: &str) -> Result<PathBuf, String> {
        let src = src.trim();
        if let Some(path) = src.strip_prefix("file://") {
            return Ok(PathBuf::from(path));
        }
        if src.contains("://") || src.starts_with("data:") {
            return Err("only files next to the page can be loaded (no network, no data: URLs)".into());
        }
        Ok(self.base.join(src))
    }

    /// The keys of the decoded images, in the order the page uses them.
    pub fn keys(&self) -> impl Iterator<Item = ImageKey> + '_ {
        self.decoded.iter().map(|image| image.key)
    }

    /// Uploads of every decoded image, pixels in shared memory.
    pub fn resource_updates(
        &self,
        skip: &std::collections::BTreeSet<armature_api::ImageKey>,
    ) -> Vec<ResourceUpdate> {
        self.decoded
            .iter()
            .filter(|image| !skip.contains(&image.key))
            .map(|image| ResourceUpdate::AddImage {
                key: image.key,
                size: image.size,
                rgba: IpcSharedMemory::from_bytes(&image.rgba),
            })
            .collect()
    }
}
