//! Scrolling: where a page's viewport and each of its scroll frames are scrolled to, and
//! which of them a wheel turn or a key press moves.
//!
//! A request names a point in the viewport: the pointer, for a wheel; the last click, for
//! keys. Along each axis it goes to the innermost frame under that point that can still
//! move that way, else to the frame around it, and so on out to the viewport (scroll
//! chaining: a list scrolled to its end passes the wheel on to the page, as in browsers).
//! Positions stay on the content and on whole device pixels, so a scrolled page's edges are
//! as crisp as an unscrolled one's.
//!
//! Simplification: the frame under a point is the last one in tree order whose port, and
//! every port around it, holds the point; a positioned box painted over a frame does not
//! hide it from the wheel.

use std::collections::HashMap;

use armature_api::messages::ScrollBy;
use armature_api::{DevicePixelRatio, LayoutPoint, LayoutSize, LayoutVector};

use crate::dom::NodeId;
use crate::layout::{PageLayout, ScrollFrameId};

/// How much of the old view a page step keeps on screen, as browsers do.
pub const PAGE_OVERLAP: f32 = 40.0;

/// What a scroll moves.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Scroller {
    Viewport,
    Frame(ScrollFrameId),
}

#[derive(Clone, Copy, Debug)]
enum Axis {
    X,
    Y,
}

impl Axis {
    fn of(self, point: LayoutPoint) -> f32 {
        match self {
            Axis::X => point.x,
            Axis::Y => point.y,
        }
    }

    fn set(self, point: &mut LayoutPoint, value: f32) {
        match self {
            Axis::X => point.x = value,
            Axis::Y => point.y = value,
        }
    }
}

/// Where a page's viewport and scroll frames are scrolled to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScrollPositions {
    viewport: LayoutPoint,
    /// By frame of the layout they were made for, with each frame's element.
    frames: Vec<(NodeId, LayoutPoint)>,
}

impl ScrollPositions {
    /// Nothing scrolled, for `page`'s frames.
    pub fn new(page: &PageLayout) -> ScrollPositions {
        let frames = page.scroll_frames.iter().map(|frame| (frame.node, LayoutPoint::zero())).collect();
        ScrollPositions { viewport: LayoutPoint::zero(), frames }
    }

    /// The page point shown at the viewport's top-left.
    pub fn viewport(&self) -> LayoutPoint {
        self.viewport
    }

    /// The content point shown at frame `id`'s port's top-left, relative to the port.
    pub fn frame(&self, id: ScrollFrameId) -> LayoutPoint {
        self.frames.get(id.index()).map_or(LayoutPoint::zero(), |&(_, position)| position)
    }

    /// The positions for `page` laid out again (a new viewport size or pixel ratio): each
    /// frame keeps its element's position, and everything is pulled back onto the content.
    pub fn relayout(&self, page: &PageLayout, ratio: DevicePixelRatio) -> ScrollPositions {
        let old: HashMap<NodeId, LayoutPoint> = self.frames.iter().copied().collect();
        let frames = page
            .scroll_frames
            .iter()
            .map(|frame| {
                let position = old.get(&frame.node).copied().unwrap_or_default();
                (frame.node, clamp(position, frame.max_scroll(), ratio))
            })
            .collect();
        ScrollPositions { viewport: clamp(self.viewport, page.max_scroll(), ratio), frames }
    }

    /// Scrolls by `by` at viewport point `at` (`None`: the viewport itself, as before any
    /// click); `false` if nothing moved (everything under the point is at that end).
    pub fn scroll(
        &mut self,
        page: &PageLayout,
        by: ScrollBy,
        at: Option<LayoutPoint>,
        ratio: DevicePixelRatio,
    ) -> bool {
        let chain = self.chain(page, at);
        let before = self.clone();
        let step = |positions: &mut ScrollPositions,
                    axis: Axis,
                    direction: f32,
                    to: &dyn Fn(f32, LayoutSize) -> f32| {
            if let Some(scroller) = chain
                .iter()
                .copied()
                .find(|&scroller| positions.can_move(page, scroller, axis, direction, ratio))
            {
                let (mut position, max, port) = positions.state(page, scroller);
                let to = to(axis.of(position), port);
                axis.set(&mut position, to);
                positions.put(scroller, clamp(position, max, ratio));
            }
        };
        match by {
            ScrollBy::Pixels(by) => {
                step(self, Axis::X, by.x, &|now, _| now + by.x);
                step(self, Axis::Y, by.y, &|now, _| now + by.y);
            }
            ScrollBy::Pages(pages) => step(self, Axis::Y, pages, &|now, port| {
                now + pages * (port.height - PAGE_OVERLAP).max(port.height * 0.5)
            }),
            ScrollBy::Start => step(self, Axis::Y, -1.0, &|_, _| 0.0),
            ScrollBy::End => step(self, Axis::Y, 1.0, &|_, _| f32::INFINITY),
        }
        *self != before
    }

    /// What a scroll at `at` may move, innermost first: the frames under the point, then the
    /// viewport.
    fn chain(&self, page: &PageLayout, at: Option<LayoutPoint>) -> Vec<Scroller> {
        let mut chain = Vec::new();
        if let Some(at) = at {
            // Per frame, where its port is on screen if the point is in it and in every port
            // around it. Parents come first, so theirs is known.
            let mut under: Vec<Option<LayoutVector>> = Vec::with_capacity(page.scroll_frames.len());
            for (_, frame) in page.scroll_frames() {
                let shift = match frame.parent {
                    Some(parent) => under[parent.index()].map(|shift| shift - self.frame(parent).to_vector()),
                    None if frame.pinned => Some(LayoutVector::zero()),
                    None => Some(-self.viewport.to_vector()),
                };
                under.push(shift.filter(|&shift| frame.port.translate(shift).contains(at)));
            }
            let innermost = page.scroll_frames().filter(|(id, _)| under[id.index()].is_some()).last();
            let mut next = innermost.map(|(id, _)| id);
            while let Some(id) = next {
                chain.push(Scroller::Frame(id));
                next = page.scroll_frame(id).parent;
            }
        }
        chain.push(Scroller::Viewport);
        chain
    }

    /// Whether `scroller` can move along `axis` towards `direction`'s sign.
    fn can_move(
        &self,
        page: &PageLayout,
        scroller: Scroller,
        axis: Axis,
        direction: f32,
        ratio: DevicePixelRatio,
    ) -> bool {
        let (position, max, _) = self.state(page, scroller);
        let (now, limit) = (axis.of(position), axis.of(limit(max, ratio)));
        (direction > 0.0 && now < limit) || (direction < 0.0 && now > 0.0)
    }

    /// A scroller's position, largest position and port size.
    fn state(&self, page: &PageLayout, scroller: Scroller) -> (LayoutPoint, LayoutPoint, LayoutSize) {
        match scroller {
            Scroller::Viewport => (self.viewport, page.max_scroll(), page.viewport),
            Scroller::Frame(id) => {
                let frame = page.scroll_frame(id);
                (self.frame(id), frame.max_scroll(), frame.port.size)
            }
        }
    }

    fn put(&mut self, scroller: Scroller, position: LayoutPoint) {
        match scroller {
            Scroller::Viewport => self.viewport = position,
            Scroller::Frame(id) => {
                if let Some(frame) = self.frames.get_mut(id.index()) {
                    frame.1 = position;
                }
            }
        }
    }
}

/// The largest position that is a whole device pixel: a position past `max`, even by a
/// fraction of a pixel, would show a sliver beyond the content.
fn limit(max: LayoutPoint, ratio: DevicePixelRatio) -> LayoutPoint {
    let floor = |max: f32| (max * ratio.get()).floor() / ratio.get();
    LayoutPoint::new(floor(max.x), floor(max.y))
}

/// `to` kept between 0 and `max` and snapped to a whole device pixel; an axis that is not a
/// number goes to 0.
fn clamp(to: LayoutPoint, max: LayoutPoint, ratio: DevicePixelRatio) -> LayoutPoint {
    let limit = limit(max, ratio);
    let axis =
        |to: f32, limit: f32| if to.is_nan() { 0.0 } else { ratio.snap(to.clamp(0.0, limit)).min(limit) };
    LayoutPoint::new(axis(to.x, limit.x), axis(to.y, limit.y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::TestPage;

    const ONE: DevicePixelRatio = DevicePixelRatio::ONE;

    /// A 200x100 viewport on a page 370 high, with `#list` (100x50 at 20,20) that scrolls
    /// down by 150.
    const LIST: &str = "<body style='margin: 0'><div style='height: 20px'></div>\
        <div id=list style='overflow-y: auto; margin-left: 20px; width: 100px; height: 50px'>\
        <div style='height: 200px'></div></div><div style='height: 300px'></div></body>";

    fn down(by: f32) -> ScrollBy {
        ScrollBy::Pixels(LayoutVector::new(0.0, by))
    }

    /// The list's position and the viewport's, down.
    fn positions(page: &TestPage, positions: &ScrollPositions) -> (f32, f32) {
        let list = page.layout.get(page.element_box("list")).scroll_frame.expect("a frame");
        (positions.frame(list).y, positions.viewport().y)
    }

    #[test]
    fn the_wheel_scrolls_the_frame_under_the_pointer_then_the_page() {
        let page = TestPage::new(LIST, 200.0, 100.0);
        let mut scroll = ScrollPositions::new(&page.layout);
        let over_list = Some(LayoutPoint::new(50.0, 40.0));
        assert!(scroll.scroll(&page.layout, down(100.0), over_list, ONE));
        assert_eq!(positions(&page, &scroll), (100.0, 0.0));
        // The list takes what it can; the rest of one turn is not passed on.
        assert!(scroll.scroll(&page.layout, down(100.0), over_list, ONE));
        assert_eq!(positions(&page, &scroll), (150.0, 0.0));
        // At its end, the page scrolls (and carries the list off from under the pointer).
        assert!(scroll.scroll(&page.layout, down(100.0), over_list, ONE));
        assert_eq!(positions(&page, &scroll), (150.0, 100.0));
        assert!(scroll.scroll(&page.layout, down(-100.0), over_list, ONE));
        assert_eq!(positions(&page, &scroll), (150.0, 0.0), "the list was not under the pointer");
        // Now it is again; up scrolls it. Elsewhere, or with no point, the page scrolls.
        assert!(scroll.scroll(&page.layout, down(-30.0), over_list, ONE));
        assert_eq!(positions(&page, &scroll), (120.0, 0.0));
        for elsewhere in [Some(LayoutPoint::new(150.0, 40.0)), Some(LayoutPoint::new(50.0, 75.0)), None] {
            assert!(scroll.scroll(&page.layout, down(10.0), elsewhere, ONE));
        }
        assert_eq!(positions(&page, &scroll), (120.0, 30.0));
        // Across, nothing here can move: the list holds nothing wider, nor does the page.
        let across = ScrollBy::Pixels(LayoutVector::new(40.0, 0.0));
        assert!(!scroll.scroll(&page.layout, across, over_list, ONE));
        // A point that is no number is over nothing.
        assert!(scroll.scroll(&page.layout, down(5.0), Some(LayoutPoint::new(f32::NAN, 40.0)), ONE));
        assert_eq!(positions(&page, &scroll), (120.0, 35.0));
    }

    #[test]
    fn keys_page_and_jump_the_frame_at_the_last_click() {
        let page = TestPage::new(LIST, 200.0, 100.0);
        let mut scroll = ScrollPositions::new(&page.layout);
        let clicked = Some(LayoutPoint::new(50.0, 40.0));
        // A page is the list's height less the overlap, or half of it if that is more.
        assert!(scroll.scroll(&page.layout, ScrollBy::Pages(1.0), clicked, ONE));
        assert_eq!(positions(&page, &scroll), (25.0, 0.0));
        assert!(scroll.scroll(&page.layout, ScrollBy::End, clicked, ONE));
        assert_eq!(positions(&page, &scroll), (150.0, 0.0));
        assert!(scroll.scroll(&page.layout, ScrollBy::End, clicked, ONE), "then the page's end");
        assert_eq!(positions(&page, &scroll), (150.0, 270.0));
        assert!(!scroll.scroll(&page.layout, ScrollBy::End, clicked, ONE), "nothing left to move");
        assert!(scroll.scroll(&page.layout, ScrollBy::Start, None, ONE));
        assert_eq!(positions(&page, &scroll), (150.0, 0.0));
        assert!(scroll.scroll(&page.layout, ScrollBy::Start, clicked, ONE));
        assert_eq!(positions(&page, &scroll), (0.0, 0.0));
    }

    #[test]
    fn nested_and_pinned_frames_are_found_where_they_are_on_screen() {
        let page = TestPage::new(
            "<body style='margin: 0'>\
             <div id=outer style='overflow: auto; width: 100px; height: 60px'>\
               <div style='height: 40px'></div>\
               <div id=inner style='overflow: auto; height: 40px'><div style='height: 100px'></div></div>\
               <div style='height: 100px'></div></div>\
             <div style='position: fixed; top: 70px; left: 0; width: 200px; height: 30px'>\
               <div id=pinned style='overflow: auto; height: 30px'><div style='height: 60px'></div></div></div>\
             <div style='height: 500px'></div></body>",
            200.0,
            100.0,
        );
        let id = |name| page.layout.get(page.element_box(name)).scroll_frame.expect("a frame");
        let (outer, inner, pinned) = (id("outer"), id("inner"), id("pinned"));
        let mut scroll = ScrollPositions::new(&page.layout);
        // The inner frame's port is at 40..80 in the outer one's content, seen through the
        // outer port (0..60): at y 65, below the outer port, neither is under the point...
        assert!(scroll.scroll(&page.layout, down(10.0), Some(LayoutPoint::new(50.0, 65.0)), ONE));
        assert_eq!((scroll.frame(inner).y, scroll.frame(outer).y, scroll.viewport().y), (0.0, 0.0, 10.0));
        assert!(scroll.scroll(&page.layout, down(-10.0), None, ONE));
        // ...and at y 50 the inner one is.
        assert!(scroll.scroll(&page.layout, down(10.0), Some(LayoutPoint::new(50.0, 50.0)), ONE));
        assert_eq!((scroll.frame(inner).y, scroll.frame(outer).y), (10.0, 0.0));
        // Scrolling the outer frame moves the inner one up: y 25 is now over it.
        assert!(scroll.scroll(&page.layout, down(20.0), Some(LayoutPoint::new(50.0, 5.0)), ONE));
        assert_eq!(scroll.frame(outer).y, 20.0);
        assert!(scroll.scroll(&page.layout, down(10.0), Some(LayoutPoint::new(50.0, 25.0)), ONE));
        assert_eq!((scroll.frame(inner).y, scroll.frame(outer).y), (20.0, 20.0));
        // The fixed box's frame is where it is whatever the page's position.
        assert!(scroll.scroll(&page.layout, down(300.0), None, ONE));
        assert!(scroll.scroll(&page.layout, down(10.0), Some(LayoutPoint::new(150.0, 80.0)), ONE));
        assert_eq!((scroll.frame(pinned).y, scroll.viewport().y), (10.0, 300.0));
    }

    #[test]
    fn a_new_layout_keeps_each_frame_s_position_on_its_content() {
        // The list is as tall as the viewport: a taller viewport leaves less to scroll.
        let html = "<body style='margin: 0'><div id=list style='position: absolute; top: 0; bottom: 0; \
            width: 100px; overflow: auto'><div style='height: 200px'></div></div>";
        let short = TestPage::new(html, 200.0, 100.0);
        let mut scroll = ScrollPositions::new(&short.layout);
        assert!(scroll.scroll(&short.layout, ScrollBy::End, Some(LayoutPoint::new(10.0, 10.0)), ONE));
        assert_eq!(positions(&short, &scroll).0, 100.0);
        let tall = TestPage::new(html, 200.0, 150.0);
        assert_eq!(positions(&tall, &scroll.relayout(&tall.layout, ONE)).0, 50.0);
        // At 1.5 device pixels per CSS pixel, positions are whole device pixels...
        let ratio = DevicePixelRatio::new(1.5).expect("a ratio");
        let mut scroll = ScrollPositions::new(&short.layout);
        assert!(scroll.scroll(&short.layout, down(20.5), Some(LayoutPoint::new(10.0, 10.0)), ratio));
        assert!((positions(&short, &scroll).0 * 1.5 - 31.0).abs() < 1e-4, "{:?}", positions(&short, &scroll));
        // ...and never past the content by a fraction of one.
        let max = LayoutPoint::new(0.0, 100.3);
        assert_eq!(clamp(LayoutPoint::new(f32::NAN, 1e9), max, ratio), LayoutPoint::new(0.0, 100.0));
    }
}
