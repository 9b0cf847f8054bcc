//! Style: the cascade. Computes each element's style from the UA sheet, the page's
//! `<style>` sheets, presentational hints and `style` attributes, with inheritance.
//!
//! Values are parsed with cssparser; unknown properties and values are ignored with a debug
//! log, as browsers do. Runs on the content process's main thread.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::dom::{Document, NodeData, NodeId};

pub mod generated;
pub mod grid;
pub mod properties;
pub mod selector;
pub mod sheet;
pub mod values;

pub use generated::{Content, ContentItem, Pseudo, Quotes};
pub use properties::*;
use selector::{Matcher, SelectorMap, Specificity};
use sheet::{Declaration, Stylesheet, parse_declarations};
pub use values::{FontRelative, Length, Sides, parse_color, parse_length};

/// Computed styles of every element (and, inherited, of every text node), and of the
/// `::before` and `::after` pseudo-elements that generate a box.
#[derive(Debug)]
pub struct StyleMap {
    styles: Vec<Option<ComputedStyle>>,
    /// By element, its `::before` and `::after` styles where their `content` makes a box.
    generated: HashMap<NodeId, [Option<ComputedStyle>; 2]>,
}

impl StyleMap {
    /// The style of a node; `None` for nodes that are never rendered (comments, doctype).
    pub fn get(&self, id: NodeId) -> Option<&ComputedStyle> {
        self.styles.get(id.index()).and_then(Option::as_ref)
    }

    /// The style of `element`'s `pseudo`-element, if it generates a box (its `content` has
    /// items and its element is rendered).
    pub fn pseudo(&self, element: NodeId, pseudo: Pseudo) -> Option<&ComputedStyle> {
        self.generated.get(&element)?[pseudo as usize].as_ref()
    }
}

/// The user-agent style sheet: what every page starts from (a subset of HTML §15).
pub const USER_AGENT_SHEET: &str = r#"
html, body, div, section, article, header, footer, main, nav, aside, p, h1, h2, h3, h4, h5,
h6, ul, ol, menu, blockquote, pre, form, figure, figcaption, address, hr, dl, dt, dd,
details, summary, center, fieldset, legend { display: block }
head, style, script, title, meta, link, template, base, noscript, area, datalist, noembed,
noframes, param, rp { display: none }
[hidden] { display: none }
body { margin: 8px }
p, blockquote, figure, ul, ol, dl, pre { margin-top: 1em; margin-bottom: 1em }
blockquote, figure { margin-left: 40px; margin-right: 40px }
dd { margin-left: 40px }
h1 { font-size: 2em; font-weight: bold; margin-top: 0.67em; margin-bottom: 0.67em }
h2 { font-size: 1.5em; font-weight: bold; margin-top: 0.83em; margin-bottom: 0.83em }
h3 { font-size: 1.17em; font-weight: bold; margin-top: 1em; margin-bottom: 1em }
h4 { font-weight: bold; margin-top: 1.33em; margin-bottom: 1.33em }
h5 { font-size: 0.83em; font-weight: bold; margin-top: 1.67em; margin-bottom: 1.67em }
h6 { font-size: 0.67em; font-weight: bold; margin-top: 2.33em; margin-bottom: 2.33em }
ul, ol, menu { padding-left: 40px }
li { display: list-item }
ul, menu { list-style-type: disc }
ol { list-style-type: decimal }
:is(menu, ol, ul) :is(menu, ul) { list-style-type: circle }
:is(menu, ol, ul) :is(menu, ol, ul) :is(menu, ul) { list-style-type: square }
:is(menu, ol, ul) :is(menu, ol, ul) { margin-top: 0; margin-bottom: 0 }
:link, :visited, u, ins { text-decoration: underline }
s, strike, del { text-decoration: line-through }
b, strong, th { font-weight: bold }
i, em, cite, var, dfn, address { font-style: italic }
pre, code, kbd, samp, tt { font-family: monospace }
pre { white-space: pre }
small { font-size: smaller }
big { font-size: larger }
center, th { text-align: center }
q::before { content: open-quote }
q::after { content: close-quote }
:link { color: #0000ee }
:visited { color: #551a8b }
mark { background-color: yellow; color: black }
hr { border: 1px solid #808080; margin: 0.5em 0 }
table { display: table; border-spacing: 2px; border-collapse: separate }
caption { display: table-caption; text-align: center }
colgroup { display: table-column-group }
col { display: table-column }
thead { display: table-header-group; vertical-align: middle }
tbody { display: table-row-group; vertical-align: middle }
tfoot { display: table-footer-group; vertical-align: middle }
tr { display: table-row; vertical-align: inherit }
td, th { display: table-cell; vertical-align: inherit; padding: 1px }
"#;

fn user_agent_sheet() -> &'static Stylesheet {
    static SHEET: OnceLock<Stylesheet> = OnceLock::new();
    SHEET.get_or_init(|| Stylesheet::parse(USER_AGENT_SHEET))
}

/// The UA sheet's selectors, filed once per process (sheet 0 of every document's [`Rules`]).
fn user_agent_map() -> &'static SelectorMap<(usize, usize)> {
    static MAP: OnceLock<SelectorMap<(usize, usize)>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut map = SelectorMap::default();
        for (index, rule) in user_agent_sheet().rules.iter().enumerate() {
            map.insert(&rule.selectors, (0, index));
        }
        map
    })
}

/// The UA sheet's `::before` and `::after` selectors, by [`Pseudo`], filed once per process.
fn user_agent_pseudo_maps() -> &'static [SelectorMap<(usize, usize)>; 2] {
    static MAPS: OnceLock<[SelectorMap<(usize, usize)>; 2]> = OnceLock::new();
    MAPS.get_or_init(|| {
        Pseudo::ALL.map(|pseudo| {
            let mut map = SelectorMap::for_pseudo(pseudo);
            for (index, rule) in user_agent_sheet().rules.iter().enumerate() {
                map.insert(&rule.selectors, (0, index));
            }
            map
        })
    })
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
    let mut rules = Rules::new(&author_sheets);

    let mut styles = vec![None; document.len()];
    let mut generated = HashMap::new();
    let root_style = ComputedStyle { display: Display::Block, ..ComputedStyle::initial() };
    // rem refers to the root element's font size, known once the root is styled.
    let mut root_font_size = root_style.font_size;
    let mut stack = vec![(NodeId::DOCUMENT, root_style)];
    let mut styled = Vec::new();
    while let Some((id, style)) = stack.pop() {
        // Siblings in document order: `:nth-child` finds an element's index from its
        // previous sibling's, cached; styled last to first, each would walk all the others.
        for &child in &document.node(id).children {
            let child_style = match &document.node(child).data {
                NodeData::Element { .. } => {
                    let computed = compute_element(document, child, &style, &mut rules, root_font_size);
                    if id == NodeId::DOCUMENT {
                        root_font_size = computed.font_size;
                    }
                    // A pseudo-element box is a child of its element's box: none without one.
                    if computed.display != Display::None {
                        let pseudos = Pseudo::ALL.map(|pseudo| {
                            compute_pseudo(document, child, pseudo, &computed, &mut rules, root_font_size)
                        });
                        if pseudos.iter().any(Option::is_some) {
                            generated.insert(child, pseudos);
                        }
                    }
                    Some(computed)
                }
                NodeData::Text(_) => Some(ComputedStyle { display: Display::Inline, ..style.inherit() }),
                _ => None,
            };
            if let Some(child_style) = child_style {
                styled.push((child, child_style.clone()));
                styles[child.index()] = Some(child_style);
            }
        }
        stack.extend(styled.drain(..).rev());
        if styles[id.index()].is_none() {
            styles[id.index()] = Some(style);
        }
    }
    StyleMap { styles, generated }
}

/// A document's sheets, the UA sheet first, with every rule's selectors filed by rule
/// position (sheet, rule), and what matching keeps between elements.
struct Rules<'a> {
    sheets: Vec<&'a Stylesheet>,
    /// The author sheets' selectors (sheets 1…; the UA sheet's are in [`user_agent_map`]).
    author_map: SelectorMap<(usize, usize)>,
    /// The author sheets' `::before` and `::after` selectors, by [`Pseudo`] (the UA
    /// sheet's are in [`user_agent_pseudo_maps`]).
    pseudo_maps: [SelectorMap<(usize, usize)>; 2],
    matcher: Matcher,
    /// The rules that matched the element being styled, in cascade order.
    matched: Vec<((usize, usize), Specificity)>,
}

impl<'a> Rules<'a> {
    fn new(author_sheets: &'a [Stylesheet]) -> Rules<'a> {
        let mut author_map = SelectorMap::default();
        let mut pseudo_maps = Pseudo::ALL.map(SelectorMap::for_pseudo);
        for (sheet_index, sheet) in author_sheets.iter().enumerate() {
            for (rule_index, rule) in sheet.rules.iter().enumerate() {
                author_map.insert(&rule.selectors, (sheet_index + 1, rule_index));
                for map in &mut pseudo_maps {
                    map.insert(&rule.selectors, (sheet_index + 1, rule_index));
                }
            }
        }
        let sheets = std::iter::once(user_agent_sheet()).chain(author_sheets).collect();
        Rules { sheets, author_map, pseudo_maps, matcher: Matcher::default(), matched: Vec::new() }
    }

    /// Finds the rules that match `element` (into `matched`, in cascade order).
    fn match_element(&mut self, document: &Document, element: NodeId) {
        self.matched.clear();
        user_agent_map().matching(document, element, &mut self.matcher, &mut self.matched);
        self.author_map.matching(document, element, &mut self.matcher, &mut self.matched);
    }

    /// Finds the rules that match `element`'s `pseudo`-element (into `matched`).
    fn match_pseudo(&mut self, document: &Document, element: NodeId, pseudo: Pseudo) {
        self.matched.clear();
        for map in [&user_agent_pseudo_maps()[pseudo as usize], &self.pseudo_maps[pseudo as usize]] {
            if !map.is_empty() {
                map.matching(document, element, &mut self.matcher, &mut self.matched);
            }
        }
    }

    /// The declarations of the rules in `matched`, keyed for the cascade; `order` counts on
    /// from where it is (source order within one element's declarations).
    fn declarations(&self, order: &mut usize) -> Vec<(CascadeKey, Declaration)> {
        let mut declarations = Vec::new();
        for &((sheet, rule), specificity) in &self.matched {
            let user_agent = sheet == 0;
            for declaration in &self.sheets[sheet].rules[rule].declarations {
                let precedence = match (user_agent, declaration.important) {
                    (true, false) => Precedence::UserAgent,
                    (false, false) => Precedence::Author,
                    (false, true) => Precedence::AuthorImportant,
                    (true, true) => Precedence::UserAgentImportant,
                };
                *order += 1;
                let key = CascadeKey { precedence, style_attribute: false, specificity, order: *order };
                declarations.push((key, declaration.clone()));
            }
        }
        declarations
    }
}

/// The style of `element`'s `pseudo`-element, whose parent style is the element's, if its
/// `content` makes a box.
fn compute_pseudo(
    document: &Document,
    element: NodeId,
    pseudo: Pseudo,
    parent: &ComputedStyle,
    rules: &mut Rules<'_>,
    root_font_size: f32,
) -> Option<ComputedStyle> {
    rules.match_pseudo(document, element, pseudo);
    if rules.matched.is_empty() {
        return None;
    }
    let matched = rules.declarations(&mut 0);
    let style = cascade(matched, parent, root_font_size);
    // CSS Generated Content 3 §1.1: `::before` and `::after` of `display: none` or with
    // `content: normal | none` generate no box. Inside a flex or grid container they are
    // items, blockified like any child element.
    let has_box = style.display != Display::None && style.content.items().is_some();
    has_box.then_some(style)
}

fn compute_element(
    document: &Document,
    id: NodeId,
    parent: &ComputedStyle,
    rules: &mut Rules<'_>,
    root_font_size: f32,
) -> ComputedStyle {
    let mut matched: Vec<(CascadeKey, Declaration)> = presentational_hints(document, id)
        .map(|declaration| {
            let key = CascadeKey {
                precedence: Precedence::Author,
                style_attribute: false,
                specificity: Specificity::default(),
                order: 0,
            };
            (key, declaration)
        })
        .collect();
    let mut order = 0;
    rules.match_element(document, id);
    matched.extend(rules.declarations(&mut order));
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
    cascade(matched, parent, root_font_size)
}

/// Applies `matched` declarations in cascade order over what `parent` passes down, then
/// the fix-ups that depend on the result.
fn cascade(
    mut matched: Vec<(CascadeKey, Declaration)>,
    parent: &ComputedStyle,
    root_font_size: f32,
) -> ComputedStyle {
    matched.sort_by_key(|(key, _)| *key);

    let mut style = parent.inherit();
    // font-size first: em in every other property refers to the element's own font size.
    let (font_sizes, others): (Vec<_>, Vec<_>) = matched
        .iter()
        .map(|(_, declaration)| declaration)
        .partition(|declaration| declaration.name == "font-size");
    for declaration in font_sizes.into_iter().chain(others) {
        if !apply_property(&declaration.name, &declaration.value, parent, root_font_size, &mut style) {
            tracing::debug!(target: "armature::style", "ignored '{}: {}'", declaration.name, declaration.value);
        }
    }
    // CSS Text Decoration 3 §2: decorations propagate to in-flow descendants, not into
    // atomic inlines (an inline-block, -flex or -grid, unless a flex or grid container
    // blockifies it) or out-of-flow boxes; a box adds its own lines in its own colour.
    let atomic = style.display.is_atomic_inline() && !parent.display.has_items();
    if atomic || style.position.is_out_of_flow() {
        style.decorations = Decorations::default();
    }
    style.decorations = style
        .decorations
        .with(style.text_decoration_line, style.text_decoration_color.unwrap_or(style.color));
    // CSS 2 §9.7: an absolutely positioned box is block-level whatever its display says.
    if style.position.is_out_of_flow() {
        style.display = style.display.blockified();
    }
    // CSS Overflow 3 §3.1: a box that scrolls along one axis cannot let content show along
    // the other; visible and clip compute to auto and hidden there.
    if style.overflow_x.is_scroll_container() || style.overflow_y.is_scroll_container() {
        let scrolling = |overflow| match overflow {
            Overflow::Visible => Overflow::Auto,
            Overflow::Clip => Overflow::Hidden,
            other => other,
        };
        (style.overflow_x, style.overflow_y) = (scrolling(style.overflow_x), scrolling(style.overflow_y));
    }
    style
}

/// HTML attributes that act as author style with the lowest precedence (HTML §15.2):
/// `width`/`height` on `<img>` and table parts, `bgcolor`, `type` on lists and list items,
/// and the table attributes of HTML §15.3.9 (see [`table_hints`]).
fn presentational_hints(document: &Document, id: NodeId) -> impl Iterator<Item = Declaration> + '_ {
    let tag = document.tag(id);
    let is_img = tag.is_some_and(|tag| &**tag == "img");
    let is_list = tag.is_some_and(|tag| matches!(&**tag, "ol" | "ul" | "li"));
    let dimension = move |attribute: &'static str| {
        let value = document.attr(id, attribute).filter(|_| is_img)?;
        let pixels: f32 = value.trim().trim_end_matches("px").parse().ok()?;
        Some(hint(attribute, format!("{pixels}px")))
    };
    let bgcolor = document.attr(id, "bgcolor").map(|value| hint("background-color", value.to_owned()));
    // HTML §15.3.8: ol's types are case-sensitive (`a` and `A` differ), ul's are not.
    let list_type = document.attr(id, "type").filter(|_| is_list).and_then(|value| {
        let kind = match value.trim() {
            "1" => "decimal",
            "a" => "lower-alpha",
            "A" => "upper-alpha",
            "i" => "lower-roman",
            "I" => "upper-roman",
            other => match other.to_ascii_lowercase().as_str() {
                "none" => "none",
                "disc" => "disc",
                "circle" => "circle",
                "square" => "square",
                _ => return None,
            },
        };
        Some(hint("list-style-type", kind.to_owned()))
    });
    [dimension("width"), dimension("height"), bgcolor, list_type]
        .into_iter()
        .flatten()
        .chain(table_hints(document, id))
}

fn hint(name: &str, value: String) -> Declaration {
    Declaration { name: name.to_owned(), value, important: false }
}

/// The table attributes (HTML §15.3.9): `border`, `cellspacing`, `cellpadding` and `align`
/// on the table (the first two and the last for itself, `border` and `cellpadding` for its
/// cells too), `width` and `height` on tables, cells, rows and columns, `align` and `valign`
/// on rows, row groups and cells, `nowrap` on cells.
fn table_hints(document: &Document, id: NodeId) -> Vec<Declaration> {
    let Some(tag) = document.tag(id) else { return Vec::new() };
    let mut hints = Vec::new();
    let attr = |name: &str| document.attr(id, name);
    // HTML's "rules for parsing non-negative integers" and "dimension values".
    let integer = |value: &str| {
        let digits: String = value.trim().chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    };
    let dimension = |value: &str| {
        let value = value.trim();
        let digits: String = value.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        let number: f32 = digits.parse().ok()?;
        let percent = value[digits.len()..].starts_with('%');
        (number > 0.0).then(|| if percent { format!("{number}%") } else { format!("{number}px") })
    };
    let sizes: &[&str] = match &**tag {
        "table" | "td" | "th" => &["width", "height"],
        "col" | "colgroup" => &["width"],
        "tr" => &["height"],
        _ => &[],
    };
    for &name in sizes {
        if let Some(value) = attr(name).and_then(dimension) {
            hints.push(hint(name, value));
        }
    }
    match &**tag {
        "table" => {
            if let Some(width) = attr("border").map(|value| integer(value).unwrap_or(1)).filter(|&w| w > 0) {
                hints.push(hint("border", format!("{width}px solid #808080")));
            }
            if let Some(spacing) = attr("cellspacing").and_then(integer) {
                hints.push(hint("border-spacing", format!("{spacing}px")));
            }
            if attr("align").is_some_and(|align| align.trim().eq_ignore_ascii_case("center")) {
                hints.push(hint("margin-left", "auto".to_owned()));
                hints.push(hint("margin-right", "auto".to_owned()));
            }
        }
        "td" | "th" => {
            // The table's attributes reach its own cells, not a nested table's.
            let table = std::iter::successors(document.node(id).parent, |&node| document.node(node).parent)
                .find(|&node| document.tag(node).is_some_and(|tag| &**tag == "table"));
            let table_attr = |name| table.and_then(|table| document.attr(table, name));
            if table_attr("border").is_some_and(|value| integer(value) != Some(0)) {
                hints.push(hint("border", "1px solid #808080".to_owned()));
            }
            if let Some(padding) = table_attr("cellpadding").and_then(integer) {
                hints.push(hint("padding", format!("{padding}px")));
            }
            if attr("nowrap").is_some() {
                hints.push(hint("white-space", "nowrap".to_owned()));
            }
        }
        _ => {}
    }
    if matches!(&**tag, "td" | "th" | "tr" | "thead" | "tbody" | "tfoot") {
        if let Some(align) = attr("align").map(|align| align.trim().to_ascii_lowercase()) {
            let align = if align == "middle" { "center".to_owned() } else { align };
            hints.push(hint("text-align", align));
        }
        if let Some(valign) = attr("valign") {
            hints.push(hint("vertical-align", valign.trim().to_ascii_lowercase()));
        }
    }
    hints
}

#[cfg(test)]
mod tests {
    use super::*;
    use armature_api::ColorF;

    /// The styles of `html`, and its element with id `id`.
    fn styled(html: &str, id: &str) -> (StyleMap, NodeId) {
        let document = Document::parse(html).expect("parses");
        let element = document
            .descendants(NodeId::DOCUMENT)
            .find(|&node| document.attr(node, "id") == Some(id))
            .expect("element with that id");
        (compute(&document), element)
    }

    fn style_of(html: &str, id: &str) -> ComputedStyle {
        let (styles, element) = styled(html, id);
        styles.get(element).expect("styled").clone()
    }

    fn rgb(style_color: ColorF) -> [u8; 3] {
        [style_color.r, style_color.g, style_color.b].map(|channel| (channel * 255.0).round() as u8)
    }

    /// `id`'s `pseudo` style, if it generates a box.
    fn pseudo_of(html: &str, id: &str, pseudo: Pseudo) -> Option<ComputedStyle> {
        let (styles, element) = styled(html, id);
        styles.pseudo(element, pseudo).cloned()
    }

    #[test]
    fn before_and_after_cascade_from_their_element_and_need_content() {
        let page = "<style>p { color: blue; font-size: 20px } \
            p::before { content: 'a'; color: red; display: block; margin-top: 1em } \
            #x::before { content: 'b' } .quiet::before { content: none } \
            p::after { color: green } p.z::after { content: ''; width: 5px } \
            .gone { display: none } .gone::before { content: 'never' } \
            #y::after:hover { content: 'hovered, never at rest' } \
            div > p:first-child::before { font-weight: bold }</style> \
            <div><p id=x class=z>one</p><p id=y class=quiet>two</p></div> \
            <p id=g class=gone>three</p><q id=q>four</q>";
        let before = pseudo_of(page, "x", Pseudo::Before).expect("x::before has content");
        // The id rule beats the type rule; inherited font size and 1em from it; the
        // `:first-child` rule applies through the pseudo-element's element.
        assert_eq!(before.content.items(), Some(&[ContentItem::Text("b".into())][..]));
        assert_eq!(rgb(before.color), [255, 0, 0]);
        assert_eq!(before.display, Display::Block);
        assert_eq!(before.margin.top, Length::Px(20.0));
        assert!(before.is_bold());
        assert!(!style_of(page, "x").is_bold(), "the element itself is not bold");
        // `content: ''` makes a box; `content: none`, `normal` (no content given) and a
        // hidden element make none.
        let after = pseudo_of(page, "x", Pseudo::After).expect("x::after is empty but has a box");
        assert_eq!((rgb(after.color), after.width), ([0, 128, 0], Length::Px(5.0)));
        assert_eq!(pseudo_of(page, "y", Pseudo::Before), None);
        assert_eq!(pseudo_of(page, "y", Pseudo::After), None);
        assert_eq!(pseudo_of(page, "g", Pseudo::Before), None);
        // The UA sheet quotes `<q>`.
        let open = pseudo_of(page, "q", Pseudo::Before).expect("q::before");
        assert_eq!(open.content.items(), Some(&[ContentItem::OpenQuote][..]));
        assert!(pseudo_of(page, "q", Pseudo::After).is_some());
    }

    #[test]
    fn structural_attribute_and_link_selectors_through_the_cascade() {
        let page = "<style>tr:nth-child(even) td { color: red } .x td { color: blue } \
                    li:first-child { font-weight: bold } li:last-child:not(.keep) { display: none } \
                    p + p { margin-top: 0 } h2 ~ p[title$=note i] { font-style: italic } \
                    :where(#w) { color: green } p { color: black } p::before { color: red }</style>\
                    <table><tr class=x><td id=c1>a</td></tr><tr class=x><td id=c2>b</td></tr></table>\
                    <ul><li id=l1>a</li><li id=l2>b</li><li id=l3>c</li></ul>\
                    <h2>h</h2><p id=p1 title='A NOTE'>x</p><p id=p2 title=other>y</p><p id=w>z</p>\
                    <a id=link href=/x>l</a><a id=anchor name=x>n</a><div id=hidden hidden>h</div>";
        // (0,1,2) beats (0,1,1) on the even row; the odd row takes `.x td` alone.
        assert_eq!(rgb(style_of(page, "c1").color), [0, 0, 255]);
        assert_eq!(rgb(style_of(page, "c2").color), [255, 0, 0]);
        assert!(style_of(page, "l1").is_bold() && !style_of(page, "l2").is_bold());
        assert_eq!(style_of(page, "l3").display, Display::None);
        assert_eq!(style_of(page, "p1").margin.top, Length::Px(16.0));
        assert_eq!(style_of(page, "p2").margin.top, Length::Px(0.0));
        assert_eq!(style_of(page, "p1").font_style, FontStyle::Italic, "`i`: case-insensitive value");
        assert_eq!(style_of(page, "p2").font_style, FontStyle::Normal);
        assert_eq!(rgb(style_of(page, "w").color), [0, 0, 0], "`:where()` adds no specificity");
        // The UA sheet: only links are blue and underlined; `hidden` hides.
        let link = style_of(page, "link");
        assert_eq!((rgb(link.color), link.text_decoration_line.underline), ([0, 0, 0xee], true));
        let anchor = style_of(page, "anchor");
        assert_eq!((rgb(anchor.color), anchor.text_decoration_line.underline), ([0, 0, 0], false));
        assert_eq!(style_of(page, "hidden").display, Display::None);
    }

    #[test]
    fn hostile_selectors_are_dropped_or_matched_without_panicking() {
        let nested = format!("{}<p id=p>x</p>{}", "<div class=a>".repeat(600), "</div>".repeat(600));
        // Nesting past cssparser's block limit drops the rule (else `p` would match and be
        // red); the others parse and, on this page, match nothing that `p` inherits from.
        let sheets = [
            format!("{}p{} {{ color: red }}", ":is(".repeat(10_000), ")".repeat(10_000)),
            format!("{}p{} {{ color: red }}", ":not(".repeat(10_000), ")".repeat(10_000)),
            format!("{}p{} {{ color: red }}", ":has(".repeat(10_000), ")".repeat(10_000)),
            format!("{} {{ color: red }}", vec!["div"; 50_000].join(" > ")),
            format!("{} p {{ color: red }}", vec!["div"; 3_000].join(" ")),
            format!("{}.b {{ color: red }}", vec![".a"; 10_000].concat()),
            "*:has(.zz) { color: red }".to_owned(),
            ":nth-child(2n+1 of :has(.zz)) { color: red }".to_owned(),
            ":nth-child(99999999999999999999n+3) { color: red }".to_owned(),
        ];
        for sheet in sheets {
            let style = style_of(&format!("<style>{sheet}</style>{nested}"), "p");
            assert_eq!(rgb(style.color), [0, 0, 0], "{}…", &sheet[..40]);
        }
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
        assert_eq!((h1.display, h1.font_size, h1.font_weight), (Display::Block, 32.0, 700));
        assert_eq!(h1.margin.top, Length::Px(32.0 * 0.67));
        let h2 = style_of(page, "h2");
        assert_eq!(
            (h2.font_size, h2.margin.top, h2.margin.bottom),
            (24.0, Length::Px(0.0), Length::Px(24.0 * 0.83))
        );
        assert!(style_of(page, "b").is_bold());
        assert_eq!(style_of(page, "b").display, Display::Inline);
    }

    #[test]
    fn borders_flex_and_units() {
        let page = "<style>html { font-size: 10px } #a { border: 2px solid red; border-left: none; \
                    border-radius: 1rem 5px; display: flex; flex: 2 1 25%; gap: 4px 1em; opacity: 50% }\
                    #b { border-width: 1px 2px; border-color: blue; font-style: italic; line-height: 1.5 }</style>\
                    <div id=a style='unknown-prop: 3; width: banana'></div><p id=b></p><img id=c width=40 height='20'>";
        let a = style_of(page, "a");
        assert_eq!(a.display, Display::Flex);
        assert_eq!(a.border_widths().to_array(), [2.0, 2.0, 2.0, 0.0]);
        assert_eq!(rgb(a.border_color(a.border.top)), [255, 0, 0]);
        assert_eq!(a.border_radius, [Length::Px(10.0), Length::Px(5.0), Length::Px(10.0), Length::Px(5.0)]);
        assert_eq!((a.flex_grow, a.flex_shrink, a.flex_basis), (2.0, 1.0, Length::Percent(25.0)));
        assert_eq!(a.gap, (Length::Px(4.0), Length::Px(10.0)));
        assert_eq!(a.opacity, 0.5);
        assert_eq!(a.width, Length::Auto, "an invalid value is ignored");
        let b = style_of(page, "b");
        // border-width alone does not draw: the style is still `none`.
        assert_eq!(b.border_widths().to_array(), [0.0; 4]);
        assert_eq!(b.border.left.width, 2.0);
        assert_eq!((b.font_style, b.line_height), (FontStyle::Italic, LineHeight::Number(1.5)));
        let c = style_of(page, "c");
        assert_eq!((c.width, c.height), (Length::Px(40.0), Length::Px(20.0)));
    }

    #[test]
    fn grid_and_alignment_properties_through_the_cascade() {
        let page = "<style>#g { display: grid; grid-template: 10px auto / 1fr 2fr; grid-template-areas: 'a b'; \
                    grid-auto-flow: column dense; place-items: center end; align-content: space-between; \
                    text-decoration: underline } \
                    #i { grid-area: b; place-self: start; grid-column-end: span 2; grid-row: 0 }\
                    #x { display: inline-grid; position: absolute } #y { display: inline-grid }\
                    #z { grid-template-columns: repeat(2, 1fr) }</style>\
                    <div id=g><div id=i></div><span id=x></span><span id=y>y</span></div><div id=z></div>";
        let g = style_of(page, "g");
        assert_eq!(g.display, Display::Grid);
        assert_eq!((g.grid.template_rows.tracks.len(), g.grid.template_columns.tracks.len()), (2, 2));
        assert_eq!(g.grid.areas.as_ref().map(|areas| areas.areas.len()), Some(2));
        assert_eq!(g.grid.auto_flow, taffy::GridAutoFlow::ColumnDense);
        assert_eq!((g.align_items, g.justify_items), (AlignItems::Center, AlignItems::End));
        assert_eq!(g.align_content, ContentAlignment::SpaceBetween);
        let i = style_of(page, "i");
        assert_eq!(i.grid.row.start, taffy::GridPlacement::NamedLine("b".into(), 0));
        assert_eq!(i.grid.column.end, taffy::GridPlacement::Span(2), "a longhand after the shorthand");
        assert_eq!(
            i.grid.row.end,
            taffy::GridPlacement::NamedLine("b".into(), 0),
            "line 0 is invalid: ignored"
        );
        assert_eq!((i.align_self, i.justify_self), (Some(AlignItems::Start), Some(AlignItems::Start)));
        // An absolute inline grid is a block-level grid; a grid item keeps its parent's
        // decorations (it is blockified, not atomic).
        assert_eq!(style_of(page, "x").display, Display::Grid);
        let y = style_of(page, "y");
        assert_eq!(y.display, Display::InlineGrid);
        assert!(y.decorations.underline.is_some(), "{:?}", y.decorations);
        // Not inherited.
        assert_eq!(style_of(page, "z").grid.areas, None);
        assert_eq!(style_of(page, "i").grid.template_columns, grid::TrackList::default());
    }

    #[test]
    fn positioning_properties_and_absolute_boxes_are_blockified() {
        let page = "<style>#a { position: absolute; top: 1em; left: 10%; z-index: -3 } \
                    #b { position: relative; inset: 1px 2px; z-index: 2.5; position: sticky } \
                    #c { position: fixed; display: inline-block; z-index: auto } \
                    #d { position: relative; display: inline } #e { top: 5px; display: inline }</style>\
                    <span id=a></span><div id=b></div><span id=c></span><span id=d></span><span id=e></span>";
        let a = style_of(page, "a");
        assert_eq!((a.position, a.display, a.z_index), (Position::Absolute, Display::Block, Some(-3)));
        assert_eq!(
            (a.inset.top, a.inset.left, a.inset.right),
            (Length::Px(16.0), Length::Percent(10.0), Length::Auto)
        );
        // sticky and a fractional z-index are not supported: the declarations are ignored.
        let b = style_of(page, "b");
        assert_eq!((b.position, b.z_index), (Position::Relative, None));
        assert_eq!(b.inset.to_array(), [Length::Px(1.0), Length::Px(2.0), Length::Px(1.0), Length::Px(2.0)]);
        let c = style_of(page, "c");
        assert_eq!((c.position, c.display, c.z_index), (Position::Fixed, Display::Block, None));
        // Only out-of-flow boxes are blockified; insets do nothing to a static box's style.
        assert_eq!(style_of(page, "d").display, Display::Inline);
        let e = style_of(page, "e");
        assert_eq!(
            (e.position, e.display, e.inset.top),
            (Position::Static, Display::Inline, Length::Px(5.0))
        );
    }

    #[test]
    fn overflow_per_axis_and_how_visible_and_clip_compute() {
        let page = "<style>#a { overflow: hidden auto } #b { overflow-x: hidden } #c { overflow-x: clip } \
            #d { overflow: scroll clip } #e { overflow: clip; overflow: hidden auto scroll }</style> \
            <div id=a></div><div id=b></div><div id=c></div><div id=d></div><div id=e></div>";
        let axes = |id| {
            let style = style_of(page, id);
            (style.overflow_x, style.overflow_y)
        };
        assert_eq!(axes("a"), (Overflow::Hidden, Overflow::Auto), "x then y");
        // A scroll container along one axis: visible becomes auto along the other...
        assert_eq!(axes("b"), (Overflow::Hidden, Overflow::Auto));
        // ...but clip is not a scroll container, so visible stays.
        assert_eq!(axes("c"), (Overflow::Clip, Overflow::Visible));
        assert_eq!(axes("d"), (Overflow::Scroll, Overflow::Hidden), "clip becomes hidden");
        // Three values are invalid: the declaration before stands.
        assert_eq!(axes("e"), (Overflow::Clip, Overflow::Clip));
    }

    #[test]
    fn text_decoration_longhands_and_shorthand() {
        let page = "<style>#a { text-decoration: underline dotted red line-through 2px } \
                    #b { text-decoration: underline; text-decoration: none; text-decoration-color: blue } \
                    #c { text-decoration-line: overline underline; text-decoration: underline underline } \
                    #d { text-decoration: rgb(0, 128, 0) overline; text-decoration-color: currentColor } \
                    #e { text-decoration-line: none underline }</style>\
                    <p id=a></p><p id=b></p><p id=c></p><p id=d></p><p id=e></p>";
        let lines = |underline, overline, line_through| DecorationLines { underline, overline, line_through };
        let a = style_of(page, "a");
        assert_eq!(a.text_decoration_line, lines(true, false, true));
        assert_eq!(a.text_decoration_color.map(rgb), Some([255, 0, 0]));
        let b = style_of(page, "b");
        assert_eq!(
            (b.text_decoration_line, b.decorations),
            (lines(false, false, false), Decorations::default())
        );
        assert_eq!(b.text_decoration_color.map(rgb), Some([0, 0, 255]), "the longhand after the shorthand");
        // A repeated line is invalid: the declaration before stands.
        assert_eq!(style_of(page, "c").text_decoration_line, lines(true, true, false));
        let d = style_of(page, "d");
        assert_eq!((d.text_decoration_line, d.text_decoration_color), (lines(false, true, false), None));
        assert_eq!(style_of(page, "e").text_decoration_line, lines(false, false, false), "none alone");
    }

    #[test]
    fn decorations_reach_in_flow_descendants_in_the_decorating_box_colour_but_not_atomic_or_out_of_flow_ones()
    {
        let page = "<style>p { color: red; text-decoration: underline } em { color: blue } \
                    #c { display: inline-block } #d { position: absolute } \
                    #e { text-decoration: line-through; color: green } \
                    #f { display: flex } #g { display: inline-block; color: black }</style>\
                    <p><em id=a>x</em><span id=b><em id=e>y</em></span><span id=c>z</span><span id=d>w</span></p>\
                    <p id=f><span id=g>v</span></p><a id=h href=#>link</a>";
        let underline = |id| style_of(page, id).decorations.underline.map(rgb);
        // The underline keeps the paragraph's colour, whatever colour the text has.
        assert_eq!(underline("a"), Some([255, 0, 0]));
        assert_eq!(underline("b"), Some([255, 0, 0]));
        let e = style_of(page, "e").decorations;
        assert_eq!((e.underline.map(rgb), e.line_through.map(rgb)), (Some([255, 0, 0]), Some([0, 128, 0])));
        assert_eq!(underline("c"), None, "not into an inline-block");
        assert_eq!(underline("d"), None, "not into an absolute box");
        assert_eq!(underline("g"), Some([255, 0, 0]), "a flex item is blockified, and in flow");
        assert_eq!(underline("h"), Some([0, 0, 238]), "links are underlined in their own colour");
    }

    #[test]
    fn list_style_and_list_items() {
        let page = "<style>#b { list-style: inside none } #c { list-style: square url(\"m.png\") } \
                    #d { list-style: none none } #e { list-style: circle; list-style: none none none } \
                    #f { list-style-type: lower-latin; display: block }</style>\
                    <ul><li id=a></li></ul><ul id=b></ul><ul id=c></ul><ol id=d></ol><ol id=e></ol>\
                    <ol type=a><li id=f></li><li id=g type=I></li></ol><ul type=SQUARE><li id=h></li></ul>\
                    <ul><li><ul><li id=i></li><li><ol><li><ul><li id=j></li></ul></li></ol></li></ul></li></ul>";
        let list = |id| {
            let style = style_of(page, id);
            (style.list_style_type, style.list_style_position)
        };
        let a = style_of(page, "a");
        assert!(a.list_item && a.display == Display::Block);
        assert_eq!(list("a"), (ListStyleType::Disc, ListStylePosition::Outside));
        assert_eq!(list("b"), (ListStyleType::None, ListStylePosition::Inside));
        assert_eq!(list("c"), (ListStyleType::Square, ListStylePosition::Outside), "an image shows its type");
        assert_eq!(list("d"), (ListStyleType::None, ListStylePosition::Outside));
        assert_eq!(list("e"), (ListStyleType::Circle, ListStylePosition::Outside), "three nones are invalid");
        let f = style_of(page, "f");
        assert!(!f.list_item, "display: block is not a list item");
        assert_eq!(f.list_style_type, ListStyleType::LowerAlpha);
        assert_eq!(list("g").0, ListStyleType::UpperRoman, "ol and li types are case-sensitive");
        assert_eq!(list("h").0, ListStyleType::Square, "ul types are not");
        assert_eq!(list("i").0, ListStyleType::Circle);
        assert_eq!(list("j").0, ListStyleType::Square);
    }

    #[test]
    fn table_parts_and_attributes_through_the_cascade() {
        let page = "<style>#s { border-spacing: 3px 4px; border-collapse: collapse } #n { border-spacing: -1px }\
                    #bad { caption-side: left; vertical-align: 10% }</style>\
                    <table id=t border=2 cellspacing=5 cellpadding=7 width=80% align=center>\
                    <caption id=cap>c</caption><col id=col width=30><thead id=head><tr id=tr valign=top>\
                    <th id=th align=middle nowrap>h</th><td id=td><table id=inner><tr><td id=nested>n</table>\
                    </td></tr></thead><tbody><tr><td id=plain height=20>p</td></tr></tbody></table>\
                    <table id=s><tr><td id=inherits>i</td></tr></table><table id=n></table><div id=bad></div>";
        let t = style_of(page, "t");
        assert_eq!(t.display, Display::Table);
        assert_eq!(t.border_spacing, (5.0, 5.0));
        assert_eq!((t.border_widths().top, t.width), (2.0, Length::Percent(80.0)));
        assert_eq!((t.margin.left, t.margin.right), (Length::Auto, Length::Auto));
        assert_eq!(style_of(page, "cap").display, Display::TableCaption);
        assert_eq!(
            (style_of(page, "col").display, style_of(page, "col").width),
            (Display::TableColumn, Length::Px(30.0))
        );
        assert_eq!(style_of(page, "head").display, Display::TableHeaderGroup);
        assert_eq!(style_of(page, "tr").display, Display::TableRow);
        // Cells of a table with `border` and `cellpadding` get a 1px border and the padding;
        // a nested table's cells do not.
        let th = style_of(page, "th");
        assert_eq!(
            (th.display, th.border_widths().left, th.padding.top),
            (Display::TableCell, 1.0, Length::Px(7.0))
        );
        assert_eq!(
            (th.text_align, th.white_space, th.font_weight),
            (TextAlign::Center, WhiteSpace::NoWrap, 700)
        );
        let nested = style_of(page, "nested");
        assert_eq!((nested.border_widths().left, nested.padding.top), (0.0, Length::Px(1.0)));
        // vertical-align: the row's `valign` reaches its cells through `inherit`; a body's
        // rows are middle-aligned.
        assert_eq!(th.vertical_align, VerticalAlign::Top);
        assert_eq!(style_of(page, "plain").vertical_align, VerticalAlign::Middle);
        assert_eq!(style_of(page, "plain").height, Length::Px(20.0));
        // border-spacing and border-collapse inherit; bad values are ignored.
        let inherits = style_of(page, "inherits");
        assert_eq!(
            (inherits.border_spacing, inherits.border_collapse),
            ((3.0, 4.0), BorderCollapse::Collapse)
        );
        assert_eq!(style_of(page, "n").border_spacing, (2.0, 2.0));
        let bad = style_of(page, "bad");
        assert_eq!((bad.caption_side, bad.vertical_align), (CaptionSide::Top, VerticalAlign::Baseline));
    }
}
