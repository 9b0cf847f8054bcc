//! Generated content's boxes: a `::before` or `::after` whose style (`style::generated`)
//! gives it content becomes the first or last child of its element's box, built like a
//! child element whose only child is its text. An inline one is a span in its element's
//! paragraph; an inline-block one an atomic inline; a block-level, flex or grid one, or an
//! out-of-flow one, a box of its own. The text is resolved here, in tree order, because
//! quotes nest across the whole document.
//!
//! Not generated: a table's, row group's or row's own `::before` and `::after` (a table is
//! formed from its cells; see `table`), and those of replaced elements and `<br>`, as in
//! browsers.

use super::inline::{InlineItem, Paragraph};
use super::{BoxId, Builder, box_kind, taffy_style};
use crate::dom::NodeId;
use crate::style::{ComputedStyle, ContentItem, Display, Pseudo};

impl Builder<'_> {
    /// Adds `element`'s `pseudo`-element, if it generates a box, where its element's
    /// children go: `paragraph` is the inline run so far and `boxes` the boxes before it, in
    /// a container of `container_style` (`items`: a flex or grid container's). A block-level
    /// one ends the run, and inside an inline element splits it, as a block child does.
    pub(super) fn generated(
        &mut self,
        element: NodeId,
        pseudo: Pseudo,
        paragraph: &mut Paragraph,
        container_style: &ComputedStyle,
        items: bool,
        boxes: &mut Vec<BoxId>,
    ) {
        let styles = self.styles;
        let Some(style) = styles.pseudo(element, pseudo) else { return };
        let text = self.generated_text(element, style);
        if style.position.is_out_of_flow() {
            boxes.push(self.generated_box(element, pseudo, style, text, items));
        } else if !items && style.display == Display::Inline {
            paragraph.push_generated(style, &text);
        } else if !items && style.display.is_inline_level() {
            let id = self.generated_box(element, pseudo, style, text, false);
            self.atomic_roots.push(id);
            paragraph.items.push(InlineItem::Atomic(id));
        } else {
            let open = paragraph.open_spans();
            for _ in &open {
                paragraph.items.push(InlineItem::PopSpan);
            }
            self.flush(paragraph, container_style, boxes);
            boxes.push(self.generated_box(element, pseudo, style, text, items));
            for (node, span_style) in open {
                paragraph.push_span(node, &span_style);
            }
        }
    }

    /// The box of a generated pseudo-element that is not a plain inline: a block, flex or
    /// grid container (`is_item`: blockified in a flex or grid container) or an
    /// inline-block, holding `text`. A table display lays out as a block (it has no cells).
    fn generated_box(
        &mut self,
        element: NodeId,
        pseudo: Pseudo,
        style: &ComputedStyle,
        text: String,
        is_item: bool,
    ) -> BoxId {
        let id = self.new_box(box_kind(style.display, is_item), None, taffy_style(style), None);
        self.boxes[id.index()].generated = Some((element, pseudo));
        let mut paragraph = Paragraph::new(style, self.quantize_text);
        paragraph.items.push(InlineItem::Text(text));
        let mut children = Vec::new();
        self.flush(&mut paragraph, style, &mut children);
        self.set_children(id, children);
        id
    }

    /// The text `style`'s `content` makes for a pseudo-element of `element`, stepping the
    /// quote depth (CSS Generated Content 3 §2.1: a `close-quote` with no quote open
    /// inserts nothing and stays at depth 0).
    fn generated_text(&mut self, element: NodeId, style: &ComputedStyle) -> String {
        let mut text = String::new();
        for item in style.content.items().unwrap_or_default() {
            match item {
                ContentItem::Text(value) => text.push_str(value),
                ContentItem::Attr(name) => {
                    text.push_str(self.document.attr(element, name).unwrap_or_default())
                }
                ContentItem::OpenQuote => {
                    text.push_str(style.quotes.marks(self.quote_depth).0);
                    self.quote_depth += 1;
                }
                ContentItem::CloseQuote => {
                    if let Some(depth) = self.quote_depth.checked_sub(1) {
                        self.quote_depth = depth;
                        text.push_str(style.quotes.marks(depth).1);
                    }
                }
                ContentItem::NoOpenQuote => self.quote_depth += 1,
                ContentItem::NoCloseQuote => self.quote_depth = self.quote_depth.saturating_sub(1),
            }
        }
        text
    }
}
