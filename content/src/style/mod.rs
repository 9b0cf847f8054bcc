//! Style: the cascade. Computes each element's style from the UA sheet, the page's
//! `<style>` sheets and its `style` attribute, with inheritance.
//!
//! Properties so far: display, width, height, margin, padding, background-color, color,
//! font-size, font-weight. Values are parsed with cssparser; unknown properties and values
//! are ignored with a debug log, as browsers do. Runs on the content process's main thread.

use armature_api::ColorF;

use std::sync::OnceLock;

use crate::dom::{Document, NodeData, NodeId};

pub mod selector;
pub mod sheet;
pub mod values;

use selector::{Selector, Specificity};
use sheet::{Declaration, Stylesheet, parse_declarations};
use values::parse_sides;
pub use values::{Length, Sides, parse_color, parse_length};

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
        self.styles.get(id.index()).and_then(Option::as_ref)
    }
}

/// The user-agent style sheet: what every page starts from.
pub const USER_AGENT_SHEET: &str = r#"
html, body, div, section, article, header, footer, main, nav, aside, p, h1, h2, h3, h4, h5,
h6, ul, ol, li, blockquote, pre, form, figure, figcaption, address, hr { display: block }
head, style, script, title, meta, link, template, base, noscript { display: none }
body { margin: 8px }
p, blockquote, figure, ul, ol { margin-top: 1em; margin-bottom: 1em }
h1 { font-size: 2em; font-weight: bold; margin-top: 0.67em; margin-bottom: 0.67em }
h2 { font-size: 1.5em; font-weight: bold; margin-top: 0.83em; margin-bottom: 0.83em }
h3 { font-size: 1.17em; font-weight: bold; margin-top: 1em; margin-bottom: 1em }
ul, ol { padding-left: 40px }
b, strong, th { font-weight: bold }
"#;

fn user_agent_sheet() -> &'static Stylesheet {
    static SHEET: OnceLock<Stylesheet> = OnceLock::new();
    SHEET.get_or_init(|| Stylesheet::parse(USER_AGENT_SHEET))
}

/// Where a declaration comes from and how strongly, lowest precedence first (CSS Cascade 4:
/// origin and importance, then whether it is a `style` attribute, then specificity, then
/// source order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Precedence {
    UserAgent,
    Author,
    AuthorImportant,
    UserAgentImportant,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct CascadeKey {
    precedence: Precedence,
    style_attribute: bool,
    specificity: Specificity,
    order: usize,
}

/// Computes styles for the whole document: the UA sheet, then every `<style>` element's
/// sheet in document order, then `style` attributes.
pub fn compute(document: &Document) -> StyleMap {
    let author_sheets: Vec<Stylesheet> = document
        .descendants(NodeId::DOCUMENT)
        .filter(|&id| document.tag(id).is_some_and(|tag| &**tag == "style"))
        .map(|id| Stylesheet::parse(&document.text_content(id)))
        .collect();
    let sheets: Vec<(bool, &Stylesheet)> = std::iter::once((true, user_agent_sheet()))
        .chain(author_sheets.iter().map(|sheet| (false, sheet)))
        .collect();

    let mut styles = vec![None; document.len()];
    let root_style = ComputedStyle { display: Display::Block, ..ComputedStyle::initial() };
    let mut stack = vec![(NodeId::DOCUMENT, root_style)];
    while let Some((id, style)) = stack.pop() {
        for &child in document.node(id).children.iter().rev() {
            let child_style = match &document.node(child).data {
                NodeData::Element { .. } => Some(compute_element(document, child, &style, &sheets)),
                NodeData::Text(_) => Some(ComputedStyle { display: Display::Inline, ..style.inherit() }),
                _ => None,
            };
            if let Some(child_style) = child_style {
                stack.push((child, child_style.clone()));
                styles[child.index()] = Some(child_style);
            }
        }
        if styles[id.index()].is_none() {
            styles[id.index()] = Some(style);
        }
    }
    StyleMap { styles }
}

fn compute_element(
    document: &Document,
    id: NodeId,
    parent: &ComputedStyle,
    sheets: &[(bool, &Stylesheet)],
) -> ComputedStyle {
    let mut matched: Vec<(CascadeKey, Declaration)> = Vec::new();
    let mut order = 0;
    for &(user_agent, sheet) in sheets {
        for rule in &sheet.rules {
            let specificity = rule
                .selectors
                .iter()
                .filter(|selector| selector.matches(document, id))
                .map(Selector::specificity)
                .max();
            let Some(specificity) = specificity else { continue };
            for declaration in &rule.declarations {
                let precedence = match (user_agent, declaration.important) {
                    (true, false) => Precedence::UserAgent,
                    (false, false) => Precedence::Author,
                    (false, true) => Precedence::AuthorImportant,
                    (true, true) => Precedence::UserAgentImportant,
                };
                order += 1;
                let key = CascadeKey { precedence, style_attribute: false, specificity, order };
                matched.push((key, declaration.clone()));
            }
        }
    }
    if let Some(attribute) = document.attr(id, "style") {
        for declaration in parse_declarations(attribute) {
            let precedence =
                if declaration.important { Precedence::AuthorImportant } else { Precedence::Author };
            order += 1;
            let key =
                CascadeKey { precedence, style_attribute: true, specificity: Specificity::default(), order };
            matched.push((key, declaration));
        }
    }
    matched.sort_by_key(|(key, _)| *key);

    let mut style = parent.inherit();
    // font-size first: em in every other property refers to the element's own font size.
    let (font_sizes, others): (Vec<_>, Vec<_>) = matched
        .iter()
        .map(|(_, declaration)| declaration)
        .partition(|declaration| declaration.name == "font-size");
    for declaration in font_sizes.into_iter().chain(others) {
        if !apply_property(&declaration.name, &declaration.value, parent, &mut style) {
            tracing::debug!(target: "armature::style", "ignored '{}: {}'", declaration.name, declaration.value);
        }
    }
    style
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

#[cfg(test)]
mod tests {
    use super::*;

    fn style_of(html: &str, id: &str) -> ComputedStyle {
        let document = Document::parse(html);
        let styles = compute(&document);
        let element = document
            .descendants(NodeId::DOCUMENT)
            .find(|&node| document.attr(node, "id") == Some(id))
            .expect("element with that id");
        styles.get(element).expect("styled").clone()
    }

    fn rgb(style_color: ColorF) -> [u8; 3] {
        [style_color.r, style_color.g, style_color.b].map(|channel| (channel * 255.0).round() as u8)
    }

    #[test]
    fn specificity_then_order_decides_between_rules() {
        let page = "<style>#x { color: red } p.a { color: blue } p { color: green } .a { color: olive }</style>\
                    <p id=x class=a>t</p><p id=y class=a>u</p><p id=z>v</p>";
        assert_eq!(rgb(style_of(page, "x").color), [255, 0, 0]);
        assert_eq!(rgb(style_of(page, "y").color), [0, 0, 255]);
        assert_eq!(rgb(style_of(page, "z").color), [0, 128, 0]);
    }

    #[test]
    fn style_attributes_beat_rules_and_important_beats_style_attributes() {
        let page = "<style>#a { width: 10px } #b { width: 20px !important }</style>\
                    <div id=a style='width: 30px'></div><div id=b style='width: 40px'></div>\
                    <div id=c style='width: 50px !important; width: 60px'></div>";
        assert_eq!(style_of(page, "a").width, Length::Px(30.0));
        assert_eq!(style_of(page, "b").width, Length::Px(20.0));
        assert_eq!(style_of(page, "c").width, Length::Px(50.0));
    }

    #[test]
    fn inherited_properties_flow_down_and_others_do_not() {
        let page = "<style>section { color: #123456; font-size: 20px; background: red; margin: 5px }</style>\
                    <section><div id=inner style='padding: 1em'></div></section>";
        let inner = style_of(page, "inner");
        assert_eq!(rgb(inner.color), [0x12, 0x34, 0x56]);
        assert_eq!(inner.font_size, 20.0);
        assert!(inner.background_color.is_transparent());
        assert_eq!(inner.margin.top, Length::Px(0.0));
        // em refers to the element's own (inherited) font size.
        assert_eq!(inner.padding.left, Length::Px(20.0));
    }

    #[test]
    fn the_user_agent_sheet_applies_and_author_rules_override_it() {
        let page = "<style>h2 { margin-top: 0 }</style><h1 id=h1>a</h1><h2 id=h2>b</h2><b id=b>c</b><head id=head></head>";
        let h1 = style_of(page, "h1");
        assert_eq!((h1.display, h1.font_size, h1.font_weight), (Display::Block, 32.0, FontWeight::Bold));
        assert_eq!(h1.margin.top, Length::Px(32.0 * 0.67));
        let h2 = style_of(page, "h2");
        assert_eq!(
            (h2.font_size, h2.margin.top, h2.margin.bottom),
            (24.0, Length::Px(0.0), Length::Px(24.0 * 0.83))
        );
        assert_eq!(style_of(page, "b").font_weight, FontWeight::Bold);
        assert_eq!(style_of(page, "b").display, Display::Inline);
    }
}
