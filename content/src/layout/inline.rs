//! Inline formatting contexts: a block's run of text, inline elements and atomic inlines
//! (inline-blocks, images, canvases) shaped, broken into lines and aligned with parley.
//!
//! A paragraph is described while the box tree is built, and shaped lazily the first time
//! taffy measures it — by then every atomic inline inside it has its size.

use armature_api::ColorF;
use parley::{
    Alignment, AlignmentOptions, FontFamily, InlineBox, InlineBoxKind, LayoutContext,
    LineHeight as ParleyLineHeight, TextStyle, TextWrapMode, VerticalAlign, WhiteSpaceCollapse,
};
use taffy::{AvailableSpace, Size};

use super::BoxId;
use crate::dom::NodeId;
use crate::fonts::{Fonts, MONO_FAMILY, SANS_FAMILY};
use crate::style::{
    ComputedStyle, Decorations, FontFamily as CssFontFamily, FontStyle, LineHeight, TextAlign, WhiteSpace,
};

/// Index of a span's paint style in its [`Paragraph`]; parley carries it as the brush.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SpanBrush(pub u32);

/// How a span (the paragraph's root or an inline element) paints its text.
#[derive(Clone, Debug)]
pub struct SpanPaint {
    /// The inline element, `None` for the paragraph's root span.
    pub node: Option<NodeId>,
    /// Text colour.
    pub color: ColorF,
    /// Background behind the span's text on each line.
    pub background: ColorF,
    /// The lines drawn through its text.
    pub decorations: Decorations,
}

/// One piece of a paragraph, in order.
#[derive(Clone, Debug)]
pub(super) enum InlineItem {
    /// An inline element starts; its style is `styles[index]`.
    PushSpan(usize),
    /// The innermost inline element ends.
    PopSpan,
    /// Character data.
    Text(String),
    /// An atomic inline: a box laid out on its own and placed in the line like a glyph.
    Atomic(BoxId),
}

/// An inline formatting context.
pub struct Paragraph {
    pub(super) items: Vec<InlineItem>,
    /// Style of the root span (the containing block's) and of every inline element.
    pub(super) styles: Vec<ComputedStyle>,
    /// Paint style per span, indexed by [`SpanBrush`].
    pub spans: Vec<SpanPaint>,
    /// Atomic inlines, indexed by parley inline-box id.
    pub atomics: Vec<BoxId>,
    /// The shaped text, once measured.
    pub layout: Option<parley::Layout<SpanBrush>>,
    /// The text after white-space processing, for dumps.
    pub text: String,
    broken_at: Option<Option<f32>>,
    /// Whether parley rounds line metrics to whole pixels (at device pixel ratio 1).
    quantize: bool,
    /// Spans (style indices) pushed and not yet popped, while building.
    open: Vec<usize>,
}

impl Paragraph {
    /// An empty paragraph in a block with style `root`; `quantize` rounds its line metrics
    /// to whole pixels.
    pub(super) fn new(root: &ComputedStyle, quantize: bool) -> Paragraph {
        Paragraph {
            items: Vec::new(),
            styles: vec![root.clone()],
            spans: vec![SpanPaint {
                node: None,
                color: root.color,
                background: ColorF::TRANSPARENT,
                decorations: root.decorations,
            }],
            atomics: Vec::new(),
            layout: None,
            text: String::new(),
            broken_at: None,
            quantize,
            open: Vec::new(),
        }
    }

    /// Whether the paragraph would render nothing: only collapsible white space.
    pub(super) fn is_collapsible(&self) -> bool {
        let preserves = self
            .styles
            .iter()
            .any(|style| matches!(style.white_space, WhiteSpace::Pre | WhiteSpace::PreWrap));
        !preserves
            && self.items.iter().all(|item| match item {
                InlineItem::Text(text) => {
                    text.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c'))
                }
                InlineItem::Atomic(_) => false,
                InlineItem::PushSpan(_) | InlineItem::PopSpan => true,
            })
    }

    pub(super) fn push_span(&mut self, node: NodeId, style: &ComputedStyle) {
        self.open.push(self.styles.len());
        self.items.push(InlineItem::PushSpan(self.styles.len()));
        self.styles.push(style.clone());
        self.spans.push(SpanPaint {
            node: Some(node),
            color: style.color,
            background: style.background_color,
            decorations: style.decorations,
        });
    }

    /// Adds a list item's inside marker: `text` in `style`, a span of no element.
    pub(super) fn push_marker(&mut self, style: &ComputedStyle, text: &str) {
        self.push_text_span(style, ColorF::TRANSPARENT, text);
    }

    /// Adds an inline `::before` or `::after`: `text` in `style`, on its own background, a
    /// span of no element (so a block that splits an inline around it never reopens it).
    pub(super) fn push_generated(&mut self, style: &ComputedStyle, text: &str) {
        self.push_text_span(style, style.background_color, text);
    }

    fn push_text_span(&mut self, style: &ComputedStyle, background: ColorF, text: &str) {
        self.items.push(InlineItem::PushSpan(self.styles.len()));
        self.styles.push(style.clone());
        self.spans.push(SpanPaint {
            node: None,
            color: style.color,
            background,
            decorations: style.decorations,
        });
        self.items.push(InlineItem::Text(text.to_owned()));
        self.items.push(InlineItem::PopSpan);
    }

    pub(super) fn pop_span(&mut self) {
        self.open.pop();
        self.items.push(InlineItem::PopSpan);
    }

    /// The inline elements open at this point, outermost first.
    pub(super) fn open_spans(&self) -> Vec<(NodeId, ComputedStyle)> {
        self.open
            .iter()
            .filter_map(|&index| Some((self.spans[index].node?, self.styles[index].clone())))
            .collect()
    }

    /// Shapes the paragraph (once); `atomic_size` gives each atomic inline's margin-box size.
    fn ensure_shaped(
        &mut self,
        fonts: &mut Fonts,
        layout_context: &mut LayoutContext<SpanBrush>,
        atomic_size: &dyn Fn(BoxId) -> (f32, f32),
    ) {
        if self.layout.is_none() {
            let root = text_style(&self.styles[0], SpanBrush(0));
            let mut builder = layout_context.tree_builder(&mut fonts.context, 1.0, self.quantize, &root);
            let mut span = 0;
            for item in &self.items {
                match item {
                    InlineItem::PushSpan(index) => {
                        span += 1;
                        builder.push_style_span(text_style(&self.styles[*index], SpanBrush(span)));
                    }
                    InlineItem::PopSpan => builder.pop_style_span(),
                    InlineItem::Text(text) => builder.push_text(text),
                    InlineItem::Atomic(id) => {
                        let (width, height) = atomic_size(*id);
                        let index = self.atomics.len();
                        self.atomics.push(*id);
                        builder.push_inline_box(InlineBox {
                            id: index as u64,
                            kind: InlineBoxKind::InFlow,
                            index: 0,
                            width,
                            height,
                            baseline: None,
                            vertical_align: VerticalAlign::BASELINE,
                        });
                    }
                }
            }
            let (layout, text) = builder.build();
            self.text = text;
            self.layout = Some(layout);
        }
    }

    /// Breaks lines at `max_width` (`None`: never wrap) unless already broken there.
    fn break_lines(&mut self, max_width: Option<f32>) {
        if self.broken_at == Some(max_width) {
            return;
        }
        let alignment = match self.styles[0].text_align {
            TextAlign::Left => Alignment::Start,
            TextAlign::Right => Alignment::End,
            TextAlign::Center => Alignment::Center,
            TextAlign::Justify => Alignment::Justify,
        };
        if let Some(layout) = &mut self.layout {
            layout.break_all_lines(max_width);
            layout.align(alignment, AlignmentOptions::default());
            self.broken_at = Some(max_width);
        }
    }

    /// taffy's measure function for this paragraph.
    pub(super) fn measure(
        &mut self,
        known: Size<Option<f32>>,
        available: Size<AvailableSpace>,
        fonts: &mut Fonts,
        layout_context: &mut LayoutContext<SpanBrush>,
        atomic_size: &dyn Fn(BoxId) -> (f32, f32),
    ) -> Size<f32> {
        self.ensure_shaped(fonts, layout_context, atomic_size);
        let max_width = match (known.width, available.width) {
            (Some(width), _) => Some(width),
            (None, AvailableSpace::Definite(width)) => Some(width),
            (None, AvailableSpace::MinContent) => Some(0.0),
            (None, AvailableSpace::MaxContent) => None,
        };
        self.break_lines(max_width);
        let Some(layout) = &self.layout else { return Size::ZERO };
        Size {
            width: known.width.unwrap_or_else(|| layout.width().ceil()),
            height: known.height.unwrap_or_else(|| layout.height().ceil()),
        }
    }

    /// Final line breaking once the paragraph's box has its width.
    pub(super) fn finish(&mut self, width: f32) {
        self.break_lines(Some(width));
    }
}

/// The parley style of a computed style.
fn text_style(style: &ComputedStyle, brush: SpanBrush) -> TextStyle<'static, 'static, SpanBrush> {
    let family = match style.font_family {
        CssFontFamily::SansSerif => SANS_FAMILY,
        CssFontFamily::Monospace => MONO_FAMILY,
    };
    let (collapse, wrap) = match style.white_space {
        WhiteSpace::Normal => (WhiteSpaceCollapse::Collapse, TextWrapMode::Wrap),
        WhiteSpace::NoWrap => (WhiteSpaceCollapse::Collapse, TextWrapMode::NoWrap),
        WhiteSpace::Pre => (WhiteSpaceCollapse::Preserve, TextWrapMode::NoWrap),
        WhiteSpace::PreWrap => (WhiteSpaceCollapse::Preserve, TextWrapMode::Wrap),
    };
    TextStyle {
        font_family: FontFamily::named(family),
        font_size: style.font_size,
        font_style: match style.font_style {
            FontStyle::Normal => parley::FontStyle::Normal,
            FontStyle::Italic => parley::FontStyle::Italic,
        },
        font_weight: parley::FontWeight::new(f32::from(style.font_weight)),
        brush,
        line_height: match style.line_height {
            LineHeight::Normal => ParleyLineHeight::MetricsRelative(1.0),
            LineHeight::Number(number) => ParleyLineHeight::FontSizeRelative(number),
            LineHeight::Px(px) => ParleyLineHeight::Absolute(px),
        },
        white_space_collapse: collapse,
        text_wrap_mode: wrap,
        ..TextStyle::default()
    }
}
