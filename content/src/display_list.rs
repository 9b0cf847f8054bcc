//! Display-list building: fragments in paint order → api display items.

use armature_api::{DisplayItem, DisplayList, GlyphInstance, LayoutPoint, LayoutSize};

use crate::layout::{Fragment, PageLayout};
use crate::text::FontSet;

/// Builds the display list of a laid-out page for a viewport.
pub fn build(layout: &PageLayout, fonts: &FontSet, viewport: LayoutSize) -> DisplayList {
    let mut items = Vec::with_capacity(layout.fragments.len());
    for fragment in &layout.fragments {
        match fragment {
            Fragment::Box { rect, background, .. } => {
                if !background.is_transparent() && !rect.is_empty() {
                    items.push(DisplayItem::Rect { rect: *rect, color: *background });
                }
            }
            Fragment::Text { rect, baseline, face, size, color, glyphs, .. } => {
                if color.is_transparent() || glyphs.is_empty() {
                    continue;
                }
                let glyphs = glyphs
                    .iter()
                    .map(|glyph| GlyphInstance {
                        index: glyph.index,
                        point: LayoutPoint::new(rect.origin.x + glyph.x, *baseline),
                    })
                    .collect();
                items.push(DisplayItem::Text { font: fonts.key(*face), size: *size, color: *color, glyphs });
            }
        }
    }
    DisplayList { viewport, background: layout.canvas_background, items }
}
