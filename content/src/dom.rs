//! The DOM: an arena of nodes built by html5ever through our own `TreeSink`.
//!
//! Nodes live in one `Vec` and refer to each other by [`NodeId`]; nothing is reference
//! counted. Owned by the content process's main thread.

use std::borrow::Cow;
use std::cell::{Cell, Ref, RefCell};
use std::rc::Rc;

use html5ever::interface::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{Attribute, LocalName, QualName, ns, parse_document};

/// Index of a node in its [`Document`]'s arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u32);

impl NodeId {
    /// The document node, root of every tree.
    pub const DOCUMENT: NodeId = NodeId(0);

    /// Position in the arena (dense from 0, so side tables can be vectors).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What a node is.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeData {
    /// The root.
    Document,
    /// `<!DOCTYPE …>`.
    Doctype,
    /// An element with its attributes (in source order).
    Element {
        /// Tag name (HTML namespace for HTML elements).
        name: QualName,
        /// Attributes as (name, value).
        attrs: Vec<(LocalName, String)>,
    },
    /// Character data.
    Text(String),
    /// A comment or processing instruction; never rendered.
    Comment,
}

/// One node of the tree.
#[derive(Debug, Clone)]
pub struct Node {
    /// Parent, `None` for the document and detached nodes.
    pub parent: Option<NodeId>,
    /// Children in document order.
    pub children: Vec<NodeId>,
    /// What the node is.
    pub data: NodeData,
}

/// A parsed page.
#[derive(Debug, Clone)]
pub struct Document {
    nodes: Vec<Node>,
    /// Each node's index in its parent's `children` (0 for parentless nodes), so sibling
    /// steps are O(1): selectors like `:nth-child` and `+` take them for every element.
    positions: Vec<u32>,
}

/// A page the parser gives up on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// Thousands of elements nested past [`MAX_DEPTH`]: html5ever's scope checks walk its
    /// stack of open elements, so such a page costs quadratic time to parse.
    #[error(
        "the page nests more than {capped} elements deeper than {MAX_DEPTH} levels; \
         Armature stops parsing it rather than spend quadratic time (close your tags)"
    )]
    TooDeep {
        /// How many elements were over the depth cap when parsing stopped.
        capped: usize,
    },
}

/// Elements past [`MAX_DEPTH`] tolerated before parsing stops with [`ParseError::TooDeep`].
pub const MAX_CAPPED_ELEMENTS: usize = 2_000;

/// Bytes fed to the parser between checks of [`MAX_CAPPED_ELEMENTS`].
const PARSE_CHUNK: usize = 16 * 1024;

impl Document {
    /// Parses HTML text (already decoded) into a document. html5ever recovers from any
    /// malformed markup the way browsers do; only pathological nesting is refused.
    pub fn parse(html: &str) -> Result<Document, ParseError> {
        let sink = DomSink::default();
        let capped = Rc::clone(&sink.capped);
        let mut parser = parse_document(sink, Default::default());
        let mut rest = html;
        while !rest.is_empty() {
            let mut end = rest.len().min(PARSE_CHUNK);
            while !rest.is_char_boundary(end) {
                end += 1;
            }
            let (chunk, tail) = rest.split_at(end);
            parser.process(StrTendril::from_slice(chunk));
            rest = tail;
            if capped.get() > MAX_CAPPED_ELEMENTS {
                return Err(ParseError::TooDeep { capped: capped.get() });
            }
        }
        Ok(parser.finish())
    }

    /// The node behind an id.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    /// Number of nodes, the document included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the document has only its root.
    pub fn is_empty(&self) -> bool {
        self.nodes.len() <= 1
    }

    /// The element's local name, if the node is an element.
    pub fn tag(&self, id: NodeId) -> Option<&LocalName> {
        match &self.node(id).data {
            NodeData::Element { name, .. } => Some(&name.local),
            _ => None,
        }
    }

    /// An attribute's value, if the node is an element that has it.
    pub fn attr(&self, id: NodeId, attr: &str) -> Option<&str> {
        match &self.node(id).data {
            NodeData::Element { attrs, .. } => {
                attrs.iter().find(|(name, _)| &**name == attr).map(|(_, value)| value.as_str())
            }
            _ => None,
        }
    }

    /// The nearest element before `id` among its parent's children.
    pub fn previous_element_sibling(&self, id: NodeId) -> Option<NodeId> {
        let siblings = &self.node(self.node(id).parent?).children;
        let position = self.positions[id.index()] as usize;
        siblings[..position].iter().rev().copied().find(|&sibling| self.tag(sibling).is_some())
    }

    /// The nearest element after `id` among its parent's children.
    pub fn next_element_sibling(&self, id: NodeId) -> Option<NodeId> {
        let siblings = &self.node(self.node(id).parent?).children;
        let position = self.positions[id.index()] as usize;
        siblings.get(position + 1..)?.iter().copied().find(|&sibling| self.tag(sibling).is_some())
    }

    /// All descendants of `root` in document order (root first).
    pub fn descendants(&self, root: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        let mut stack = vec![root];
        std::iter::from_fn(move || {
            let id = stack.pop()?;
            stack.extend(self.node(id).children.iter().rev().copied());
            Some(id)
        })
    }

    /// The first element with this tag name, in document order.
    pub fn first_element(&self, tag: &str) -> Option<NodeId> {
        self.descendants(NodeId::DOCUMENT).find(|&id| self.tag(id).is_some_and(|name| &**name == tag))
    }

    /// The concatenated text of a node's descendants.
    pub fn text_content(&self, id: NodeId) -> String {
        self.descendants(id)
            .filter_map(|node| match &self.node(node).data {
                NodeData::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The `<title>`, whitespace-collapsed, if the page has a non-empty one.
    pub fn title(&self) -> Option<String> {
        let title = self.first_element("title")?;
        let text = self.text_content(title);
        let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
        (!collapsed.is_empty()).then_some(collapsed)
    }
}

/// The deepest an element may nest. Deeper elements are attached as siblings at this depth,
/// as Chromium's parser does (kMaximumHTMLParserDOMTreeDepth), so hostile nesting cannot
/// overflow the stack of style, layout or painting.
pub const MAX_DEPTH: usize = 512;

/// html5ever's view of our arena while parsing.
#[derive(Default)]
struct DomSink {
    nodes: RefCell<Vec<Node>>,
    /// Each node's element name, parallel to `nodes` (empty for non-elements), so that
    /// `elem_name` can hand out a `Ref` and stays total for any handle.
    names: RefCell<Vec<QualName>>,
    /// How many insertions the depth cap redirected (shared with [`Document::parse`]).
    capped: Rc<Cell<usize>>,
}

impl DomSink {
    fn push(&self, data: NodeData) -> NodeId {
        self.ensure_document();
        let name = match &data {
            NodeData::Element { name, .. } => name.clone(),
            _ => empty_name(),
        };
        let mut nodes = self.nodes.borrow_mut();
        let id = NodeId(u32::try_from(nodes.len()).unwrap_or(u32::MAX));
        nodes.push(Node { parent: None, children: Vec::new(), data });
        self.names.borrow_mut().push(name);
        id
    }

    fn ensure_document(&self) {
        if self.nodes.borrow().is_empty() {
            self.nodes.borrow_mut().push(Node {
                parent: None,
                children: Vec::new(),
                data: NodeData::Document,
            });
            self.names.borrow_mut().push(empty_name());
        }
    }

    /// Where a child of `parent` goes when `parent` is already [`MAX_DEPTH`] deep: the
    /// ancestor one level above the cap, so the child becomes a sibling instead of nesting
    /// deeper. `None` when `parent` is shallow enough.
    fn depth_capped(&self, parent: NodeId) -> Option<NodeId> {
        let nodes = self.nodes.borrow();
        let mut depth = 0;
        let mut current = parent;
        while let Some(up) = nodes[current.index()].parent {
            depth += 1;
            current = up;
            if depth >= MAX_DEPTH {
                return nodes[parent.index()].parent;
            }
        }
        None
    }

    fn detach(&self, id: NodeId) {
        let mut nodes = self.nodes.borrow_mut();
        if let Some(parent) = nodes[id.index()].parent.take() {
            nodes[parent.index()].children.retain(|&child| child != id);
        }
    }

    /// Appends text to `parent`, merging with a preceding text node as the spec requires.
    fn append_text(&self, parent: NodeId, position: Option<usize>, text: &str) {
        {
            let mut nodes = self.nodes.borrow_mut();
            let siblings = &nodes[parent.index()].children;
            let previous = match position {
                Some(0) => None,
                Some(index) => siblings.get(index - 1).copied(),
                None => siblings.last().copied(),
            };
            if let Some(previous) = previous
                && let NodeData::Text(existing) = &mut nodes[previous.index()].data
            {
                existing.push_str(text);
                return;
            }
        }
        let id = self.push(NodeData::Text(text.to_owned()));
        self.insert(parent, position, id);
    }

    fn insert(&self, parent: NodeId, position: Option<usize>, child: NodeId) {
        let (parent, position) = match self.depth_capped(parent) {
            Some(ancestor) => {
                self.capped.set(self.capped.get() + 1);
                (ancestor, None)
            }
            None => (parent, position),
        };
        self.detach(child);
        let mut nodes = self.nodes.borrow_mut();
        nodes[child.index()].parent = Some(parent);
        let children = &mut nodes[parent.index()].children;
        match position {
            Some(index) => children.insert(index.min(children.len()), child),
            None => children.push(child),
        }
    }
}

impl TreeSink for DomSink {
    type Handle = NodeId;
    type Output = Document;
    type ElemName<'a> = Ref<'a, QualName>;

    fn finish(self) -> Document {
        self.ensure_document();
        let nodes = self.nodes.into_inner();
        let mut positions = vec![0; nodes.len()];
        for node in &nodes {
            for (position, child) in node.children.iter().enumerate() {
                positions[child.index()] = u32::try_from(position).unwrap_or(u32::MAX);
            }
        }
        Document { nodes, positions }
    }

    fn parse_error(&self, msg: Cow<'static, str>) {
        tracing::debug!(target: "armature::dom", "html parse error: {msg}");
    }

    fn get_document(&self) -> NodeId {
        self.ensure_document();
        NodeId::DOCUMENT
    }

    fn elem_name<'a>(&'a self, target: &'a NodeId) -> Ref<'a, QualName> {
        Ref::map(self.names.borrow(), |names| &names[target.index()])
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, _: ElementFlags) -> NodeId {
        let attrs = attrs.into_iter().map(|attr| (attr.name.local, attr.value.to_string())).collect();
        self.push(NodeData::Element { name, attrs })
    }

    fn create_comment(&self, _text: StrTendril) -> NodeId {
        self.push(NodeData::Comment)
    }

    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> NodeId {
        self.push(NodeData::Comment)
    }

    fn append(&self, parent: &NodeId, child: NodeOrText<NodeId>) {
        match child {
            NodeOrText::AppendNode(node) => self.insert(*parent, None, node),
            NodeOrText::AppendText(text) => self.append_text(*parent, None, &text),
        }
    }

    fn append_based_on_parent_node(
        &self,
        element: &NodeId,
        prev_element: &NodeId,
        child: NodeOrText<NodeId>,
    ) {
        if self.nodes.borrow()[element.index()].parent.is_some() {
            self.append_before_sibling(element, child);
        } else {
            self.append(prev_element, child);
        }
    }

    fn append_doctype_to_document(&self, _: StrTendril, _: StrTendril, _: StrTendril) {
        let doctype = self.push(NodeData::Doctype);
        self.insert(NodeId::DOCUMENT, None, doctype);
    }

    fn get_template_contents(&self, target: &NodeId) -> NodeId {
        // Template contents are inert; parse them into the template itself, never rendered
        // because the UA sheet hides <template>.
        *target
    }

    fn same_node(&self, x: &NodeId, y: &NodeId) -> bool {
        x == y
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &NodeId, new_node: NodeOrText<NodeId>) {
        let Some(parent) = self.nodes.borrow()[sibling.index()].parent else {
            return;
        };
        let position = self.nodes.borrow()[parent.index()].children.iter().position(|c| c == sibling);
        match new_node {
            NodeOrText::AppendNode(node) => self.insert(parent, position, node),
            NodeOrText::AppendText(text) => self.append_text(parent, position, &text),
        }
    }

    fn add_attrs_if_missing(&self, target: &NodeId, new_attrs: Vec<Attribute>) {
        let mut nodes = self.nodes.borrow_mut();
        if let NodeData::Element { attrs, .. } = &mut nodes[target.index()].data {
            for attr in new_attrs {
                if !attrs.iter().any(|(name, _)| *name == attr.name.local) {
                    attrs.push((attr.name.local, attr.value.to_string()));
                }
            }
        }
    }

    fn remove_from_parent(&self, target: &NodeId) {
        self.detach(*target);
    }

    fn reparent_children(&self, node: &NodeId, new_parent: &NodeId) {
        let children = std::mem::take(&mut self.nodes.borrow_mut()[node.index()].children);
        for child in children {
            self.nodes.borrow_mut()[child.index()].parent = None;
            self.insert(*new_parent, None, child);
        }
    }
}

fn empty_name() -> QualName {
    QualName::new(None, ns!(), LocalName::from(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_elements_and_merges_text() {
        let doc = Document::parse("<title> Hi  there </title><p id=a>one <b>two</b> three").expect("parses");
        assert_eq!(doc.title().as_deref(), Some("Hi there"));
        let p = doc.first_element("p").expect("p element");
        assert_eq!(doc.attr(p, "id"), Some("a"));
        assert_eq!(doc.text_content(p), "one two three");
    }

    #[test]
    fn nesting_stops_at_the_depth_cap() {
        let html = "<div>".repeat(MAX_DEPTH * 2);
        let document = Document::parse(&html).expect("within the cap");
        let depth = |mut id: NodeId| {
            let mut depth = 0;
            while let Some(parent) = document.node(id).parent {
                depth += 1;
                id = parent;
            }
            depth
        };
        let deepest = document.descendants(NodeId::DOCUMENT).map(depth).max().unwrap_or(0);
        assert_eq!(deepest, MAX_DEPTH);
        let divs = document
            .descendants(NodeId::DOCUMENT)
            .filter(|&id| document.tag(id).is_some_and(|t| &**t == "div"));
        assert_eq!(divs.count(), MAX_DEPTH * 2, "no element is dropped");
        let error =
            Document::parse(&"<div>".repeat(MAX_DEPTH + MAX_CAPPED_ELEMENTS + 100)).expect_err("refused");
        assert!(matches!(error, ParseError::TooDeep { .. }));
    }

    #[test]
    fn malformed_markup_still_builds_a_tree() {
        let doc = Document::parse("<div><p>unclosed <span>deep</div></i><table><td>x").expect("parses");
        assert!(doc.first_element("body").is_some());
        assert!(doc.text_content(NodeId::DOCUMENT).contains("deep"));
    }

    #[test]
    fn content_misplaced_in_a_table_is_foster_parented_before_it() {
        // HTML §13.2.6.1: text and elements where a table part belongs go just before the
        // table (html5ever decides; our sink's `append_based_on_parent_node` places them).
        let doc = Document::parse(
            "<div id=d><table><tr><td>a</td></tr>stray<b>bold</b><tr><td>b</td></tr></table></div>",
        )
        .expect("parses");
        let div = doc.descendants(NodeId::DOCUMENT).find(|&id| doc.attr(id, "id") == Some("d")).expect("div");
        let children: Vec<String> = doc
            .node(div)
            .children
            .iter()
            .map(|&child| match &doc.node(child).data {
                NodeData::Text(text) => text.clone(),
                _ => doc.tag(child).map(|tag| tag.to_string()).unwrap_or_default(),
            })
            .collect();
        assert_eq!(children, ["stray", "b", "table"]);
        let table = doc.first_element("table").expect("table");
        assert!(!doc.text_content(table).contains("stray"));
        let rows = doc.descendants(table).filter(|&id| doc.tag(id).is_some_and(|tag| &**tag == "tr")).count();
        assert_eq!(rows, 2);
    }
}
