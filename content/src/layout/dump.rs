//! `--dump-layout`: the box tree with each box's border-box rect, as indented text for
//! people or JSON for tools and tests.

use armature_api::LayoutPoint;
use serde::Serialize;

use super::{BoxId, BoxKind, PageLayout};
use crate::dom::{Document, NodeId};
use crate::images::ImageContent;

/// One box of the dump.
#[derive(Debug, Serialize)]
pub struct DumpBox {
    /// `viewport`, `block`, `flex`, `inline-block`, `text`, `image`, `broken-image`, `canvas`.
    pub kind: &'static str,
    /// The element as a selector (`div#id.class`); absent for anonymous boxes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element: Option<String>,
    /// Border-box left, in CSS px from the document's left edge.
    pub x: f32,
    /// Border-box top.
    pub y: f32,
    /// Border-box width.
    pub width: f32,
    /// Border-box height.
    pub height: f32,
    /// A box the user can scroll: how far its content reaches across from its padding box's
    /// left (its scrollable overflow, at least the padding box: the DOM's `scrollWidth`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scroll_width: Option<f32>,
    /// A box the user can scroll: how far its content reaches down (`scrollHeight`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scroll_height: Option<f32>,
    /// A list item's outside marker, as a line of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marker: Option<DumpLine>,
    /// Line boxes of a text box.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<DumpLine>,
    /// Child boxes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<DumpBox>,
}

/// One line box of a text box.
#[derive(Debug, Serialize)]
pub struct DumpLine {
    /// Left of the line's content, in page coordinates.
    pub x: f32,
    /// Top of the line box.
    pub y: f32,
    /// Width of the line's content.
    pub width: f32,
    /// Height of the line box.
    pub height: f32,
    /// The line's text after white-space processing.
    pub text: String,
}

/// The whole dump.
#[derive(Debug, Serialize)]
pub struct LayoutDump {
    /// Viewport width.
    pub viewport_width: f32,
    /// Viewport height.
    pub viewport_height: f32,
    /// Width of the whole document (its scrollable overflow, at least the viewport's).
    pub document_width: f32,
    /// Height of the whole document.
    pub document_height: f32,
    /// The box tree from the viewport down.
    pub root: DumpBox,
}

/// Collects the dump of a laid-out page.
pub fn dump(page: &PageLayout, document: &Document) -> LayoutDump {
    LayoutDump {
        viewport_width: page.viewport.width,
        viewport_height: page.viewport.height,
        document_width: round(page.document_size.width),
        document_height: round(page.document_size.height),
        root: dump_box(page, document, page.root()),
    }
}

/// The dump as an indented tree, one box or line per line.
pub fn to_text(dump: &LayoutDump) -> String {
    let mut out = format!(
        "viewport {}x{}, document {}x{}\n",
        dump.viewport_width, dump.viewport_height, dump.document_width, dump.document_height
    );
    write_text(&dump.root, 0, &mut out);
    out
}

/// The dump as pretty JSON.
pub fn to_json(dump: &LayoutDump) -> String {
    // Serialising plain structs of numbers and strings cannot fail.
    serde_json::to_string_pretty(dump).unwrap_or_default()
}

fn write_text(node: &DumpBox, depth: usize, out: &mut String) {
    use std::fmt::Write;
    let indent = "  ".repeat(depth);
    let element = node.element.as_ref().map(|element| format!(" <{element}>")).unwrap_or_default();
    let scrolls = match (node.scroll_width, node.scroll_height) {
        (Some(width), Some(height)) => format!(" scrolls {width}x{height}"),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "{indent}{}{element} ({}, {}) {}x{}{scrolls}",
        node.kind, node.x, node.y, node.width, node.height
    );
    if let Some(marker) = &node.marker {
        let _ = writeln!(
            out,
            "{indent}  marker ({}, {}) {}x{} {:?}",
            marker.x, marker.y, marker.width, marker.height, marker.text
        );
    }
    for line in &node.lines {
        let _ = writeln!(
            out,
            "{indent}  line ({}, {}) {}x{} {:?}",
            line.x, line.y, line.width, line.height, line.text
        );
    }
    for child in &node.children {
        write_text(child, depth + 1, out);
    }
}

fn round(value: f32) -> f32 {
    (value * 100.0).round() / 100.0
}

fn dump_box(page: &PageLayout, document: &Document, id: BoxId) -> DumpBox {
    let layout_box = page.get(id);
    let kind = match &layout_box.kind {
        BoxKind::Viewport => "viewport",
        BoxKind::Block => "block",
        BoxKind::Flex => "flex",
        BoxKind::Grid => "grid",
        BoxKind::Table => "table",
        BoxKind::InlineBlock => "inline-block",
        BoxKind::Text(_) => "text",
        BoxKind::Image(ImageContent::Loaded { .. }) => "image",
        BoxKind::Image(ImageContent::Broken { .. }) => "broken-image",
        BoxKind::Canvas(_) => "canvas",
    };
    let lines = match layout_box.kind {
        BoxKind::Text(paragraph) => dump_lines(page, paragraph, layout_box.content_rect().origin),
        _ => Vec::new(),
    };
    let marker = layout_box.marker.and_then(|marker| {
        let line = dump_lines(page, marker.paragraph, marker.origin).into_iter().next()?;
        // The marker's suffix (its trailing space) is part of its width.
        let width =
            page.paragraph(marker.paragraph).layout.as_ref().map_or(0.0, |layout| layout.full_width());
        Some(DumpLine { width: round(width), ..line })
    });
    let extent = layout_box.scroll_frame.map(|frame| page.scroll_frame(frame).extent);
    DumpBox {
        kind,
        element: match (layout_box.node, layout_box.generated) {
            (Some(node), _) => Some(selector(document, node)),
            (None, Some((node, pseudo))) => Some(format!("{}{}", selector(document, node), pseudo.name())),
            (None, None) => None,
        },
        x: round(layout_box.rect.origin.x),
        y: round(layout_box.rect.origin.y),
        width: round(layout_box.rect.size.width),
        height: round(layout_box.rect.size.height),
        scroll_width: extent.map(|extent| round(extent.width)),
        scroll_height: extent.map(|extent| round(extent.height)),
        marker,
        lines,
        children: layout_box.children.iter().map(|&child| dump_box(page, document, child)).collect(),
    }
}

/// The line boxes of a paragraph whose top-left is at `origin`.
fn dump_lines(page: &PageLayout, paragraph: super::ParagraphId, origin: LayoutPoint) -> Vec<DumpLine> {
    let paragraph = page.paragraph(paragraph);
    let Some(text) = &paragraph.layout else { return Vec::new() };
    text.lines()
        .map(|line| {
            let metrics = line.metrics();
            DumpLine {
                x: round(origin.x + metrics.offset),
                y: round(origin.y + metrics.block_min_coord),
                width: round(metrics.advance - metrics.hanging_advance),
                height: round(metrics.block_max_coord - metrics.block_min_coord),
                text: paragraph.text.get(line.text_range()).unwrap_or_default().trim_end().to_owned(),
            }
        })
        .collect()
}

/// `tag#id.class1.class2`.
fn selector(document: &Document, node: NodeId) -> String {
    let mut out = document.tag(node).map(|tag| tag.to_string()).unwrap_or_default();
    if let Some(id) = document.attr(node, "id") {
        out.push('#');
        out.push_str(id);
    }
    if let Some(classes) = document.attr(node, "class") {
        for class in classes.split_whitespace() {
            out.push('.');
            out.push_str(class);
        }
    }
    out
}
