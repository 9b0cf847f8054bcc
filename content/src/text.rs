//! Text: the bundled DejaVu fonts, glyph lookup and measurement, greedy line breaking.
//!
//! Fonts are bundled (the `dejavu` crate), never looked up on the system, so a page renders
//! to the same pixels on every machine. The foundation maps characters to glyphs through
//! the font's cmap and advances by horizontal metrics; no shaping beyond that.

use armature_api::{FontKey, IdNamespace, ResourceUpdate};
use swash::FontRef;

use crate::style::FontWeight;

/// Which bundled face a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Face {
    /// DejaVu Sans.
    Regular,
    /// DejaVu Sans Bold.
    Bold,
}

impl Face {
    /// The face for a computed font weight.
    pub fn for_weight(weight: FontWeight) -> Face {
        match weight {
            FontWeight::Normal => Face::Regular,
            FontWeight::Bold => Face::Bold,
        }
    }

    fn bytes(self) -> &'static [u8] {
        match self {
            Face::Regular => dejavu::sans::regular(),
            Face::Bold => dejavu::sans::bold(),
        }
    }

    fn key_index(self) -> u32 {
        match self {
            Face::Regular => 0,
            Face::Bold => 1,
        }
    }
}

/// Vertical metrics of a face at a size, in px.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LineMetrics {
    /// Distance from the top of the line box to the baseline.
    pub ascent: f32,
    /// Line box height (`line-height: normal`).
    pub line_height: f32,
}

/// One glyph of measured text: its index and its pen position relative to the run start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlacedGlyph {
    /// Glyph index in the face.
    pub index: u16,
    /// Pen x relative to the start of the run.
    pub x: f32,
}

/// The fonts of one content process, keyed in its id namespace.
pub struct FontSet {
    namespace: IdNamespace,
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

/// Errors loading the bundled fonts (only possible if the bundle is corrupt).
#[derive(Debug, thiserror::Error)]
#[error("bundled font {0:?} is not a valid font file")]
pub struct FontError(Face);

impl FontSet {
    /// Loads the bundled faces.
    pub fn new(namespace: IdNamespace) -> Result<FontSet, FontError> {
        let load = |face: Face| FontRef::from_index(face.bytes(), 0).ok_or(FontError(face));
        Ok(FontSet { namespace, regular: load(Face::Regular)?, bold: load(Face::Bold)? })
    }

    fn font(&self, face: Face) -> &FontRef<'static> {
        match face {
            Face::Regular => &self.regular,
            Face::Bold => &self.bold,
        }
    }

    /// The key items use for a face.
    pub fn key(&self, face: Face) -> FontKey {
        FontKey(self.namespace, face.key_index())
    }

    /// The resource updates that make every face available to the GPU process.
    pub fn resource_updates(&self) -> Vec<ResourceUpdate> {
        [Face::Regular, Face::Bold]
            .into_iter()
            .map(|face| ResourceUpdate::AddFont { key: self.key(face), bytes: face.bytes().to_vec() })
            .collect()
    }

    /// Line metrics of a face at a size.
    pub fn line_metrics(&self, face: Face, size: f32) -> LineMetrics {
        let metrics = self.font(face).metrics(&[]).scale(size);
        LineMetrics {
            ascent: metrics.ascent,
            line_height: metrics.ascent + metrics.descent + metrics.leading,
        }
    }

    /// Maps text to glyphs and pen positions; returns the glyphs and the total advance.
    pub fn shape(&self, face: Face, size: f32, text: &str) -> (Vec<PlacedGlyph>, f32) {
        let font = self.font(face);
        let charmap = font.charmap();
        let metrics = font.glyph_metrics(&[]).scale(size);
        let mut pen = 0.0;
        let glyphs = text
            .chars()
            .map(|ch| {
                let index = charmap.map(ch);
                let glyph = PlacedGlyph { index, x: pen };
                pen += metrics.advance_width(index);
                glyph
            })
            .collect();
        (glyphs, pen)
    }

    /// Width of a piece of text.
    pub fn measure(&self, face: Face, size: f32, text: &str) -> f32 {
        self.shape(face, size, text).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_fonts_load_and_measure() {
        let fonts = FontSet::new(IdNamespace(1)).expect("bundled fonts");
        let narrow = fonts.measure(Face::Regular, 16.0, "iiii");
        let wide = fonts.measure(Face::Regular, 16.0, "WWWW");
        assert!(narrow > 0.0 && wide > narrow * 2.0, "{narrow} {wide}");
        assert!(fonts.measure(Face::Bold, 16.0, "abc") > fonts.measure(Face::Regular, 16.0, "abc"));
        let metrics = fonts.line_metrics(Face::Regular, 16.0);
        assert!(metrics.line_height > 16.0 && metrics.ascent > 10.0);
        assert_ne!(fonts.key(Face::Regular), fonts.key(Face::Bold));
    }
}
