//! Display-list building: the laid-out box tree → api display items in CSS paint order.
//!
//! Per box: opacity group, background, border, replaced content, then (clipped when
//! `overflow: hidden`) its children; a text box paints span backgrounds, then glyph runs,
//! then its atomic inlines. Items wholly outside the viewport are culled.

use std::collections::BTreeSet;

use armature_api::{
    BorderRadius, BorderSide, BorderSides, ColorF, DevicePixelRatio, DisplayItem, DisplayList, FontKey,
    GlyphInstance, LayoutPoint, LayoutRect, LayoutSize,
};

use crate::fonts::Fonts;
use crate::images::ImageContent;
use crate::layout::{BoxId, BoxKind, PageLayout, Paragraph};
use crate::style::{ComputedStyle, Length, Overflow, StyleMap};

/// The colour of a broken image's frame.
const BROKEN_IMAGE_FRAME: ColorF = ColorF { r: 0.6, g: 0.6, b: 0.6, a: 1.0 };

/// A built display list and the fonts it uses.
pub struct BuiltDisplayList {
    /// The list.
    pub list: DisplayList,
    /// Fonts its text items refer to (only these are uploaded).
    pub fonts: BTreeSet<FontKey>,
}

/// Builds the display list of a laid-out page scrolled to `scroll_offset` (the page point
/// at the viewport's top-left), to be drawn at `ratio` device pixels per CSS pixel; items
/// outside the visible rect are culled.
pub fn build(
    page: &PageLayout,
    styles: &StyleMap,
    fonts: &Fonts,
    scroll_offset: LayoutPoint,
    ratio: DevicePixelRatio,
) -> BuiltDisplayList {
    let mut builder = Builder {
        page,
        styles,
        fonts,
        viewport: LayoutRect::new(scroll_offset, page.viewport),
        items: Vec::new(),
        used_fonts: BTreeSet::new(),
    };
    builder.paint_box(page.root());
    BuiltDisplayList {
        list: DisplayList {
            viewport: page.viewport,
            scroll_offset,
            device_pixel_ratio: ratio,
            background: page.canvas_background,
            items: builder.items,
        },
        fonts: builder.used_fonts,
    }
}

struct Builder<'a> {
    page: &'a PageLayout,
    styles: &'a StyleMap,
    fonts: &'a Fonts,
    viewport: LayoutRect,
    items: Vec<DisplayItem>,
    used_fonts: BTreeSet<FontKey>,
}

impl Builder<'_> {
    fn visible(&self, rect: LayoutRect) -> bool {
        !rect.is_empty() && rect.intersects(&self.viewport)
    }

    fn paint_box(&mut self, id: BoxId) {
        let layout_box = self.page.get(id);
        let style = layout_box.node.and_then(|node| self.styles.get(node));
        let opacity = style.map_or(1.0, |style| style.opacity);
        if opacity <= 0.0 {
            return;
        }
        if opacity < 1.0 {
            self.items.push(DisplayItem::PushOpacity { opacity });
        }
        let rect = layout_box.rect;
        if let Some(style) = style {
            let radius = resolve_radius(style, rect.size);
            let background_is_canvas = layout_box.node == self.page.canvas_background_source;
            if !background_is_canvas && !style.background_color.is_transparent() && self.visible(rect) {
                self.items.push(DisplayItem::Rect { rect, color: style.background_color, radius });
            }
            let widths = style.border_widths();
            if widths.to_array().iter().any(|&width| width > 0.0) && self.visible(rect) {
                let side = |width: f32, side| BorderSide { width, color: style.border_color(side) };
                let sides = BorderSides {
                    top: side(widths.top, style.border.top),
                    right: side(widths.right, style.border.right),
                    bottom: side(widths.bottom, style.border.bottom),
                    left: side(widths.left, style.border.left),
                };
                self.items.push(DisplayItem::Border { rect, sides, radius });
            }
        }
        let content = layout_box.content_rect();
        match &layout_box.kind {
            BoxKind::Image(ImageContent::Loaded { key, .. }) if self.visible(content) => {
                self.items.push(DisplayItem::Image { key: *key, rect: content });
            }
            BoxKind::Image(ImageContent::Broken { .. }) if self.visible(rect) => {
                let side = BorderSide { width: 1.0, color: BROKEN_IMAGE_FRAME };
                let sides = BorderSides { top: side, right: side, bottom: side, left: side };
                self.items.push(DisplayItem::Border { rect: content, sides, radius: BorderRadius::ZERO });
            }
            BoxKind::Canvas(Some(buffer)) if self.visible(content) => {
                self.items.push(DisplayItem::Canvas { buffer: *buffer, rect: content });
            }
            _ => {}
        }
        let clips = style.is_some_and(|style| style.overflow == Overflow::Hidden);
        if clips {
            self.items.push(DisplayItem::PushClip { rect: layout_box.padding_rect() });
        }
        if let BoxKind::Text(paragraph) = layout_box.kind {
            self.paint_text(self.page.paragraph(paragraph), content.origin);
        }
        for &child in &layout_box.children {
            self.paint_box(child);
        }
        if clips {
            self.items.push(DisplayItem::PopClip);
        }
        if opacity < 1.0 {
            self.items.push(DisplayItem::PopOpacity);
        }
    }

    /// Span backgrounds, then one text item per glyph run.
    fn paint_text(&mut self, paragraph: &Paragraph, origin: LayoutPoint) {
        let Some(layout) = &paragraph.layout else { return };
        let mut runs = Vec::new();
        for line in layout.lines() {
            let metrics = line.metrics();
            let (top, bottom) = (metrics.block_min_coord, metrics.block_max_coord);
            for item in line.items() {
                let parley::PositionedLayoutItem::GlyphRun(glyph_run) = item else { continue };
                let span = glyph_run.style().brush.0 as usize;
                let Some(paint) = paragraph.spans.get(span) else { continue };
                let bounds = LayoutRect::new(
                    LayoutPoint::new(origin.x + glyph_run.offset(), origin.y + top),
                    LayoutSize::new(glyph_run.advance(), bottom - top),
                );
                if !self.visible(bounds) {
                    continue;
                }
                if !paint.background.is_transparent() {
                    self.items.push(DisplayItem::Rect {
                        rect: bounds,
                        color: paint.background,
                        radius: BorderRadius::ZERO,
                    });
                }
                if paint.color.is_transparent() {
                    continue;
                }
                let run = glyph_run.run();
                let Some(font) = self.fonts.key_for(run.font()) else { continue };
                let glyphs: Vec<GlyphInstance> = glyph_run
                    .positioned_glyphs()
                    .map(|glyph| GlyphInstance {
                        index: glyph.id,
                        point: LayoutPoint::new(origin.x + glyph.x, origin.y + glyph.y),
                    })
                    .collect();
                if glyphs.is_empty() {
                    continue;
                }
                runs.push(DisplayItem::Text { font, size: run.font_size(), color: paint.color, glyphs });
                self.used_fonts.insert(font);
            }
        }
        // Text paints over every span background of its paragraph.
        self.items.append(&mut runs);
    }
}

/// Border radii in px for a box, percentages against the box's size, scaled down so
/// adjacent corners never overlap (CSS Backgrounds §5.5).
fn resolve_radius(style: &ComputedStyle, size: LayoutSize) -> BorderRadius {
    let resolve = |length: Length| match length {
        Length::Px(px) => px.max(0.0),
        Length::Percent(percent) => size.width.min(size.height) * percent / 100.0,
        Length::Auto => 0.0,
    };
    let [top_left, top_right, bottom_right, bottom_left] = style.border_radius.map(resolve);
    let ratio = |side: f32, a: f32, b: f32| if a + b > 0.0 { side / (a + b) } else { f32::INFINITY };
    let scale = [
        ratio(size.width, top_left, top_right),
        ratio(size.width, bottom_left, bottom_right),
        ratio(size.height, top_left, bottom_left),
        ratio(size.height, top_right, bottom_right),
    ]
    .into_iter()
    .fold(1.0f32, f32::min);
    BorderRadius {
        top_left: top_left * scale,
        top_right: top_right * scale,
        bottom_right: bottom_right * scale,
        bottom_left: bottom_left * scale,
    }
}
