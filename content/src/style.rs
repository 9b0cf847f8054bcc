//! Style: computes each element's style from the UA defaults and its `style` attribute.
//!
//! The foundation's subset: display, width, height, margin, padding, background-color,
//! color, font-size, font-weight. Values are parsed with cssparser; unknown properties and
//! values are ignored with a debug log, as browsers do.

use armature_api::ColorF;
use cssparser::{Parser, Token};

use crate::dom::{Document, NodeData, NodeId};

/// How an element takes part in layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Display {
    /// Starts a new block.
    Block,
    /// Flows inside its parent's lines.
    Inline,
    /// Not rendered, nor are its descendants.
    None,
}

/// A length before layout resolves percentages.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Length {
    /// CSS pixels (em and rem are resolved to px when computed).
    Px(f32),
    /// Percent of the containing block's width.
    Percent(f32),
    /// `auto`.
    Auto,
}

impl Length {
    /// The length in px against a containing block width; `auto` is `None`.
    pub fn resolve(self, containing_width: f32) -> Option<f32> {
        match self {
            Length::Px(px) => Some(px),
            Length::Percent(percent) => Some(containing_width * percent / 100.0),
            Length::Auto => None,
        }
    }
}

/// Four sides of a box, CSS order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sides<T> {
    /// Top side.
    pub top: T,
    /// Right side.
    pub right: T,
    /// Bottom side.
    pub bottom: T,
    /// Left side.
    pub left: T,
}

impl<T: Copy> Sides<T> {
    /// All four sides the same.
    pub fn all(value: T) -> Sides<T> {
        Sides { top: value, right: value, bottom: value, left: value }
    }
}

/// Font weight, as far as the bundled fonts distinguish it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FontWeight {
    /// 400 and below.
    Normal,
    /// 600 and above.
    Bold,
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
    /// `margin`.
    pub margin: Sides<Length>,
    /// `padding`.
    pub padding: Sides<Length>,
    /// `background-color`.
    pub background_color: ColorF,
    /// `color` (inherited).
    pub color: ColorF,
    /// `font-size` in px (inherited).
    pub font_size: f32,
    /// `font-weight` (inherited).
    pub font_weight: FontWeight,
}

impl ComputedStyle {
    /// The initial values, as on the root element before any sheet applies.
    pub fn initial() -> ComputedStyle {
        ComputedStyle {
            display: Display::Inline,
            width: Length::Auto,
            height: Length::Auto,
            margin: Sides::all(Length::Px(0.0)),
            padding: Sides::all(Length::Px(0.0)),
            background_color: ColorF::TRANSPARENT,
            color: ColorF::BLACK,
            font_size: 16.0,
            font_weight: FontWeight::Normal,
        }
    }

    /// The style a child starts from: inherited properties kept, the rest initial.
    fn inherit(&self) -> ComputedStyle {
        ComputedStyle {
            color: self.color,
            font_size: self.font_size,
            font_weight: self.font_weight,
            ..ComputedStyle::initial()
        }
    }
}

/// Computed styles of every element (and, inherited, of every text node).
#[derive(Debug)]
pub struct StyleMap {
    styles: Vec<Option<ComputedStyle>>,
}

impl StyleMap {
    /// The style of a node; `None` for nodes that are never rendered (comments, doctype).
    pub fn get(&self, id: NodeId) -> Option<&ComputedStyle> {
        self.styles.get(id_index(id)).and_then(Option::as_ref)
    }
}

fn id_index(id: NodeId) -> usize {
    id.index()
}

/// Computes styles for the whole document.
pub fn compute(document: &Document) -> StyleMap {
    let mut styles = vec![None; document.len()];
    let root_style = ComputedStyle { display: Display::Block, ..ComputedStyle::initial() };
    let mut stack = vec![(NodeId::DOCUMENT, root_style)];
    while let Some((id, style)) = stack.pop() {
        for &child in document.node(id).children.iter().rev() {
            let child_style = match &document.node(child).data {
                NodeData::Element { .. } => Some(compute_element(document, child, &style)),
                NodeData::Text(_) => Some(ComputedStyle { display: Display::Inline, ..style.inherit() }),
                _ => None,
            };
            if let Some(child_style) = child_style {
                stack.push((child, child_style.clone()));
                styles[id_index(child)] = Some(child_style);
            }
        }
        if styles[id_index(id)].is_none() {
            styles[id_index(id)] = Some(style);
        }
    }
    StyleMap { styles }
}

fn compute_element(document: &Document, id: NodeId, parent: &ComputedStyle) -> ComputedStyle {
    let mut style = parent.inherit();
    let tag = document.tag(id).map(|name| name.to_string()).unwrap_or_default();
    apply_user_agent_defaults(&tag, &mut style);
    if let Some(declarations) = document.attr(id, "style") {
        apply_declarations(declarations, parent, &mut style);
    }
    style
}

/// The UA style sheet of the foundation, as code (the page-pipeline issue makes it a sheet).
fn apply_user_agent_defaults(tag: &str, style: &mut ComputedStyle) {
    let em = style.font_size;
    match tag {
        "head" | "style" | "script" | "title" | "meta" | "link" | "template" => {
            style.display = Display::None;
        }
        "html" | "div" | "section" | "article" | "header" | "footer" | "main" | "nav" | "ul" | "ol"
        | "li" => style.display = Display::Block,
        "body" => {
            style.display = Display::Block;
            style.margin = Sides::all(Length::Px(8.0));
        }
        "p" => {
            style.display = Display::Block;
            style.margin.top = Length::Px(em);
            style.margin.bottom = Length::Px(em);
        }
        "h1" | "h2" | "h3" => {
            let (scale, margin) = match tag {
                "h1" => (2.0, 0.67),
                "h2" => (1.5, 0.83),
                _ => (1.17, 1.0),
            };
            style.display = Display::Block;
            style.font_size = em * scale;
            style.font_weight = FontWeight::Bold;
            style.margin.top = Length::Px(style.font_size * margin);
            style.margin.bottom = Length::Px(style.font_size * margin);
        }
        "b" | "strong" => style.font_weight = FontWeight::Bold,
        _ => {}
    }
}

/// Applies `name: value; …` declarations (a `style` attribute's text).
pub fn apply_declarations(text: &str, parent: &ComputedStyle, style: &mut ComputedStyle) {
    for declaration in text.split(';') {
        let Some((name, value)) = declaration.split_once(':') else {
            if !declaration.trim().is_empty() {
                tracing::debug!(target: "armature::style", "ignored declaration '{declaration}'");
            }
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        if !apply_property(&name, value.trim(), parent, style) {
            tracing::debug!(target: "armature::style", "ignored '{name}: {}'", value.trim());
        }
    }
}

/// Applies one property; false when the property or its value is not supported.
fn apply_property(name: &str, value: &str, parent: &ComputedStyle, style: &mut ComputedStyle) -> bool {
    // em in font-size refers to the parent's size; everywhere else to the element's own.
    let font_size_em = parent.font_size;
    let em = style.font_size;
    match name {
        "display" => match value.to_ascii_lowercase().as_str() {
            "block" | "flex" | "list-item" => style.display = Display::Block,
            "inline" | "inline-block" => style.display = Display::Inline,
            "none" => style.display = Display::None,
            _ => return false,
        },
        "width" => return set(&mut style.width, parse_length(value, em)),
        "height" => return set(&mut style.height, parse_length(value, em)),
        "margin" => return set(&mut style.margin, parse_sides(value, em)),
        "padding" => return set(&mut style.padding, parse_sides(value, em)),
        "margin-top" => return set(&mut style.margin.top, parse_length(value, em)),
        "margin-right" => return set(&mut style.margin.right, parse_length(value, em)),
        "margin-bottom" => return set(&mut style.margin.bottom, parse_length(value, em)),
        "margin-left" => return set(&mut style.margin.left, parse_length(value, em)),
        "padding-top" => return set(&mut style.padding.top, parse_length(value, em)),
        "padding-right" => return set(&mut style.padding.right, parse_length(value, em)),
        "padding-bottom" => return set(&mut style.padding.bottom, parse_length(value, em)),
        "padding-left" => return set(&mut style.padding.left, parse_length(value, em)),
        "background" | "background-color" => {
            return set(&mut style.background_color, parse_color(value));
        }
        "color" => return set(&mut style.color, parse_color(value)),
        "font-size" => match parse_length(value, font_size_em) {
            Some(Length::Px(px)) if px >= 0.0 => style.font_size = px,
            Some(Length::Percent(percent)) => style.font_size = font_size_em * percent / 100.0,
            _ => return false,
        },
        "font-weight" => match value.to_ascii_lowercase().as_str() {
            "bold" | "bolder" | "600" | "700" | "800" | "900" => style.font_weight = FontWeight::Bold,
            "normal" | "lighter" | "100" | "200" | "300" | "400" | "500" => {
                style.font_weight = FontWeight::Normal;
            }
            _ => return false,
        },
        _ => return false,
    }
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

/// Parses one length: `12px`, `1.5em`, `2rem` (rem = 16px here), `50%`, `0`, `auto`.
pub fn parse_length(value: &str, em: f32) -> Option<Length> {
    let mut parser = Parser::new(value);
    let length = parse_length_token(&mut parser, em)?;
    parser.is_exhausted().then_some(length)
}

fn parse_length_token(parser: &mut Parser<'_>, em: f32) -> Option<Length> {
    match parser.next().ok()?.clone() {
        Token::Dimension { value, unit, .. } => match unit.to_ascii_lowercase().as_str() {
            "px" => Some(Length::Px(value)),
            "em" => Some(Length::Px(value * em)),
            "rem" => Some(Length::Px(value * 16.0)),
            _ => None,
        },
        Token::Percentage { unit_value, .. } => Some(Length::Percent(unit_value * 100.0)),
        Token::Number { value: 0.0, .. } => Some(Length::Px(0.0)),
        Token::Ident(ident) if ident.eq_ignore_ascii_case("auto") => Some(Length::Auto),
        _ => None,
    }
}

/// Parses the 1–4 value shorthand of margin and padding.
fn parse_sides(value: &str, em: f32) -> Option<Sides<Length>> {
    let mut parser = Parser::new(value);
    let mut values = Vec::new();
    while !parser.is_exhausted() {
        values.push(parse_length_token(&mut parser, em)?);
    }
    let sides = match values.as_slice() {
        [all] => Sides::all(*all),
        [vertical, horizontal] => {
            Sides { top: *vertical, right: *horizontal, bottom: *vertical, left: *horizontal }
        }
        [top, horizontal, bottom] => {
            Sides { top: *top, right: *horizontal, bottom: *bottom, left: *horizontal }
        }
        [top, right, bottom, left] => Sides { top: *top, right: *right, bottom: *bottom, left: *left },
        _ => return None,
    };
    Some(sides)
}

/// Parses a colour: a named colour, `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`, `rgb()`, `rgba()`.
pub fn parse_color(value: &str) -> Option<ColorF> {
    let mut parser = Parser::new(value);
    let color = match parser.next().ok()?.clone() {
        Token::Hash(hex) | Token::IDHash(hex) => parse_hex(&hex)?,
        Token::Ident(name) => named_color(&name.to_ascii_lowercase())?,
        Token::Function(name) if name.eq_ignore_ascii_case("rgb") || name.eq_ignore_ascii_case("rgba") => {
            parser
                .parse_nested_block(|block| Ok::<_, cssparser::ParseError<()>>(parse_rgb_args(block)))
                .ok()??
        }
        _ => return None,
    };
    parser.is_exhausted().then_some(color)
}

fn parse_hex(hex: &str) -> Option<ColorF> {
    let digit = |index: usize| u8::from_str_radix(hex.get(index..index + 1)?, 16).ok();
    let pair = |index: usize| u8::from_str_radix(hex.get(index..index + 2)?, 16).ok();
    match hex.len() {
        3 | 4 => {
            let channel = |index| digit(index).map(|v| v * 17);
            let alpha = if hex.len() == 4 { channel(3)? } else { 255 };
            Some(ColorF::from_rgba8(channel(0)?, channel(1)?, channel(2)?, alpha))
        }
        6 | 8 => {
            let alpha = if hex.len() == 8 { pair(6)? } else { 255 };
            Some(ColorF::from_rgba8(pair(0)?, pair(2)?, pair(4)?, alpha))
        }
        _ => None,
    }
}

fn parse_rgb_args(parser: &mut Parser<'_>) -> Option<ColorF> {
    let mut channels = Vec::with_capacity(4);
    while !parser.is_exhausted() {
        match parser.next().ok()?.clone() {
            Token::Number { value, .. } => channels.push(value),
            Token::Percentage { unit_value, .. } => channels.push(unit_value * 255.0),
            Token::Comma | Token::Delim('/') => continue,
            _ => return None,
        }
    }
    let byte = |value: f32| value.clamp(0.0, 255.0) / 255.0;
    match channels.as_slice() {
        [r, g, b] => Some(ColorF::new(byte(*r), byte(*g), byte(*b), 1.0)),
        // Alpha is a 0..1 number, or a percentage already scaled to 0..255 above.
        [r, g, b, a] => {
            let alpha = if *a > 1.0 { *a / 255.0 } else { *a };
            Some(ColorF::new(byte(*r), byte(*g), byte(*b), alpha.clamp(0.0, 1.0)))
        }
        _ => None,
    }
}

fn named_color(name: &str) -> Option<ColorF> {
    let (r, g, b) = match name {
        "transparent" => return Some(ColorF::TRANSPARENT),
        "black" => (0, 0, 0),
        "silver" => (192, 192, 192),
        "gray" | "grey" => (128, 128, 128),
        "white" => (255, 255, 255),
        "maroon" => (128, 0, 0),
        "red" => (255, 0, 0),
        "purple" => (128, 0, 128),
        "fuchsia" | "magenta" => (255, 0, 255),
        "green" => (0, 128, 0),
        "lime" => (0, 255, 0),
        "olive" => (128, 128, 0),
        "yellow" => (255, 255, 0),
        "navy" => (0, 0, 128),
        "blue" => (0, 0, 255),
        "teal" => (0, 128, 128),
        "aqua" | "cyan" => (0, 255, 255),
        "orange" => (255, 165, 0),
        "pink" => (255, 192, 203),
        "brown" => (165, 42, 42),
        "gold" => (255, 215, 0),
        "lightgray" | "lightgrey" => (211, 211, 211),
        "darkgray" | "darkgrey" => (169, 169, 169),
        "rebeccapurple" => (102, 51, 153),
        _ => return None,
    };
    Some(ColorF::from_rgba8(r, g, b, 255))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colors_parse_in_every_supported_form() {
        let check = |text: &str, expected: Option<[u8; 4]>| {
            let parsed = parse_color(text).map(|c| [c.r, c.g, c.b, c.a].map(|v| (v * 255.0).round() as u8));
            assert_eq!(parsed, expected, "{text}");
        };
        check("red", Some([255, 0, 0, 255]));
        check("#0f0", Some([0, 255, 0, 255]));
        check("#0000ff80", Some([0, 0, 255, 128]));
        check("#12345", None);
        check("rgb(10, 20, 30)", Some([10, 20, 30, 255]));
        check("rgba(10 20 30 / 0.5)", Some([10, 20, 30, 128]));
        check("notacolor", None);
        check("red blue", None);
    }

    #[test]
    fn lengths_and_shorthands() {
        assert_eq!(parse_length("12px", 16.0), Some(Length::Px(12.0)));
        assert_eq!(parse_length("2em", 10.0), Some(Length::Px(20.0)));
        assert_eq!(parse_length("50%", 10.0), Some(Length::Percent(50.0)));
        assert_eq!(parse_length("12furlongs", 10.0), None);
        let sides = parse_sides("1px 2px 3px", 16.0).expect("three values");
        assert_eq!(sides.left, Length::Px(2.0));
        assert_eq!(sides.bottom, Length::Px(3.0));
    }
}
