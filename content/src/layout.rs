//! Layout: turns the styled DOM into positioned fragments (boxes and text runs).
//!
//! The foundation's flow layout: block boxes stack vertically inside their containing block;
//! inline content (text and inline elements) is broken greedily into line boxes. Runs on the
//! content process's main thread.

use armature_api::{ColorF, LayoutPoint, LayoutRect, LayoutSize};

use crate::dom::{Document, NodeData, NodeId};
use crate::style::{ComputedStyle, Display, Sides, StyleMap};
use crate::text::{Face, FontSet, PlacedGlyph};

/// A positioned piece of the page, in paint order.
#[derive(Clone, Debug, PartialEq)]
pub enum Fragment {
    /// A block box (its border box).
    Box {
        /// The element.
        node: NodeId,
        /// Border-box rectangle.
        rect: LayoutRect,
        /// Its background colour.
        background: ColorF,
    },
    /// A run of text on one line, one face, one colour.
    Text {
        /// The text node it came from (the first, if a run spans several).
        node: NodeId,
        /// The run's line-box slice.
        rect: LayoutRect,
        /// Baseline y.
        baseline: f32,
        /// Face.
        face: Face,
        /// Size in px.
        size: f32,
        /// Colour.
        color: ColorF,
        /// Glyphs with x relative to `rect.origin.x`.
        glyphs: Vec<PlacedGlyph>,
    },
}

/// The laid-out page.
#[derive(Debug)]
pub struct PageLayout {
    /// Fragments in paint order.
    pub fragments: Vec<Fragment>,
    /// The canvas colour (the root's or body's background, as CSS propagates it).
    pub canvas_background: ColorF,
    /// The height of the whole document (may exceed the viewport).
    pub document_height: f32,
}

/// Lays out a styled document in a viewport of the given width.
pub fn layout(document: &Document, styles: &StyleMap, fonts: &FontSet, viewport_width: f32) -> PageLayout {
    let mut context = LayoutContext { document, styles, fonts, fragments: Vec::new() };
    let mut height = 0.0;
    let mut canvas_background = ColorF::TRANSPARENT;
    for &child in &document.node(NodeId::DOCUMENT).children {
        let Some(style) = styles.get(child) else { continue };
        if !matches!(document.node(child).data, NodeData::Element { .. }) || style.display == Display::None {
            continue;
        }
        canvas_background = style.background_color;
        height += context.layout_block(child, 0.0, height, viewport_width);
    }
    if canvas_background.is_transparent()
        && let Some(body) = document.first_element("body")
        && let Some(style) = styles.get(body)
    {
        canvas_background = style.background_color;
    }
    if canvas_background.is_transparent() {
        canvas_background = ColorF::WHITE;
    }
    PageLayout { fragments: context.fragments, canvas_background, document_height: height }
}

struct LayoutContext<'a> {
    document: &'a Document,
    styles: &'a StyleMap,
    fonts: &'a FontSet,
    fragments: Vec<Fragment>,
}

/// A piece of inline content waiting to be broken into lines.
struct InlineText {
    node: NodeId,
    text: String,
    face: Face,
    size: f32,
    color: ColorF,
}

fn resolve_sides(sides: &Sides<crate::style::Length>, containing_width: f32) -> Sides<f32> {
    let side = |length: crate::style::Length| length.resolve(containing_width).unwrap_or(0.0);
    Sides {
        top: side(sides.top),
        right: side(sides.right),
        bottom: side(sides.bottom),
        left: side(sides.left),
    }
}

impl LayoutContext<'_> {
    fn style(&self, node: NodeId) -> Option<&ComputedStyle> {
        self.styles.get(node)
    }

    /// Lays out a block and its descendants at (x, y); returns its margin-box height.
    fn layout_block(&mut self, node: NodeId, x: f32, y: f32, containing_width: f32) -> f32 {
        let Some(style) = self.style(node).cloned() else { return 0.0 };
        let margin = resolve_sides(&style.margin, containing_width);
        let padding = resolve_sides(&style.padding, containing_width);
        let content_width = style
            .width
            .resolve(containing_width)
            .unwrap_or(containing_width - margin.left - margin.right - padding.left - padding.right)
            .max(0.0);
        let border_origin = LayoutPoint::new(x + margin.left, y + margin.top);
        let content_x = border_origin.x + padding.left;
        let content_y = border_origin.y + padding.top;

        let box_index = self.fragments.len();
        self.fragments.push(Fragment::Box {
            node,
            rect: LayoutRect::new(border_origin, LayoutSize::zero()),
            background: style.background_color,
        });

        let mut cursor = content_y;
        let mut inline = Vec::new();
        for &child in &self.document.node(node).children {
            let Some(child_style) = self.style(child) else { continue };
            match (&self.document.node(child).data, child_style.display) {
                (_, Display::None) => {}
                (NodeData::Element { .. }, Display::Block) => {
                    cursor += self.layout_lines(&mut inline, content_x, cursor, content_width);
                    cursor += self.layout_block(child, content_x, cursor, content_width);
                }
                _ => self.collect_inline(child, &mut inline),
            }
        }
        cursor += self.layout_lines(&mut inline, content_x, cursor, content_width);

        // Percent heights need a definite containing-block height; treat them as auto.
        let content_height = match style.height {
            crate::style::Length::Px(px) => px,
            _ => cursor - content_y,
        };
        let border_size = LayoutSize::new(
            padding.left + content_width + padding.right,
            padding.top + content_height + padding.bottom,
        );
        if let Fragment::Box { rect, .. } = &mut self.fragments[box_index] {
            rect.size = border_size;
        }
        margin.top + border_size.height + margin.bottom
    }

    /// Gathers the text below an inline node, with each piece's style.
    fn collect_inline(&self, node: NodeId, out: &mut Vec<InlineText>) {
        let Some(style) = self.style(node) else { return };
        if style.display == Display::None {
            return;
        }
        match &self.document.node(node).data {
            NodeData::Text(text) => out.push(InlineText {
                node,
                text: text.clone(),
                face: Face::for_weight(style.font_weight),
                size: style.font_size,
                color: style.color,
            }),
            NodeData::Element { .. } => {
                for &child in &self.document.node(node).children {
                    self.collect_inline(child, out);
                }
            }
            _ => {}
        }
    }

    /// Breaks the gathered inline content into lines at (x, y); returns their total height.
    fn layout_lines(&mut self, inline: &mut Vec<InlineText>, x: f32, y: f32, width: f32) -> f32 {
        let pieces = std::mem::take(inline);
        // Words with the style they were written in; whitespace collapses to single spaces.
        let words: Vec<(&InlineText, &str)> = pieces
            .iter()
            .flat_map(|piece| piece.text.split_whitespace().map(move |word| (piece, word)))
            .collect();
        if words.is_empty() {
            return 0.0;
        }

        let mut lines: Vec<Vec<(&InlineText, &str, f32)>> = vec![Vec::new()];
        let mut line_width = 0.0;
        for (piece, word) in words {
            let word_width = self.fonts.measure(piece.face, piece.size, word);
            let line = lines.last_mut().map(|line| line.len()).unwrap_or(0);
            // Only a word after another on the same line needs the space before it.
            let start =
                if line == 0 { 0.0 } else { line_width + self.fonts.measure(piece.face, piece.size, " ") };
            if line > 0 && start + word_width > width {
                lines.push(vec![(piece, word, 0.0)]);
                line_width = word_width;
            } else if let Some(current) = lines.last_mut() {
                current.push((piece, word, start));
                line_width = start + word_width;
            }
        }

        let mut line_top = y;
        for line in lines {
            let (ascent, line_height) =
                line.iter().fold((0.0f32, 0.0f32), |(ascent, height), (piece, _, _)| {
                    let metrics = self.fonts.line_metrics(piece.face, piece.size);
                    (ascent.max(metrics.ascent), height.max(metrics.line_height))
                });
            let baseline = line_top + ascent;
            // Consecutive words of one piece become one run: fewer items, same pixels.
            let mut index = 0;
            while index < line.len() {
                let (piece, _, start) = line[index];
                let mut end = index + 1;
                while end < line.len() && std::ptr::eq(line[end].0, piece) {
                    end += 1;
                }
                let text = line[index..end].iter().map(|(_, word, _)| *word).collect::<Vec<_>>().join(" ");
                let (glyphs, advance) = self.fonts.shape(piece.face, piece.size, &text);
                self.fragments.push(Fragment::Text {
                    node: piece.node,
                    rect: LayoutRect::new(
                        LayoutPoint::new(x + start, line_top),
                        LayoutSize::new(advance, line_height),
                    ),
                    baseline,
                    face: piece.face,
                    size: piece.size,
                    color: piece.color,
                    glyphs,
                });
                index = end;
            }
            line_top += line_height;
        }
        line_top - y
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use armature_api::IdNamespace;

    fn lay_out(html: &str) -> PageLayout {
        let document = Document::parse(html);
        let styles = crate::style::compute(&document);
        let fonts = FontSet::new(IdNamespace(1)).expect("fonts");
        layout(&document, &styles, &fonts, 800.0)
    }

    fn box_rect(layout: &PageLayout, nth: usize) -> LayoutRect {
        layout
            .fragments
            .iter()
            .filter_map(|fragment| match fragment {
                Fragment::Box { rect, .. } => Some(*rect),
                Fragment::Text { .. } => None,
            })
            .nth(nth)
            .expect("box")
    }

    #[test]
    fn blocks_stack_inside_body_margin() {
        let page = lay_out(
            r#"<body><div style="height:100px;width:200px"></div><div style="height:50px;margin:10px"></div>"#,
        );
        // html, body, div, div
        assert_eq!(
            box_rect(&page, 1),
            LayoutRect::new(LayoutPoint::new(8.0, 8.0), LayoutSize::new(784.0, 170.0))
        );
        assert_eq!(
            box_rect(&page, 2),
            LayoutRect::new(LayoutPoint::new(8.0, 8.0), LayoutSize::new(200.0, 100.0))
        );
        assert_eq!(
            box_rect(&page, 3),
            LayoutRect::new(LayoutPoint::new(18.0, 118.0), LayoutSize::new(764.0, 50.0))
        );
    }

    #[test]
    fn long_text_wraps_into_lines_within_the_width() {
        let words = "lorem ipsum dolor sit amet ".repeat(40);
        let page = lay_out(&format!("<p style='width:300px'>{words}</p>"));
        let lines: Vec<_> = page
            .fragments
            .iter()
            .filter_map(|fragment| match fragment {
                Fragment::Text { rect, .. } => Some(*rect),
                Fragment::Box { .. } => None,
            })
            .collect();
        assert!(lines.len() > 5, "{} lines", lines.len());
        assert!(lines.iter().all(|rect| rect.max_x() <= 8.0 + 300.0 + 0.01));
        assert!(lines.windows(2).all(|pair| pair[1].origin.y > pair[0].origin.y));
    }
}
