//! CSS values: lengths, the four-sides shorthand, colours, the parts of the border,
//! text-decoration and list-style shorthands. Parsed with cssparser.

use armature_api::ColorF;
use cssparser::{Parser, Token};

/// What `em` and `rem` resolve against when a value is computed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FontRelative {
    /// The font size `em` refers to (the parent's for `font-size`, the element's otherwise).
    pub em: f32,
    /// The root element's font size.
    pub rem: f32,
}

impl FontRelative {
    /// Both units against one size, as on the root element.
    pub fn uniform(size: f32) -> FontRelative {
        FontRelative { em: size, rem: size }
    }
}

/// A length before layout resolves percentages.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Length {
    /// CSS pixels (em, rem and pt are resolved to px when computed).
    Px(f32),
    /// Percent of the containing block's size.
    Percent(f32),
    /// `auto` (or `none` for max-width/max-height).
    Auto,
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

    /// The 1–4 value shorthand: `a`, `a b`, `a b c`, `a b c d`.
    pub fn from_shorthand(values: &[T]) -> Option<Sides<T>> {
        Some(match *values {
            [all] => Sides::all(all),
            [vertical, horizontal] => {
                Sides { top: vertical, right: horizontal, bottom: vertical, left: horizontal }
            }
            [top, horizontal, bottom] => Sides { top, right: horizontal, bottom, left: horizontal },
            [top, right, bottom, left] => Sides { top, right, bottom, left },
            _ => return None,
        })
    }

    /// The sides in CSS order.
    pub fn to_array(self) -> [T; 4] {
        [self.top, self.right, self.bottom, self.left]
    }

    /// Applies `f` to every side.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Sides<U> {
        Sides { top: f(self.top), right: f(self.right), bottom: f(self.bottom), left: f(self.left) }
    }
}

/// Parses one length: `12px`, `9pt`, `1.5em`, `2rem`, `50%`, `0`, `auto`.
pub fn parse_length(value: &str, font: FontRelative) -> Option<Length> {
    parse_all(value, |parser| parse_length_token(parser, font))
}

/// Parses a whole value with `parse_one` and requires that nothing is left over.
fn parse_all<T>(value: &str, parse_one: impl FnOnce(&mut Parser<'_>) -> Option<T>) -> Option<T> {
    let mut parser = Parser::new(value);
    let parsed = parse_one(&mut parser)?;
    parser.is_exhausted().then_some(parsed)
}

/// Parses a space-separated list of 1..=`max` values.
fn parse_list<T>(
    value: &str,
    max: usize,
    mut parse_one: impl FnMut(&mut Parser<'_>) -> Option<T>,
) -> Option<Vec<T>> {
    let mut parser = Parser::new(value);
    let mut values = Vec::new();
    while !parser.is_exhausted() {
        if values.len() == max {
            return None;
        }
        values.push(parse_one(&mut parser)?);
    }
    (!values.is_empty()).then_some(values)
}

fn parse_length_token(parser: &mut Parser<'_>, font: FontRelative) -> Option<Length> {
    match parser.next().ok()?.clone() {
        Token::Dimension { value, unit, .. } => {
            let px = match unit.to_ascii_lowercase().as_str() {
                "px" => value,
                "em" => value * font.em,
                "rem" => value * font.rem,
                "pt" => value * 4.0 / 3.0,
                _ => return None,
            };
            px.is_finite().then_some(Length::Px(px))
        }
        Token::Percentage { unit_value, .. } => Some(Length::Percent(unit_value * 100.0)),
        Token::Number { value: 0.0, .. } => Some(Length::Px(0.0)),
        Token::Ident(ident) if ident.eq_ignore_ascii_case("auto") || ident.eq_ignore_ascii_case("none") => {
            Some(Length::Auto)
        }
        _ => None,
    }
}

/// Parses the 1–4 value shorthand of margin and padding.
pub fn parse_sides(value: &str, font: FontRelative) -> Option<Sides<Length>> {
    Sides::from_shorthand(&parse_list(value, 4, |parser| parse_length_token(parser, font))?)
}

/// Parses a plain number (`flex-grow`, `opacity`, unitless `line-height`).
pub fn parse_number(value: &str) -> Option<f32> {
    parse_all(value, |parser| match parser.next().ok()?.clone() {
        Token::Number { value, .. } if value.is_finite() => Some(value),
        _ => None,
    })
}

/// One component of a `border` shorthand or a `border-*-width` value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BorderPart {
    /// A width in px.
    Width(f32),
    /// A style keyword: true for a style that draws (`solid` and friends), false for `none`.
    Style(bool),
    /// A colour.
    Color(ColorF),
}

/// Parses one border component: `thin`/`medium`/`thick`/a length, a style, or a colour.
pub fn parse_border_part(parser: &mut Parser<'_>, font: FontRelative) -> Option<BorderPart> {
    let start = parser.state();
    if let Ok(Token::Ident(ident)) = parser.next().cloned() {
        match ident.to_ascii_lowercase().as_str() {
            "thin" => return Some(BorderPart::Width(1.0)),
            "medium" => return Some(BorderPart::Width(3.0)),
            "thick" => return Some(BorderPart::Width(5.0)),
            "none" | "hidden" => return Some(BorderPart::Style(false)),
            "solid" => return Some(BorderPart::Style(true)),
            // Drawn solid: the renderer has one border style (noted in ARCHITECTURE.md).
            "dashed" | "dotted" | "double" | "groove" | "ridge" | "inset" | "outset" => {
                tracing::debug!(target: "armature::style", "border style '{ident}' drawn as solid");
                return Some(BorderPart::Style(true));
            }
            _ => {}
        }
    }
    parser.reset(&start);
    if let Some(Length::Px(px)) = parse_length_token(parser, font) {
        return (px >= 0.0).then_some(BorderPart::Width(px));
    }
    parser.reset(&start);
    parse_color_token(parser).map(BorderPart::Color)
}

/// One line keyword of `text-decoration(-line)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecorationLine {
    /// `underline`.
    Underline,
    /// `overline`.
    Overline,
    /// `line-through`.
    LineThrough,
    /// `blink`: valid, and draws nothing (as in every current browser).
    Blink,
}

/// One component of a `text-decoration` value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DecorationPart {
    /// A line keyword.
    Line(DecorationLine),
    /// `none`.
    NoLine,
    /// A style keyword (`solid`, `wavy`, …).
    Style,
    /// A colour; `None` is `currentColor`.
    Color(Option<ColorF>),
    /// A thickness (`auto`, `from-font`, a length).
    Thickness,
}

/// Parses the components of `text-decoration` or `text-decoration-line`; a line keyword
/// may not repeat.
pub fn parse_decoration_parts(value: &str) -> Option<Vec<DecorationPart>> {
    let parts = parse_list(value, 6, parse_decoration_part)?;
    let lines: Vec<_> = parts.iter().filter(|part| matches!(part, DecorationPart::Line(_))).collect();
    let repeated = lines.iter().enumerate().any(|(at, line)| lines[..at].contains(line));
    (!repeated).then_some(parts)
}

fn parse_decoration_part(parser: &mut Parser<'_>) -> Option<DecorationPart> {
    let start = parser.state();
    if let Ok(Token::Ident(ident)) = parser.next().cloned() {
        let part = match ident.to_ascii_lowercase().as_str() {
            "underline" => Some(DecorationPart::Line(DecorationLine::Underline)),
            "overline" => Some(DecorationPart::Line(DecorationLine::Overline)),
            "line-through" => Some(DecorationPart::Line(DecorationLine::LineThrough)),
            "blink" => Some(DecorationPart::Line(DecorationLine::Blink)),
            "none" => Some(DecorationPart::NoLine),
            "solid" | "double" | "dotted" | "dashed" | "wavy" => Some(DecorationPart::Style),
            "auto" | "from-font" => Some(DecorationPart::Thickness),
            "currentcolor" => Some(DecorationPart::Color(None)),
            _ => None,
        };
        if part.is_some() {
            return part;
        }
    }
    parser.reset(&start);
    if let Some(Length::Px(_) | Length::Percent(_)) = parse_length_token(parser, FontRelative::uniform(16.0))
    {
        return Some(DecorationPart::Thickness);
    }
    parser.reset(&start);
    parse_color_token(parser).map(|color| DecorationPart::Color(Some(color)))
}

/// One component of a `list-style` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListStylePart {
    /// `none` (the type's or the image's).
    None,
    /// Any other keyword, lowercased: a type or a position.
    Keyword(String),
    /// A marker image (`url(…)`), not drawn.
    Image,
}

/// Parses the components of `list-style`.
pub fn parse_list_style_parts(value: &str) -> Option<Vec<ListStylePart>> {
    parse_list(value, 3, |parser| match parser.next().ok()?.clone() {
        Token::Ident(ident) if ident.eq_ignore_ascii_case("none") => Some(ListStylePart::None),
        Token::Ident(ident) => Some(ListStylePart::Keyword(ident.to_ascii_lowercase())),
        Token::UnquotedUrl(_) => Some(ListStylePart::Image),
        Token::Function(name) if name.eq_ignore_ascii_case("url") => {
            parser
                .parse_nested_block(|block| {
                    block.expect_string().map(|_| ()).map_err(cssparser::ParseError::<()>::from)
                })
                .ok()?;
            Some(ListStylePart::Image)
        }
        _ => None,
    })
}

/// Parses a list of border components (`border`, `border-top`, …).
pub fn parse_border_parts(value: &str, font: FontRelative) -> Option<Vec<BorderPart>> {
    parse_list(value, 3, |parser| parse_border_part(parser, font))
}

/// Parses a list of the same kind of border component (`border-width: 1px 2px`, …).
pub fn parse_border_sides(value: &str, font: FontRelative) -> Option<Sides<BorderPart>> {
    let parts = parse_list(value, 4, |parser| parse_border_part(parser, font))?;
    let same_kind =
        parts.windows(2).all(|pair| std::mem::discriminant(&pair[0]) == std::mem::discriminant(&pair[1]));
    if same_kind { Sides::from_shorthand(&parts) } else { None }
}

/// Parses 1–4 non-negative lengths (`border-radius`, `gap` with max 2).
pub fn parse_length_list(value: &str, max: usize, font: FontRelative) -> Option<Vec<Length>> {
    let lengths = parse_list(value, max, |parser| parse_length_token(parser, font))?;
    lengths.iter().all(|length| !matches!(length, Length::Px(px) if *px < 0.0)).then_some(lengths)
}

/// Parses a colour: a named colour, `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`, `rgb()`, `rgba()`.
pub fn parse_color(value: &str) -> Option<ColorF> {
    parse_all(value, parse_color_token)
}

fn parse_color_token(parser: &mut Parser<'_>) -> Option<ColorF> {
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
    Some(color)
}

/// `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa` (cssparser's parser).
fn parse_hex(hex: &str) -> Option<ColorF> {
    let (r, g, b, alpha) = cssparser::color::parse_hash_color(hex.as_bytes()).ok()?;
    let [r, g, b] = [r, g, b].map(|channel| f32::from(channel) / 255.0);
    Some(ColorF::new(r, g, b, alpha))
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

/// The CSS Color 4 named colours (cssparser's table) and `transparent`.
fn named_color(name: &str) -> Option<ColorF> {
    if name == "transparent" {
        return Some(ColorF::TRANSPARENT);
    }
    let (r, g, b) = cssparser::color::parse_named_color(name).ok()?;
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
        let font = FontRelative { em: 10.0, rem: 20.0 };
        assert_eq!(parse_length("12px", font), Some(Length::Px(12.0)));
        assert_eq!(parse_length("2em", font), Some(Length::Px(20.0)));
        assert_eq!(parse_length("2rem", font), Some(Length::Px(40.0)));
        assert_eq!(parse_length("12pt", font), Some(Length::Px(16.0)));
        assert_eq!(parse_length("50%", font), Some(Length::Percent(50.0)));
        assert_eq!(parse_length("12furlongs", font), None);
        let sides = parse_sides("1px 2px 3px", font).expect("three values");
        assert_eq!(sides.left, Length::Px(2.0));
        assert_eq!(sides.bottom, Length::Px(3.0));
        assert_eq!(parse_sides("1px 2px 3px 4px 5px", font), None);
    }

    #[test]
    fn border_components_in_any_order() {
        let font = FontRelative::uniform(16.0);
        let parts = parse_border_parts("solid 2px #f00", font).expect("border");
        assert_eq!(parts[0], BorderPart::Style(true));
        assert_eq!(parts[1], BorderPart::Width(2.0));
        assert!(matches!(parts[2], BorderPart::Color(_)));
        assert_eq!(
            parse_border_parts("thick none", font),
            Some(vec![BorderPart::Width(5.0), BorderPart::Style(false)])
        );
        assert_eq!(parse_border_parts("2px wavy", font), None);
        assert!(parse_border_sides("1px solid", font).is_none(), "mixed kinds are not a side list");
    }
}
