//! List markers (CSS Lists 3, HTML §15.3.8): the `list-item` counter each list item shows,
//! the marker's text, and where an outside marker hangs.
//!
//! Counters follow HTML's list owners: `ol`, `ul` and `menu` start a counter of their own
//! (an `ol`'s from its `start` attribute, counting down if it is `reversed`), each list item
//! steps the innermost one, and an item's `value` attribute sets it. An outside marker hangs
//! left of its item's content box with its baseline on the item's first line's; an inside
//! marker is the first inline content of the item (see `Builder::children`).

use armature_api::LayoutPoint;
use taffy::TaffyTree;

use super::{BoxId, BoxKind, Measured, PageLayout, ParagraphId};
use crate::dom::{Document, NodeId};
use crate::style::{ComputedStyle, Decorations, Display, ListStyleType, StyleMap, TextAlign, WhiteSpace};

/// A list item's outside marker.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Marker {
    /// Its text, shaped on its own.
    pub paragraph: ParagraphId,
    /// Where the paragraph's top-left lies, in page coordinates, once placed.
    pub origin: LayoutPoint,
}

/// One `list-item` counter in scope.
#[derive(Clone, Copy, Debug)]
struct Counter {
    value: i64,
    /// +1, or -1 in a reversed list.
    step: i64,
}

/// The `list-item` counters in scope while the box tree is built, innermost last.
#[derive(Debug)]
pub(super) struct Counters(Vec<Counter>);

impl Counters {
    /// The document's own counter, for items outside any list.
    pub(super) fn new() -> Counters {
        Counters(vec![Counter { value: 0, step: 1 }])
    }

    /// Opens the counter of `node` if it is a list owner; `true` if it did (close it with
    /// [`leave`](Self::leave) after its children).
    pub(super) fn enter(&mut self, document: &Document, styles: &StyleMap, node: NodeId) -> bool {
        let Some(tag) = document.tag(node) else { return false };
        if !matches!(&**tag, "ol" | "ul" | "menu") {
            return false;
        }
        let reversed = &**tag == "ol" && document.attr(node, "reversed").is_some();
        let step = if reversed { -1 } else { 1 };
        let start = document.attr(node, "start").filter(|_| &**tag == "ol").and_then(parse_integer);
        let start = start.unwrap_or_else(|| {
            if reversed {
                // HTML: a reversed list counts down from its number of items.
                let items = document.node(node).children.iter().filter(|&&child| {
                    styles.get(child).is_some_and(|style| style.list_item && style.display != Display::None)
                });
                items.count() as i64
            } else {
                1
            }
        });
        self.0.push(Counter { value: start.saturating_sub(step), step });
        true
    }

    /// Closes the counter [`enter`](Self::enter) opened.
    pub(super) fn leave(&mut self) {
        if self.0.len() > 1 {
            self.0.pop();
        }
    }

    /// Steps the innermost counter for list item `node` and returns the ordinal it shows.
    pub(super) fn item(&mut self, document: &Document, node: NodeId) -> i64 {
        let counter = self.0.last_mut().expect("the document's counter is never closed");
        counter.value = match document.attr(node, "value").and_then(parse_integer) {
            Some(value) => value,
            None => counter.value.saturating_add(counter.step),
        };
        counter.value
    }
}

/// HTML's rules for parsing integers: leading white space, an optional sign, digits, and
/// whatever follows ignored (`start="3rd"` is 3).
fn parse_integer(value: &str) -> Option<i64> {
    let value = value.trim_start_matches([' ', '\t', '\n', '\r', '\x0c']);
    let (sign, digits) = match value.as_bytes().first()? {
        b'-' => (-1, &value[1..]),
        b'+' => (1, &value[1..]),
        _ => (1, value),
    };
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    let magnitude: i64 = digits[..end].parse().ok()?;
    Some(sign * magnitude)
}

/// The marker of a list item showing `ordinal` in `kind`, its suffix included (`"1. "`,
/// `"• "`); `None` for `list-style-type: none`.
pub fn marker_text(kind: ListStyleType, ordinal: i64) -> Option<String> {
    let decimal = || format!("{ordinal}. ");
    Some(match kind {
        ListStyleType::None => return None,
        ListStyleType::Disc => "\u{2022} ".to_owned(),
        ListStyleType::Circle => "\u{25e6} ".to_owned(),
        ListStyleType::Square => "\u{25aa} ".to_owned(),
        ListStyleType::Decimal => decimal(),
        ListStyleType::DecimalLeadingZero => {
            let sign = if ordinal < 0 { "-" } else { "" };
            format!("{sign}{:02}. ", ordinal.unsigned_abs())
        }
        ListStyleType::LowerAlpha => alphabetic(ordinal).map_or_else(decimal, |text| format!("{text}. ")),
        ListStyleType::UpperAlpha => {
            alphabetic(ordinal).map_or_else(decimal, |text| format!("{}. ", text.to_ascii_uppercase()))
        }
        ListStyleType::LowerRoman => roman(ordinal).map_or_else(decimal, |text| format!("{text}. ")),
        ListStyleType::UpperRoman => {
            roman(ordinal).map_or_else(decimal, |text| format!("{}. ", text.to_ascii_uppercase()))
        }
    })
}

/// `a`…`z`, `aa`…: bijective base 26 (CSS Counter Styles' `alphabetic`); from 1.
fn alphabetic(ordinal: i64) -> Option<String> {
    let mut rest = u64::try_from(ordinal).ok().filter(|&value| value > 0)?;
    let mut letters = Vec::new();
    while rest > 0 {
        rest -= 1;
        letters.push(b'a' + (rest % 26) as u8);
        rest /= 26;
    }
    letters.reverse();
    String::from_utf8(letters).ok()
}

/// Lower-case roman numerals, 1 to 3999 (CSS Counter Styles' range for `lower-roman`).
fn roman(ordinal: i64) -> Option<String> {
    const DIGITS: [(i64, &str); 13] = [
        (1000, "m"),
        (900, "cm"),
        (500, "d"),
        (400, "cd"),
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
        (10, "x"),
        (9, "ix"),
        (5, "v"),
        (4, "iv"),
        (1, "i"),
    ];
    if !(1..=3999).contains(&ordinal) {
        return None;
    }
    let mut rest = ordinal;
    let mut text = String::new();
    for (value, digits) in DIGITS {
        while rest >= value {
            text.push_str(digits);
            rest -= value;
        }
    }
    Some(text)
}

/// The style a marker's text is shaped in: its item's font and colour, kept white space (its
/// suffix's space counts), no decorations (CSS Lists 3 §3.1's `::marker` rules).
pub(super) fn marker_style(item: &ComputedStyle) -> ComputedStyle {
    ComputedStyle {
        white_space: WhiteSpace::Pre,
        text_align: TextAlign::Left,
        decorations: Decorations::default(),
        ..item.inherit()
    }
}

/// Where an outside marker's paragraph goes once its list item `id` is placed: its end at
/// the item's content-box left, its first baseline on the item's first line's (the top of
/// the content box if the item has no line).
pub(super) fn place_outside(
    tree: &TaffyTree<Measured>,
    page: &PageLayout,
    id: BoxId,
    marker: ParagraphId,
) -> LayoutPoint {
    let content = page.get(id).content_rect();
    let Some(layout) = &page.paragraph(marker).layout else { return content.origin };
    let own_baseline = layout.lines().next().map_or(0.0, |line| line.metrics().baseline);
    let baseline = first_baseline(tree, page, id).unwrap_or(content.origin.y + own_baseline);
    LayoutPoint::new(content.origin.x - layout.full_width(), baseline - own_baseline)
}

/// The page y of the first line's baseline in box `id`'s in-flow content, depth first.
fn first_baseline(tree: &TaffyTree<Measured>, page: &PageLayout, id: BoxId) -> Option<f32> {
    page.get(id).children.iter().find_map(|&child| {
        let child_box = page.get(child);
        let out_of_flow =
            tree.style(child_box.taffy).is_ok_and(|style| style.position == taffy::Position::Absolute);
        match child_box.kind {
            _ if out_of_flow => None,
            BoxKind::Text(paragraph) => {
                let line = page.paragraph(paragraph).layout.as_ref()?.lines().next()?;
                Some(child_box.content_rect().origin.y + line.metrics().baseline)
            }
            BoxKind::Block | BoxKind::Flex | BoxKind::Grid | BoxKind::Table => {
                first_baseline(tree, page, child)
            }
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::TestPage;

    /// The text of the outside marker of `#id`, its suffix's space trimmed.
    fn marker_of(page: &TestPage, id: &str) -> Option<String> {
        let marker = page.layout.get(page.element_box(id)).marker?;
        Some(page.layout.paragraph(marker.paragraph).text.trim_end().to_owned())
    }

    /// The page y of text box `id`'s first baseline.
    fn text_baseline(page: &TestPage, id: BoxId) -> f32 {
        let text_box = page.layout.get(id);
        let BoxKind::Text(paragraph) = text_box.kind else { panic!("not a text box: {text_box:?}") };
        let layout = page.layout.paragraph(paragraph).layout.as_ref().expect("shaped");
        text_box.content_rect().origin.y + layout.lines().next().expect("a line").metrics().baseline
    }

    /// The marker's first baseline and right edge, in page coordinates.
    fn marker_baseline_and_end(page: &TestPage, id: &str) -> (f32, f32) {
        let marker = page.layout.get(page.element_box(id)).marker.expect("an outside marker");
        let layout = page.layout.paragraph(marker.paragraph).layout.as_ref().expect("shaped");
        let baseline = marker.origin.y + layout.lines().next().expect("a line").metrics().baseline;
        (baseline, marker.origin.x + layout.full_width())
    }

    #[test]
    fn list_items_count_in_their_own_list_from_start_by_value_and_backwards_when_reversed() {
        let page = TestPage::new(
            "<body style='list-style-type: decimal'>\
             <ol start=3><li id=a>a<li id=b value=10>b<li id=c>c</ol>\
             <ol reversed><li id=d>d<li style='display: none'>-<li id=e>e<li id=f>f</ol>\
             <ol reversed start=0><li id=g>g<li id=h>h</ol>\
             <ol><li id=i>i<ol type=a><li id=j>j</ol><li id=k>k</ol>\
             <ol><li id=l style='display: block'>l<li id=m>m</ol>\
             <li id=n>n</li><div><li id=o>o</li></div>\
             <ol start=' -2x'><li id=p>p</ol><ul><li id=q>q</ul></body>",
            400.0,
            300.0,
        );
        let markers: Vec<Option<String>> =
            "abcdefghijkmnopq".chars().map(|id| marker_of(&page, &id.to_string())).collect();
        let expected = [
            "3.", "10.", "11.", // start, then value, then on from the value
            "3.", "2.", "1.", // reversed from the number of shown items
            "0.", "-1.", // reversed from start
            "1.", "a.", "2.", // a nested list counts on its own
            "1.", // a block is no list item: the next item is the first
            "1.", "2.", // items outside any list count in the document
            "-2.", "\u{2022}",
        ];
        assert_eq!(markers, expected.map(|text| Some(text.to_owned())));
        assert_eq!(marker_of(&page, "l"), None);
    }

    #[test]
    fn an_outside_marker_hangs_left_of_its_item_on_its_first_line_baseline() {
        let page = TestPage::new(
            "<body style='margin: 0; font-size: 16px'><ul style='margin: 0; padding-left: 40px'>\
             <li id=a style='line-height: 30px'>text</li>\
             <li id=b><div><p id=p style='margin: 10px 0; font-size: 32px'>big</p></div></li>\
             <li id=c style='padding-top: 5px'></li>\
             <li id=d><div style='position: absolute; top: 200px'>away</div>after</li></ul></body>",
            400.0,
            300.0,
        );
        let item = |id| page.layout.get(page.element_box(id));
        for id in ["a", "b", "c", "d"] {
            assert_eq!(marker_baseline_and_end(&page, id).1, 40.0, "#{id} ends at the content edge");
        }
        let first_text = |id| {
            item(id)
                .children
                .iter()
                .copied()
                .find(|&child| matches!(page.layout.get(child).kind, BoxKind::Text(_)))
        };
        let a = text_baseline(&page, first_text("a").expect("a's text"));
        assert_eq!(marker_baseline_and_end(&page, "a").0, a);
        // The first line is the paragraph's, two blocks down, 10 px lower for its margin.
        let b = text_baseline(&page, first_text("p").expect("p's text"));
        assert!(b > item("b").rect.min_y() + 10.0 + 16.0, "{b}");
        assert_eq!(marker_baseline_and_end(&page, "b").0, b);
        // No line: the marker's top is the content box's.
        let c = page.layout.get(page.element_box("c")).marker.expect("c's marker");
        assert_eq!(c.origin.y, item("c").rect.min_y() + 5.0);
        // An absolute box is not the first line; the text after it is.
        let d = text_baseline(&page, first_text("d").expect("d's text"));
        assert_eq!(marker_baseline_and_end(&page, "d").0, d);
    }

    #[test]
    fn an_inside_marker_starts_the_first_line_of_its_item() {
        let page = TestPage::new(
            "<ol style='list-style-position: inside'><li id=a>one</li><li id=b><p>two</p></li></ol>",
            400.0,
            300.0,
        );
        let texts = |id| -> Vec<String> {
            let item = page.layout.get(page.element_box(id));
            assert!(item.marker.is_none(), "inside markers are not hung");
            item.children
                .iter()
                .filter_map(|&child| match page.layout.get(child).kind {
                    BoxKind::Text(paragraph) => Some(page.layout.paragraph(paragraph).text.clone()),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(texts("a"), ["1. one"]);
        // Before a block, the marker is a line of its own.
        assert_eq!(texts("b"), ["2. "]);
    }

    #[test]
    fn marker_texts_follow_the_counter_styles_and_fall_back_to_decimal() {
        let text = |kind, ordinal| marker_text(kind, ordinal).unwrap_or_default();
        assert_eq!(text(ListStyleType::Disc, 7), "\u{2022} ");
        assert_eq!(text(ListStyleType::Decimal, -3), "-3. ");
        assert_eq!(text(ListStyleType::DecimalLeadingZero, 7), "07. ");
        assert_eq!(text(ListStyleType::DecimalLeadingZero, -7), "-07. ");
        assert_eq!(text(ListStyleType::DecimalLeadingZero, 123), "123. ");
        let alpha: Vec<String> = [1, 26, 27, 52, 703].map(|n| text(ListStyleType::LowerAlpha, n)).into();
        assert_eq!(alpha, ["a. ", "z. ", "aa. ", "az. ", "aaa. "]);
        assert_eq!(text(ListStyleType::UpperAlpha, 28), "AB. ");
        assert_eq!(text(ListStyleType::UpperAlpha, 0), "0. ", "alphabetic starts at 1");
        let roman: Vec<String> = [4, 9, 14, 1994, 3999].map(|n| text(ListStyleType::LowerRoman, n)).into();
        assert_eq!(roman, ["iv. ", "ix. ", "xiv. ", "mcmxciv. ", "mmmcmxcix. "]);
        assert_eq!(text(ListStyleType::UpperRoman, 4000), "4000. ", "roman stops at 3999");
        assert_eq!(marker_text(ListStyleType::None, 1), None);
        assert_eq!(text(ListStyleType::Decimal, i64::MIN), format!("{}. ", i64::MIN));
    }

    #[test]
    fn html_integers_take_a_sign_and_leading_digits() {
        assert_eq!(parse_integer(" 3rd"), Some(3));
        assert_eq!(parse_integer("-12"), Some(-12));
        assert_eq!(parse_integer("+4"), Some(4));
        assert_eq!(parse_integer("x"), None);
        assert_eq!(parse_integer(""), None);
        assert_eq!(parse_integer("99999999999999999999"), None, "out of range is no value");
    }
}
