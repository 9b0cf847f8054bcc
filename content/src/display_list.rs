//! Display-list building: the laid-out box tree → api display items in CSS paint order.
//!
//! Per box: opacity group, background, border, replaced content, then (clipped when
//! `overflow: hidden`) its children; a text box paints span backgrounds, then glyph runs,
//! then its atomic inlines. Items wholly outside the viewport are culled.
//!
//! Positioned boxes are painted as CSS 2 Appendix E stacks them: each stacking context (the
//! viewport, a positioned box, a box with opacity) paints its own box, then its positioned
//! descendants with a negative `z-index`, then its in-flow descendants in tree order, then
//! its other positioned descendants by `z-index` (tree order between equals). A positioned
//! box is clipped by the `overflow: hidden` boxes around its containing block, not by those
//! between it and its containing block. `position: fixed` boxes are painted in viewport
//! coordinates moved by the scroll offset, so they stay put when the page scrolls.
//!
//! A scroll frame (a box the user can scroll, see [`crate::layout::overflow`]) paints its
//! content moved by the frame's scroll position, inside its clip; so does a positioned box
//! whose containing block is inside the frame, though it is painted later, with its
//! stacking context. Items stay in page coordinates, so the GPU process needs to know
//! nothing of frames.
//!
//! Simplification: a positioned box with `z-index: auto` is a stacking context of its own
//! (as if `z-index: 0`), so a `z-index` inside it orders boxes only within it.

use std::collections::BTreeSet;

use armature_api::{
    BorderRadius, BorderSide, BorderSides, ColorF, DevicePixelRatio, DisplayItem, DisplayList, FontKey,
    GlyphInstance, LayoutPoint, LayoutRect, LayoutSize, LayoutVector,
};

use crate::fonts::Fonts;
use crate::images::ImageContent;
use crate::layout::table::CollapsedSide;
use crate::layout::{BoxId, BoxKind, PageLayout, Paragraph};
use crate::scroll::ScrollPositions;
use crate::style::{ComputedStyle, Length, Position, StyleMap};

/// The colour of a broken image's frame.
const BROKEN_IMAGE_FRAME: ColorF = ColorF { r: 0.6, g: 0.6, b: 0.6, a: 1.0 };

/// A built display list and the fonts it uses.
pub struct BuiltDisplayList {
    /// The list.
    pub list: DisplayList,
    /// Fonts its text items refer to (only these are uploaded).
    pub fonts: BTreeSet<FontKey>,
}

/// Builds the display list of a laid-out page with its viewport and scroll frames scrolled
/// to `scroll`, to be drawn at `ratio` device pixels per CSS pixel; items outside the
/// visible rect are culled.
pub fn build(
    page: &PageLayout,
    styles: &StyleMap,
    fonts: &Fonts,
    scroll: &ScrollPositions,
    ratio: DevicePixelRatio,
) -> BuiltDisplayList {
    let scroll_offset = scroll.viewport();
    let mut builder = Builder {
        page,
        styles,
        fonts,
        scroll,
        viewport: LayoutRect::new(scroll_offset, page.viewport),
        scroll_offset,
        ratio,
        pinned: false,
        moved: LayoutVector::zero(),
        items: Vec::new(),
        used_fonts: BTreeSet::new(),
    };
    builder.paint_context(page.root(), &[]);
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
    scroll: &'a ScrollPositions,
    /// What is visible, in the coordinates being painted: the page's, or the viewport's
    /// while `pinned`, less the scroll frames' positions the items will be moved by.
    viewport: LayoutRect,
    scroll_offset: LayoutPoint,
    /// Device pixels per CSS pixel: text decorations snap to device pixels.
    ratio: DevicePixelRatio,
    /// Whether a `position: fixed` box is being painted (in viewport coordinates).
    pinned: bool,
    /// How far the scroll frames around what is being painted will move it (the
    /// [`shifted`](Self::shifted) calls under way): a fixed box must not move with them.
    moved: LayoutVector,
    items: Vec<DisplayItem>,
    used_fonts: BTreeSet<FontKey>,
}

/// A positioned box found in a stacking context, painted once its in-flow content is.
struct Positioned {
    id: BoxId,
    /// Its `z-index`; `auto` paints as 0.
    z: i32,
    /// The clips around its containing block, outermost first, where they are painted.
    clips: Vec<LayoutRect>,
    /// How far the scroll frames around its containing block move it.
    shift: LayoutVector,
}

/// A box on the way from a stacking context's root down to the box being painted.
struct Ancestor {
    /// Its padding box, if it clips its content, where it is painted.
    clip: Option<LayoutRect>,
    /// Whether it is positioned (the containing block of absolute descendants).
    positioned: bool,
    /// How far the scroll frames from the stacking context's root down to it, itself
    /// included, move its content.
    shift: LayoutVector,
}

impl<'a> Builder<'a> {
    fn visible(&self, rect: LayoutRect) -> bool {
        !rect.is_empty() && rect.intersects(&self.viewport)
    }

    fn style(&self, id: BoxId) -> Option<&'a ComputedStyle> {
        self.page.style(id, self.styles)
    }

    /// Paints the stacking context rooted at `id` (see the module docs), inside `clips`.
    fn paint_context(&mut self, id: BoxId, clips: &[LayoutRect]) {
        let opacity = self.style(id).map_or(1.0, |style| style.opacity);
        if opacity <= 0.0 {
            return;
        }
        for &rect in clips {
            self.items.push(DisplayItem::PushClip { rect });
        }
        if opacity < 1.0 {
            self.items.push(DisplayItem::PushOpacity { opacity });
        }
        self.paint_own(id);
        let below_flow = self.items.len();
        let mut layer = Vec::new();
        self.paint_contents(id, &mut Vec::new(), &mut layer);
        // Stable: tree order between equal z-indices.
        layer.sort_by_key(|positioned| positioned.z);
        let negative = layer.partition_point(|positioned| positioned.z < 0);
        if negative > 0 {
            // Under the in-flow content, which is already in the list: set it aside.
            let flow = self.items.split_off(below_flow);
            for positioned in &layer[..negative] {
                self.paint_positioned(positioned);
            }
            self.items.extend(flow);
        }
        for positioned in &layer[negative..] {
            self.paint_positioned(positioned);
        }
        if opacity < 1.0 {
            self.items.push(DisplayItem::PopOpacity);
        }
        for _ in clips {
            self.items.push(DisplayItem::PopClip);
        }
    }

    /// Paints a positioned box's stacking context: moved by the scroll frames around it, or,
    /// for a fixed one, in viewport coordinates, then moved by the scroll offset.
    fn paint_positioned(&mut self, positioned: &Positioned) {
        if self.pinned || !self.page.get(positioned.id).fixed {
            if positioned.shift == LayoutVector::zero() {
                self.paint_context(positioned.id, &positioned.clips);
                return;
            }
            for &rect in &positioned.clips {
                self.items.push(DisplayItem::PushClip { rect });
            }
            self.shifted(positioned.shift, |builder| builder.paint_context(positioned.id, &[]));
            for _ in &positioned.clips {
                self.items.push(DisplayItem::PopClip);
            }
            return;
        }
        let (start, page_viewport) = (self.items.len(), self.viewport);
        self.pinned = true;
        self.viewport = LayoutRect::new(LayoutPoint::zero(), page_viewport.size);
        self.paint_context(positioned.id, &positioned.clips);
        self.pinned = false;
        self.viewport = page_viewport;
        // To the viewport's place on the page, wherever the frames around it are scrolled.
        let by = self.scroll_offset.to_vector() - self.moved;
        for item in &mut self.items[start..] {
            item.translate(by);
        }
    }

    /// Paints whatever `paint` adds moved by `shift`: culled against the viewport moved the
    /// other way, then moved.
    fn shifted(&mut self, shift: LayoutVector, paint: impl FnOnce(&mut Self)) {
        let (start, viewport) = (self.items.len(), self.viewport);
        self.viewport = viewport.translate(-shift);
        self.moved += shift;
        paint(self);
        self.moved -= shift;
        self.viewport = viewport;
        for item in &mut self.items[start..] {
            item.translate(shift);
        }
    }

    /// Paints an in-flow box of the stacking context whose layer is `layer`, or adds it to the
    /// layer if it is positioned.
    fn paint_flow(&mut self, id: BoxId, path: &mut Vec<Ancestor>, layer: &mut Vec<Positioned>) {
        let style = self.style(id);
        let position = style.map_or(Position::Static, |style| style.position);
        if position.is_positioned() {
            // The ancestors down to its containing block.
            let chain = match position {
                // Its containing block is its parent: every clip on the way applies.
                Position::Relative => path.len(),
                // The nearest positioned ancestor and the clips outside it (none: the
                // viewport's, or a containing block outside this stacking context).
                Position::Absolute => {
                    path.iter().rposition(|ancestor| ancestor.positioned).map_or(0, |at| at + 1)
                }
                Position::Fixed | Position::Static => 0,
            };
            let chain = &path[..chain];
            layer.push(Positioned {
                id,
                z: style.and_then(|style| style.z_index).unwrap_or(0),
                clips: chain.iter().filter_map(|ancestor| ancestor.clip).collect(),
                shift: chain.last().map_or(LayoutVector::zero(), |ancestor| ancestor.shift),
            });
            return;
        }
        if style.is_some_and(|style| style.opacity < 1.0) {
            // Opacity makes a stacking context, painted where the box is.
            self.paint_context(id, &[]);
            return;
        }
        self.paint_own(id);
        self.paint_contents(id, path, layer);
    }

    /// A box's background, border and replaced content.
    fn paint_own(&mut self, id: BoxId) {
        let layout_box = self.page.get(id);
        let rect = layout_box.rect;
        let table_paint = layout_box.table_paint.as_deref();
        // A cell's row and column backgrounds, under its own (CSS 2 §17.5.1).
        for &color in table_paint.map_or(&[][..], |paint| &paint.backgrounds) {
            if self.visible(rect) {
                self.items.push(DisplayItem::Rect { rect, color, radius: BorderRadius::ZERO });
            }
        }
        if let Some(style) = self.style(id) {
            let radius = resolve_radius(style, rect.size);
            // (A generated box has no node; it is never the canvas's source.)
            let background_is_canvas =
                layout_box.node.is_some() && layout_box.node == self.page.canvas_background_source;
            if !background_is_canvas && !style.background_color.is_transparent() && self.visible(rect) {
                self.items.push(DisplayItem::Rect { rect, color: style.background_color, radius });
            }
            let sides = match table_paint.and_then(|paint| paint.borders) {
                Some(collapsed) => {
                    let side = |side: CollapsedSide| BorderSide { width: side.width, color: side.color };
                    BorderSides {
                        top: side(collapsed.top),
                        right: side(collapsed.right),
                        bottom: side(collapsed.bottom),
                        left: side(collapsed.left),
                    }
                }
                None => {
                    let widths = style.border_widths();
                    let side = |width: f32, side| BorderSide { width, color: style.border_color(side) };
                    BorderSides {
                        top: side(widths.top, style.border.top),
                        right: side(widths.right, style.border.right),
                        bottom: side(widths.bottom, style.border.bottom),
                        left: side(widths.left, style.border.left),
                    }
                }
            };
            let drawn =
                [sides.top, sides.right, sides.bottom, sides.left].iter().any(|side| side.width > 0.0);
            if drawn && self.visible(rect) {
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
    }

    /// A box's content after its own: its text and children, clipped if it clips, and moved
    /// by its scroll position if it is a scroll frame.
    fn paint_contents(&mut self, id: BoxId, path: &mut Vec<Ancestor>, layer: &mut Vec<Positioned>) {
        let layout_box = self.page.get(id);
        let style = self.style(id);
        let clip = self.page.overflow_clip(id, style);
        if let Some(rect) = clip {
            self.items.push(DisplayItem::PushClip { rect });
        }
        let scrolled = layout_box
            .scroll_frame
            .map_or(LayoutVector::zero(), |frame| -self.scroll.frame(frame).to_vector());
        let outer = path.last().map_or(LayoutVector::zero(), |parent| parent.shift);
        path.push(Ancestor {
            clip: clip.map(|rect| rect.translate(outer)),
            positioned: style.is_some_and(|style| style.position.is_positioned()),
            shift: outer + scrolled,
        });
        let mut paint = |builder: &mut Self| {
            if let Some(marker) = layout_box.marker {
                builder.paint_text(builder.page.paragraph(marker.paragraph), marker.origin);
            }
            if let BoxKind::Text(paragraph) = layout_box.kind {
                builder.paint_text(builder.page.paragraph(paragraph), layout_box.content_rect().origin);
            }
            for &child in &layout_box.children {
                builder.paint_flow(child, path, layer);
            }
        };
        if scrolled == LayoutVector::zero() {
            paint(self);
        } else {
            self.shifted(scrolled, paint);
        }
        path.pop();
        if clip.is_some() {
            self.items.push(DisplayItem::PopClip);
        }
    }

    /// Span backgrounds, underlines and overlines, then one text item per glyph run, then
    /// lines through (CSS Text Decoration 3 §3's painting order, per paragraph).
    fn paint_text(&mut self, paragraph: &Paragraph, origin: LayoutPoint) {
        let Some(layout) = &paragraph.layout else { return };
        let (mut runs, mut through) = (Vec::new(), Vec::new());
        for line in layout.lines() {
            let metrics = line.metrics();
            let (top, bottom) = (metrics.block_min_coord, metrics.block_max_coord);
            // Where the line's content ends: white space hanging past it is not decorated.
            let line_end = origin.x + metrics.offset + metrics.advance - metrics.hanging_advance;
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
                let run = glyph_run.run();
                if !paint.decorations.is_empty() {
                    let span = (bounds.min_x(), bounds.max_x().min(line_end));
                    let baseline = origin.y + glyph_run.baseline();
                    let font = run.font_metrics();
                    let decorations = paint.decorations;
                    // Offsets are from the baseline, up; thicknesses are the underline's for
                    // the overline too, as browsers draw it.
                    let lines = [
                        (decorations.underline, font.underline_offset, font.underline_size, false),
                        (decorations.overline, font.ascent, font.underline_size, false),
                        (decorations.line_through, font.strikethrough_offset, font.strikethrough_size, true),
                    ];
                    for (color, offset, thickness, over_text) in lines {
                        let Some(color) = color.filter(|color| !color.is_transparent()) else { continue };
                        let Some(rect) = self.decoration(span, baseline - offset, thickness) else {
                            continue;
                        };
                        let item = DisplayItem::Rect { rect, color, radius: BorderRadius::ZERO };
                        if over_text { through.push(item) } else { self.items.push(item) }
                    }
                }
                if paint.color.is_transparent() {
                    continue;
                }
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
        // Text paints over every span background of its paragraph, lines through over it.
        self.items.append(&mut runs);
        self.items.append(&mut through);
    }

    /// A decoration line from `span.0` to `span.1` with its top at `top`, snapped to device
    /// pixels and at least one device pixel thick, as browsers draw them (a 0.7 px underline
    /// would smear over two rows); `None` if empty or culled.
    fn decoration(&self, span: (f32, f32), top: f32, thickness: f32) -> Option<LayoutRect> {
        let ratio = self.ratio.get();
        let snap = |value: f32| (value * ratio).round() / ratio;
        let (top, left, right) = (snap(top), snap(span.0), snap(span.1));
        let thickness = (thickness * ratio).round().max(1.0) / ratio;
        let rect = LayoutRect::new(LayoutPoint::new(left, top), LayoutSize::new(right - left, thickness));
        self.visible(rect).then_some(rect)
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

#[cfg(test)]
mod tests {
    use armature_api::messages::ScrollBy;
    use armature_api::{LayoutPoint, LayoutSize};

    use super::*;
    use crate::layout::TestPage;

    /// The background rects and clips of `page` built at `scroll`, in paint order; clips
    /// have the colour `[0, 0, 0]`.
    /// A colour as 8-bit channels, alpha left out.
    fn rgb(color: &ColorF) -> [u8; 3] {
        [color.r, color.g, color.b].map(|channel| (channel * 255.0).round() as u8)
    }

    fn painted(page: &TestPage, scroll: &ScrollPositions) -> Vec<(LayoutRect, [u8; 3])> {
        let built = build(&page.layout, &page.styles, &page.fonts, scroll, DevicePixelRatio::ONE);
        built
            .list
            .items
            .iter()
            .filter_map(|item| match item {
                DisplayItem::Rect { rect, color, .. } => Some((*rect, rgb(color))),
                DisplayItem::PushClip { rect } => Some((*rect, [0, 0, 0])),
                _ => None,
            })
            .collect()
    }

    /// The background rects of `html` laid out in a 200x100 viewport, built with the page
    /// scrolled down `scroll`.
    fn rects(html: &str, scroll: f32) -> (Vec<(LayoutRect, [u8; 3])>, f32) {
        let page = TestPage::new(html, 200.0, 100.0);
        let mut positions = ScrollPositions::new(&page.layout);
        positions.scroll(
            &page.layout,
            ScrollBy::Pixels(LayoutVector::new(0.0, scroll)),
            None,
            DevicePixelRatio::ONE,
        );
        let rects = painted(&page, &positions).into_iter().filter(|(_, color)| *color != [0, 0, 0]).collect();
        (rects, page.layout.document_size.height)
    }

    const PAGE: &str = "<body style='margin: 0'>\
        <div style='height: 300px; top: 30px; background: #0000ff'></div>\
        <div style='position: fixed; bottom: 0; left: 10px; width: 50px; height: 20px; background: #ff0000'></div>\
        <div style='position: fixed; top: 500px; width: 5px; height: 5px; background: #00ff00'></div>\
        <div style='position: absolute; top: 400px; width: 5px; height: 5px; background: #ffff00'></div></body>";

    #[test]
    fn fixed_boxes_follow_the_scroll_offset_and_do_not_lengthen_the_document() {
        for scroll in [0.0, 150.0] {
            let (rects, document_height) = rects(PAGE, scroll);
            let fixed =
                rects.iter().find(|(_, color)| *color == [255, 0, 0]).expect("the fixed box is painted");
            // In page coordinates at the viewport's bottom, wherever the page is scrolled.
            assert_eq!(
                fixed.0,
                LayoutRect::new(LayoutPoint::new(10.0, scroll + 80.0), LayoutSize::new(50.0, 20.0))
            );
            let flow = rects.iter().find(|(_, color)| *color == [0, 0, 255]).expect("the in-flow box");
            assert_eq!(flow.0.origin, LayoutPoint::zero(), "in-flow boxes do not move, nor do static insets");
            // The absolute box makes the page longer; the fixed one below the viewport does
            // not (it can never be scrolled to), and it is culled.
            assert_eq!(document_height, 405.0);
            assert!(!rects.iter().any(|(_, color)| *color == [0, 255, 0]), "{rects:?}");
        }
    }

    #[test]
    fn a_fixed_box_paints_over_the_in_flow_boxes_it_overlaps() {
        let (rects, _) = rects(PAGE, 150.0);
        let order: Vec<[u8; 3]> = rects.iter().map(|(_, color)| *color).collect();
        assert_eq!(order, [[0, 0, 255], [255, 0, 0]], "the yellow box is culled at 150");
    }

    fn rect(x: f32, y: f32, width: f32, height: f32) -> LayoutRect {
        LayoutRect::new(LayoutPoint::new(x, y), LayoutSize::new(width, height))
    }

    #[test]
    fn a_scrolled_frame_moves_what_it_holds_and_not_itself() {
        let page = TestPage::new(
            "<body style='margin: 0'><div id=list style='overflow: auto; width: 100px; height: 50px; background: #0000ff'>\
               <div style='height: 40px; background: #ff0000'></div>\
               <div style='position: relative; height: 40px; background: #00ff00'></div>\
               <div style='position: absolute; top: 0; left: 150px; width: 10px; height: 10px; background: #ffff00'></div>\
             </div></body>",
            200.0,
            100.0,
        );
        let mut positions = ScrollPositions::new(&page.layout);
        let down = ScrollBy::Pixels(LayoutVector::new(0.0, 25.0));
        assert!(positions.scroll(
            &page.layout,
            down,
            Some(LayoutPoint::new(50.0, 10.0)),
            DevicePixelRatio::ONE
        ));
        assert_eq!(positions.viewport(), LayoutPoint::zero(), "the list took the scroll");
        let clip = rect(0.0, 0.0, 100.0, 50.0);
        assert_eq!(
            painted(&page, &positions),
            [
                // The list and its clip stay put; the in-flow child moves up...
                (clip, [0, 0, 255]),
                (clip, [0, 0, 0]),
                (rect(0.0, -25.0, 100.0, 40.0), [255, 0, 0]),
                // ...and so does the relative one, though it is painted after the list, in
                // the page's positioned layer, inside the list's clip moved by its position.
                (clip, [0, 0, 0]),
                (rect(0.0, 15.0, 100.0, 40.0), [0, 255, 0]),
                // The absolute one's containing block is the viewport: it does not scroll
                // with the list, and the list does not clip it.
                (rect(150.0, 0.0, 10.0, 10.0), [255, 255, 0]),
            ]
        );
    }

    #[test]
    fn a_fixed_box_stays_put_inside_a_scrolled_frame() {
        // The fixed box is painted in the opacity box's stacking context, which the list
        // moves; the fixed box itself must not move with it.
        let page = TestPage::new(
            "<body style='margin: 0'><div id=list style='overflow: auto; width: 100px; height: 50px'>\
               <div style='opacity: 0.5; height: 200px'>\
                 <div style='position: fixed; right: 0; bottom: 0; width: 10px; height: 10px; background: #ff0000'>\
               </div></div></div><div style='height: 300px'></div></body>",
            200.0,
            100.0,
        );
        let mut positions = ScrollPositions::new(&page.layout);
        let down = ScrollBy::Pixels(LayoutVector::new(0.0, 40.0));
        assert!(positions.scroll(
            &page.layout,
            down,
            Some(LayoutPoint::new(50.0, 10.0)),
            DevicePixelRatio::ONE
        ));
        assert!(positions.scroll(&page.layout, down, None, DevicePixelRatio::ONE));
        let fixed = painted(&page, &positions).into_iter().find(|(_, color)| *color == [255, 0, 0]);
        // At the viewport's bottom right, on the page scrolled down 40.
        assert_eq!(fixed, Some((rect(190.0, 130.0, 10.0, 10.0), [255, 0, 0])));
    }

    /// The items of `html` in a 300x100 viewport at `ratio`: rects as `(rect, colour)`,
    /// text as its glyphs' x span and baseline with the colour `[1, 1, 1]`.
    fn decorated(html: &str, ratio: f32) -> Vec<(LayoutRect, [u8; 3])> {
        let page = TestPage::new(html, 300.0, 100.0);
        let ratio = DevicePixelRatio::new(ratio).expect("a valid ratio");
        let built =
            build(&page.layout, &page.styles, &page.fonts, &ScrollPositions::new(&page.layout), ratio);
        built
            .list
            .items
            .iter()
            .filter_map(|item| match item {
                DisplayItem::Rect { rect, color, .. } => Some((*rect, rgb(color))),
                DisplayItem::Text { glyphs, .. } => {
                    let (first, last) = (glyphs.first()?.point, glyphs.last()?.point);
                    Some((rect(first.x, first.y, last.x - first.x, 0.0), [1, 1, 1]))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn underlines_go_under_the_text_and_lines_through_over_it_snapped_to_device_pixels() {
        let html = "<body style='margin: 0; font-size: 16px'><p style='margin: 0'>\
                    <u style='color: #ff0000'>under</u> <s style='color: #0000ff'>through</s></p></body>";
        for ratio in [1.0, 1.5, 2.0] {
            let items = decorated(html, ratio);
            let mut colours: Vec<[u8; 3]> = items.iter().map(|(_, colour)| *colour).collect();
            colours.dedup();
            // The underline, the text (the words and the space between), then the line through.
            assert_eq!(colours, [[255, 0, 0], [1, 1, 1], [0, 0, 255]], "at {ratio}: {items:?}");
            let (under, word, through) = (items[0].0, items[1].0, items[items.len() - 1].0);
            let baseline = word.min_y();
            assert!(under.min_y() > baseline && under.min_y() < baseline + 4.0, "at {ratio}: {under:?}");
            assert!(through.max_y() < baseline - 2.0, "at {ratio}: {through:?}");
            // From the first glyph's origin on, at least a device pixel thick, on device pixels.
            assert!((under.min_x() - word.min_x()).abs() <= 0.5 / ratio, "at {ratio}");
            for line in [under, through] {
                for edge in [line.min_x(), line.min_y(), line.max_x(), line.max_y()] {
                    let device = edge * ratio;
                    assert!((device - device.round()).abs() < 1e-3, "{line:?} at {ratio}");
                }
                assert!(line.size.height * ratio >= 1.0 - 1e-3 && line.size.width > 20.0);
            }
        }
    }

    #[test]
    fn white_space_hanging_at_a_line_end_is_not_underlined() {
        // "aaaa " breaks after its space: the space hangs past the line and has no underline.
        let html = "<body style='margin: 0; font-size: 16px'><p style='margin: 0; width: 50px; \
                    text-decoration: underline; color: #ff0000'>aaaa aaaa</p></body>";
        let lines: Vec<LayoutRect> = decorated(html, 1.0)
            .into_iter()
            .filter(|(_, colour)| *colour == [255, 0, 0])
            .map(|(rect, _)| rect)
            .collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0].size.width, lines[1].size.width, "both lines underline 'aaaa' only");
    }

    #[test]
    fn outside_markers_paint_before_their_items_content() {
        let html = "<body style='margin: 0'><ul style='margin: 0; color: #00ff00'>\
                    <li><span style='background: #ff0000'>x</span></li></ul></body>";
        let page = TestPage::new(html, 300.0, 100.0);
        let built = build(
            &page.layout,
            &page.styles,
            &page.fonts,
            &ScrollPositions::new(&page.layout),
            DevicePixelRatio::ONE,
        );
        let firsts: Vec<(f32, bool)> = built
            .list
            .items
            .iter()
            .filter_map(|item| match item {
                DisplayItem::Text { glyphs, color, .. } => Some((glyphs[0].point.x, color.g == 1.0)),
                DisplayItem::Rect { rect, .. } => Some((rect.min_x(), false)),
                _ => None,
            })
            .collect();
        // The bullet (left of the item's content at 40), then the span's background and text.
        assert_eq!(firsts.len(), 3, "{firsts:?}");
        assert!(firsts[0].0 < 40.0 && firsts[0].1, "{firsts:?}");
        assert_eq!(firsts[1].0, 40.0);
    }
}
