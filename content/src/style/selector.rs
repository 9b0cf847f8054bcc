//! Selectors: Servo's `selectors` crate (the engine Firefox's Stylo runs) parses and
//! matches them, so a sheet gets Selectors Level 4 as browsers ship it: every combinator
//! (` `, `>`, `+`, `~`), attribute selectors with all their operators, the tree-structural
//! pseudo-classes (`:first-child`, `:nth-child(2n+1 of .x)`, `:only-of-type`, `:root`,
//! `:empty`, …), `:not()`, `:is()`, `:where()` and `:has()`, with their specificities.
//!
//! This module binds that engine to our DOM (`DomElement`: a node of a [`Document`]) and
//! says what the other pseudo-classes mean in a page that is rendered, not interacted with:
//! no element is hovered, active, focused, visited or targeted; `:link`, `:checked`,
//! `:disabled`, `:enabled` and `:lang()` follow HTML §4.16.3 from the markup alone.
//! Pseudo-elements parse (a rule may list `p, p::before`); `::before` and `::after` rules
//! are filed in maps of their own ([`SelectorMap::for_pseudo`]) and style generated content,
//! the others select nothing.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt::{self, Write};

use cssparser::{ParseError, Parser as CssParser, ToCss, Token};
use html5ever::{LocalName, Namespace, ns};
use precomputed_hash::PrecomputedHash;
use selectors::attr::{AttrSelectorOperation, CaseSensitivity, NamespaceConstraint};
use selectors::bloom::BloomFilter;
use selectors::matching::{
    ElementSelectorFlags, MatchingContext, MatchingForInvalidation, MatchingMode, NeedsSelectorFlags,
    QuirksMode, SelectorCaches, matches_selector,
};
use selectors::parser::{Component, ParseRelative, Selector, SelectorParseErrorKind};
use selectors::{Element, OpaqueElement, SelectorList};

use super::generated::Pseudo;
use crate::dom::{Document, NodeData, NodeId};

/// Specificity as (ids, classes, types); compared lexicographically.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Specificity(pub u32, pub u32, pub u32);

impl Specificity {
    /// The `selectors` crate's packed form: ten bits each, ids highest.
    fn unpack(packed: u32) -> Specificity {
        const TEN_BITS: u32 = (1 << 10) - 1;
        Specificity(packed >> 20 & TEN_BITS, packed >> 10 & TEN_BITS, packed & TEN_BITS)
    }
}

/// A rule's selector list, e.g. `h1, .note > p:first-child`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selectors(SelectorList<Armature>);

/// Why a rule's selector list was dropped (CSS drops the whole rule).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid or unsupported selector: {0}")]
pub struct InvalidSelector(String);

impl Selectors {
    /// Parses a selector list. Any invalid or unsupported selector in it is an error, and
    /// the rule is dropped, as CSS requires (inside `:is()` and `:where()` one is skipped).
    pub fn parse(text: &str) -> Result<Selectors, InvalidSelector> {
        let mut parser = CssParser::new(text);
        let list = parser
            .parse_entirely(|parser| SelectorList::parse(&SheetParser, parser, ParseRelative::No))
            .map_err(|error| InvalidSelector(format!("{:?}", error.kind)))?;
        Ok(Selectors(list))
    }

    /// How many selectors the list has.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the list is empty (never, once parsed).
    pub fn is_empty(&self) -> bool {
        self.0.len() == 0
    }
}

/// Selectors filed by what their rightmost compound requires, as WebKit's `RuleSet` and
/// Stylo's `SelectorMap` file them: an id, else a class, else a tag name, else nothing. An
/// element is matched only against the selectors filed under its id, its classes, its tag
/// and nothing, not against every selector of every sheet. Each selector carries a `T`, its
/// rule's place in the cascade.
pub struct SelectorMap<T> {
    /// The pseudo-element whose selectors this map files (`None`: elements').
    pseudo: Option<PseudoElement>,
    ids: HashMap<Box<str>, Vec<Entry<T>>>,
    classes: HashMap<Box<str>, Vec<Entry<T>>>,
    tags: HashMap<LocalName, Vec<Entry<T>>>,
    universal: Vec<Entry<T>>,
}

struct Entry<T> {
    selector: Selector<Armature>,
    value: T,
}

impl<T> Default for SelectorMap<T> {
    fn default() -> Self {
        SelectorMap {
            pseudo: None,
            ids: HashMap::new(),
            classes: HashMap::new(),
            tags: HashMap::new(),
            universal: Vec::new(),
        }
    }
}

impl<T: Copy + Ord> SelectorMap<T> {
    /// A map of the selectors of `pseudo` (`p::before`, `.note::after`), matched against
    /// the element the pseudo-element belongs to.
    pub fn for_pseudo(pseudo: Pseudo) -> SelectorMap<T> {
        let pseudo = match pseudo {
            Pseudo::Before => PseudoElement::Before,
            Pseudo::After => PseudoElement::After,
        };
        SelectorMap { pseudo: Some(pseudo), ..SelectorMap::default() }
    }

    /// Whether no selector is filed.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty() && self.classes.is_empty() && self.tags.is_empty() && self.universal.is_empty()
    }

    /// Files each selector of `selectors` that selects what this map is for (elements, or
    /// its pseudo-element) with `value`.
    pub fn insert(&mut self, selectors: &Selectors, value: T) {
        for selector in
            selectors.0.slice().iter().filter(|selector| selector.pseudo_element() == self.pseudo.as_ref())
        {
            let (mut id, mut class, mut tag) = (None, None, None);
            let mut compound = selector.iter();
            if self.pseudo.is_some() {
                // `p.note::before` is stored as `::before`, a pseudo-element combinator,
                // then `p.note`: file it by the element's compound.
                compound.by_ref().for_each(drop);
                compound.next_sequence();
            }
            for component in compound {
                match component {
                    Component::ID(name) => id = Some(&name.0),
                    Component::Class(name) => class = Some(&name.0),
                    // A name with capitals matches HTML elements case-insensitively: it is
                    // filed under nothing rather than under one spelling.
                    Component::LocalName(name) if name.name == name.lower_name => tag = Some(&name.name.0),
                    _ => {}
                }
            }
            let entry = Entry { selector: selector.clone(), value };
            let bucket = match (id, class, tag) {
                (Some(id), _, _) => self.ids.entry(Box::from(&**id)).or_default(),
                (None, Some(class), _) => self.classes.entry(Box::from(&**class)).or_default(),
                (None, None, Some(tag)) => self.tags.entry(tag.clone()).or_default(),
                (None, None, None) => &mut self.universal,
            };
            bucket.push(entry);
        }
    }

    /// Appends to `out` the values of the selectors that match `element`, each once with its
    /// most specific matching selector's specificity, in `T`'s order (after what `out`
    /// held, which is expected to come first in that order).
    pub fn matching(
        &self,
        document: &Document,
        element: NodeId,
        matcher: &mut Matcher,
        out: &mut Vec<(T, Specificity)>,
    ) {
        let start = out.len();
        let element = DomElement { document, id: element };
        let Some(name) = element.name() else { return };
        let mode = match self.pseudo {
            Some(_) => MatchingMode::ForStatelessPseudoElement,
            None => MatchingMode::Normal,
        };
        let mut context = MatchingContext::new(
            mode,
            None,
            &mut matcher.caches,
            QuirksMode::NoQuirks,
            NeedsSelectorFlags::No,
            MatchingForInvalidation::No,
        );
        let mut consider = |entries: Option<&Vec<Entry<T>>>| {
            for entry in entries.into_iter().flatten() {
                if matches_selector(&entry.selector, 0, None, element, &mut context) {
                    out.push((entry.value, Specificity::unpack(entry.selector.specificity())));
                }
            }
        };
        // Empty buckets are skipped before the attribute lookups: most maps of `::before`
        // and `::after` selectors hold a few tags, and every element is matched against them.
        if !self.ids.is_empty()
            && let Some(id) = element.attr("id")
        {
            consider(self.ids.get(id));
        }
        if !self.classes.is_empty() {
            for class in element.attr("class").unwrap_or("").split_ascii_whitespace() {
                consider(self.classes.get(class));
            }
        }
        consider(self.tags.get(&name.local));
        consider(Some(&self.universal));
        if out.len() - start < 2 {
            return;
        }
        // Highest specificity first within a value, so `dedup` keeps it.
        out[start..].sort_unstable_by(|(value, specificity), (other, other_specificity)| {
            value.cmp(other).then(other_specificity.cmp(specificity))
        });
        let mut kept = start;
        for index in start..out.len() {
            if kept == start || out[kept - 1].0 != out[index].0 {
                out[kept] = out[index];
                kept += 1;
            }
        }
        out.truncate(kept);
    }
}

/// What matching keeps between elements of one document: the `:nth-child` index cache
/// (without it, styling every row of a long table is quadratic). Valid while the document
/// it matched against is unchanged.
#[derive(Default)]
pub struct Matcher {
    caches: SelectorCaches,
}

/// Armature's choice of types for the `selectors` crate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Armature;

impl selectors::SelectorImpl for Armature {
    type ExtraMatchingData<'a> = ();
    type AttrValue = CssString;
    type Identifier = CssName;
    type LocalName = CssName;
    type NamespaceUrl = CssNamespace;
    type NamespacePrefix = CssName;
    type BorrowedNamespaceUrl = Namespace;
    type BorrowedLocalName = LocalName;
    type NonTSPseudoClass = PseudoClass;
    type PseudoElement = PseudoElement;
}

/// A name in a selector (type, class, id, attribute): an html5ever atom, as the DOM's
/// names are, so comparing a type selector with an element's name is a pointer compare.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CssName(LocalName);

impl From<&str> for CssName {
    fn from(text: &str) -> CssName {
        CssName(LocalName::from(text))
    }
}

impl Borrow<LocalName> for CssName {
    fn borrow(&self) -> &LocalName {
        &self.0
    }
}

impl PrecomputedHash for CssName {
    fn precomputed_hash(&self) -> u32 {
        self.0.precomputed_hash()
    }
}

impl ToCss for CssName {
    fn to_css<W: Write>(&self, dest: &mut W) -> fmt::Result {
        cssparser::serialize_identifier(&self.0, dest)
    }
}

/// An attribute selector's value, e.g. the `x` of `[type="x"]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CssString(String);

impl From<&str> for CssString {
    fn from(text: &str) -> CssString {
        CssString(text.to_owned())
    }
}

impl AsRef<str> for CssString {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl ToCss for CssString {
    fn to_css<W: Write>(&self, dest: &mut W) -> fmt::Result {
        cssparser::serialize_string(&self.0, dest)
    }
}

/// A namespace URL (sheets cannot declare prefixes yet, so only `*|` and `|` reach one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CssNamespace(Namespace);

impl Borrow<Namespace> for CssNamespace {
    fn borrow(&self) -> &Namespace {
        &self.0
    }
}

impl PrecomputedHash for CssNamespace {
    fn precomputed_hash(&self) -> u32 {
        self.0.precomputed_hash()
    }
}

/// The pseudo-classes that are not about the tree's structure (the crate handles those).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PseudoClass {
    /// `:link`: an `a` or `area` with an `href` (none is ever visited).
    Link,
    /// `:any-link`: as `:link`.
    AnyLink,
    /// `:visited`: never (no history; it also keeps history from leaking).
    Visited,
    /// `:hover`: never in a rendered page (no pointer).
    Hover,
    /// `:active`: never.
    Active,
    /// `:focus`: never (nothing has focus).
    Focus,
    /// `:focus-visible`: never.
    FocusVisible,
    /// `:focus-within`: never.
    FocusWithin,
    /// `:target`: never (pages load without a fragment).
    Target,
    /// `:checked`: a checked checkbox or radio button, or a selected `option`.
    Checked,
    /// `:disabled`: a form control that is disabled, itself or through a `fieldset` or
    /// `optgroup`.
    Disabled,
    /// `:enabled`: a form control that is not.
    Enabled,
    /// `:lang(en, fr-CA)`: the element's language (its nearest `lang`) is one of the ranges
    /// or a subtag of one.
    Lang(Box<[String]>),
}

impl PseudoClass {
    fn name(&self) -> &'static str {
        match self {
            PseudoClass::Link => "link",
            PseudoClass::AnyLink => "any-link",
            PseudoClass::Visited => "visited",
            PseudoClass::Hover => "hover",
            PseudoClass::Active => "active",
            PseudoClass::Focus => "focus",
            PseudoClass::FocusVisible => "focus-visible",
            PseudoClass::FocusWithin => "focus-within",
            PseudoClass::Target => "target",
            PseudoClass::Checked => "checked",
            PseudoClass::Disabled => "disabled",
            PseudoClass::Enabled => "enabled",
            PseudoClass::Lang(_) => "lang",
        }
    }
}

impl ToCss for PseudoClass {
    fn to_css<W: Write>(&self, dest: &mut W) -> fmt::Result {
        write!(dest, ":{}", self.name())?;
        if let PseudoClass::Lang(ranges) = self {
            dest.write_char('(')?;
            for (index, range) in ranges.iter().enumerate() {
                if index > 0 {
                    dest.write_str(", ")?;
                }
                cssparser::serialize_string(range, dest)?;
            }
            dest.write_char(')')?;
        }
        Ok(())
    }
}

impl selectors::parser::NonTSPseudoClass for PseudoClass {
    fn is_active_or_hover(&self) -> bool {
        matches!(self, PseudoClass::Active | PseudoClass::Hover)
    }

    fn is_user_action_state(&self) -> bool {
        matches!(
            self,
            PseudoClass::Active
                | PseudoClass::Hover
                | PseudoClass::Focus
                | PseudoClass::FocusVisible
                | PseudoClass::FocusWithin
        )
    }
}

/// The pseudo-elements browsers know. They parse, so a rule that lists one with other
/// selectors still applies to those; `::before` and `::after` style generated content, the
/// others nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PseudoElement {
    /// `::before`.
    Before,
    /// `::after`.
    After,
    /// `::marker`.
    Marker,
    /// `::first-line`.
    FirstLine,
    /// `::first-letter`.
    FirstLetter,
    /// `::placeholder`.
    Placeholder,
    /// `::selection`.
    Selection,
    /// `::backdrop`.
    Backdrop,
    /// `::file-selector-button`.
    FileSelectorButton,
}

impl PseudoElement {
    const ALL: [(&'static str, PseudoElement); 9] = [
        ("before", PseudoElement::Before),
        ("after", PseudoElement::After),
        ("marker", PseudoElement::Marker),
        ("first-line", PseudoElement::FirstLine),
        ("first-letter", PseudoElement::FirstLetter),
        ("placeholder", PseudoElement::Placeholder),
        ("selection", PseudoElement::Selection),
        ("backdrop", PseudoElement::Backdrop),
        ("file-selector-button", PseudoElement::FileSelectorButton),
    ];
}

impl ToCss for PseudoElement {
    fn to_css<W: Write>(&self, dest: &mut W) -> fmt::Result {
        let name = Self::ALL.iter().find(|(_, element)| element == self).map_or("", |(name, _)| name);
        write!(dest, "::{name}")
    }
}

impl selectors::parser::PseudoElement for PseudoElement {
    fn is_before_or_after(&self) -> bool {
        matches!(self, PseudoElement::Before | PseudoElement::After)
    }
}

/// Parses selectors with the pseudo-classes above, `:is()`, `:where()`, `:has()` and
/// `:nth-child(… of S)`.
struct SheetParser;

impl<'i> selectors::Parser<'i> for SheetParser {
    type Impl = Armature;
    type Error = SelectorParseErrorKind;

    fn parse_nth_child_of(&self) -> bool {
        true
    }

    fn parse_is_and_where(&self) -> bool {
        true
    }

    fn parse_has(&self) -> bool {
        true
    }

    fn parse_non_ts_pseudo_class(&self, name: &str) -> Result<PseudoClass, ParseError<Self::Error>> {
        let class = match &*name.to_ascii_lowercase() {
            "link" => PseudoClass::Link,
            "any-link" => PseudoClass::AnyLink,
            "visited" => PseudoClass::Visited,
            "hover" => PseudoClass::Hover,
            "active" => PseudoClass::Active,
            "focus" => PseudoClass::Focus,
            "focus-visible" => PseudoClass::FocusVisible,
            "focus-within" => PseudoClass::FocusWithin,
            "target" => PseudoClass::Target,
            "checked" => PseudoClass::Checked,
            "disabled" => PseudoClass::Disabled,
            "enabled" => PseudoClass::Enabled,
            _ => return Err(ParseError::custom(SelectorParseErrorKind::UnsupportedPseudoClassOrElement)),
        };
        Ok(class)
    }

    fn parse_non_ts_functional_pseudo_class(
        &self,
        name: &str,
        arguments: &mut CssParser<'i>,
        _after_part: bool,
    ) -> Result<PseudoClass, ParseError<Self::Error>> {
        if !name.eq_ignore_ascii_case("lang") {
            return Err(ParseError::custom(SelectorParseErrorKind::UnsupportedPseudoClassOrElement));
        }
        let ranges = arguments.parse_comma_separated(|argument| match argument.next()? {
            Token::Ident(range) | Token::QuotedString(range) => Ok(range.to_string()),
            _ => Err(ParseError::unexpected_token()),
        })?;
        Ok(PseudoClass::Lang(ranges.into()))
    }

    fn parse_pseudo_element(&self, name: &str) -> Result<PseudoElement, ParseError<Self::Error>> {
        PseudoElement::ALL
            .iter()
            .find(|(known, _)| name.eq_ignore_ascii_case(known))
            .map(|&(_, element)| element)
            .ok_or_else(|| ParseError::custom(SelectorParseErrorKind::UnsupportedPseudoClassOrElement))
    }
}

/// An element of a document, as the `selectors` crate walks it.
#[derive(Clone, Copy)]
struct DomElement<'a> {
    document: &'a Document,
    id: NodeId,
}

impl fmt::Debug for DomElement<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "<{}> {:?}", self.name().map_or("?", |name| &name.local), self.id)
    }
}

impl<'a> DomElement<'a> {
    fn at(&self, id: NodeId) -> DomElement<'a> {
        DomElement { document: self.document, id }
    }

    fn name(&self) -> Option<&'a html5ever::QualName> {
        match &self.document.node(self.id).data {
            NodeData::Element { name, .. } => Some(name),
            _ => None,
        }
    }

    fn is_html(&self, local: &str) -> bool {
        self.name().is_some_and(|name| name.ns == ns!(html) && &*name.local == local)
    }

    fn attr(&self, name: &str) -> Option<&'a str> {
        self.document.attr(self.id, name)
    }

    /// HTML §4.10.18.5's "actually disabled" for the elements that can be.
    fn is_disabled(&self) -> bool {
        let Some(name) = self.name().filter(|name| name.ns == ns!(html)) else { return false };
        match &*name.local {
            "option" => {
                self.attr("disabled").is_some()
                    || self
                        .parent_element()
                        .is_some_and(|parent| parent.is_html("optgroup") && parent.attr("disabled").is_some())
            }
            "optgroup" => self.attr("disabled").is_some(),
            "button" | "input" | "select" | "textarea" | "fieldset" => {
                self.attr("disabled").is_some() || self.in_disabled_fieldset()
            }
            _ => false,
        }
    }

    /// Whether a disabled `fieldset` holds the element outside its first `legend`.
    fn in_disabled_fieldset(&self) -> bool {
        let mut child = *self;
        while let Some(ancestor) = child.parent_element() {
            if ancestor.is_html("fieldset") && ancestor.attr("disabled").is_some() {
                let children = &self.document.node(ancestor.id).children;
                let first_legend = children.iter().copied().find(|&id| ancestor.at(id).is_html("legend"));
                if first_legend != Some(child.id) {
                    return true;
                }
            }
            child = ancestor;
        }
        false
    }

    fn is_form_control(&self) -> bool {
        self.name().is_some_and(|name| {
            name.ns == ns!(html)
                && matches!(
                    &*name.local,
                    "button" | "input" | "select" | "textarea" | "optgroup" | "option" | "fieldset"
                )
        })
    }

    fn is_checked(&self) -> bool {
        if self.is_html("input") {
            let kind = self.attr("type").unwrap_or("");
            (kind.eq_ignore_ascii_case("checkbox") || kind.eq_ignore_ascii_case("radio"))
                && self.attr("checked").is_some()
        } else {
            self.is_html("option") && self.attr("selected").is_some()
        }
    }

    /// The language of the nearest element with a `lang`, if any.
    fn language(&self) -> Option<&'a str> {
        let mut element = Some(*self);
        while let Some(current) = element {
            if let Some(lang) = current.attr("lang") {
                return Some(lang);
            }
            element = current.parent_element();
        }
        None
    }
}

/// Whether a language tag is in a range (Selectors 4 §7.2: equal, or the range then `-`,
/// ASCII case-insensitively; an empty tag is unknown and in no range).
fn language_matches(tag: &str, range: &str) -> bool {
    !tag.is_empty()
        && tag.len() >= range.len()
        && tag.as_bytes()[..range.len()].eq_ignore_ascii_case(range.as_bytes())
        && (tag.len() == range.len() || tag.as_bytes()[range.len()] == b'-')
}

impl Element for DomElement<'_> {
    type Impl = Armature;

    fn opaque(&self) -> OpaqueElement {
        OpaqueElement::new(self.document.node(self.id))
    }

    fn parent_element(&self) -> Option<Self> {
        let parent = self.document.node(self.id).parent?;
        self.document.tag(parent).is_some().then(|| self.at(parent))
    }

    fn parent_node_is_shadow_root(&self) -> bool {
        false
    }

    fn containing_shadow_host(&self) -> Option<Self> {
        None
    }

    fn is_pseudo_element(&self) -> bool {
        false
    }

    fn prev_sibling_element(&self) -> Option<Self> {
        self.document.previous_element_sibling(self.id).map(|id| self.at(id))
    }

    fn next_sibling_element(&self) -> Option<Self> {
        self.document.next_element_sibling(self.id).map(|id| self.at(id))
    }

    fn first_element_child(&self) -> Option<Self> {
        let children = &self.document.node(self.id).children;
        children.iter().copied().find(|&child| self.document.tag(child).is_some()).map(|id| self.at(id))
    }

    fn is_html_element_in_html_document(&self) -> bool {
        self.name().is_some_and(|name| name.ns == ns!(html))
    }

    fn has_local_name(&self, local_name: &LocalName) -> bool {
        self.name().is_some_and(|name| name.local == *local_name)
    }

    fn has_namespace(&self, namespace: &Namespace) -> bool {
        self.name().is_some_and(|name| name.ns == *namespace)
    }

    fn is_same_type(&self, other: &Self) -> bool {
        match (self.name(), other.name()) {
            (Some(mine), Some(theirs)) => mine.local == theirs.local && mine.ns == theirs.ns,
            _ => false,
        }
    }

    fn attr_matches(
        &self,
        namespace: &NamespaceConstraint<&CssNamespace>,
        local_name: &CssName,
        operation: &AttrSelectorOperation<&CssString>,
    ) -> bool {
        // The DOM keeps attributes without namespaces (HTML's are in none).
        if let NamespaceConstraint::Specific(namespace) = namespace
            && namespace.0 != ns!()
        {
            return false;
        }
        match &self.document.node(self.id).data {
            NodeData::Element { attrs, .. } => {
                attrs.iter().any(|(name, value)| *name == local_name.0 && operation.eval_str(value))
            }
            _ => false,
        }
    }

    fn match_non_ts_pseudo_class(
        &self,
        class: &PseudoClass,
        _context: &mut MatchingContext<Armature>,
    ) -> bool {
        match class {
            PseudoClass::Link | PseudoClass::AnyLink => self.is_link(),
            PseudoClass::Visited
            | PseudoClass::Hover
            | PseudoClass::Active
            | PseudoClass::Focus
            | PseudoClass::FocusVisible
            | PseudoClass::FocusWithin
            | PseudoClass::Target => false,
            PseudoClass::Checked => self.is_checked(),
            PseudoClass::Disabled => self.is_disabled(),
            PseudoClass::Enabled => self.is_form_control() && !self.is_disabled(),
            PseudoClass::Lang(ranges) => {
                self.language().is_some_and(|tag| ranges.iter().any(|range| language_matches(tag, range)))
            }
        }
    }

    fn match_pseudo_element(
        &self,
        _element: &PseudoElement,
        _context: &mut MatchingContext<Armature>,
    ) -> bool {
        false
    }

    fn apply_selector_flags(&self, _flags: ElementSelectorFlags) {}

    fn is_link(&self) -> bool {
        (self.is_html("a") || self.is_html("area")) && self.attr("href").is_some()
    }

    fn is_html_slot_element(&self) -> bool {
        false
    }

    fn has_id(&self, id: &CssName, case_sensitivity: CaseSensitivity) -> bool {
        self.attr("id").is_some_and(|own| case_sensitivity.eq(own.as_bytes(), id.0.as_bytes()))
    }

    fn has_class(&self, name: &CssName, case_sensitivity: CaseSensitivity) -> bool {
        self.attr("class").is_some_and(|classes| {
            classes
                .split_ascii_whitespace()
                .any(|class| case_sensitivity.eq(class.as_bytes(), name.0.as_bytes()))
        })
    }

    fn has_custom_state(&self, _name: &CssName) -> bool {
        false
    }

    fn imported_part(&self, _name: &CssName) -> Option<CssName> {
        None
    }

    fn is_part(&self, _name: &CssName) -> bool {
        false
    }

    /// No children but comments (text of any length counts, as in browsers).
    fn is_empty(&self) -> bool {
        self.document
            .node(self.id)
            .children
            .iter()
            .all(|&child| matches!(self.document.node(child).data, NodeData::Comment | NodeData::Doctype))
    }

    fn is_root(&self) -> bool {
        self.document.node(self.id).parent == Some(NodeId::DOCUMENT)
    }

    fn add_element_unique_hashes(&self, _filter: &mut BloomFilter) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specificity(text: &str) -> Specificity {
        let list = Selectors::parse(text).expect("valid");
        let selector = list.0.slice().first().expect("one selector");
        Specificity::unpack(selector.specificity())
    }

    #[test]
    fn specificity_counts_ids_classes_and_types() {
        assert_eq!(specificity("*"), Specificity(0, 0, 0));
        assert_eq!(specificity("p"), Specificity(0, 0, 1));
        assert_eq!(specificity("div p.note"), Specificity(0, 1, 2));
        assert_eq!(specificity("#main > .a.b"), Specificity(1, 2, 0));
        // Pseudo-classes and attributes count as classes; `:where()` counts nothing, `:is()`
        // and `:not()` their most specific argument, `:nth-child(… of S)` one plus S's.
        assert_eq!(specificity("tr:nth-child(2n+1) td"), Specificity(0, 1, 2));
        assert_eq!(specificity("a[href]:hover"), Specificity(0, 2, 1));
        assert_eq!(specificity(":where(#a, .b) p"), Specificity(0, 0, 1));
        assert_eq!(specificity(":is(#a, .b) p"), Specificity(1, 0, 1));
        assert_eq!(specificity("p:not(.x, #y)"), Specificity(1, 0, 1));
        assert_eq!(specificity("li:nth-child(odd of .item)"), Specificity(0, 2, 1));
        assert_eq!(specificity("p::before"), Specificity(0, 0, 2));
    }

    #[test]
    fn invalid_or_unsupported_selectors_drop_the_rule() {
        for text in [
            "",
            "> p",
            "p >",
            "p:frobnicate",
            "p::frobnicate",
            "p[",
            "p,",
            ".",
            "p +",
            "svg|rect",
            "p:lang()",
        ] {
            assert!(Selectors::parse(text).is_err(), "{text:?}");
        }
        for text in ["h1, h2 ,h3", "a:hover", "p + q ~ r", "p[x]", "p::before, q", ":is(p, :frobnicate)"] {
            assert!(Selectors::parse(text).is_ok(), "{text:?}");
        }
    }

    /// Which of `document`'s elements with an `id` a selector list matches, by id.
    fn matching(document: &Document, text: &str) -> Vec<String> {
        let mut map = SelectorMap::default();
        map.insert(&Selectors::parse(text).expect("valid"), ());
        let (mut matcher, mut matched) = (Matcher::default(), Vec::new());
        document
            .descendants(NodeId::DOCUMENT)
            .filter(|&id| {
                matched.clear();
                map.matching(document, id, &mut matcher, &mut matched);
                !matched.is_empty()
            })
            .filter_map(|id| document.attr(id, "id").map(str::to_owned))
            .collect()
    }

    #[test]
    fn combinators_and_compounds_walk_the_tree() {
        let document = Document::parse(
            "<div id=main class='box wide'><section id=s><p id=a class=note>x</p></section></div>\
             <p id=b class=note>y</p><span id=c></span><p id=d></p>",
        )
        .expect("parses");
        let check = |text: &str, expected: &[&str]| assert_eq!(matching(&document, text), expected, "{text}");
        check("p", &["a", "b", "d"]);
        check("#main p", &["a"]);
        check("#main > p", &[]);
        check("section > p.note", &["a"]);
        check("div.box.wide section p", &["a"]);
        check("div.box.narrow p", &[]);
        check("body > p", &["b", "d"]);
        check("DIV.box", &["main"]);
        check("div + p", &["b"]);
        check("div ~ p", &["b", "d"]);
        check("p + span + p", &["d"]);
        check(":has(> p.note)", &["s"]);
    }

    #[test]
    fn structural_pseudo_classes_count_element_siblings_only() {
        let document = Document::parse(
            "<ul id=list>text<li id=l1></li><!-- c --><li id=l2 class=x>two</li> <li id=l3></li>\
             <p id=p1></p><li id=l4 class=x></li></ul><div id=empty><!-- only a comment --></div>\
             <div id=space> </div>",
        )
        .expect("parses");
        let check = |text: &str, expected: &[&str]| assert_eq!(matching(&document, text), expected, "{text}");
        check("li:first-child", &["l1"]);
        check("li:last-child", &["l4"]);
        check("li:nth-child(2n)", &["l2"]);
        check("li:nth-child(odd)", &["l1", "l3", "l4"]);
        check("li:nth-child(-n+2)", &["l1", "l2"]);
        check("li:nth-last-child(2)", &[]);
        check("p:nth-last-child(2)", &["p1"]);
        check("li:nth-of-type(4)", &["l4"]);
        check("li:nth-child(even of .x)", &["l4"]);
        check("p:only-of-type", &["p1"]);
        check("li:not(.x)", &["l1", "l3"]);
        check(":root", &[]);
        check("div:empty", &["empty"]);
        check("ul > :is(p, .x)", &["l2", "p1", "l4"]);
        check("li:where(:first-child, :last-child)", &["l1", "l4"]);
        let mut map = SelectorMap::default();
        map.insert(&Selectors::parse("html:root").expect("valid"), ());
        let html = document.first_element("html").expect("an html element");
        let mut matched = Vec::new();
        map.matching(&document, html, &mut Matcher::default(), &mut matched);
        assert_eq!(matched.len(), 1);
    }

    #[test]
    fn attribute_selectors_take_every_operator() {
        let document = Document::parse(
            "<a id=a1 href='https://example.com/x.pdf' lang=en-US class='one two'></a>\
             <a id=a2 name=top></a><input id=i1 type=CHECKBOX checked><input id=i2 type=text disabled>",
        )
        .expect("parses");
        let check = |text: &str, expected: &[&str]| assert_eq!(matching(&document, text), expected, "{text}");
        check("[href]", &["a1"]);
        check("[href^='https:']", &["a1"]);
        check("[href$='.pdf']", &["a1"]);
        check("[href*=example]", &["a1"]);
        check("[class~=two]", &["a1"]);
        check("[lang|=en]", &["a1"]);
        check("[name=top]", &["a2"]);
        check("[type=checkbox]", &["i1"]);
        check("[type=checkbox s]", &[]);
        check("*|a[name]", &["a2"]);
    }

    #[test]
    fn dynamic_pseudo_classes_mean_a_page_at_rest() {
        let document = Document::parse(
            "<div lang=fr-CA><a id=link href=/x>x</a><a id=anchor name=x>y</a><p id=fr lang=''>z</p></div>\
             <input id=on type=radio checked><input id=off type=checkbox><select><option id=sel selected>\
             <optgroup disabled><option id=grouped></optgroup></select>\
             <fieldset disabled><legend><input id=legend></legend><input id=fenced></fieldset>\
             <button id=button>b</button>",
        )
        .expect("parses");
        let check = |text: &str, expected: &[&str]| assert_eq!(matching(&document, text), expected, "{text}");
        check(":link", &["link"]);
        check(":any-link", &["link"]);
        check(":visited, :hover, :active, :focus, :focus-within, :target", &[]);
        check(":checked", &["on", "sel"]);
        check(":disabled", &["grouped", "fenced"]);
        check(":enabled", &["on", "off", "sel", "legend", "button"]);
        check(":lang(fr)", &["link", "anchor"]);
        check(":lang(en, 'fr-CA')", &["link", "anchor"]);
        check(":lang(fr-CH)", &[]);
    }

    #[test]
    fn nth_child_stripes_every_row_of_a_long_table() {
        // Matched with one `Matcher`, as the cascade does: its index cache keeps this linear
        // (`cargo bench -p armature-content` times a long table; in debug builds the crate
        // checks every cached index by walking the siblings again, so keep this short).
        let rows: String = (0..2_000).map(|index| format!("<tr id=r{index}><td>{index}</td></tr>")).collect();
        let document = Document::parse(&format!("<table>{rows}</table>")).expect("parses");
        let striped = matching(&document, "tr:nth-child(2n)");
        assert_eq!(striped.len(), 1_000);
        assert_eq!(striped[0], "r1");
    }
}
