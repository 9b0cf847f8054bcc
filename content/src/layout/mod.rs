//! Layout: the styled DOM → a box tree → taffy (block, flex, grid) with parley text → boxes
//! at absolute positions.
//!
//! The box tree follows CSS 2 §9.2: a block container whose children mix block-level and
//! inline-level content wraps each run of inline content in an anonymous box holding an
//! inline formatting context (a [`Paragraph`]); in a flex container each run becomes an
//! anonymous flex item. Atomic inlines (inline-block, `<img>`, `<canvas>`) are laid out as
//! their own taffy roots first, shrink-to-fit, then placed in their line like a glyph.
//! List items are numbered as the tree is built and get their markers ([`marker`]); tables
//! become grids of their cells ([`table`]).
//! Runs on the content process's main thread.

use armature_api::limits::{self, Held, Refused};
use armature_api::{
    ColorF, DeviceIntSize, DevicePixelRatio, IdNamespace, ImageBufferId, LayoutPoint, LayoutRect, LayoutSize,
};
use taffy::{AvailableSpace, TaffyTree};

use crate::dom::{Document, NodeData, NodeId};
use crate::fonts::Fonts;
use crate::images::{ImageContent, Images};
use crate::style::{self, ComputedStyle, Display, Length, Pseudo, Sides, StyleMap};

pub mod dump;
pub mod generated;
pub mod inline;
pub mod marker;
pub mod overflow;
pub mod table;

use inline::InlineItem;
pub use inline::{Paragraph, SpanBrush, SpanPaint};
use marker::Counters;
pub use marker::Marker;
pub use overflow::{ScrollFrame, ScrollFrameId};

/// Index of a box in [`PageLayout::boxes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BoxId(u32);

impl BoxId {
    /// Position in [`PageLayout::boxes`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Index of a paragraph in [`PageLayout::paragraphs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParagraphId(u32);

/// What a box is.
#[derive(Clone, Debug, PartialEq)]
pub enum BoxKind {
    /// The initial containing block (the viewport).
    Viewport,
    /// A block container.
    Block,
    /// A flex container.
    Flex,
    /// A grid container.
    Grid,
    /// A table: a grid of its cells (see [`table`]).
    Table,
    /// An atomic inline: an inline-block, or an inline flex or grid container.
    InlineBlock,
    /// An anonymous box holding an inline formatting context.
    Text(ParagraphId),
    /// An `<img>`.
    Image(ImageContent),
    /// A `<canvas>` and the image buffer behind it (`None`: it has no bitmap, see
    /// [`CanvasBitmap`], and shows nothing).
    Canvas(Option<ImageBufferId>),
}

/// A `<canvas>` on the page.
#[derive(Clone, Debug, PartialEq)]
pub struct PageCanvas {
    /// Its image buffer's id (the page's canvases are numbered in document order).
    pub id: ImageBufferId,
    /// Its bitmap's size: the width and height attributes.
    pub size: DeviceIntSize,
    /// Whether an image buffer backs it.
    pub bitmap: CanvasBitmap,
}

/// What backs a `<canvas>`.
#[derive(Clone, Debug, PartialEq)]
pub enum CanvasBitmap {
    /// An image buffer in the GPU process.
    Buffer,
    /// Nothing: its width or height is 0. It shows nothing and drawing on it does nothing,
    /// as in browsers.
    Empty,
    /// Nothing: it would take the page's canvases past their share of the GPU process
    /// ([`limits::PAGE_CANVASES`]), which would end a page that sent it. Why, for the
    /// warning; it behaves as an empty one.
    Refused(String),
}

impl PageCanvas {
    /// Its image buffer and size, if it has one.
    pub fn buffer(&self) -> Option<(ImageBufferId, DeviceIntSize)> {
        (self.bitmap == CanvasBitmap::Buffer).then_some((self.id, self.size))
    }
}

/// A laid-out box.
#[derive(Clone, Debug)]
pub struct LayoutBox {
    /// What it is.
    pub kind: BoxKind,
    /// Its element; `None` for the viewport, anonymous boxes and generated ones.
    pub node: Option<NodeId>,
    /// For the box of a `::before` or `::after`, its element and which (`node` is `None`:
    /// the box is not its element's).
    pub generated: Option<(NodeId, Pseudo)>,
    /// Border box in page coordinates (CSS px from the document's top-left).
    pub rect: LayoutRect,
    /// Border widths.
    pub border: Sides<f32>,
    /// Padding.
    pub padding: Sides<f32>,
    /// Child boxes in paint order (for a text box: its atomic inlines).
    pub children: Vec<BoxId>,
    /// Whether the box is, or is inside, a `position: fixed` box placed in the viewport: it
    /// stays put when the page scrolls, and it does not make the document longer.
    pub fixed: bool,
    /// The scroll frame it is, if the user can scroll its content.
    pub scroll_frame: Option<ScrollFrameId>,
    /// A list item's outside marker (an inside one is part of its first paragraph).
    pub marker: Option<Marker>,
    /// What a table or a table cell paints besides its own style: the backgrounds of the
    /// rows and columns it is in, collapsed borders.
    pub table_paint: Option<Box<table::TablePaint>>,
    taffy: taffy::NodeId,
}

impl LayoutBox {
    /// The padding box (where backgrounds stop and `overflow` clips).
    pub fn padding_rect(&self) -> LayoutRect {
        inset(self.rect, self.border)
    }

    /// The content box.
    pub fn content_rect(&self) -> LayoutRect {
        inset(self.padding_rect(), self.padding)
    }
}

fn inset(rect: LayoutRect, sides: Sides<f32>) -> LayoutRect {
    LayoutRect::new(
        LayoutPoint::new(rect.origin.x + sides.left, rect.origin.y + sides.top),
        LayoutSize::new(
            (rect.size.width - sides.left - sides.right).max(0.0),
            (rect.size.height - sides.top - sides.bottom).max(0.0),
        ),
    )
}

/// The laid-out page.
pub struct PageLayout {
    /// Every box; [`PageLayout::root`] is the viewport.
    pub boxes: Vec<LayoutBox>,
    /// Inline formatting contexts, shaped and broken into lines.
    pub paragraphs: Vec<Paragraph>,
    /// The canvas colour (the root's or body's background, as CSS propagates it).
    pub canvas_background: ColorF,
    /// The element whose background became the canvas colour (it is not painted again).
    pub canvas_background_source: Option<NodeId>,
    /// The viewport.
    pub viewport: LayoutSize,
    /// How far the page reaches right and down: the viewport's scrollable overflow, at
    /// least the viewport (see [`overflow`]).
    pub document_size: LayoutSize,
    /// The overflow the viewport took from the root element or the body.
    pub viewport_overflow: ViewportOverflow,
    /// The boxes the user can scroll, parents before the frames inside them.
    pub scroll_frames: Vec<ScrollFrame>,
    /// Canvases on the page, in document order.
    pub canvases: Vec<PageCanvas>,
}

impl PageLayout {
    /// The viewport box, root of the tree.
    pub fn root(&self) -> BoxId {
        BoxId(0)
    }

    /// A box.
    pub fn get(&self, id: BoxId) -> &LayoutBox {
        &self.boxes[id.index()]
    }

    /// A scroll frame.
    pub fn scroll_frame(&self, id: ScrollFrameId) -> &ScrollFrame {
        &self.scroll_frames[id.index()]
    }

    /// Every scroll frame with its id, parents first.
    pub fn scroll_frames(&self) -> impl Iterator<Item = (ScrollFrameId, &ScrollFrame)> {
        self.scroll_frames.iter().enumerate().map(|(index, frame)| (ScrollFrameId(index as u32), frame))
    }

    /// The largest scroll position of the viewport: how far the document reaches past it,
    /// along the axes its overflow lets the user scroll.
    pub fn max_scroll(&self) -> LayoutPoint {
        let past = (self.document_size - self.viewport).max(LayoutSize::zero());
        let overflow = self.viewport_overflow;
        LayoutPoint::new(
            if overflow.x.scrolls_viewport() { past.width } else { 0.0 },
            if overflow.y.scrolls_viewport() { past.height } else { 0.0 },
        )
    }

    /// The style box `id` paints and lays out with: its element's, its pseudo-element's,
    /// or `None` for anonymous boxes and the viewport.
    pub fn style<'s>(&self, id: BoxId, styles: &'s StyleMap) -> Option<&'s ComputedStyle> {
        let layout_box = self.get(id);
        match (layout_box.node, layout_box.generated) {
            (Some(node), _) => styles.get(node),
            (None, Some((element, pseudo))) => styles.pseudo(element, pseudo),
            (None, None) => None,
        }
    }

    /// A paragraph.
    pub fn paragraph(&self, id: ParagraphId) -> &Paragraph {
        &self.paragraphs[id.0 as usize]
    }

    /// What box `id` (of style `style`) clips its content to: its padding box, unbounded
    /// along an axis it does not clip; `None` if it clips nothing. The element whose
    /// overflow went to the viewport clips nothing itself (CSS Overflow 3 §3.3).
    pub fn overflow_clip(&self, id: BoxId, style: Option<&ComputedStyle>) -> Option<LayoutRect> {
        let layout_box = self.get(id);
        let style = style.filter(|style| style.clips_overflow())?;
        if layout_box.node.is_some() && layout_box.node == self.viewport_overflow.source {
            return None;
        }
        let padding = layout_box.padding_rect();
        let axis = |clips: bool, start: f32, length: f32| {
            if clips { (start, length) } else { (-UNBOUNDED, 2.0 * UNBOUNDED) }
        };
        let (x, width) = axis(style.overflow_x.clips(), padding.origin.x, padding.size.width);
        let (y, height) = axis(style.overflow_y.clips(), padding.origin.y, padding.size.height);
        Some(LayoutRect::new(LayoutPoint::new(x, y), LayoutSize::new(width, height)))
    }
}

/// Where a clip along one axis only reaches along the other: past any coordinate a page can
/// have (the GPU process refuses scroll offsets beyond 8e6), and still finite.
const UNBOUNDED: f32 = 1.0e7;

/// The viewport's overflow (CSS Overflow 3 §3.3): the root element's, or the body's when the
/// root's is `visible` on both axes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ViewportOverflow {
    /// The element it came from; that element's own used overflow is `visible`.
    pub source: Option<NodeId>,
    /// Along x.
    pub x: style::Overflow,
    /// Along y.
    pub y: style::Overflow,
}

impl ViewportOverflow {
    /// A viewport that takes nothing: it scrolls along both axes.
    pub const VISIBLE: ViewportOverflow =
        ViewportOverflow { source: None, x: style::Overflow::Visible, y: style::Overflow::Visible };

    fn of(document: &Document, styles: &StyleMap) -> ViewportOverflow {
        let shown = |id: NodeId| styles.get(id).filter(|style| style.display != Display::None);
        let Some(root) =
            document.node(NodeId::DOCUMENT).children.iter().copied().find(|&id| document.tag(id).is_some())
        else {
            return ViewportOverflow::VISIBLE;
        };
        let Some(root_style) = shown(root) else { return ViewportOverflow::VISIBLE };
        let body = document
            .node(root)
            .children
            .iter()
            .copied()
            .find(|&id| document.tag(id).is_some_and(|tag| &**tag == "body") && shown(id).is_some());
        let source = match body {
            Some(body) if !root_style.clips_overflow() => body,
            _ => root,
        };
        let Some(style) = styles.get(source) else { return ViewportOverflow::VISIBLE };
        ViewportOverflow { source: Some(source), x: style.overflow_x, y: style.overflow_y }
    }
}

/// What taffy measures itself through: leaves whose size comes from content.
enum Measured {
    Paragraph(usize),
    Replaced { width: f32, height: f32 },
}

/// Largest canvas side we allocate a buffer for, in pixels (as browsers cap canvases).
pub const MAX_CANVAS_SIDE: u32 = limits::MAX_IMAGE_SIDE;

/// Why canvas `id` of `size` gets no bitmap.
fn refused_canvas(id: ImageBufferId, size: DeviceIntSize, refused: Refused) -> String {
    let canvas = format!("<canvas> {} ({}x{})", id.1, size.width, size.height);
    match refused {
        Refused::TooMany { max } => format!(
            "{canvas} has no bitmap: the page already has {max} canvases, the most a page may hand the GPU process"
        ),
        Refused::TooManyPixels { pixels, max } => format!(
            "{canvas} has no bitmap: it would bring the page's canvases to {pixels} pixels, more than the {max} \
             a page may hand the GPU process (make it smaller)"
        ),
    }
}

/// Lays out a styled document in a viewport of `viewport` CSS pixels, to be drawn at
/// `ratio` device pixels per CSS pixel.
pub fn layout(
    document: &Document,
    styles: &StyleMap,
    fonts: &mut Fonts,
    images: &mut Images,
    namespace: IdNamespace,
    viewport: LayoutSize,
    ratio: DevicePixelRatio,
) -> PageLayout {
    let mut builder = Builder {
        // Text metrics snap to whole pixels only where a CSS pixel is a device pixel;
        // elsewhere they stay fractional and each glyph snaps to a device pixel as the GPU
        // process places it (snapping in CSS pixels would move text by whole device pixels).
        quantize_text: ratio == DevicePixelRatio::ONE,
        document,
        styles,
        fonts,
        images,
        namespace,
        tree: TaffyTree::new(),
        boxes: Vec::new(),
        paragraphs: Vec::new(),
        atomic_roots: Vec::new(),
        canvases: Vec::new(),
        canvases_held: Held::default(),
        counters: Counters::new(),
        markers: Vec::new(),
        quote_depth: 0,
    };
    let viewport_style = taffy::Style {
        size: taffy::Size { width: length(viewport.width), height: length(viewport.height) },
        ..block_style()
    };
    let root = builder.new_box(BoxKind::Viewport, None, viewport_style, None);
    let initial = ComputedStyle { display: Display::Block, ..ComputedStyle::initial() };
    let children = builder.children(NodeId::DOCUMENT, &initial, false, None);
    for child in &children {
        // CSS 2 §8.3.1: the root element's margins do not collapse with its children's.
        // Layout containment makes it a formatting-context root, which is what stops it.
        let node = builder.boxes[child.index()].taffy;
        if let Ok(style) = builder.tree.style(node) {
            let style = taffy::Style { contain: taffy::Contain::LAYOUT, ..style.clone() };
            let _ = builder.tree.set_style(node, style);
        }
    }
    builder.set_children(root, children);
    builder.compute(root, viewport);

    let (canvas_background, canvas_background_source) = canvas_background(document, styles);
    let Builder { tree, boxes, paragraphs, canvases, .. } = builder;
    let mut page = PageLayout {
        boxes,
        paragraphs,
        canvas_background,
        canvas_background_source,
        viewport,
        document_size: viewport,
        viewport_overflow: ViewportOverflow::of(document, styles),
        scroll_frames: Vec::new(),
        canvases,
    };
    place(&tree, &mut page, root, LayoutPoint::zero(), &mut Hoisted::new());
    overflow::find(&mut page, styles);
    page
}

/// CSS Backgrounds §2.11.2: the root element's background paints the canvas; if it has
/// none, the body's does.
fn canvas_background(document: &Document, styles: &StyleMap) -> (ColorF, Option<NodeId>) {
    let root =
        document.node(NodeId::DOCUMENT).children.iter().copied().find(|&id| document.tag(id).is_some());
    let body = document.first_element("body");
    for candidate in [root, body].into_iter().flatten() {
        if let Some(style) = styles.get(candidate)
            && !style.background_color.is_transparent()
        {
            return (style.background_color, Some(candidate));
        }
    }
    (ColorF::WHITE, None)
}

struct Builder<'a> {
    document: &'a Document,
    styles: &'a StyleMap,
    fonts: &'a mut Fonts,
    images: &'a mut Images,
    namespace: IdNamespace,
    tree: TaffyTree<Measured>,
    boxes: Vec<LayoutBox>,
    paragraphs: Vec<Paragraph>,
    /// Atomic inlines in post-order: inner ones are laid out before the ones holding them.
    atomic_roots: Vec<BoxId>,
    canvases: Vec<PageCanvas>,
    /// What the canvases so far hold of [`limits::PAGE_CANVASES`].
    canvases_held: Held,
    /// Whether text metrics snap to whole CSS pixels (see [`layout`]).
    quantize_text: bool,
    /// The `list-item` counters in scope at the element being built.
    counters: Counters,
    /// Outside markers' paragraphs, shaped once taffy is done.
    markers: Vec<ParagraphId>,
    /// How deeply quotes are nested at the element being built (`open-quote` and
    /// `close-quote` in generated content step it, in tree order).
    quote_depth: usize,
}

impl Builder<'_> {
    fn new_box(
        &mut self,
        kind: BoxKind,
        node: Option<NodeId>,
        style: taffy::Style,
        measured: Option<Measured>,
    ) -> BoxId {
        // taffy only fails on ids it did not make; ours always come from this tree.
        let taffy = match measured {
            Some(measured) => self.tree.new_leaf_with_context(style, measured),
            None => self.tree.new_leaf(style),
        }
        .expect("taffy accepts a fresh leaf");
        let id = BoxId(self.boxes.len() as u32);
        let zero = Sides::all(0.0);
        self.boxes.push(LayoutBox {
            kind,
            node,
            rect: LayoutRect::zero(),
            border: zero,
            padding: zero,
            children: Vec::new(),
            fixed: false,
            generated: None,
            scroll_frame: None,
            marker: None,
            table_paint: None,
            taffy,
        });
        id
    }

    fn set_children(&mut self, parent: BoxId, children: Vec<BoxId>) {
        let taffy_children: Vec<taffy::NodeId> =
            children.iter().map(|child| self.boxes[child.index()].taffy).collect();
        self.tree
            .set_children(self.boxes[parent.index()].taffy, &taffy_children)
            .expect("taffy ids are ours");
        self.boxes[parent.index()].children = children;
    }

    /// The box of a block-level element (or of an atomic inline, laid out on its own).
    fn element_box(&mut self, node: NodeId, style: &ComputedStyle, is_item: bool) -> BoxId {
        let tag = self.document.tag(node).map(|tag| tag.to_string());
        match tag.as_deref() {
            Some("img") => return self.image_box(node, style),
            Some("canvas") => return self.canvas_box(node, style),
            _ => {}
        }
        if style.display.blockified() == Display::Table {
            return self.table_box(node, style);
        }
        let id = self.new_box(box_kind(style.display, is_item), Some(node), taffy_style(style), None);
        let inside = self.list_marker(id, node, style);
        let owner = self.counters.enter(self.document, self.styles, node);
        let children = self.children(node, style, style.display.has_items(), inside.as_deref());
        if owner {
            self.counters.leave();
        }
        self.set_children(id, children);
        id
    }

    /// Steps the list's counter for a list item and makes its marker: an outside one hangs
    /// on box `id`, an inside one is returned, to start the item's first paragraph.
    fn list_marker(&mut self, id: BoxId, node: NodeId, style: &ComputedStyle) -> Option<String> {
        if !style.list_item {
            return None;
        }
        let ordinal = self.counters.item(self.document, node);
        let text = marker::marker_text(style.list_style_type, ordinal)?;
        if style.list_style_position == style::ListStylePosition::Inside {
            return Some(text);
        }
        let mut paragraph = Paragraph::new(&marker::marker_style(style), self.quantize_text);
        paragraph.items.push(InlineItem::Text(text));
        let paragraph = self.add_paragraph(paragraph);
        self.markers.push(paragraph);
        self.boxes[id.index()].marker = Some(Marker { paragraph, origin: LayoutPoint::zero() });
        None
    }

    fn add_paragraph(&mut self, paragraph: Paragraph) -> ParagraphId {
        self.paragraphs.push(paragraph);
        ParagraphId((self.paragraphs.len() - 1) as u32)
    }

    fn image_box(&mut self, node: NodeId, style: &ComputedStyle) -> BoxId {
        let content = match self.document.attr(node, "src") {
            Some(src) => self.images.load(src),
            None => ImageContent::Broken { reason: "no src attribute".into() },
        };
        let (width, height) = match &content {
            ImageContent::Loaded { size, .. } => (size.width as f32, size.height as f32),
            // A broken image keeps the size its attributes ask for, else a small icon box.
            ImageContent::Broken { .. } => (16.0, 16.0),
        };
        let has_ratio = matches!(content, ImageContent::Loaded { .. });
        let kind = BoxKind::Image(content);
        let mut taffy_style = taffy_style(style);
        taffy_style.item_is_replaced = true;
        if has_ratio {
            apply_intrinsic_ratio(&mut taffy_style, style, width, height);
        }
        self.new_box(kind, Some(node), taffy_style, Some(Measured::Replaced { width, height }))
    }

    fn canvas_box(&mut self, node: NodeId, style: &ComputedStyle) -> BoxId {
        // HTML: a canvas's bitmap is width × height attributes, 300 × 150 by default.
        let dimension = |name: &str, default: u32| {
            self.document
                .attr(node, name)
                .and_then(|value| value.trim().parse::<u32>().ok())
                .unwrap_or(default)
                .min(MAX_CANVAS_SIDE)
        };
        let size = DeviceIntSize::new(dimension("width", 300), dimension("height", 150));
        let id = ImageBufferId(self.namespace, self.canvases.len() as u32);
        let bitmap = if size.is_empty() {
            CanvasBitmap::Empty
        } else {
            match self.canvases_held.with(size, None, limits::PAGE_CANVASES) {
                Ok(held) => {
                    self.canvases_held = held;
                    CanvasBitmap::Buffer
                }
                Err(refused) => CanvasBitmap::Refused(refused_canvas(id, size, refused)),
            }
        };
        let kind = BoxKind::Canvas((bitmap == CanvasBitmap::Buffer).then_some(id));
        self.canvases.push(PageCanvas { id, size, bitmap });
        let mut taffy_style = taffy_style(style);
        taffy_style.item_is_replaced = true;
        apply_intrinsic_ratio(&mut taffy_style, style, size.width as f32, size.height as f32);
        let measured = Measured::Replaced { width: size.width as f32, height: size.height as f32 };
        self.new_box(kind, Some(node), taffy_style, Some(measured))
    }

    /// The child boxes of a container: block-level children as they are, runs of inline
    /// content wrapped in anonymous text boxes; `marker`, a list item's inside marker, starts
    /// the first run. In a flex or grid container (`items`) every child element is an item
    /// of its own, and the runs of text between them are anonymous items. The parent's
    /// `::before` and `::after` boxes come first and last (after an inside marker).
    fn children(
        &mut self,
        parent: NodeId,
        parent_style: &ComputedStyle,
        items: bool,
        marker: Option<&str>,
    ) -> Vec<BoxId> {
        let document = self.document;
        self.children_of(&document.node(parent).children, parent_style, items, marker, Some(parent))
    }

    /// [`children`](Self::children) of some of a container's child nodes (an anonymous
    /// table cell holds a run of its row's), between the generated boxes of `element`, the
    /// container's element if it is one.
    fn children_of(
        &mut self,
        nodes: &[NodeId],
        parent_style: &ComputedStyle,
        items: bool,
        marker: Option<&str>,
        element: Option<NodeId>,
    ) -> Vec<BoxId> {
        let mut boxes = Vec::new();
        let mut paragraph = Paragraph::new(parent_style, self.quantize_text);
        if let Some(text) = marker {
            paragraph.push_marker(&marker::marker_style(parent_style), text);
        }
        if let Some(element) = element {
            self.generated(element, Pseudo::Before, &mut paragraph, parent_style, items, &mut boxes);
        }
        for &child in nodes {
            match &self.document.node(child).data {
                NodeData::Text(text) => paragraph.items.push(InlineItem::Text(text.clone())),
                NodeData::Element { .. } => {
                    let Some(style) = self.styles.get(child) else { continue };
                    if style.display == Display::None {
                        continue;
                    }
                    if style.position.is_out_of_flow() {
                        // Out of flow, it takes no room in the lines around it: the inline
                        // run goes on past it (its static position is the run's top).
                        boxes.push(self.element_box(child, style, items));
                    } else if !items && style.display.is_inline_level() {
                        self.inline_content(&mut paragraph, child, style, parent_style, &mut boxes);
                    } else {
                        self.flush(&mut paragraph, parent_style, &mut boxes);
                        boxes.push(self.element_box(child, style, items));
                    }
                }
                _ => {}
            }
        }
        if let Some(element) = element {
            self.generated(element, Pseudo::After, &mut paragraph, parent_style, items, &mut boxes);
        }
        self.flush(&mut paragraph, parent_style, &mut boxes);
        boxes
    }

    fn is_replaced(&self, node: NodeId) -> bool {
        self.document.tag(node).is_some_and(|tag| matches!(&**tag, "img" | "canvas"))
    }

    /// Adds an inline-level element (and its subtree) to a paragraph. A block-level
    /// descendant splits the inline (CSS 2 §9.2.1.1): the paragraph so far becomes an
    /// anonymous box, the block follows as a sibling, and the open inline elements continue
    /// in a new paragraph after it.
    fn inline_content(
        &mut self,
        paragraph: &mut Paragraph,
        node: NodeId,
        style: &ComputedStyle,
        container_style: &ComputedStyle,
        boxes: &mut Vec<BoxId>,
    ) {
        if style.display != Display::Inline || self.is_replaced(node) {
            let id = self.element_box(node, style, false);
            self.atomic_roots.push(id);
            paragraph.items.push(InlineItem::Atomic(id));
            return;
        }
        if self.document.tag(node).is_some_and(|tag| &**tag == "br") {
            // A forced line break: a newline that white-space processing keeps.
            let kept = ComputedStyle { white_space: style::WhiteSpace::Pre, ..style.clone() };
            paragraph.push_span(node, &kept);
            paragraph.items.push(InlineItem::Text("\n".to_owned()));
            paragraph.pop_span();
            return;
        }
        paragraph.push_span(node, style);
        self.generated(node, Pseudo::Before, paragraph, container_style, false, boxes);
        for &child in &self.document.node(node).children {
            match &self.document.node(child).data {
                NodeData::Text(text) => paragraph.items.push(InlineItem::Text(text.clone())),
                NodeData::Element { .. } => {
                    let Some(child_style) = self.styles.get(child) else { continue };
                    match child_style.display {
                        Display::None => {}
                        _ if child_style.position.is_out_of_flow() => {
                            boxes.push(self.element_box(child, child_style, false));
                        }
                        display if !display.is_inline_level() && !self.is_replaced(child) => {
                            let open = paragraph.open_spans();
                            for _ in &open {
                                paragraph.items.push(InlineItem::PopSpan);
                            }
                            self.flush(paragraph, container_style, boxes);
                            boxes.push(self.element_box(child, child_style, false));
                            for (span_node, span_style) in open {
                                paragraph.push_span(span_node, &span_style);
                            }
                        }
                        _ => self.inline_content(paragraph, child, child_style, container_style, boxes),
                    }
                }
                _ => {}
            }
        }
        self.generated(node, Pseudo::After, paragraph, container_style, false, boxes);
        paragraph.pop_span();
    }

    /// Turns the pending inline run into an anonymous text box, unless it is only
    /// collapsible white space.
    fn flush(&mut self, paragraph: &mut Paragraph, parent_style: &ComputedStyle, boxes: &mut Vec<BoxId>) {
        let done = std::mem::replace(paragraph, Paragraph::new(parent_style, self.quantize_text));
        if done.is_collapsible() {
            return;
        }
        let atomics: Vec<BoxId> = done
            .items
            .iter()
            .filter_map(|item| match item {
                InlineItem::Atomic(id) => Some(*id),
                _ => None,
            })
            .collect();
        let paragraph = self.add_paragraph(done);
        let kind = BoxKind::Text(paragraph);
        let measured = Measured::Paragraph(paragraph.0 as usize);
        let id = self.new_box(kind, None, block_style(), Some(measured));
        self.boxes[id.index()].children = atomics;
        boxes.push(id);
    }

    /// Runs taffy: atomic inlines first (innermost first, shrink-to-fit in the viewport's
    /// width), then the page.
    fn compute(&mut self, root: BoxId, viewport: LayoutSize) {
        let mut layout_context = parley::LayoutContext::new();
        let mut atomic_sizes: Vec<Option<(f32, f32)>> = vec![None; self.boxes.len()];
        let atomic_roots = std::mem::take(&mut self.atomic_roots);
        for atomic in atomic_roots {
            let node = self.boxes[atomic.index()].taffy;
            self.run_taffy(node, AvailableSpace::MaxContent, &atomic_sizes, &mut layout_context);
            let mut layout = *self.tree.layout(node).expect("taffy ids are ours");
            if layout.size.width > viewport.width {
                self.run_taffy(
                    node,
                    AvailableSpace::Definite(viewport.width),
                    &atomic_sizes,
                    &mut layout_context,
                );
                layout = *self.tree.layout(node).expect("taffy ids are ours");
            }
            let margin = layout.margin;
            atomic_sizes[atomic.index()] = Some((
                (layout.size.width + margin.left + margin.right).max(0.0),
                (layout.size.height + margin.top + margin.bottom).max(0.0),
            ));
        }
        let root = self.boxes[root.index()].taffy;
        self.run_taffy(root, AvailableSpace::Definite(viewport.width), &atomic_sizes, &mut layout_context);
        // Outside markers take no room: shaped on one line, whatever their items' width.
        let unbounded = taffy::Size { width: AvailableSpace::MaxContent, height: AvailableSpace::MaxContent };
        for marker in std::mem::take(&mut self.markers) {
            self.paragraphs[marker.0 as usize].measure(
                taffy::Size::NONE,
                unbounded,
                self.fonts,
                &mut layout_context,
                &|_| (0.0, 0.0),
            );
        }
    }

    fn run_taffy(
        &mut self,
        node: taffy::NodeId,
        width: AvailableSpace,
        atomic_sizes: &[Option<(f32, f32)>],
        layout_context: &mut parley::LayoutContext<SpanBrush>,
    ) {
        let fonts = &mut *self.fonts;
        let paragraphs = &mut self.paragraphs;
        let atomic_size = |id: BoxId| atomic_sizes.get(id.index()).copied().flatten().unwrap_or((0.0, 0.0));
        let available = taffy::Size { width, height: AvailableSpace::MaxContent };
        let result = self.tree.compute_layout_with_measure(node, available, |inputs, _, context, style| {
            taffy::compute_leaf_layout(
                inputs,
                style,
                |_, _| 0.0,
                |known, available| match context {
                    Some(Measured::Paragraph(index)) => {
                        paragraphs[*index].measure(known, available, fonts, layout_context, &atomic_size)
                    }
                    Some(Measured::Replaced { width, height }) => replaced_size(known, *width, *height),
                    None => taffy::Size::ZERO,
                },
            )
        });
        if let Err(error) = result {
            tracing::error!(target: "armature::layout", "taffy failed: {error}");
        }
    }
}

/// CSS 2 §10.3.2/§10.6.2: a replaced element with one fixed dimension and the other `auto`
/// gets the other from its intrinsic ratio.
fn apply_intrinsic_ratio(taffy_style: &mut taffy::Style, style: &ComputedStyle, width: f32, height: f32) {
    if width <= 0.0 || height <= 0.0 {
        return;
    }
    match (style.width, style.height) {
        (Length::Px(w), Length::Auto) => taffy_style.size.height = length(w * height / width),
        (Length::Auto, Length::Px(h)) => taffy_style.size.width = length(h * width / height),
        _ => {}
    }
}

/// A replaced element's content size: its intrinsic size, or the intrinsic ratio applied to
/// whichever dimension CSS fixed.
fn replaced_size(known: taffy::Size<Option<f32>>, width: f32, height: f32) -> taffy::Size<f32> {
    let ratio = if height > 0.0 { width / height } else { 1.0 };
    match (known.width, known.height) {
        (Some(w), Some(h)) => taffy::Size { width: w, height: h },
        (Some(w), None) => taffy::Size { width: w, height: if ratio > 0.0 { w / ratio } else { 0.0 } },
        (None, Some(h)) => taffy::Size { width: h * ratio, height: h },
        (None, None) => taffy::Size { width, height },
    }
}

/// Where the containing block of each absolutely positioned box was placed (taffy gives such
/// a box's location from its containing block, not from its parent), and whether that is the
/// viewport of a `position: fixed` box.
type Hoisted = std::collections::HashMap<taffy::NodeId, (LayoutPoint, bool)>;

/// Writes absolute rects into the boxes, walking taffy's results from `id` at `origin`.
fn place(
    tree: &TaffyTree<Measured>,
    page: &mut PageLayout,
    id: BoxId,
    origin: LayoutPoint,
    hoisted: &mut Hoisted,
) {
    let node = page.boxes[id.index()].taffy;
    let Ok(layout) = tree.layout(node).copied() else { return };
    let is_viewport = page.boxes[id.index()].kind == BoxKind::Viewport;
    for &out_of_flow in tree.hoisted_children(node).unwrap_or(&[]) {
        let fixed = is_viewport
            && tree.style(out_of_flow).is_ok_and(|style| style.position == taffy::Position::Fixed);
        hoisted.insert(out_of_flow, (origin, fixed));
    }
    let rect_sides = |rect: taffy::Rect<f32>| Sides {
        top: rect.top,
        right: rect.right,
        bottom: rect.bottom,
        left: rect.left,
    };
    {
        let layout_box = &mut page.boxes[id.index()];
        layout_box.rect = LayoutRect::new(origin, LayoutSize::new(layout.size.width, layout.size.height));
        layout_box.border = rect_sides(layout.border);
        layout_box.padding = rect_sides(layout.padding);
    }
    let layout_box = &page.boxes[id.index()];
    match layout_box.kind {
        BoxKind::Text(paragraph) => {
            let content = layout_box.content_rect();
            let paragraph = &mut page.paragraphs[paragraph.0 as usize];
            paragraph.finish(content.size.width);
            let mut placements = Vec::new();
            if let Some(text) = &paragraph.layout {
                for line in text.lines() {
                    for item in line.items() {
                        if let parley::PositionedLayoutItem::InlineBox(inline_box) = item
                            && let Some(&atomic) = paragraph.atomics.get(inline_box.id as usize)
                        {
                            placements.push((atomic, inline_box.x, inline_box.y));
                        }
                    }
                }
            }
            for (atomic, x, y) in placements {
                let margin = tree
                    .layout(page.boxes[atomic.index()].taffy)
                    .map(|l| l.margin)
                    .unwrap_or(taffy::Rect::ZERO);
                let at =
                    LayoutPoint::new(content.origin.x + x + margin.left, content.origin.y + y + margin.top);
                page.boxes[atomic.index()].fixed = page.boxes[id.index()].fixed;
                place(tree, page, atomic, at, hoisted);
            }
        }
        _ => {
            let fixed = layout_box.fixed;
            for child in layout_box.children.clone() {
                let child_node = page.boxes[child.index()].taffy;
                let Ok(child_layout) = tree.layout(child_node) else { continue };
                let (from, child_fixed) = hoisted.get(&child_node).copied().unwrap_or((origin, false));
                let at = LayoutPoint::new(from.x + child_layout.location.x, from.y + child_layout.location.y);
                page.boxes[child.index()].fixed = fixed || child_fixed;
                place(tree, page, child, at, hoisted);
            }
            if let Some(marker) = page.boxes[id.index()].marker {
                let origin = marker::place_outside(tree, page, id, marker.paragraph);
                page.boxes[id.index()].marker = Some(Marker { origin, ..marker });
            }
        }
    }
}

/// The kind of box a non-replaced, non-table `display` makes: an atomic inline, or a
/// block, flex or grid container (a flex or grid item, `is_item`, is blockified: CSS
/// Display 3 §2.7; a table part outside a table is a block).
fn box_kind(display: Display, is_item: bool) -> BoxKind {
    match display {
        display if display.is_atomic_inline() && !is_item => BoxKind::InlineBlock,
        display => match display.blockified() {
            Display::Flex => BoxKind::Flex,
            Display::Grid => BoxKind::Grid,
            _ => BoxKind::Block,
        },
    }
}

/// taffy's defaults are flexbox's; CSS boxes start as blocks.
fn block_style() -> taffy::Style {
    taffy::Style { display: taffy::Display::Block, ..taffy::Style::DEFAULT }
}

fn length(px: f32) -> taffy::Dimension {
    taffy::Dimension::length(px)
}

fn dimension(length: Length) -> taffy::Dimension {
    match length {
        Length::Px(px) => taffy::Dimension::length(px),
        Length::Percent(percent) => taffy::Dimension::percent(percent / 100.0),
        Length::Auto => taffy::Dimension::auto(),
    }
}

fn length_percentage_auto(length: Length) -> taffy::LengthPercentageAuto {
    match length {
        Length::Px(px) => taffy::LengthPercentageAuto::length(px),
        Length::Percent(percent) => taffy::LengthPercentageAuto::percent(percent / 100.0),
        Length::Auto => taffy::LengthPercentageAuto::auto(),
    }
}

fn length_percentage(length: Length) -> taffy::LengthPercentage {
    match length {
        Length::Px(px) => taffy::LengthPercentage::length(px),
        Length::Percent(percent) => taffy::LengthPercentage::percent(percent / 100.0),
        Length::Auto => taffy::LengthPercentage::length(0.0),
    }
}

fn taffy_rect<T>(sides: Sides<Length>, convert: impl Fn(Length) -> T) -> taffy::Rect<T> {
    taffy::Rect {
        left: convert(sides.left),
        right: convert(sides.right),
        top: convert(sides.top),
        bottom: convert(sides.bottom),
    }
}

/// The taffy style of an element's box: its inner display (flow, flex or grid) picks the
/// algorithm, whatever its outer display.
fn taffy_style(style: &ComputedStyle) -> taffy::Style {
    use style::{AlignItems, ContentAlignment, FlexDirection, FlexWrap, Overflow};
    let overflow = |overflow| match overflow {
        Overflow::Visible => taffy::Overflow::Visible,
        Overflow::Clip => taffy::Overflow::Clip,
        // No box scrolls, so none reserves a scrollbar's room (taffy's Scroll would).
        Overflow::Hidden | Overflow::Scroll | Overflow::Auto => taffy::Overflow::Hidden,
    };
    let position = match style.position {
        style::Position::Static => taffy::Position::Static,
        style::Position::Relative => taffy::Position::Relative,
        style::Position::Absolute => taffy::Position::Absolute,
        style::Position::Fixed => taffy::Position::Fixed,
    };
    let items = |alignment| match alignment {
        AlignItems::Normal => taffy::AlignItems::NORMAL,
        AlignItems::Stretch => taffy::AlignItems::STRETCH,
        AlignItems::Start => taffy::AlignItems::START,
        AlignItems::End => taffy::AlignItems::END,
        AlignItems::FlexStart => taffy::AlignItems::FLEX_START,
        AlignItems::FlexEnd => taffy::AlignItems::FLEX_END,
        AlignItems::Center => taffy::AlignItems::CENTER,
        AlignItems::Baseline => taffy::AlignItems::BASELINE,
    };
    let content = |alignment| match alignment {
        ContentAlignment::Normal => taffy::AlignContent::NORMAL,
        ContentAlignment::Stretch => taffy::AlignContent::STRETCH,
        ContentAlignment::Start => taffy::AlignContent::START,
        ContentAlignment::End => taffy::AlignContent::END,
        ContentAlignment::FlexStart => taffy::AlignContent::FLEX_START,
        ContentAlignment::FlexEnd => taffy::AlignContent::FLEX_END,
        ContentAlignment::Center => taffy::AlignContent::CENTER,
        ContentAlignment::SpaceBetween => taffy::AlignContent::SPACE_BETWEEN,
        ContentAlignment::SpaceAround => taffy::AlignContent::SPACE_AROUND,
        ContentAlignment::SpaceEvenly => taffy::AlignContent::SPACE_EVENLY,
    };
    let grid = &style.grid;
    taffy::Style {
        display: match style.display.blockified() {
            Display::Flex => taffy::Display::Flex,
            Display::Grid | Display::Table => taffy::Display::Grid,
            _ => taffy::Display::Block,
        },
        // CSS's initial box-sizing; taffy defaults to border-box.
        box_sizing: taffy::BoxSizing::ContentBox,
        overflow: taffy::Point { x: overflow(style.overflow_x), y: overflow(style.overflow_y) },
        position,
        // taffy, as CSS, ignores a static box's insets.
        inset: taffy_rect(style.inset, length_percentage_auto),
        // Hidden overflow reserves no scrollbar: nothing here scrolls.
        scrollbar_width: 0.0,
        size: taffy::Size { width: dimension(style.width), height: dimension(style.height) },
        min_size: taffy::Size {
            width: length_percentage_auto(style.min_width),
            height: length_percentage_auto(style.min_height),
        },
        max_size: taffy::Size {
            width: length_percentage_auto(style.max_width),
            height: length_percentage_auto(style.max_height),
        },
        margin: taffy_rect(style.margin, length_percentage_auto),
        padding: taffy_rect(style.padding, length_percentage),
        border: taffy_rect(style.border_widths().map(Length::Px), length_percentage),
        flex_direction: match style.flex_direction {
            FlexDirection::Row => taffy::FlexDirection::Row,
            FlexDirection::RowReverse => taffy::FlexDirection::RowReverse,
            FlexDirection::Column => taffy::FlexDirection::Column,
            FlexDirection::ColumnReverse => taffy::FlexDirection::ColumnReverse,
        },
        flex_wrap: match style.flex_wrap {
            FlexWrap::NoWrap => taffy::FlexWrap::NoWrap,
            FlexWrap::Wrap => taffy::FlexWrap::Wrap,
            FlexWrap::WrapReverse => taffy::FlexWrap::WrapReverse,
        },
        justify_content: content(style.justify_content),
        align_content: content(style.align_content),
        align_items: items(style.align_items),
        align_self: style.align_self.map(items),
        justify_items: items(style.justify_items),
        justify_self: style.justify_self.map(items),
        grid_template_rows: grid.template_rows.tracks.clone(),
        grid_template_row_names: grid.template_rows.names.clone(),
        grid_template_columns: grid.template_columns.tracks.clone(),
        grid_template_column_names: grid.template_columns.names.clone(),
        grid_template_areas: grid.areas.clone(),
        grid_auto_rows: grid.auto_rows.clone(),
        grid_auto_columns: grid.auto_columns.clone(),
        grid_auto_flow: grid.auto_flow,
        grid_row: grid.row.clone(),
        grid_column: grid.column.clone(),
        gap: taffy::Size { width: length_percentage(style.gap.1), height: length_percentage(style.gap.0) },
        flex_grow: style.flex_grow,
        flex_shrink: style.flex_shrink,
        flex_basis: dimension(style.flex_basis),
        ..block_style()
    }
}

/// A page laid out from HTML, with what building its display list takes (unit tests).
#[cfg(test)]
pub(crate) struct TestPage {
    pub document: Document,
    pub styles: StyleMap,
    pub fonts: Fonts,
    pub layout: PageLayout,
}

#[cfg(test)]
impl TestPage {
    /// `html` laid out in a `width`x`height` viewport at one device pixel per CSS pixel.
    pub fn new(html: &str, width: f32, height: f32) -> TestPage {
        let document = Document::parse(html).expect("parses");
        let styles = crate::style::compute(&document);
        let mut fonts = Fonts::new(IdNamespace(1)).expect("bundled fonts");
        let mut images = Images::new(IdNamespace(1), std::path::Path::new("page.html"));
        let viewport = LayoutSize::new(width, height);
        let layout = layout(
            &document,
            &styles,
            &mut fonts,
            &mut images,
            IdNamespace(1),
            viewport,
            DevicePixelRatio::ONE,
        );
        TestPage { document, styles, fonts, layout }
    }

    /// The box of the element with id `id`.
    pub fn element_box(&self, id: &str) -> BoxId {
        let node = self
            .document
            .descendants(NodeId::DOCUMENT)
            .find(|&node| self.document.attr(node, "id") == Some(id));
        let index = self.layout.boxes.iter().position(|layout_box| node.is_some() && layout_box.node == node);
        BoxId(index.unwrap_or_else(|| panic!("no box for #{id}")) as u32)
    }

    /// The scroll frame of the element with id `id`.
    pub fn frame(&self, id: &str) -> &ScrollFrame {
        let frame = self.layout.get(self.element_box(id)).scroll_frame;
        self.layout.scroll_frame(frame.unwrap_or_else(|| panic!("#{id} is no scroll frame")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::style::Overflow;

    /// `body` (with no margin) laid out in a 200x100 viewport.
    fn lay_out(body: &str) -> PageLayout {
        lay_out_document(format!("<body style='margin: 0; font-size: 16px'>{body}</body>"))
    }

    /// A whole page laid out in a 200x100 viewport.
    fn lay_out_document(html: String) -> PageLayout {
        TestPage::new(&html, 200.0, 100.0).layout
    }

    fn document_size(body: &str) -> LayoutSize {
        lay_out(body).document_size
    }

    /// The text of each line of the page's only paragraph.
    fn lines(body: &str) -> Vec<String> {
        let page = lay_out(body);
        let [paragraph] = page.paragraphs.as_slice() else { panic!("one paragraph") };
        let layout = paragraph.layout.as_ref().expect("shaped");
        layout.lines().map(|line| paragraph.text[line.text_range()].trim_end().to_owned()).collect()
    }

    /// Every box's element (or `anonymous`), with its rect, in tree order, below the body.
    fn generated_tree(body: &str) -> Vec<(String, LayoutRect)> {
        let page =
            TestPage::new(&format!("<body style='margin: 0; font-size: 16px'>{body}</body>"), 200.0, 100.0);
        let tag = |node: NodeId| page.document.tag(node).map_or("?".to_owned(), |tag| tag.to_string());
        let (mut out, mut stack) = (Vec::new(), vec![page.layout.root()]);
        while let Some(id) = stack.pop() {
            let layout_box = page.layout.get(id);
            let name = match (layout_box.node, layout_box.generated) {
                (Some(node), _) => tag(node),
                (None, Some((node, pseudo))) => format!("{}{}", tag(node), pseudo.name()),
                (None, None) => "anonymous".into(),
            };
            out.push((name, layout_box.rect));
            stack.extend(layout_box.children.iter().rev());
        }
        out
    }

    #[test]
    fn generated_content_joins_its_elements_text_and_quotes_nest_in_tree_order() {
        let page = "<style>p::before { content: '[' attr(data-n) '] ' } p::after { content: close-quote } \
            em::after { content: '!' }</style>";
        assert_eq!(lines(&format!("{page}<p data-n=7>one <em>two</em></p>")), ["[7] one two!"]);
        // A missing attribute is empty; a close-quote with nothing open inserts nothing.
        assert_eq!(lines(&format!("{page}<p>one</p>")), ["[] one"]);
        // `<q>` quotes itself (UA sheet); quotes nest across elements: “ ‘ ’ ”.
        assert_eq!(
            lines("<q>a <q>b</q> c</q> <q>d</q>"),
            ["\u{201c}a \u{2018}b\u{2019} c\u{201d} \u{201c}d\u{201d}"]
        );
        let quotes = "<style>div { quotes: '<' '>' '{' '}' } span::before { content: no-open-quote } \
            span::after { content: no-close-quote }</style>";
        assert_eq!(lines(&format!("{quotes}<div><q>a<span>b</span><q>c</q></q></div>")), ["<ab{c}>"]);
    }

    #[test]
    fn generated_boxes_are_first_and_last_children_laid_out_like_elements() {
        let style = "<style>div::before { content: ''; display: block; height: 10px; width: 30px } \
            div::after { content: 'end'; display: inline-block; width: 50px; height: 20px } \
            .flex { display: flex } .flex::before { width: 40px; height: 5px } \
            .abs { position: relative; height: 30px } \
            .abs::after { position: absolute; right: 0; top: 0; display: inline; height: 7px }</style>";
        let boxes = generated_tree(&format!("{style}<div>text</div>"));
        let names: Vec<&str> = boxes.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names[3..], ["div", "div::before", "anonymous", "div::after", "anonymous"], "{boxes:?}");
        let rect = |name: &str| boxes.iter().find(|(box_name, _)| box_name == name).map(|(_, rect)| *rect);
        // The block comes first; the text's line holds the inline-block after `text`.
        assert_eq!(
            rect("div::before"),
            Some(LayoutRect::new(LayoutPoint::new(0.0, 0.0), LayoutSize::new(30.0, 10.0)))
        );
        let after = rect("div::after").expect("after");
        assert!(after.origin.y >= 10.0 && after.origin.x > 20.0 && after.size.width == 50.0, "{after:?}");

        // In a flex container each is an item, blockified.
        let boxes = generated_tree(&format!("{style}<div class=flex><span>a</span></div>"));
        let rect = |name: &str| boxes.iter().find(|(box_name, _)| box_name == name).map(|(_, rect)| *rect);
        assert_eq!(rect("div::before").map(|rect| rect.origin.x), Some(0.0));
        let span = rect("span").expect("span");
        assert_eq!(span.origin.x, 40.0, "the span follows the 40px ::before item");
        assert!(rect("div::after").expect("after").origin.x >= span.max_x());

        // Out of flow, against a positioned element: right: 0 puts it at the right edge.
        let boxes = generated_tree(&format!("{style}<div class=abs>x</div>"));
        let after =
            boxes.iter().find(|(name, _)| name == "div::after").map(|(_, rect)| *rect).expect("after");
        assert_eq!((after.max_x(), after.origin.y, after.size.height), (200.0, 0.0, 7.0), "{after:?}");
    }

    #[test]
    fn hostile_generated_content_lays_out() {
        // Long content, many levels of quotes, and a pseudo-element on every element.
        let long = "x".repeat(20_000);
        let page = format!(
            "<style>* {{ quotes: '<' '>' }} b::before {{ content: open-quote open-quote '{long}' }} \
                *::after {{ content: close-quote attr(id) no-close-quote }}</style>{}",
            "<b id=deep>".repeat(200)
        );
        let layout = lay_out(&page);
        assert!(layout.document_size.height > 0.0);
    }

    #[test]
    fn br_breaks_the_line_and_white_space_after_it_collapses() {
        assert_eq!(
            lines("one<br>two <b>bold<br>   still</b><br><br>end"),
            ["one", "two bold", "still", "", "end"]
        );
        assert_eq!(lines("one<br style='display: none'>two"), ["onetwo"]);
    }

    #[test]
    fn the_document_reaches_as_far_as_its_boxes_and_text() {
        assert_eq!(document_size(""), LayoutSize::new(200.0, 100.0), "never less than the viewport");
        assert_eq!(
            document_size("<div style='width: 500px; height: 300px'></div>"),
            LayoutSize::new(500.0, 300.0)
        );
        // A relative offset moves the box's overflow with it.
        assert_eq!(
            document_size("<div style='position: relative; left: 50px; width: 300px; height: 10px'></div>"),
            LayoutSize::new(350.0, 100.0)
        );
        // A word too long for its line overflows its box, and the page with it.
        let word = document_size(&format!("<p style='margin: 0'>{}</p>", "m".repeat(60)));
        assert!(word.width > 600.0, "{word:?}");
        // Trailing white space hangs: a line that fits makes no overflow.
        assert_eq!(document_size("<p style='margin: 0'>short line    </p>").width, 200.0);
    }

    #[test]
    fn one_axis_clips_and_the_viewport_takes_the_body_or_root_overflow() {
        let tall_and_wide = "<div style='width: 600px; height: 300px'></div>";
        // overflow-x: clip clips across only; the page still reaches down.
        let clip_x = format!("<div style='overflow-x: clip; width: 100px'>{tall_and_wide}</div>");
        assert_eq!(document_size(&clip_x), LayoutSize::new(200.0, 300.0));

        // The body's overflow goes to the viewport: the body itself clips nothing (the page
        // still reaches 600 across), and the viewport does not scroll across.
        let page = lay_out(&format!("<div style='overflow-x: hidden'></div>{tall_and_wide}"));
        let overflow = page.viewport_overflow;
        assert_eq!((overflow.x, overflow.y), (Overflow::Visible, Overflow::Visible), "a div's stays its own");
        for (html, source, x, y) in [
            ("<body style='overflow-x: hidden'>", "body", Overflow::Hidden, Overflow::Auto),
            (
                "<html style='overflow: clip'><body style='overflow: scroll'>",
                "html",
                Overflow::Clip,
                Overflow::Clip,
            ),
        ] {
            let document = Document::parse(&format!("{html}{tall_and_wide}")).expect("parses");
            let styles = crate::style::compute(&document);
            let overflow = ViewportOverflow::of(&document, &styles);
            assert_eq!((overflow.x, overflow.y), (x, y), "{html}");
            assert_eq!(
                overflow.source.and_then(|id| document.tag(id)).map(|tag| tag.to_string()),
                Some(source.into())
            );
        }
        let page = lay_out_document("<body style='margin: 0; overflow: hidden'>".to_owned() + tall_and_wide);
        assert_eq!(page.document_size, LayoutSize::new(600.0, 300.0), "the body does not clip");
        let body = page.boxes.iter().position(|layout_box| layout_box.node == page.viewport_overflow.source);
        let body = BoxId(body.expect("the body's box") as u32);
        assert_eq!(
            page.overflow_clip(
                body,
                Some(&ComputedStyle { overflow_x: Overflow::Hidden, ..ComputedStyle::initial() })
            ),
            None
        );
    }

    #[test]
    fn clipped_and_fixed_content_makes_no_overflow() {
        // A carousel: a wide track inside a box that clips it.
        let carousel = "<div style='overflow: hidden; width: 180px; height: 50px'>\
            <div style='width: 2000px; height: 400px'></div></div>";
        assert_eq!(document_size(carousel), LayoutSize::new(200.0, 100.0));
        // An absolute box escapes a static clip on the way to its containing block...
        let escapes = "<div style='overflow: hidden; width: 50px; height: 50px'>\
            <div style='position: absolute; left: 400px; top: 10px; width: 10px; height: 10px'></div></div>";
        assert_eq!(document_size(escapes), LayoutSize::new(410.0, 100.0));
        // ...but not one that is its containing block.
        let clipped = "<div style='position: relative; overflow: hidden; width: 50px; height: 50px'>\
            <div style='position: absolute; left: 400px; width: 10px; height: 10px'></div></div>";
        assert_eq!(document_size(clipped), LayoutSize::new(200.0, 100.0));
        // A fixed box never moves, so nothing past the viewport can be scrolled to.
        let fixed = "<div style='position: fixed; left: 900px; top: 900px; width: 10px; height: 10px'></div>";
        assert_eq!(document_size(fixed), LayoutSize::new(200.0, 100.0));
    }

    /// A page of 200x100 whose `#list` (100x50 at 20,20) scrolls down, holding `inner`.
    fn list_page(list_style: &str, inner: &str) -> TestPage {
        let html = format!(
            "<body style='margin: 0'><div style='height: 20px'></div>\
             <div id=list style='margin-left: 20px; width: 100px; height: 50px; {list_style}'>{inner}</div>\
             <div style='height: 300px'></div></body>"
        );
        TestPage::new(&html, 200.0, 100.0)
    }

    #[test]
    fn a_box_the_user_can_scroll_is_a_frame_that_reaches_as_far_as_its_content() {
        let tall = "<div style='width: 80px; height: 200px'></div>";
        let page = list_page("overflow-y: auto", tall);
        let list = page.frame("list");
        assert_eq!(list.port, LayoutRect::new(LayoutPoint::new(20.0, 20.0), LayoutSize::new(100.0, 50.0)));
        assert_eq!(list.extent, LayoutSize::new(100.0, 200.0), "at least the port across");
        // overflow-x: visible beside auto computes to auto (CSS Overflow 3 §3.1).
        assert!(list.scrolls_x && list.scrolls_y);
        assert_eq!(list.max_scroll(), LayoutPoint::new(0.0, 150.0));
        assert_eq!((list.parent, list.pinned), (None, false));
        // What the frame holds makes the page no longer: only the frame's own box counts.
        assert_eq!(page.layout.document_size, LayoutSize::new(200.0, 370.0));

        // The end padding follows the content (not the port's: it is inside the port).
        let padded = list_page("overflow: auto; padding: 5px 7px", tall);
        let padded = padded.frame("list");
        assert_eq!(padded.port.size, LayoutSize::new(114.0, 60.0));
        assert_eq!(padded.extent, LayoutSize::new(114.0, 5.0 + 200.0 + 5.0), "across, the port");
        let wide = list_page("overflow: auto; padding: 5px 7px", "<div style='width: 300px'>x</div>");
        assert_eq!(wide.frame("list").extent.width, 7.0 + 300.0 + 7.0);

        // Along an axis that is hidden the user cannot scroll, however far the content goes.
        let wide = "<div style='width: 300px; height: 200px'></div>";
        let list = list_page("overflow-x: hidden; overflow-y: scroll", wide);
        let list = list.frame("list");
        assert_eq!(list.extent, LayoutSize::new(300.0, 200.0));
        assert_eq!((list.scrolls_x, list.scrolls_y), (false, true));
        assert_eq!(list.max_scroll(), LayoutPoint::new(0.0, 150.0));

        // Hidden on both axes only clips (only scripts could scroll it); nor does the body,
        // whose overflow went to the viewport, make a frame.
        assert!(list_page("overflow: hidden", tall).layout.scroll_frames.is_empty());
        let body =
            TestPage::new("<body style='overflow: auto'><div style='height: 500px'></div>", 200.0, 100.0);
        assert!(body.layout.scroll_frames.is_empty());
    }

    #[test]
    fn frames_hold_what_their_containing_block_chain_puts_in_them() {
        let page = list_page(
            "overflow: auto",
            "<div id=inner style='overflow: auto; height: 30px'><div style='height: 90px'></div></div>\
             <div style='position: absolute; left: 500px; top: 0; width: 10px; height: 10px'></div>\
             <div style='position: fixed; left: 0; top: 0; width: 10px; height: 10px'>\
               <div id=pinned style='overflow: auto; height: 10px'><div style='height: 25px'></div></div></div>",
        );
        let (list, inner, pinned) = (page.frame("list"), page.frame("inner"), page.frame("pinned"));
        // The absolute box's containing block is the viewport: it escapes the list and
        // widens the page; the nested frame counts in the list only as its own box.
        assert_eq!(list.extent, LayoutSize::new(100.0, 50.0));
        assert_eq!(page.layout.document_size.width, 510.0);
        assert_eq!(inner.parent, page.layout.get(page.element_box("list")).scroll_frame);
        assert_eq!(inner.extent.height, 90.0);
        // A frame in a fixed box stays put when the page scrolls.
        assert_eq!((pinned.parent, pinned.pinned, pinned.extent.height), (None, true, 25.0));

        // A positioned list is the containing block: the absolute box is in it.
        let positioned = list_page(
            "overflow: auto; position: relative",
            "<div style='position: absolute; left: 500px; width: 10px; height: 10px'></div>",
        );
        assert_eq!(positioned.frame("list").extent, LayoutSize::new(510.0, 50.0));
        assert_eq!(positioned.layout.document_size.width, 200.0);
    }

    /// Each element's border box, by id, in a page of `width` x 100.
    fn rects(body: &str, width: f32, ids: &[&str]) -> Vec<LayoutRect> {
        let page = TestPage::new(&format!("<body style='margin: 0'>{body}</body>"), width, 100.0);
        ids.iter().map(|id| page.layout.get(page.element_box(id)).rect).collect()
    }

    fn rect(x: f32, y: f32, width: f32, height: f32) -> LayoutRect {
        LayoutRect::new(LayoutPoint::new(x, y), LayoutSize::new(width, height))
    }

    #[test]
    fn grid_items_take_their_tracks_lines_spans_and_gaps() {
        // 200 across: 50px, then 1fr and 2fr share 200 - 50 - 2 × 5 = 140.
        let rects = rects(
            "<div id=grid style='display: grid; grid-template-columns: 50px 1fr 2fr; \
               grid-template-rows: 20px auto; gap: 10px 5px'>\
               <div id=a></div><div id=b style='grid-column: span 2'></div>\
               <div id=c style='grid-area: 2 / 3; height: 30px'></div>\
               <div id=d style='grid-column: 1 / -1; grid-row: 3'>x</div></div>",
            200.0,
            &["grid", "a", "b", "c", "d"],
        );
        assert_eq!(rects[1], rect(0.0, 0.0, 50.0, 20.0), "a: the first cell, stretched");
        assert_eq!(rects[2], rect(55.0, 0.0, 145.0, 20.0), "b: spans both fr columns and their gap");
        // taffy rounds edges to whole pixels: 106.67 → 107.
        assert_eq!(rects[3], rect(107.0, 30.0, 93.0, 30.0), "c: row 2, column 3");
        // `1 / -1` spans the explicit columns; row 3 is implicit and auto-sized to its text.
        assert_eq!((rects[4].origin, rects[4].size.width), (LayoutPoint::new(0.0, 70.0), 200.0));
        assert!(rects[4].size.height > 10.0, "{:?}", rects[4]);
        assert_eq!(rects[0].size.height, rects[4].max_y(), "the grid holds its rows");
    }

    #[test]
    fn named_areas_and_automatic_repetitions_place_items() {
        let areas = rects(
            "<div style='display: grid; grid-template-areas: \"head head\" \"side main\"; \
               grid-template-columns: 60px 1fr; grid-template-rows: 30px 50px'>\
               <div id=main style='grid-area: main'></div><div id=head style='grid-area: head'></div>\
               <div id=side style='grid-area: side'></div></div>",
            200.0,
            &["head", "side", "main"],
        );
        assert_eq!(
            areas,
            [rect(0.0, 0.0, 200.0, 30.0), rect(0.0, 30.0, 60.0, 50.0), rect(60.0, 30.0, 140.0, 50.0)]
        );

        // As many 45px-or-more columns as fit in 200 (4), sharing the rest; the fifth item
        // wraps to a new row of 10px auto rows.
        let cells: String = (0..5).map(|index| format!("<div id=i{index}></div>")).collect();
        let repeated = rects(
            &format!(
                "<div style='display: grid; grid-template-columns: repeat(auto-fill, minmax(45px, 1fr)); \
                   grid-auto-rows: 10px'>{cells}</div>"
            ),
            200.0,
            &["i0", "i3", "i4"],
        );
        assert_eq!(
            repeated,
            [rect(0.0, 0.0, 50.0, 10.0), rect(150.0, 0.0, 50.0, 10.0), rect(0.0, 10.0, 50.0, 10.0)]
        );
    }

    #[test]
    fn grid_and_flex_alignment_and_inline_grids() {
        // justify-items / align-self move items in their areas; justify-content packs tracks.
        let aligned = rects(
            "<div style='display: grid; grid-template-columns: 40px 40px; grid-template-rows: 40px; \
               justify-content: center; justify-items: end'>\
               <div id=a style='width: 10px; height: 10px'></div>\
               <div id=b style='width: 10px; height: 10px; align-self: center; justify-self: start'></div></div>",
            200.0,
            &["a", "b"],
        );
        assert_eq!(aligned, [rect(90.0, 0.0, 10.0, 10.0), rect(100.0, 15.0, 10.0, 10.0)]);

        // An inline grid is an atomic inline as wide as its tracks, laid out as a grid.
        let page = TestPage::new(
            "<body style='margin: 0'>a <span id=g style='display: inline-grid; grid-template-columns: 30px 40px'>\
             <i id=x>x</i><i id=y>y</i></span> b</body>",
            200.0,
            100.0,
        );
        let [grid, x, y] = ["g", "x", "y"].map(|id| page.layout.get(page.element_box(id)).clone());
        assert_eq!(grid.kind, BoxKind::InlineBlock);
        assert_eq!(grid.rect.size.width, 70.0);
        assert!(grid.rect.origin.x > 0.0, "after 'a ' on the line: {grid:?}");
        assert_eq!(
            (x.kind.clone(), y.rect.origin.x - x.rect.origin.x),
            (BoxKind::Block, 30.0),
            "items are blockified"
        );

        // A flex item inside an inline-flex container is a flex item too (it was a block).
        let flex = rects(
            "<span id=f style='display: inline-flex; gap: 5px'><i id=p style='width: 10px'>p</i><i id=q>q</i></span>",
            200.0,
            &["p", "q"],
        );
        assert_eq!(flex[1].origin.x, flex[0].max_x() + 5.0, "{flex:?}");
    }

    #[test]
    fn hostile_grids_lay_out_without_panicking() {
        // Each asks taffy for something degenerate: a zero-size automatic repetition, lines
        // and spans at the parser's bounds, thousands of tracks, negative lines past the grid.
        for style in [
            "grid-template-columns: repeat(auto-fill, 0px)",
            "grid-template-columns: repeat(auto-fit, minmax(0px, 1fr)); grid-auto-rows: 0",
            "grid-template-columns: repeat(1000, 1fr) repeat(1000, 1fr) repeat(1000, [a b] 1px [c])",
            "grid-template-areas: 'a a' 'a a'; grid-template-columns: 0 0; gap: 100000px",
        ] {
            let items = "<div style='grid-row: -1000 / 1000'>x</div><div style='grid-column: span 1000'></div>\
                         <div style='grid-area: a / a / span 1000 / -1'></div><div style='grid-column: nope'></div>";
            let page = lay_out(&format!("<div style='display: grid; {style}'>{items}</div>"));
            assert!(page.document_size.width.is_finite() && page.document_size.height.is_finite(), "{style}");
        }
    }
}
