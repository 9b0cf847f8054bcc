//! Scrollable overflow and scroll frames (CSS Overflow 3 §2.2 and §3).
//!
//! Once every box is placed, one walk finds each box the user can scroll (`overflow: auto`
//! or `scroll` along an axis: a *scroll frame*, the page's own small viewports) and how far
//! the content of the viewport and of each frame reaches: its scrollable overflow, which
//! bounds how far it scrolls. Content belongs to the frame on its containing-block chain,
//! as painting treats it: an absolute box escapes the frames and clips between it and its
//! containing block; a fixed box belongs to no frame and makes no overflow (it never
//! scrolls with the page), though frames inside it scroll as any other.

use armature_api::{LayoutPoint, LayoutRect, LayoutSize};

use super::{BoxId, BoxKind, PageLayout};
use crate::dom::NodeId;
use crate::style::{self, StyleMap};

/// Index of a scroll frame in [`PageLayout::scroll_frames`]; a frame's parent always has a
/// smaller one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ScrollFrameId(pub(super) u32);

impl ScrollFrameId {
    /// Position in [`PageLayout::scroll_frames`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A box whose content the user can scroll: a viewport of its own inside the page.
#[derive(Clone, Debug, PartialEq)]
pub struct ScrollFrame {
    /// The scroll container's box.
    pub id: BoxId,
    /// Its element (scroll positions are kept per element, so they survive a relayout).
    pub node: NodeId,
    /// The frame it sits in; `None`: the page's viewport.
    pub parent: Option<ScrollFrameId>,
    /// Whether it sits in a fixed box, where the viewport's scroll position does not move it.
    pub pinned: bool,
    /// Its scrollport, the padding box, in page coordinates with nothing scrolled.
    pub port: LayoutRect,
    /// How far its content, then its end padding, reach right and down from the port's
    /// origin: its scrollable overflow, at least the port (the DOM's `scrollWidth` ×
    /// `scrollHeight`).
    pub extent: LayoutSize,
    /// Whether the user may scroll it across (`overflow-x: auto` or `scroll`).
    pub scrolls_x: bool,
    /// Whether the user may scroll it down.
    pub scrolls_y: bool,
}

impl ScrollFrame {
    /// The largest scroll position along each axis the user may scroll it (0 along others).
    pub fn max_scroll(&self) -> LayoutPoint {
        let past = (self.extent - self.port.size).max(LayoutSize::zero());
        LayoutPoint::new(
            if self.scrolls_x { past.width } else { 0.0 },
            if self.scrolls_y { past.height } else { 0.0 },
        )
    }
}

/// Finds the page's scroll frames and the viewport's and each frame's scrollable overflow:
/// fills in [`PageLayout::scroll_frames`], each scroll container's
/// [`scroll_frame`](super::LayoutBox::scroll_frame), and [`PageLayout::document_size`].
pub(super) fn find(page: &mut PageLayout, styles: &StyleMap) {
    let mut walk =
        Walk { page, styles, frames: Vec::new(), reach: Vec::new(), viewport_reach: LayoutPoint::zero() };
    let top = Place { slot: Slot::Viewport, clip: None };
    walk.visit(page.root(), top, top);
    let Walk { mut frames, reach, viewport_reach, .. } = walk;
    for (frame, far) in frames.iter_mut().zip(reach) {
        // The content is followed by the frame's end padding (as browsers do for block
        // containers), so scrolled to its end the last line does not touch the edge.
        let padding = page.boxes[frame.id.index()].padding;
        let far = LayoutPoint::new(far.x + padding.right, far.y + padding.bottom);
        let origin = frame.port.origin;
        frame.extent = LayoutSize::new(far.x - origin.x, far.y - origin.y).max(frame.port.size);
    }
    for (index, frame) in frames.iter().enumerate() {
        page.boxes[frame.id.index()].scroll_frame = Some(ScrollFrameId(index as u32));
    }
    page.scroll_frames = frames;
    // Overflow above or left of the page's origin cannot be scrolled to: only far edges count.
    page.document_size = LayoutSize::new(viewport_reach.x, viewport_reach.y).max(page.viewport);
}

/// What scrolls a box: the viewport, a scroll frame, or nothing (inside a fixed box).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Slot {
    Viewport,
    Frame(ScrollFrameId),
    Pinned,
}

/// Where a box's overflow counts: its slot, and what clips it there (`None`: nothing).
#[derive(Clone, Copy, Debug)]
struct Place {
    slot: Slot,
    clip: Option<LayoutRect>,
}

struct Walk<'a> {
    page: &'a PageLayout,
    styles: &'a StyleMap,
    frames: Vec<ScrollFrame>,
    /// How far each frame's content reaches, by frame.
    reach: Vec<LayoutPoint>,
    viewport_reach: LayoutPoint,
}

impl Walk<'_> {
    /// Counts box `id` and its subtree: `flow` is where its parent's content goes,
    /// `positioned` where the content of its nearest positioned ancestor goes (the
    /// containing block of an absolute box, which escapes the frames and clips in between).
    fn visit(&mut self, id: BoxId, flow: Place, positioned: Place) {
        let layout_box = self.page.get(id);
        let style = self.page.style(id, self.styles);
        let position = style.map_or(style::Position::Static, |style| style.position);
        let place = match position {
            style::Position::Fixed if layout_box.fixed => Place { slot: Slot::Pinned, clip: None },
            _ if position.is_out_of_flow() => positioned,
            _ => flow,
        };
        self.reach(place, layout_box.rect);
        let content = if let Some(frame) = self.frame(id, style, place.slot) {
            // A frame's own clip is its port; what it holds counts in full.
            Place { slot: Slot::Frame(frame), clip: None }
        } else if let Some(own) = self.page.overflow_clip(id, style) {
            let clip = place.clip.map_or(Some(own), |clip| clip.intersection(&own)).unwrap_or_default();
            Place { clip: Some(clip), ..place }
        } else {
            place
        };
        if let BoxKind::Text(paragraph) = layout_box.kind
            && let Some(text) = &self.page.paragraph(paragraph).layout
        {
            let origin = layout_box.content_rect().origin;
            for line in text.lines() {
                let metrics = line.metrics();
                // Trailing white space hangs past the line's end; it makes no overflow.
                let width = (metrics.advance - metrics.hanging_advance).max(0.0);
                let line_rect = LayoutRect::new(
                    LayoutPoint::new(origin.x + metrics.offset, origin.y + metrics.block_min_coord),
                    LayoutSize::new(width, metrics.block_max_coord - metrics.block_min_coord),
                );
                self.reach(content, line_rect);
            }
        }
        let positioned = if position.is_positioned() { content } else { positioned };
        for &child in &layout_box.children {
            self.visit(child, content, positioned);
        }
    }

    /// Makes box `id` a scroll frame if the user can scroll it. Boxes whose overflow is
    /// `hidden` on both axes are scroll containers only scripts could scroll, which this
    /// engine's scripts cannot: they stay clips.
    fn frame(
        &mut self,
        id: BoxId,
        style: Option<&style::ComputedStyle>,
        slot: Slot,
    ) -> Option<ScrollFrameId> {
        let layout_box = self.page.get(id);
        let style = style?;
        let node = layout_box.node.filter(|&node| Some(node) != self.page.viewport_overflow.source)?;
        let (scrolls_x, scrolls_y) = (style.overflow_x.user_scrolls(), style.overflow_y.user_scrolls());
        let container = matches!(
            layout_box.kind,
            BoxKind::Block
                | BoxKind::Flex
                | BoxKind::Grid
                | BoxKind::Table
                | BoxKind::InlineBlock
                | BoxKind::Text(_)
        );
        if !container || !(scrolls_x || scrolls_y) {
            return None;
        }
        let parent = match slot {
            Slot::Frame(parent) => Some(parent),
            Slot::Viewport | Slot::Pinned => None,
        };
        let pinned = slot == Slot::Pinned || parent.is_some_and(|parent| self.frames[parent.index()].pinned);
        let port = layout_box.padding_rect();
        self.frames.push(ScrollFrame {
            id,
            node,
            parent,
            pinned,
            port,
            extent: port.size,
            scrolls_x,
            scrolls_y,
        });
        self.reach.push(port.origin);
        Some(ScrollFrameId(self.frames.len() as u32 - 1))
    }

    fn reach(&mut self, place: Place, rect: LayoutRect) {
        let visible = match place.clip {
            Some(clip) => match rect.intersection(&clip) {
                Some(visible) => visible,
                None => return,
            },
            None => rect,
        };
        let far = match place.slot {
            Slot::Viewport => &mut self.viewport_reach,
            Slot::Frame(frame) => &mut self.reach[frame.index()],
            Slot::Pinned => return,
        };
        *far = LayoutPoint::new(far.x.max(visible.max_x()), far.y.max(visible.max_y()));
    }
}
