//! Computed values: [`ComputedStyle`] and how each supported property sets it.
//!
//! Supported: display, width/height, min-/max-width/height, margin, padding, border (width,
//! style, colour, per side), border-radius, background(-color), color, opacity, font-size,
//! font-weight, font-style, font-family (generic), line-height, text-align, white-space,
//! text-decoration (line, colour; every style drawn solid), list-style (type, position),
//! flex-direction, flex-wrap, justify-content, align-items/-self/-content, justify-items/-self,
//! place-items/-self, gap, flex(-grow/-shrink/-basis), grid (templates with line names and
//! areas, auto tracks and flow, item lines and areas; see [`super::grid`]), overflow,
//! position, top/right/bottom/left (and `inset`), z-index, tables (the `table*` displays,
//! border-collapse, border-spacing, caption-side, vertical-align as table cells use it),
//! content and quotes (generated content; see [`super::generated`]).
//! Units: px, pt, %, em, rem.

use armature_api::ColorF;

use super::generated::{Content, Quotes, parse_content, parse_quotes};
use super::grid::{
    GridStyle, TrackList, parse_area, parse_areas, parse_auto_flow, parse_auto_tracks, parse_line,
    parse_line_pair, parse_track_list,
};
use super::values::{
    BorderPart, DecorationLine, DecorationPart, FontRelative, Length, ListStylePart, Sides,
    parse_border_parts, parse_border_sides, parse_color, parse_decoration_parts, parse_length,
    parse_length_list, parse_list_style_parts, parse_number, parse_sides,
};

/// How an element takes part in layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Display {
    /// A block box.
    Block,
    /// Flows inside its parent's lines.
    Inline,
    /// A block inside a line (an atomic inline).
    InlineBlock,
    /// A flex container.
    Flex,
    /// A flex container inside a line (an atomic inline).
    InlineFlex,
    /// A grid container.
    Grid,
    /// A grid container inside a line (an atomic inline).
    InlineGrid,
    /// A table (laid out as a grid of its cells; see `layout::table`).
    Table,
    /// A table inside a line (an atomic inline).
    InlineTable,
    /// A group of rows (`<tbody>`).
    TableRowGroup,
    /// The rows that go first (`<thead>`).
    TableHeaderGroup,
    /// The rows that go last (`<tfoot>`).
    TableFooterGroup,
    /// A row of cells (`<tr>`).
    TableRow,
    /// A cell (`<td>`, `<th>`).
    TableCell,
    /// A table's caption (`<caption>`).
    TableCaption,
    /// A column (`<col>`): sizes and paints, holds nothing.
    TableColumn,
    /// A group of columns (`<colgroup>`).
    TableColumnGroup,
    /// Not rendered, nor are its descendants.
    None,
}

impl Display {
    /// Whether the box sits in its parent's lines rather than stacking as a block.
    pub fn is_inline_level(self) -> bool {
        matches!(
            self,
            Display::Inline
                | Display::InlineBlock
                | Display::InlineFlex
                | Display::InlineGrid
                | Display::InlineTable
        )
    }

    /// Whether the box is an atomic inline: an inline-block, or an inline flex, grid or
    /// table container (unless its parent blockifies it; see [`Display::has_items`]).
    pub fn is_atomic_inline(self) -> bool {
        matches!(
            self,
            Display::InlineBlock | Display::InlineFlex | Display::InlineGrid | Display::InlineTable
        )
    }

    /// Whether the box is a part of a table (a row, cell, group, caption or column), which
    /// only means that inside a table: anywhere else it lays out as a block (CSS 2 §17.2.1
    /// would wrap it in anonymous table boxes; see `layout::table`).
    pub fn is_table_part(self) -> bool {
        matches!(
            self,
            Display::TableRowGroup
                | Display::TableHeaderGroup
                | Display::TableFooterGroup
                | Display::TableRow
                | Display::TableCell
                | Display::TableCaption
                | Display::TableColumn
                | Display::TableColumnGroup
        )
    }

    /// Whether the box lays its children out as flex or grid items (which blockifies them).
    pub fn has_items(self) -> bool {
        matches!(self, Display::Flex | Display::InlineFlex | Display::Grid | Display::InlineGrid)
    }

    /// The block-level display of the same inner layout (CSS Display 3 §2.7's
    /// blockification, for flex and grid items and out-of-flow boxes; a table part becomes
    /// a block).
    pub fn blockified(self) -> Display {
        match self {
            Display::Inline | Display::InlineBlock => Display::Block,
            Display::InlineFlex => Display::Flex,
            Display::InlineGrid => Display::Grid,
            Display::InlineTable => Display::Table,
            display if display.is_table_part() => Display::Block,
            display => display,
        }
    }
}

/// `font-style`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FontStyle {
    /// Upright.
    Normal,
    /// `italic` or `oblique`: the bundled oblique face.
    Italic,
}

/// `font-family`, reduced to the generic families the bundled fonts cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FontFamily {
    /// DejaVu Sans (also for `serif` and any named family: no system fonts are used).
    SansSerif,
    /// DejaVu Sans Mono.
    Monospace,
}

/// `line-height`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LineHeight {
    /// The font's own ascent + descent + gap.
    Normal,
    /// A multiple of the element's font size (inherited as the number).
    Number(f32),
    /// A fixed height in px.
    Px(f32),
}

/// `border-collapse` (inherited).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BorderCollapse {
    /// Each cell keeps its own borders, `border-spacing` apart.
    Separate,
    /// Neighbouring cells share one border, the stronger of theirs (CSS 2 §17.6.2).
    Collapse,
}

/// `caption-side` (inherited).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptionSide {
    /// Above the table.
    Top,
    /// Below the table.
    Bottom,
}

/// `vertical-align`, as a table cell uses it: where its content sits in its row's height.
/// (Inline boxes ignore it: they sit on the baseline.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerticalAlign {
    /// `baseline` and the inline-only values (`sub`, `super`, `text-top`, lengths…): for a
    /// cell, at the top (the cells of a row do not share a baseline here).
    Baseline,
    /// At the top.
    Top,
    /// Centred.
    Middle,
    /// At the bottom.
    Bottom,
}

/// `text-align`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextAlign {
    /// `left` / `start`.
    Left,
    /// `right` / `end`.
    Right,
    /// `center`.
    Center,
    /// `justify`.
    Justify,
}

/// `white-space`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhiteSpace {
    /// Collapse spaces, wrap lines.
    Normal,
    /// Collapse spaces, never wrap.
    NoWrap,
    /// Keep spaces and newlines, never wrap.
    Pre,
    /// Keep spaces and newlines, wrap.
    PreWrap,
}

/// `overflow-x` or `overflow-y` (CSS Overflow 3 §3). Every value but `visible` clips; `auto`
/// and `scroll` also let the user scroll the box (see `layout::overflow`), and the values
/// differ in how they compute and in what they do to the viewport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Content may paint outside the box.
    Visible,
    /// Clipped to the padding box; a scroll container that only scripts could scroll.
    Hidden,
    /// Clipped to the padding box, and not a scroll container.
    Clip,
    /// Clipped to the padding box; a scroll container with scrollbars.
    Scroll,
    /// Clipped to the padding box; a scroll container when the content overflows.
    Auto,
}

impl Overflow {
    /// Whether content is clipped along this axis.
    pub fn clips(self) -> bool {
        self != Overflow::Visible
    }

    /// Whether the value makes the box a scroll container.
    pub fn is_scroll_container(self) -> bool {
        matches!(self, Overflow::Hidden | Overflow::Scroll | Overflow::Auto)
    }

    /// Whether the user may scroll a box along this axis when it has this value (`hidden`
    /// only scripts may scroll).
    pub fn user_scrolls(self) -> bool {
        matches!(self, Overflow::Scroll | Overflow::Auto)
    }

    /// Whether the user may scroll the viewport along this axis when it has this value:
    /// `visible` acts as `auto` there and `clip` as `hidden` (CSS Overflow 3 §3.3).
    pub fn scrolls_viewport(self) -> bool {
        matches!(self, Overflow::Visible | Overflow::Scroll | Overflow::Auto)
    }

    fn parse(keyword: &str) -> Option<Overflow> {
        Some(match keyword {
            "visible" => Overflow::Visible,
            "hidden" => Overflow::Hidden,
            "clip" => Overflow::Clip,
            "scroll" => Overflow::Scroll,
            "auto" | "overlay" => Overflow::Auto,
            _ => return None,
        })
    }
}

/// `text-decoration-line`: the lines an element draws through its inline content.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecorationLines {
    /// Under the text.
    pub underline: bool,
    /// Over the text.
    pub overline: bool,
    /// Through the middle of the text.
    pub line_through: bool,
}

impl DecorationLines {
    /// These lines with `line` added.
    pub fn with(self, line: DecorationLine) -> DecorationLines {
        match line {
            DecorationLine::Underline => DecorationLines { underline: true, ..self },
            DecorationLine::Overline => DecorationLines { overline: true, ..self },
            DecorationLine::LineThrough => DecorationLines { line_through: true, ..self },
            DecorationLine::Blink => self,
        }
    }
}

/// The text decorations in effect on an element's text (CSS Text Decoration 3 §2): its own
/// and those its ancestors propagate to it, each line in the colour of the innermost box
/// that draws it (lines of one kind from nested boxes fall on the same place, the inner one
/// painted last, so it is the one seen).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Decorations {
    /// An underline's colour.
    pub underline: Option<ColorF>,
    /// An overline's colour.
    pub overline: Option<ColorF>,
    /// A line-through's colour.
    pub line_through: Option<ColorF>,
}

impl Decorations {
    /// These decorations with a box's own `lines` in `color` added inside them.
    pub fn with(self, lines: DecorationLines, color: ColorF) -> Decorations {
        let pick = |own: bool, outer: Option<ColorF>| if own { Some(color) } else { outer };
        Decorations {
            underline: pick(lines.underline, self.underline),
            overline: pick(lines.overline, self.overline),
            line_through: pick(lines.line_through, self.line_through),
        }
    }

    /// Whether no line is drawn.
    pub fn is_empty(&self) -> bool {
        *self == Decorations::default()
    }
}

/// `list-style-type`: what a list item's marker shows (CSS Counter Styles 3's predefined
/// styles that HTML pages use).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListStyleType {
    /// No marker.
    None,
    /// `•`.
    Disc,
    /// `◦`.
    Circle,
    /// `▪`.
    Square,
    /// `1.`, `2.`, …
    Decimal,
    /// `01.`, `02.`, … `10.`
    DecimalLeadingZero,
    /// `a.` … `z.`, `aa.`, …
    LowerAlpha,
    /// `A.` … `Z.`, `AA.`, …
    UpperAlpha,
    /// `i.`, `ii.`, … (1 to 3999; decimal outside that)
    LowerRoman,
    /// `I.`, `II.`, …
    UpperRoman,
}

impl ListStyleType {
    /// The keyword's type (`lower-latin` is `lower-alpha`), if supported.
    pub fn parse(keyword: &str) -> Option<ListStyleType> {
        Some(match keyword {
            "none" => ListStyleType::None,
            "disc" => ListStyleType::Disc,
            "circle" => ListStyleType::Circle,
            "square" => ListStyleType::Square,
            "decimal" => ListStyleType::Decimal,
            "decimal-leading-zero" => ListStyleType::DecimalLeadingZero,
            "lower-alpha" | "lower-latin" => ListStyleType::LowerAlpha,
            "upper-alpha" | "upper-latin" => ListStyleType::UpperAlpha,
            "lower-roman" => ListStyleType::LowerRoman,
            "upper-roman" => ListStyleType::UpperRoman,
            _ => return None,
        })
    }
}

/// `list-style-position`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListStylePosition {
    /// The marker hangs left of the item's first line, outside its box.
    Outside,
    /// The marker is the first thing on the item's first line.
    Inside,
}

/// `position` (CSS 2 §9.3.1; `sticky` is not supported and is ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// In normal flow; the insets do nothing.
    Static,
    /// In normal flow, then moved by its insets without moving anything else.
    Relative,
    /// Out of flow, placed by its insets in its containing block: the padding box of the
    /// nearest positioned ancestor, or the viewport.
    Absolute,
    /// Out of flow, placed by its insets in the viewport, and stays there when the page
    /// scrolls.
    Fixed,
}

impl Position {
    /// Whether the box is positioned (not `static`): it is painted in its stacking
    /// context's positioned layer and is the containing block of absolute descendants.
    pub fn is_positioned(self) -> bool {
        self != Position::Static
    }

    /// Whether the box is taken out of normal flow (`absolute` or `fixed`).
    pub fn is_out_of_flow(self) -> bool {
        matches!(self, Position::Absolute | Position::Fixed)
    }
}

/// `flex-direction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlexDirection {
    /// Main axis left to right.
    Row,
    /// Right to left.
    RowReverse,
    /// Top to bottom.
    Column,
    /// Bottom to top.
    ColumnReverse,
}

/// `flex-wrap`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlexWrap {
    /// One line.
    NoWrap,
    /// As many lines as needed.
    Wrap,
    /// As many lines as needed, cross axis reversed.
    WrapReverse,
}

/// `justify-content` and `align-content`: how flex items or lines, or grid tracks, share
/// the container's free space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentAlignment {
    /// `normal`: as `stretch` for grid tracks and flex lines, as `flex-start` for flex items.
    Normal,
    /// Auto-sized tracks (flex lines) grow into the free space.
    Stretch,
    /// Packed at the start (left, top).
    Start,
    /// Packed at the end.
    End,
    /// Packed at the flex container's main or cross start (the end, when reversed).
    FlexStart,
    /// Packed at the flex main or cross end.
    FlexEnd,
    /// Packed in the middle.
    Center,
    /// First and last at the edges, equal gaps between.
    SpaceBetween,
    /// Equal space around every item.
    SpaceAround,
    /// Equal space between and at the edges.
    SpaceEvenly,
}

impl ContentAlignment {
    /// A `justify-content` or `align-content` keyword.
    pub fn parse(keyword: &str) -> Option<ContentAlignment> {
        Some(match keyword {
            "normal" => ContentAlignment::Normal,
            "stretch" => ContentAlignment::Stretch,
            "start" | "left" => ContentAlignment::Start,
            "end" | "right" => ContentAlignment::End,
            "flex-start" => ContentAlignment::FlexStart,
            "flex-end" => ContentAlignment::FlexEnd,
            "center" => ContentAlignment::Center,
            "space-between" => ContentAlignment::SpaceBetween,
            "space-around" => ContentAlignment::SpaceAround,
            "space-evenly" => ContentAlignment::SpaceEvenly,
            _ => return None,
        })
    }
}

/// `align-items`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlignItems {
    /// `normal`: as `stretch`, except that replaced grid items keep their size at the start.
    Normal,
    /// Fill the line's cross size (the grid area).
    Stretch,
    /// At the start (left, top).
    Start,
    /// At the end.
    End,
    /// Cross-start.
    FlexStart,
    /// Cross-end.
    FlexEnd,
    /// Centred.
    Center,
    /// First baselines aligned.
    Baseline,
}

impl AlignItems {
    /// An `align-items` or `justify-items` keyword (`self-start` is `start` here: this
    /// engine has one writing mode, horizontal and left to right).
    pub fn parse(keyword: &str) -> Option<AlignItems> {
        Some(match keyword {
            "normal" => AlignItems::Normal,
            "stretch" => AlignItems::Stretch,
            "start" | "self-start" | "left" => AlignItems::Start,
            "end" | "self-end" | "right" => AlignItems::End,
            "flex-start" => AlignItems::FlexStart,
            "flex-end" => AlignItems::FlexEnd,
            "center" => AlignItems::Center,
            "baseline" | "first baseline" => AlignItems::Baseline,
            _ => return None,
        })
    }

    /// `align-self` / `justify-self`: `auto` (`Some(None)`) or an `align-items` value.
    pub fn parse_self(keyword: &str) -> Option<Option<AlignItems>> {
        match keyword {
            "auto" => Some(None),
            _ => AlignItems::parse(keyword).map(Some),
        }
    }
}

/// One border side as computed: its used width is 0 unless its style draws.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BorderSideStyle {
    /// `border-*-width` in px.
    pub width: f32,
    /// Whether `border-*-style` draws (`solid` and the styles drawn as solid).
    pub drawn: bool,
    /// `border-*-color`; `None` is `currentColor`.
    pub color: Option<ColorF>,
}

impl BorderSideStyle {
    /// The width layout uses: `border-style: none` makes it 0 whatever `border-width` says.
    pub fn used_width(&self) -> f32 {
        if self.drawn { self.width } else { 0.0 }
    }
}

/// An element's computed style.
#[derive(Clone, Debug, PartialEq)]
pub struct ComputedStyle {
    /// `display`.
    pub display: Display,
    /// `width` (content box).
    pub width: Length,
    /// `height` (content box).
    pub height: Length,
    /// `min-width`.
    pub min_width: Length,
    /// `min-height`.
    pub min_height: Length,
    /// `max-width` (`Auto` is `none`).
    pub max_width: Length,
    /// `max-height` (`Auto` is `none`).
    pub max_height: Length,
    /// `margin`.
    pub margin: Sides<Length>,
    /// `padding`.
    pub padding: Sides<Length>,
    /// `border-*`.
    pub border: Sides<BorderSideStyle>,
    /// `border-radius` per corner: top-left, top-right, bottom-right, bottom-left.
    pub border_radius: [Length; 4],
    /// `background-color`.
    pub background_color: ColorF,
    /// `color` (inherited).
    pub color: ColorF,
    /// `opacity`, 0..=1.
    pub opacity: f32,
    /// `font-size` in px (inherited).
    pub font_size: f32,
    /// `font-weight`, 1..=1000 (inherited).
    pub font_weight: u16,
    /// `font-style` (inherited).
    pub font_style: FontStyle,
    /// `font-family` (inherited).
    pub font_family: FontFamily,
    /// `line-height` (inherited).
    pub line_height: LineHeight,
    /// `text-align` (inherited).
    pub text_align: TextAlign,
    /// `white-space` (inherited).
    pub white_space: WhiteSpace,
    /// `text-decoration-line`.
    pub text_decoration_line: DecorationLines,
    /// `text-decoration-color`; `None` is `currentColor`.
    pub text_decoration_color: Option<ColorF>,
    /// The decorations drawn on this element's text, its own included (propagated down
    /// like an inherited property; see `style::compute`).
    pub decorations: Decorations,
    /// Whether `display` is `list-item`: a block with a marker.
    pub list_item: bool,
    /// `list-style-type` (inherited).
    pub list_style_type: ListStyleType,
    /// `list-style-position` (inherited).
    pub list_style_position: ListStylePosition,
    /// `overflow-x`.
    pub overflow_x: Overflow,
    /// `overflow-y`.
    pub overflow_y: Overflow,
    /// `position`.
    pub position: Position,
    /// `top`, `right`, `bottom`, `left` (what positioning does with them).
    pub inset: Sides<Length>,
    /// `z-index`: `None` is `auto`.
    pub z_index: Option<i32>,
    /// `flex-direction`.
    pub flex_direction: FlexDirection,
    /// `flex-wrap`.
    pub flex_wrap: FlexWrap,
    /// `justify-content`.
    pub justify_content: ContentAlignment,
    /// `align-items`.
    pub align_items: AlignItems,
    /// `align-self` (`None`: `auto`, the parent's `align-items`).
    pub align_self: Option<AlignItems>,
    /// `justify-items` (grid containers).
    pub justify_items: AlignItems,
    /// `justify-self` (grid items; `None`: `auto`).
    pub justify_self: Option<AlignItems>,
    /// `align-content`.
    pub align_content: ContentAlignment,
    /// The grid properties.
    pub grid: GridStyle,
    /// `row-gap`, `column-gap`.
    pub gap: (Length, Length),
    /// `flex-grow`.
    pub flex_grow: f32,
    /// `flex-shrink`.
    pub flex_shrink: f32,
    /// `flex-basis` (`Auto` is `auto`).
    pub flex_basis: Length,
    /// `border-collapse` (inherited).
    pub border_collapse: BorderCollapse,
    /// `border-spacing`: horizontal, vertical, in px (inherited).
    pub border_spacing: (f32, f32),
    /// `caption-side` (inherited).
    pub caption_side: CaptionSide,
    /// `vertical-align`.
    pub vertical_align: VerticalAlign,
    /// `content` (what a `::before` or `::after` holds; see [`super::generated`]).
    pub content: Content,
    /// `quotes` (inherited).
    pub quotes: Quotes,
}

impl ComputedStyle {
    /// The initial values, as on the root element before any sheet applies.
    pub fn initial() -> ComputedStyle {
        let no_border = BorderSideStyle { width: 3.0, drawn: false, color: None };
        ComputedStyle {
            display: Display::Inline,
            width: Length::Auto,
            height: Length::Auto,
            min_width: Length::Auto,
            min_height: Length::Auto,
            max_width: Length::Auto,
            max_height: Length::Auto,
            margin: Sides::all(Length::Px(0.0)),
            padding: Sides::all(Length::Px(0.0)),
            border: Sides::all(no_border),
            border_radius: [Length::Px(0.0); 4],
            background_color: ColorF::TRANSPARENT,
            color: ColorF::BLACK,
            opacity: 1.0,
            font_size: 16.0,
            font_weight: 400,
            font_style: FontStyle::Normal,
            font_family: FontFamily::SansSerif,
            line_height: LineHeight::Normal,
            text_align: TextAlign::Left,
            white_space: WhiteSpace::Normal,
            text_decoration_line: DecorationLines::default(),
            text_decoration_color: None,
            decorations: Decorations::default(),
            list_item: false,
            list_style_type: ListStyleType::Disc,
            list_style_position: ListStylePosition::Outside,
            overflow_x: Overflow::Visible,
            overflow_y: Overflow::Visible,
            position: Position::Static,
            inset: Sides::all(Length::Auto),
            z_index: None,
            flex_direction: FlexDirection::Row,
            flex_wrap: FlexWrap::NoWrap,
            justify_content: ContentAlignment::Normal,
            align_items: AlignItems::Normal,
            align_self: None,
            justify_items: AlignItems::Normal,
            justify_self: None,
            align_content: ContentAlignment::Normal,
            grid: GridStyle::default(),
            gap: (Length::Px(0.0), Length::Px(0.0)),
            flex_grow: 0.0,
            flex_shrink: 1.0,
            flex_basis: Length::Auto,
            border_collapse: BorderCollapse::Separate,
            border_spacing: (0.0, 0.0),
            caption_side: CaptionSide::Top,
            vertical_align: VerticalAlign::Baseline,
            content: Content::Normal,
            quotes: Quotes::Auto,
        }
    }

    /// The style a child starts from: inherited properties kept, the rest initial.
    pub fn inherit(&self) -> ComputedStyle {
        ComputedStyle {
            color: self.color,
            font_size: self.font_size,
            font_weight: self.font_weight,
            font_style: self.font_style,
            font_family: self.font_family,
            line_height: self.line_height,
            text_align: self.text_align,
            white_space: self.white_space,
            decorations: self.decorations,
            list_style_type: self.list_style_type,
            list_style_position: self.list_style_position,
            border_collapse: self.border_collapse,
            border_spacing: self.border_spacing,
            caption_side: self.caption_side,
            quotes: self.quotes.clone(),
            ..ComputedStyle::initial()
        }
    }

    /// Whether the box clips its content along either axis.
    pub fn clips_overflow(&self) -> bool {
        self.overflow_x.clips() || self.overflow_y.clips()
    }

    /// Whether the font is bold enough for the bold face.
    pub fn is_bold(&self) -> bool {
        self.font_weight >= 600
    }

    /// Border widths as layout uses them.
    pub fn border_widths(&self) -> Sides<f32> {
        self.border.map(|side| side.used_width())
    }

    /// A border side's colour, `currentColor` resolved.
    pub fn border_color(&self, side: BorderSideStyle) -> ColorF {
        side.color.unwrap_or(self.color)
    }
}

/// Applies one declaration to `style`; false when the property or its value is not
/// supported (the caller logs it and moves on, as browsers do).
pub fn apply_property(
    name: &str,
    value: &str,
    parent: &ComputedStyle,
    root_font_size: f32,
    style: &mut ComputedStyle,
) -> bool {
    // em in font-size refers to the parent's size; everywhere else to the element's own.
    let for_font_size = FontRelative { em: parent.font_size, rem: root_font_size };
    let font = FontRelative { em: style.font_size, rem: root_font_size };
    let keyword = value.trim().to_ascii_lowercase();
    let length = || parse_length(value, font);
    match name {
        "display" => {
            (style.display, style.list_item) = match keyword.as_str() {
                "list-item" => (Display::Block, true),
                "block" | "flow-root" => (Display::Block, false),
                "table" => (Display::Table, false),
                "inline-table" => (Display::InlineTable, false),
                "table-row-group" => (Display::TableRowGroup, false),
                "table-header-group" => (Display::TableHeaderGroup, false),
                "table-footer-group" => (Display::TableFooterGroup, false),
                "table-row" => (Display::TableRow, false),
                "table-cell" => (Display::TableCell, false),
                "table-caption" => (Display::TableCaption, false),
                "table-column" => (Display::TableColumn, false),
                "table-column-group" => (Display::TableColumnGroup, false),
                "inline" => (Display::Inline, false),
                "inline-block" => (Display::InlineBlock, false),
                "flex" => (Display::Flex, false),
                "inline-flex" => (Display::InlineFlex, false),
                "grid" => (Display::Grid, false),
                "inline-grid" => (Display::InlineGrid, false),
                "none" => (Display::None, false),
                _ => return false,
            }
        }
        "content" => return set(&mut style.content, parse_content(value)),
        "quotes" => return set(&mut style.quotes, parse_quotes(value)),
        "width" => return set(&mut style.width, length()),
        "height" => return set(&mut style.height, length()),
        "min-width" => return set(&mut style.min_width, length()),
        "min-height" => return set(&mut style.min_height, length()),
        "max-width" => return set(&mut style.max_width, length()),
        "max-height" => return set(&mut style.max_height, length()),
        "margin" => return set(&mut style.margin, parse_sides(value, font)),
        "padding" => return set(&mut style.padding, parse_sides(value, font).filter(non_negative_sides)),
        "margin-top" => return set(&mut style.margin.top, length()),
        "margin-right" => return set(&mut style.margin.right, length()),
        "margin-bottom" => return set(&mut style.margin.bottom, length()),
        "margin-left" => return set(&mut style.margin.left, length()),
        "padding-top" => return set(&mut style.padding.top, length().filter(non_negative)),
        "padding-right" => return set(&mut style.padding.right, length().filter(non_negative)),
        "padding-bottom" => return set(&mut style.padding.bottom, length().filter(non_negative)),
        "padding-left" => return set(&mut style.padding.left, length().filter(non_negative)),
        "border" => return apply_border(value, font, style, [true; 4]),
        "border-top" => return apply_border(value, font, style, [true, false, false, false]),
        "border-right" => return apply_border(value, font, style, [false, true, false, false]),
        "border-bottom" => return apply_border(value, font, style, [false, false, true, false]),
        "border-left" => return apply_border(value, font, style, [false, false, false, true]),
        "border-width" | "border-style" | "border-color" => {
            let Some(sides) = parse_border_sides(value, font) else { return false };
            let expected = |part: &BorderPart| match name {
                "border-width" => matches!(part, BorderPart::Width(_)),
                "border-style" => matches!(part, BorderPart::Style(_)),
                _ => matches!(part, BorderPart::Color(_)),
            };
            if !sides.to_array().iter().all(expected) {
                return false;
            }
            let [top, right, bottom, left] = sides.to_array();
            apply_border_part(&mut style.border.top, top);
            apply_border_part(&mut style.border.right, right);
            apply_border_part(&mut style.border.bottom, bottom);
            apply_border_part(&mut style.border.left, left);
        }
        "border-radius" => {
            let Some(radii) = parse_length_list(value, 4, font) else { return false };
            let Some(sides) = Sides::from_shorthand(&radii) else { return false };
            // The shorthand's order is top-left, top-right, bottom-right, bottom-left.
            style.border_radius = sides.to_array();
        }
        "background" | "background-color" => return set(&mut style.background_color, parse_color(value)),
        "color" => return set(&mut style.color, parse_color(value)),
        "opacity" => {
            let opacity = match parse_length(value, font) {
                Some(Length::Percent(percent)) => percent / 100.0,
                _ => match parse_number(value) {
                    Some(number) => number,
                    None => return false,
                },
            };
            style.opacity = opacity.clamp(0.0, 1.0);
        }
        "font-size" => {
            style.font_size = match keyword.as_str() {
                "small" => 13.0,
                "medium" => 16.0,
                "large" => 18.0,
                "x-large" => 24.0,
                "xx-large" => 32.0,
                "smaller" => parent.font_size / 1.2,
                "larger" => parent.font_size * 1.2,
                _ => match parse_length(value, for_font_size) {
                    Some(Length::Px(px)) if px >= 0.0 => px,
                    Some(Length::Percent(percent)) => parent.font_size * percent / 100.0,
                    _ => return false,
                },
            }
            .min(MAX_FONT_SIZE);
        }
        "font-weight" => {
            style.font_weight = match keyword.as_str() {
                "normal" => 400,
                "bold" => 700,
                "bolder" => (parent.font_weight + 300).min(900),
                "lighter" => parent.font_weight.saturating_sub(300).max(100),
                _ => match parse_number(value) {
                    Some(weight) if (1.0..=1000.0).contains(&weight) => weight as u16,
                    _ => return false,
                },
            }
        }
        "font-style" => {
            style.font_style = match keyword.as_str() {
                "normal" => FontStyle::Normal,
                "italic" | "oblique" => FontStyle::Italic,
                _ => return false,
            }
        }
        "font-family" => {
            // The first family we can map; every named family falls back to the bundled sans.
            let monospace =
                keyword.split(',').map(|family| family.trim().trim_matches(['"', '\''])).any(|family| {
                    matches!(
                        family,
                        "monospace" | "courier" | "courier new" | "dejavu sans mono" | "menlo" | "consolas"
                    )
                });
            style.font_family = if monospace { FontFamily::Monospace } else { FontFamily::SansSerif };
        }
        "line-height" => {
            style.line_height = match keyword.as_str() {
                "normal" => LineHeight::Normal,
                _ => match (parse_number(value), parse_length(value, font)) {
                    (Some(number), _) if number >= 0.0 => LineHeight::Number(number),
                    (_, Some(Length::Px(px))) if px >= 0.0 => LineHeight::Px(px),
                    (_, Some(Length::Percent(percent))) => LineHeight::Px(style.font_size * percent / 100.0),
                    _ => return false,
                },
            }
        }
        "text-align" => {
            style.text_align = match keyword.as_str() {
                "left" | "start" => TextAlign::Left,
                "right" | "end" => TextAlign::Right,
                "center" => TextAlign::Center,
                "justify" => TextAlign::Justify,
                _ => return false,
            }
        }
        "white-space" => {
            style.white_space = match keyword.as_str() {
                "normal" => WhiteSpace::Normal,
                "nowrap" => WhiteSpace::NoWrap,
                "pre" => WhiteSpace::Pre,
                "pre-wrap" | "pre-line" | "break-spaces" => WhiteSpace::PreWrap,
                _ => return false,
            }
        }
        "text-decoration-line" => {
            let Some(parts) = parse_decoration_parts(value) else { return false };
            let mut lines = DecorationLines::default();
            for part in &parts {
                match part {
                    DecorationPart::Line(line) => lines = lines.with(*line),
                    DecorationPart::NoLine if parts.len() == 1 => {}
                    _ => return false,
                }
            }
            style.text_decoration_line = lines;
        }
        "text-decoration-color" => match keyword.as_str() {
            "currentcolor" => style.text_decoration_color = None,
            _ => return set(&mut style.text_decoration_color, parse_color(value).map(Some)),
        },
        // Every style is drawn solid (noted in ARCHITECTURE.md), so the value is only checked.
        "text-decoration-style" => {
            return matches!(keyword.as_str(), "solid" | "double" | "dotted" | "dashed" | "wavy");
        }
        "text-decoration" => return apply_text_decoration(value, style),
        "list-style-type" => return set(&mut style.list_style_type, ListStyleType::parse(&keyword)),
        "list-style-position" => {
            style.list_style_position = match keyword.as_str() {
                "outside" => ListStylePosition::Outside,
                "inside" => ListStylePosition::Inside,
                _ => return false,
            }
        }
        "list-style" => return apply_list_style(value, style),
        "overflow" => {
            // One value for both axes, or x then y.
            let values: Option<Vec<Overflow>> =
                keyword.split_ascii_whitespace().map(Overflow::parse).collect();
            match values.as_deref() {
                Some(&[both]) => (style.overflow_x, style.overflow_y) = (both, both),
                Some(&[x, y]) => (style.overflow_x, style.overflow_y) = (x, y),
                _ => return false,
            }
        }
        "overflow-x" => return set(&mut style.overflow_x, Overflow::parse(&keyword)),
        "overflow-y" => return set(&mut style.overflow_y, Overflow::parse(&keyword)),
        "position" => {
            style.position = match keyword.as_str() {
                "static" => Position::Static,
                "relative" => Position::Relative,
                "absolute" => Position::Absolute,
                "fixed" => Position::Fixed,
                _ => return false,
            }
        }
        "top" => return set(&mut style.inset.top, length()),
        "right" => return set(&mut style.inset.right, length()),
        "bottom" => return set(&mut style.inset.bottom, length()),
        "left" => return set(&mut style.inset.left, length()),
        "inset" => return set(&mut style.inset, parse_sides(value, font)),
        "z-index" => {
            style.z_index = match keyword.as_str() {
                "auto" => None,
                // Browsers clamp to the i32 range; a fraction is not an integer.
                _ => match keyword.parse::<i64>() {
                    Ok(index) => Some(index.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32),
                    Err(_) => return false,
                },
            }
        }
        "flex-direction" => {
            style.flex_direction = match keyword.as_str() {
                "row" => FlexDirection::Row,
                "row-reverse" => FlexDirection::RowReverse,
                "column" => FlexDirection::Column,
                "column-reverse" => FlexDirection::ColumnReverse,
                _ => return false,
            }
        }
        "flex-wrap" => {
            style.flex_wrap = match keyword.as_str() {
                "nowrap" => FlexWrap::NoWrap,
                "wrap" => FlexWrap::Wrap,
                "wrap-reverse" => FlexWrap::WrapReverse,
                _ => return false,
            }
        }
        "justify-content" => return set(&mut style.justify_content, ContentAlignment::parse(&keyword)),
        "align-items" => return set(&mut style.align_items, AlignItems::parse(&keyword)),
        "justify-items" => return set(&mut style.justify_items, AlignItems::parse(&keyword)),
        "align-self" => return set(&mut style.align_self, AlignItems::parse_self(&keyword)),
        "justify-self" => return set(&mut style.justify_self, AlignItems::parse_self(&keyword)),
        "align-content" => return set(&mut style.align_content, ContentAlignment::parse(&keyword)),
        "place-items" | "place-self" => {
            // `align [justify]`: one value is both.
            let values: Option<Vec<Option<AlignItems>>> = keyword
                .split_ascii_whitespace()
                .map(|word| match name {
                    "place-items" => AlignItems::parse(word).map(Some),
                    _ => AlignItems::parse_self(word),
                })
                .collect();
            let (align, justify) = match values.as_deref() {
                Some(&[both]) => (both, both),
                Some(&[align, justify]) => (align, justify),
                _ => return false,
            };
            match (name, align, justify) {
                ("place-items", Some(align), Some(justify)) => {
                    (style.align_items, style.justify_items) = (align, justify);
                }
                ("place-self", align, justify) => (style.align_self, style.justify_self) = (align, justify),
                _ => return false,
            }
        }
        "grid-template-columns" => {
            return set(&mut style.grid.template_columns, parse_track_list(value, font));
        }
        "grid-template-rows" => return set(&mut style.grid.template_rows, parse_track_list(value, font)),
        "grid-template-areas" => return set(&mut style.grid.areas, parse_areas(value)),
        "grid-template" => return apply_grid_template(value, font, style),
        "grid-auto-columns" => return set(&mut style.grid.auto_columns, parse_auto_tracks(value, font)),
        "grid-auto-rows" => return set(&mut style.grid.auto_rows, parse_auto_tracks(value, font)),
        "grid-auto-flow" => return set(&mut style.grid.auto_flow, parse_auto_flow(&keyword)),
        "grid-row" => return set(&mut style.grid.row, parse_line_pair(value)),
        "grid-column" => return set(&mut style.grid.column, parse_line_pair(value)),
        "grid-row-start" => return set(&mut style.grid.row.start, parse_line(value)),
        "grid-row-end" => return set(&mut style.grid.row.end, parse_line(value)),
        "grid-column-start" => return set(&mut style.grid.column.start, parse_line(value)),
        "grid-column-end" => return set(&mut style.grid.column.end, parse_line(value)),
        "grid-area" => {
            let Some((row, column)) = parse_area(value) else { return false };
            (style.grid.row, style.grid.column) = (row, column);
        }
        "gap" | "grid-gap" => match parse_length_list(value, 2, font).as_deref() {
            Some([both]) => style.gap = (*both, *both),
            Some([row, column]) => style.gap = (*row, *column),
            _ => return false,
        },
        "row-gap" | "grid-row-gap" => return set(&mut style.gap.0, length().filter(non_negative)),
        "column-gap" | "grid-column-gap" => return set(&mut style.gap.1, length().filter(non_negative)),
        "flex-grow" => return set(&mut style.flex_grow, parse_number(value).filter(|n| *n >= 0.0)),
        "flex-shrink" => return set(&mut style.flex_shrink, parse_number(value).filter(|n| *n >= 0.0)),
        "flex-basis" => return set(&mut style.flex_basis, length()),
        "flex" => return apply_flex(&keyword, font, style),
        "border-collapse" => {
            style.border_collapse = match keyword.as_str() {
                "separate" => BorderCollapse::Separate,
                "collapse" => BorderCollapse::Collapse,
                _ => return false,
            }
        }
        "border-spacing" => {
            // Lengths only (no percentages), not negative.
            let px = |length: &Length| match *length {
                Length::Px(px) if px >= 0.0 => Some(px),
                _ => None,
            };
            let spacing = match parse_length_list(value, 2, font).as_deref() {
                Some([both]) => px(both).map(|both| (both, both)),
                Some([horizontal, vertical]) => px(horizontal).zip(px(vertical)),
                _ => None,
            };
            return set(&mut style.border_spacing, spacing);
        }
        "caption-side" => {
            style.caption_side = match keyword.as_str() {
                "top" => CaptionSide::Top,
                "bottom" => CaptionSide::Bottom,
                _ => return false,
            }
        }
        "vertical-align" => {
            style.vertical_align = match keyword.as_str() {
                // The UA sheet passes a row group's value down to its cells this way.
                "inherit" => parent.vertical_align,
                "top" => VerticalAlign::Top,
                "middle" => VerticalAlign::Middle,
                "bottom" => VerticalAlign::Bottom,
                "baseline" | "sub" | "super" | "text-top" | "text-bottom" => VerticalAlign::Baseline,
                _ if length().is_some() => VerticalAlign::Baseline,
                _ => return false,
            }
        }
        _ => return false,
    }
    true
}

/// The largest font size kept; larger values are clamped so a hostile page cannot ask the
/// rasteriser for gigantic glyphs.
pub const MAX_FONT_SIZE: f32 = 1000.0;

fn non_negative(length: &Length) -> bool {
    !matches!(length, Length::Px(px) | Length::Percent(px) if *px < 0.0)
}

fn non_negative_sides(sides: &Sides<Length>) -> bool {
    sides.to_array().iter().all(non_negative)
}

/// `border`, `border-top`, …: any of width, style and colour, in any order; the ones left
/// out are reset to their initial values, as the shorthand does.
fn apply_border(value: &str, font: FontRelative, style: &mut ComputedStyle, sides: [bool; 4]) -> bool {
    let Some(parts) = parse_border_parts(value, font) else { return false };
    let mut side = BorderSideStyle { width: 3.0, drawn: false, color: None };
    for part in parts {
        apply_border_part(&mut side, part);
    }
    let targets =
        [&mut style.border.top, &mut style.border.right, &mut style.border.bottom, &mut style.border.left];
    for (target, selected) in targets.into_iter().zip(sides) {
        if selected {
            *target = side;
        }
    }
    true
}

fn apply_border_part(side: &mut BorderSideStyle, part: BorderPart) {
    match part {
        BorderPart::Width(width) => side.width = width,
        BorderPart::Style(drawn) => side.drawn = drawn,
        BorderPart::Color(color) => side.color = Some(color),
    }
}

/// `text-decoration`: any of line(s), style and colour, in any order, the ones left out
/// reset (a thickness is accepted and drawn as the font's).
fn apply_text_decoration(value: &str, style: &mut ComputedStyle) -> bool {
    let Some(parts) = parse_decoration_parts(value) else { return false };
    let (mut lines, mut color, mut no_line) = (DecorationLines::default(), None, false);
    let (mut styled, mut colored) = (false, false);
    for part in parts {
        match part {
            DecorationPart::Line(line) if !no_line => lines = lines.with(line),
            DecorationPart::NoLine if lines == DecorationLines::default() && !no_line => no_line = true,
            DecorationPart::Style if !styled => styled = true,
            DecorationPart::Color(value) if !colored => (color, colored) = (value, true),
            DecorationPart::Thickness => {}
            _ => return false,
        }
    }
    (style.text_decoration_line, style.text_decoration_color) = (lines, color);
    true
}

/// `list-style`: a type, a position and an image, in any order, the ones left out reset;
/// `none` is the type when no type is given. Marker images are not drawn: the type shows.
fn apply_list_style(value: &str, style: &mut ComputedStyle) -> bool {
    let Some(parts) = parse_list_style_parts(value) else { return false };
    let (mut kind, mut position, mut nones) = (None, None, 0);
    for part in parts {
        match part {
            ListStylePart::None => nones += 1,
            ListStylePart::Keyword(keyword) => {
                if let Some(parsed) = ListStyleType::parse(&keyword).filter(|_| kind.is_none()) {
                    kind = Some(parsed);
                } else {
                    position = match (keyword.as_str(), position) {
                        ("outside", None) => Some(ListStylePosition::Outside),
                        ("inside", None) => Some(ListStylePosition::Inside),
                        _ => return false,
                    };
                }
            }
            ListStylePart::Image => {}
        }
    }
    // `none` fills the type and the image, whichever the other parts left unset.
    match (nones, kind) {
        (0, _) => {}
        (1 | 2, None) => kind = Some(ListStyleType::None),
        (1, Some(_)) => {}
        _ => return false,
    }
    style.list_style_type = kind.unwrap_or(ListStyleType::Disc);
    style.list_style_position = position.unwrap_or(ListStylePosition::Outside);
    true
}

/// `grid-template: none | <rows> / <columns>` (the form with area strings is not supported).
fn apply_grid_template(value: &str, font: FontRelative, style: &mut ComputedStyle) -> bool {
    let (rows, columns) = match value.split_once('/') {
        Some((rows, columns)) => (parse_track_list(rows, font), parse_track_list(columns, font)),
        None if value.trim().eq_ignore_ascii_case("none") => {
            (Some(TrackList::default()), Some(TrackList::default()))
        }
        None => return false,
    };
    let (Some(rows), Some(columns)) = (rows, columns) else { return false };
    (style.grid.template_rows, style.grid.template_columns, style.grid.areas) = (rows, columns, None);
    true
}

/// `flex: none | auto | <grow> [<shrink>] [<basis>] | <basis>`.
fn apply_flex(keyword: &str, font: FontRelative, style: &mut ComputedStyle) -> bool {
    let (grow, shrink, basis) = match keyword {
        "none" => (0.0, 0.0, Length::Auto),
        "auto" => (1.0, 1.0, Length::Auto),
        "initial" => (0.0, 1.0, Length::Auto),
        _ => {
            let words: Vec<&str> = keyword.split_whitespace().collect();
            let numbers: Vec<f32> = words.iter().map_while(|word| parse_number(word)).collect();
            let rest = &words[numbers.len()..];
            let basis = match rest {
                [] if numbers.is_empty() => return false,
                // A lone number is the grow factor with a zero basis (`flex: 1`).
                [] => Length::Px(0.0),
                [basis] => match parse_length(basis, font) {
                    Some(basis) => basis,
                    None => return false,
                },
                _ => return false,
            };
            match numbers.as_slice() {
                [] => (1.0, 1.0, basis),
                [grow] => (*grow, 1.0, basis),
                [grow, shrink] => (*grow, *shrink, basis),
                _ => return false,
            }
        }
    };
    if grow < 0.0 || shrink < 0.0 {
        return false;
    }
    (style.flex_grow, style.flex_shrink, style.flex_basis) = (grow, shrink, basis);
    true
}

fn set<T>(slot: &mut T, value: Option<T>) -> bool {
    match value {
        Some(value) => {
            *slot = value;
            true
        }
        None => false,
    }
}
