//! Selectors: type, `.class`, `#id`, `*`, compounds of those, descendant and child
//! combinators; specificity; matching against the DOM.

use cssparser::{Parser, Token};

use crate::dom::{Document, NodeId};

/// One compound selector, e.g. `div.note#main`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Compound {
    /// Tag name (lowercase), `None` for `*` or no type.
    pub tag: Option<String>,
    /// Required id.
    pub id: Option<String>,
    /// Required classes.
    pub classes: Vec<String>,
}

/// How a compound relates to the one on its right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combinator {
    /// `a b`: any ancestor.
    Descendant,
    /// `a > b`: the parent.
    Child,
}

/// A complex selector: compounds left to right, each but the first with the combinator
/// that joins it to the previous one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    /// The rightmost compound (the subject) is last.
    parts: Vec<(Combinator, Compound)>,
}

/// Specificity as (ids, classes, types); compared lexicographically.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Specificity(pub u32, pub u32, pub u32);

impl Selector {
    /// The selector's specificity.
    pub fn specificity(&self) -> Specificity {
        self.parts.iter().fold(Specificity::default(), |Specificity(ids, classes, types), (_, compound)| {
            Specificity(
                ids + u32::from(compound.id.is_some()),
                classes + compound.classes.len() as u32,
                types + u32::from(compound.tag.is_some()),
            )
        })
    }

    /// Whether the selector matches an element.
    pub fn matches(&self, document: &Document, element: NodeId) -> bool {
        self.matches_from(document, element, self.parts.len())
    }

    /// Whether `parts[..end]` matches with its last compound on `element`.
    fn matches_from(&self, document: &Document, element: NodeId, end: usize) -> bool {
        let Some((combinator, compound)) = end.checked_sub(1).and_then(|last| self.parts.get(last)) else {
            return true;
        };
        if !compound_matches(compound, document, element) {
            return false;
        }
        if end == 1 {
            return true;
        }
        let mut ancestor = document.node(element).parent;
        match combinator {
            Combinator::Child => ancestor.is_some_and(|parent| self.matches_from(document, parent, end - 1)),
            Combinator::Descendant => {
                while let Some(candidate) = ancestor {
                    if self.matches_from(document, candidate, end - 1) {
                        return true;
                    }
                    ancestor = document.node(candidate).parent;
                }
                false
            }
        }
    }
}

fn compound_matches(compound: &Compound, document: &Document, element: NodeId) -> bool {
    let Some(tag) = document.tag(element) else { return false };
    if compound.tag.as_deref().is_some_and(|wanted| !str::eq_ignore_ascii_case(tag, wanted)) {
        return false;
    }
    if compound.id.as_deref().is_some_and(|wanted| document.attr(element, "id") != Some(wanted)) {
        return false;
    }
    if !compound.classes.is_empty() {
        let classes = document.attr(element, "class").unwrap_or("");
        let has = |wanted: &String| classes.split_ascii_whitespace().any(|class| class == wanted);
        if !compound.classes.iter().all(has) {
            return false;
        }
    }
    true
}

/// Parses a selector list (`h1, .note > p`). `None` if any selector in it is invalid or
/// unsupported: then the whole rule is dropped, as CSS requires.
pub fn parse_selector_list(text: &str) -> Option<Vec<Selector>> {
    let mut parser = Parser::new(text);
    let mut selectors = Vec::new();
    let mut parts: Vec<(Combinator, Compound)> = Vec::new();
    let mut compound: Option<Compound> = None;
    let mut pending: Option<Combinator> = None;

    let finish_compound = |parts: &mut Vec<(Combinator, Compound)>,
                           compound: &mut Option<Compound>,
                           pending: &mut Option<Combinator>| {
        if let Some(done) = compound.take() {
            parts.push((pending.take().unwrap_or(Combinator::Descendant), done));
        }
    };

    while let Ok(token) = parser.next_including_whitespace() {
        match token.clone() {
            Token::WhiteSpace(_) => {
                if compound.is_some() {
                    finish_compound(&mut parts, &mut compound, &mut pending);
                    pending.get_or_insert(Combinator::Descendant);
                }
            }
            Token::Delim('>') => {
                finish_compound(&mut parts, &mut compound, &mut pending);
                if parts.is_empty() {
                    return None;
                }
                pending = Some(Combinator::Child);
            }
            Token::Comma => {
                finish_compound(&mut parts, &mut compound, &mut pending);
                if parts.is_empty() || pending.is_some_and(|combinator| combinator == Combinator::Child) {
                    return None;
                }
                selectors.push(Selector { parts: std::mem::take(&mut parts) });
                pending = None;
            }
            Token::Ident(name) => {
                let current = compound.get_or_insert_with(Compound::default);
                if current.tag.is_some() || !current.classes.is_empty() || current.id.is_some() {
                    return None; // a type selector must come first in its compound
                }
                current.tag = Some(name.to_ascii_lowercase());
            }
            Token::Delim('*') => {
                let current = compound.get_or_insert_with(Compound::default);
                if current.tag.is_some() {
                    return None;
                }
            }
            Token::Delim('.') => match parser.next_including_whitespace() {
                Ok(Token::Ident(class)) => {
                    let class = class.to_string();
                    compound.get_or_insert_with(Compound::default).classes.push(class);
                }
                _ => return None,
            },
            Token::IDHash(id) => {
                let current = compound.get_or_insert_with(Compound::default);
                if current.id.is_some() {
                    return None;
                }
                current.id = Some(id.to_string());
            }
            // Attribute selectors, pseudo-classes, other combinators: not supported yet.
            _ => return None,
        }
    }
    finish_compound(&mut parts, &mut compound, &mut pending);
    if parts.is_empty() || pending == Some(Combinator::Child) {
        return None;
    }
    selectors.push(Selector { parts });
    // The first compound's combinator is meaningless; normalise it so equal selectors compare equal.
    for selector in &mut selectors {
        if let Some(first) = selector.parts.first_mut() {
            first.0 = Combinator::Descendant;
        }
    }
    Some(selectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specificity(text: &str) -> Specificity {
        let list = parse_selector_list(text).expect("valid");
        list[0].specificity()
    }

    #[test]
    fn specificity_counts_ids_classes_and_types() {
        assert_eq!(specificity("*"), Specificity(0, 0, 0));
        assert_eq!(specificity("p"), Specificity(0, 0, 1));
        assert_eq!(specificity("div p.note"), Specificity(0, 1, 2));
        assert_eq!(specificity("#main > .a.b"), Specificity(1, 2, 0));
    }

    #[test]
    fn invalid_or_unsupported_selectors_drop_the_rule() {
        for text in ["", "> p", "p >", "a:hover", "p[x]", "p + q", "p,", ".", "#a#b", "p div.x span*"] {
            assert_eq!(parse_selector_list(text), None, "{text:?}");
        }
        assert_eq!(parse_selector_list("h1, h2 ,h3").map(|list| list.len()), Some(3));
    }

    #[test]
    fn matching_walks_ancestors_for_descendants_and_parents_for_children() {
        let document = Document::parse(
            "<div id=main class='box wide'><section><p class=note>x</p></section></div><p class=note>y</p>",
        )
        .expect("parses");
        let notes: Vec<NodeId> = document
            .descendants(NodeId::DOCUMENT)
            .filter(|&id| document.attr(id, "class") == Some("note"))
            .collect();
        assert_eq!(notes.len(), 2);
        let check = |text: &str, expected: [bool; 2]| {
            let list = parse_selector_list(text).expect("valid");
            let got = [notes[0], notes[1]]
                .map(|note| list.iter().any(|selector| selector.matches(&document, note)));
            assert_eq!(got, expected, "{text}");
        };
        check("p", [true, true]);
        check(".note", [true, true]);
        check("#main p", [true, false]);
        check("#main > p", [false, false]);
        check("section > p.note", [true, false]);
        check("div.box.wide section p", [true, false]);
        check("div.box.narrow p", [false, false]);
        check("body > p", [false, true]);
        check("* p", [true, true]);
    }
}
