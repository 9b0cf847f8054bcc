//! Generated content (CSS 2 §12, CSS Generated Content 3): what a `::before` or `::after`
//! pseudo-element holds, from its `content` property, and the `quotes` its quote marks
//! come from. Layout turns these into boxes (`layout::generated`).
//!
//! Supported: strings, `attr(name)`, `open-quote`, `close-quote`, `no-open-quote`,
//! `no-close-quote`, `none` and `normal`, with an alternative text after `/` accepted and
//! ignored (nothing reads it aloud). Not supported, so the declaration is ignored as an
//! unknown value is: `counter()`, `counters()`, images (`url()`, gradients), and `content` on
//! elements themselves.

use std::sync::Arc;

use cssparser::{Parser, Token};
use html5ever::LocalName;

/// A pseudo-element that generates a box: the first or the last child of its element's box.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pseudo {
    /// `::before`.
    Before,
    /// `::after`.
    After,
}

impl Pseudo {
    /// Both, in box order.
    pub const ALL: [Pseudo; 2] = [Pseudo::Before, Pseudo::After];

    /// As a selector writes it.
    pub fn name(self) -> &'static str {
        match self {
            Pseudo::Before => "::before",
            Pseudo::After => "::after",
        }
    }
}

/// The computed `content` property.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Content {
    /// `normal`, the initial value: on `::before` and `::after`, nothing.
    #[default]
    Normal,
    /// `none`: no box.
    None,
    /// What the box holds, in order (possibly nothing: `content: ""` still makes a box).
    Items(Box<[ContentItem]>),
}

impl Content {
    /// The items, if the pseudo-element generates a box.
    pub fn items(&self) -> Option<&[ContentItem]> {
        match self {
            Content::Items(items) => Some(items),
            Content::Normal | Content::None => None,
        }
    }
}

/// One piece of `content`.
#[derive(Clone, Debug, PartialEq)]
pub enum ContentItem {
    /// A string.
    Text(String),
    /// `attr(name)`: the element's attribute, or nothing if it has none.
    Attr(LocalName),
    /// `open-quote`: the opening mark of the current depth, then one level deeper.
    OpenQuote,
    /// `close-quote`: one level shallower, then that level's closing mark.
    CloseQuote,
    /// `no-open-quote`: one level deeper, no mark.
    NoOpenQuote,
    /// `no-close-quote`: one level shallower, no mark.
    NoCloseQuote,
}

/// The computed `quotes` property (inherited).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Quotes {
    /// `auto`: typographic marks for English, the only language the bundled setup assumes:
    /// “ ” outside, ‘ ’ inside.
    #[default]
    Auto,
    /// `none`: quote items insert nothing (they still change the depth).
    None,
    /// Pairs of (open, close) marks, outermost first; deeper levels repeat the last pair.
    Pairs(Arc<[(String, String)]>),
}

impl Quotes {
    /// The opening and closing marks at nesting `depth` (0 is the outermost).
    pub fn marks(&self, depth: usize) -> (&str, &str) {
        const AUTO: [(&str, &str); 2] = [("\u{201c}", "\u{201d}"), ("\u{2018}", "\u{2019}")];
        match self {
            Quotes::Auto => AUTO[depth.min(AUTO.len() - 1)],
            Quotes::None => ("", ""),
            Quotes::Pairs(pairs) => {
                let (open, close) = &pairs[depth.min(pairs.len() - 1)];
                (open, close)
            }
        }
    }
}

/// Parses a `content` value; `None` for one Armature does not support (or that is not one).
pub fn parse_content(value: &str) -> Option<Content> {
    let mut parser = Parser::new(value);
    if parser.try_parse(|parser| parser.expect_ident_matching("normal")).is_ok() {
        return parser.expect_exhausted().ok().map(|()| Content::Normal);
    }
    if parser.try_parse(|parser| parser.expect_ident_matching("none")).is_ok() {
        return parser.expect_exhausted().ok().map(|()| Content::None);
    }
    let mut items = Vec::new();
    while let Ok(token) = parser.next() {
        let item = match token.clone() {
            Token::QuotedString(text) => ContentItem::Text(text.to_string()),
            Token::Ident(name) => quote(&name)?,
            Token::Function(name) if name.eq_ignore_ascii_case("attr") => {
                let attribute = parser
                    .parse_nested_block(|parser| {
                        let name = parser.expect_ident()?.to_ascii_lowercase();
                        parser.expect_exhausted()?;
                        Ok::<_, cssparser::ParseError<()>>(name)
                    })
                    .ok()?;
                ContentItem::Attr(LocalName::from(attribute))
            }
            // `content: "★" / "star"`: the alternative text is for speech; it must be
            // strings, and is dropped.
            Token::Delim('/') if !items.is_empty() => {
                let mut alternative = 0;
                while let Ok(token) = parser.next() {
                    if !matches!(token, Token::QuotedString(_)) {
                        return None;
                    }
                    alternative += 1;
                }
                return (alternative > 0).then(|| Content::Items(items.into()));
            }
            _ => return None,
        };
        items.push(item);
    }
    (!items.is_empty()).then(|| Content::Items(items.into()))
}

/// A quote keyword, in any case.
fn quote(name: &str) -> Option<ContentItem> {
    Some(match name.to_ascii_lowercase().as_str() {
        "open-quote" => ContentItem::OpenQuote,
        "close-quote" => ContentItem::CloseQuote,
        "no-open-quote" => ContentItem::NoOpenQuote,
        "no-close-quote" => ContentItem::NoCloseQuote,
        _ => return None,
    })
}

/// Parses a `quotes` value: `auto`, `none`, or pairs of strings.
pub fn parse_quotes(value: &str) -> Option<Quotes> {
    let mut parser = Parser::new(value);
    if parser.try_parse(|parser| parser.expect_ident_matching("auto")).is_ok() {
        return parser.expect_exhausted().ok().map(|()| Quotes::Auto);
    }
    if parser.try_parse(|parser| parser.expect_ident_matching("none")).is_ok() {
        return parser.expect_exhausted().ok().map(|()| Quotes::None);
    }
    let mut pairs = Vec::new();
    while !parser.is_exhausted() {
        let open = parser.expect_string().ok()?.to_string();
        let close = parser.expect_string().ok()?.to_string();
        pairs.push((open, close));
    }
    (!pairs.is_empty()).then(|| Quotes::Pairs(pairs.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &str) -> ContentItem {
        ContentItem::Text(value.to_owned())
    }

    #[test]
    fn content_values_parse_and_unsupported_ones_are_refused() {
        let items = |value: &str| parse_content(value).and_then(|content| content.items().map(<[_]>::to_vec));
        assert_eq!(parse_content("normal"), Some(Content::Normal));
        assert_eq!(parse_content(" NONE "), Some(Content::None));
        assert_eq!(items(r#""""#), Some(vec![text("")]));
        assert_eq!(items(r#""\2192  next""#), Some(vec![text("\u{2192} next")]));
        assert_eq!(
            items(r#"open-quote "(" attr(data-Label) ")" close-quote"#),
            Some(vec![
                ContentItem::OpenQuote,
                text("("),
                ContentItem::Attr(LocalName::from("data-label")),
                text(")"),
                ContentItem::CloseQuote
            ])
        );
        assert_eq!(items(r#""★" / "star""#), Some(vec![text("★")]));
        assert_eq!(items("no-open-quote no-close-quote").map(|items| items.len()), Some(2));
        for refused in [
            "",
            "counter(chapter)",
            r#"url("a.png")"#,
            "attr()",
            "attr(a, b)",
            "none \"x\"",
            "normal none",
            "\"x\" /",
            "\"x\" / attr(a)",
            "/ \"x\"",
            "inherit-quote",
            "12px",
        ] {
            assert_eq!(parse_content(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn quotes_parse_in_pairs_and_deeper_levels_repeat_the_last() {
        assert_eq!(parse_quotes("auto"), Some(Quotes::Auto));
        assert_eq!(parse_quotes("none"), Some(Quotes::None));
        assert_eq!(
            parse_quotes(r#""«" "»""#).map(|quotes| quotes.marks(3).0.to_owned()),
            Some("«".to_owned())
        );
        let quotes = parse_quotes(r#""<" ">" "[" "]""#).expect("two pairs");
        assert_eq!([quotes.marks(0), quotes.marks(1), quotes.marks(7)], [("<", ">"), ("[", "]"), ("[", "]")]);
        assert_eq!(Quotes::Auto.marks(0), ("\u{201c}", "\u{201d}"));
        assert_eq!(Quotes::Auto.marks(5), ("\u{2018}", "\u{2019}"));
        for refused in ["", r#""a""#, r#""a" "b" "c""#, "auto none", "1 2"] {
            assert_eq!(parse_quotes(refused), None, "{refused:?}");
        }
    }
}
