//! Fonts: the bundled DejaVu faces, registered with parley (for shaping and line breaking)
//! and keyed for the GPU process (which rasterises the same bytes with swash).
//!
//! No system font is ever looked up, so a page lays out and renders to the same pixels on
//! every machine.

use std::collections::BTreeSet;
use std::sync::Arc;

use armature_api::{FontKey, IdNamespace, ResourceUpdate};
use parley::fontique::{Blob, Collection, CollectionOptions, SourceCache};

/// The family name of the proportional faces, as the font files name it.
pub const SANS_FAMILY: &str = "DejaVu Sans";
/// The family name of the monospace face.
pub const MONO_FAMILY: &str = "DejaVu Sans Mono";

/// The bundled faces, in key order.
fn bundled_faces() -> [&'static [u8]; 5] {
    [
        dejavu::sans::regular(),
        dejavu::sans::bold(),
        dejavu::sans::oblique(),
        dejavu::sans::bold_oblique(),
        dejavu::sans_mono::regular(),
    ]
}

/// The bundled fonts failed to register (a broken build, not a page problem).
#[derive(Debug, thiserror::Error)]
#[error("bundled font {index} could not be registered; the build's dejavu crate is broken")]
pub struct FontError {
    index: usize,
}

struct Face {
    key: FontKey,
    blob_id: u64,
    bytes: &'static [u8],
}

/// The fonts of one content process: a parley font context over the bundled faces, and the
/// key each face has in this process's id namespace.
pub struct Fonts {
    /// parley's font database, holding only the bundled faces.
    pub context: parley::FontContext,
    faces: Vec<Face>,
}

impl Fonts {
    /// Registers the bundled faces; keys are allocated in `namespace`.
    pub fn new(namespace: IdNamespace) -> Result<Fonts, FontError> {
        let mut collection = Collection::new(CollectionOptions { shared: false, system_fonts: false });
        let mut faces = Vec::new();
        for (index, bytes) in bundled_faces().into_iter().enumerate() {
            let blob = Blob::new(Arc::new(bytes));
            let blob_id = blob.id();
            if collection.register_fonts(blob, None).is_empty() {
                return Err(FontError { index });
            }
            faces.push(Face { key: FontKey(namespace, index as u32), blob_id, bytes });
        }
        Ok(Fonts { context: parley::FontContext { collection, source_cache: SourceCache::default() }, faces })
    }

    /// The key of a face parley chose for a run; `None` for a face we did not bundle (which
    /// cannot happen while the collection holds only bundled faces).
    pub fn key_for(&self, font: &parley::FontData) -> Option<FontKey> {
        self.faces.iter().find(|face| face.blob_id == font.data.id() && font.index == 0).map(|face| face.key)
    }

    /// Uploads of the faces a display list uses, so only those cross to the GPU process.
    pub fn resource_updates(&self, used: &BTreeSet<FontKey>) -> Vec<ResourceUpdate> {
        self.faces
            .iter()
            .filter(|face| used.contains(&face.key))
            .map(|face| ResourceUpdate::AddFont { key: face.key, bytes: face.bytes.to_vec() })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_face_registers_under_its_family() {
        let mut fonts = Fonts::new(IdNamespace(3)).expect("bundled fonts");
        let families: Vec<String> = fonts.context.collection.family_names().map(str::to_owned).collect();
        assert!(families.iter().any(|family| family == SANS_FAMILY), "{families:?}");
        assert!(families.iter().any(|family| family == MONO_FAMILY), "{families:?}");
        assert_eq!(fonts.faces.len(), 5);
        assert!(fonts.faces.iter().all(|face| face.key.0 == IdNamespace(3)));
    }
}
