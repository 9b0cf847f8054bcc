//! Fonts a content process uploaded, validated on arrival.

use std::collections::HashMap;

use armature_api::FontKey;

/// Bytes a font may have at most; larger uploads are refused as hostile.
pub const MAX_FONT_BYTES: usize = 32 * 1024 * 1024;

/// A validated font.
pub struct FontData {
    bytes: Vec<u8>,
    offset: u32,
    key: swash::CacheKey,
}

impl FontData {
    /// A swash view of the font.
    pub fn font_ref(&self) -> swash::FontRef<'_> {
        swash::FontRef { data: &self.bytes, offset: self.offset, key: self.key }
    }
}

/// Why a font upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum FontUploadError {
    /// Too many bytes.
    #[error("font {key:?} is {size} bytes, over the {MAX_FONT_BYTES}-byte limit")]
    TooLarge {
        /// The key.
        key: FontKey,
        /// Its size.
        size: usize,
    },
    /// Not a font file.
    #[error("font {0:?} is not a TrueType/OpenType font")]
    Invalid(FontKey),
}

/// The fonts of one content process.
#[derive(Default)]
pub struct FontStore {
    fonts: HashMap<FontKey, FontData>,
}

impl FontStore {
    /// Validates and stores a font.
    pub fn add(&mut self, key: FontKey, bytes: Vec<u8>) -> Result<(), FontUploadError> {
        if bytes.len() > MAX_FONT_BYTES {
            return Err(FontUploadError::TooLarge { key, size: bytes.len() });
        }
        let font = swash::FontRef::from_index(&bytes, 0).ok_or(FontUploadError::Invalid(key))?;
        let (offset, cache_key) = (font.offset, font.key);
        self.fonts.insert(key, FontData { bytes, offset, key: cache_key });
        Ok(())
    }

    /// Forgets a font.
    pub fn remove(&mut self, key: FontKey) {
        self.fonts.remove(&key);
    }

    /// Every key held.
    pub fn keys(&self) -> impl Iterator<Item = FontKey> + '_ {
        self.fonts.keys().copied()
    }

    /// A font by key.
    pub fn get(&self, key: FontKey) -> Option<&FontData> {
        self.fonts.get(&key)
    }
}
