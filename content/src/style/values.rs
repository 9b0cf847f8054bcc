//! CSS values: lengths, the four-sides shorthand, colours. Parsed with cssparser.

use armature_api::ColorF;
use cssparser::{Parser, Token};

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
pub fn parse_sides(value: &str, em: f32) -> Option<Sides<Length>> {
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
