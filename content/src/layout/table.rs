//! Tables (CSS 2 §17, HTML §4.9), laid out as CSS grids of their cells, as Blitz does.
//!
//! ```text
//!  <table>                 the table box: a taffy grid, a track per column and per row
//!    <caption>             captions, with the table box, in an anonymous wrapper block
//!    <colgroup><col>       column widths, and backgrounds painted under the column's cells
//!    <thead>/<tbody><tr>   no boxes: rows size their track, groups order the rows (header
//!                          first, footer last); their backgrounds paint under each cell
//!      <td colspan=2>      a cell: a block placed at its slot's grid lines, spanning its
//!                          columns and rows, stretched to fill them
//! ```
//!
//! [`form`] runs the table-forming algorithm (HTML §4.9.12, CSS 2 §17.2.1's anonymous
//! boxes): it groups the table's children into row groups, rows and cells, wrapping loose
//! content in anonymous rows and cells, and gives each cell its slot. Grid tracks then size
//! the columns: an `auto` track per column is at least its widest cell's min-content width
//! and grows towards its max-content width, as a table column does (space left over is
//! shared equally, not in proportion to content). `border-spacing` is the grid's gap and
//! pads the table's edges; `border-collapse: collapse` resolves each shared border to the
//! stronger of the two (see [`collapse`]). Bounds: at most [`MAX_COLUMNS`] columns and
//! [`MAX_ROWS`] rows (taffy's grid lines are 16-bit); cells past them are not shown.

use armature_api::ColorF;
use taffy::style_helpers::{auto, length, minmax, percent};

use super::{BoxId, BoxKind, Builder, length_percentage_auto, taffy_style};
use crate::dom::{Document, NodeData, NodeId};
use crate::style::{
    BorderCollapse, CaptionSide, ComputedStyle, Display, Length, Sides, StyleMap, VerticalAlign,
};

/// The most columns a table has (HTML caps `colspan` at 1000 too).
pub const MAX_COLUMNS: u32 = 1000;
/// The most rows a table has: taffy numbers grid lines with `i16`.
pub const MAX_ROWS: u32 = 30_000;
/// HTML §4.9.11: the largest `rowspan`.
const MAX_ROWSPAN: u32 = 65_534;

/// What a table part paints that is not its own style's, for boxes made here.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TablePaint {
    /// The backgrounds of the column group, column, row group and row a cell is in (CSS 2
    /// §17.5.1's layers), painted in that order over its border box, under its own.
    pub backgrounds: Vec<ColorF>,
    /// The borders drawn instead of the style's, for `border-collapse: collapse`.
    pub borders: Option<Sides<CollapsedSide>>,
}

/// One side of a collapsed border: who draws it, how wide, in what colour.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CollapsedSide {
    /// Its width in px; 0 when a neighbour (or the table) draws the shared border.
    pub width: f32,
    /// Its colour.
    pub color: ColorF,
}

impl CollapsedSide {
    const NONE: CollapsedSide = CollapsedSide { width: 0.0, color: ColorF::TRANSPARENT };

    /// The wider of two borders; the first on a tie (CSS 2 §17.6.2.1: of two cells, the
    /// one further up and left wins; a table's own border wins over its cells').
    fn stronger(self, other: CollapsedSide) -> CollapsedSide {
        if other.width > self.width { other } else { self }
    }

    fn of(style: &ComputedStyle) -> Sides<CollapsedSide> {
        style.border.map(|side| CollapsedSide { width: side.used_width(), color: style.border_color(side) })
    }
}

/// A table's structure: its cells in their slots, its rows and columns.
#[derive(Debug, Default, PartialEq)]
pub struct TableForm {
    /// Cells, in row order.
    pub cells: Vec<FormedCell>,
    /// Rows, header rows first and footer rows last.
    pub rows: Vec<FormedRow>,
    /// The `<col>` columns, left to right (there may be more columns than these).
    pub columns: Vec<FormedColumn>,
    /// How many columns the table has.
    pub column_count: u32,
    /// Captions, in order.
    pub captions: Vec<NodeId>,
    /// Absolutely positioned children of the table and its parts: the table box's
    /// children, outside the grid's cells.
    pub out_of_flow: Vec<NodeId>,
}

/// What a cell holds.
#[derive(Clone, Debug, PartialEq)]
pub enum CellContent {
    /// A cell element.
    Element(NodeId),
    /// Loose content of a row (text, or elements that are not cells): an anonymous cell.
    Anonymous(Vec<NodeId>),
}

/// A cell in its slot.
#[derive(Clone, Debug, PartialEq)]
pub struct FormedCell {
    /// What it holds.
    pub content: CellContent,
    /// Its first row.
    pub row: u32,
    /// Its first column.
    pub column: u32,
    /// How many rows it spans.
    pub rows: u32,
    /// How many columns it spans.
    pub columns: u32,
    /// Whether a cell is left of it, at its first row (for collapsing borders).
    pub left: bool,
    /// Whether a cell is above it, at its first column.
    pub above: bool,
    /// The cell right of it, at its first row.
    pub right: Option<u32>,
    /// The cell below it, at its first column.
    pub below: Option<u32>,
}

/// A row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FormedRow {
    /// Its element; `None` for an anonymous row.
    pub node: Option<NodeId>,
    /// Its row group's element.
    pub group: Option<NodeId>,
}

/// A column that a `<col>` (or a `<colgroup>` without any) makes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FormedColumn {
    /// The `<col>`; `None` for a group's own columns.
    pub node: Option<NodeId>,
    /// Its `<colgroup>`.
    pub group: Option<NodeId>,
}

/// A row group before slots are given: its rows, each a list of cells.
struct Group {
    node: Option<NodeId>,
    rows: Vec<(Option<NodeId>, Vec<CellContent>)>,
}

/// The table-forming walk over a table element's children.
struct Former<'a> {
    document: &'a Document,
    styles: &'a StyleMap,
    form: TableForm,
    /// Row groups by where they go: header, body, footer.
    groups: [Vec<Group>; 3],
}

/// Forms the table of element `table`.
pub fn form(document: &Document, styles: &StyleMap, table: NodeId) -> TableForm {
    let mut former = Former { document, styles, form: TableForm::default(), groups: Default::default() };
    former.table_children(table);
    let groups = std::mem::take(&mut former.groups);
    let mut form = former.form;
    place_cells(document, &mut form, groups.into_iter().flatten());
    form
}

impl Former<'_> {
    fn display(&self, node: NodeId) -> Option<Display> {
        self.styles.get(node).map(|style| style.display)
    }

    /// Whether `node` is skipped, or taken out of the grid (then it is noted).
    fn set_aside(&mut self, node: NodeId) -> bool {
        match self.styles.get(node) {
            None => true,
            Some(style) if style.display == Display::None => true,
            Some(style) if style.position.is_out_of_flow() => {
                self.form.out_of_flow.push(node);
                true
            }
            Some(_) => false,
        }
    }

    fn table_children(&mut self, table: NodeId) {
        let document = self.document;
        let mut loose = Vec::new();
        for &child in &document.node(table).children {
            if document.tag(child).is_none() {
                loose.push(child);
                continue;
            }
            if self.set_aside(child) {
                continue;
            }
            let order = match self.display(child) {
                Some(Display::TableCaption) => {
                    self.form.captions.push(child);
                    continue;
                }
                Some(Display::TableColumnGroup) => {
                    self.column_group(child);
                    continue;
                }
                Some(Display::TableColumn) => {
                    self.column(child, None);
                    continue;
                }
                Some(Display::TableHeaderGroup) => 0,
                Some(Display::TableRowGroup) => 1,
                Some(Display::TableFooterGroup) => 2,
                _ => {
                    loose.push(child);
                    continue;
                }
            };
            self.loose_rows(&mut loose);
            let rows = self.rows(&document.node(child).children);
            self.groups[order].push(Group { node: Some(child), rows });
        }
        self.loose_rows(&mut loose);
    }

    /// Rows and cells straight in the table: a row group of their own, in place.
    fn loose_rows(&mut self, loose: &mut Vec<NodeId>) {
        let rows = self.rows(loose);
        loose.clear();
        if !rows.is_empty() {
            self.groups[1].push(Group { node: None, rows });
        }
    }

    fn column_group(&mut self, group: NodeId) {
        let document = self.document;
        let before = self.form.columns.len();
        for &child in &document.node(group).children {
            if self.display(child) == Some(Display::TableColumn) {
                self.column(child, Some(group));
            }
        }
        if self.form.columns.len() == before {
            for _ in 0..span(document, group, "span", 1, MAX_COLUMNS) {
                self.form.columns.push(FormedColumn { node: None, group: Some(group) });
            }
        }
    }

    fn column(&mut self, column: NodeId, group: Option<NodeId>) {
        for _ in 0..span(self.document, column, "span", 1, MAX_COLUMNS) {
            if self.form.columns.len() < MAX_COLUMNS as usize {
                self.form.columns.push(FormedColumn { node: Some(column), group });
            }
        }
    }

    /// The rows of a row group's children: row elements, and runs of anything else
    /// wrapped in anonymous rows.
    fn rows(&mut self, children: &[NodeId]) -> Vec<(Option<NodeId>, Vec<CellContent>)> {
        let document = self.document;
        let mut rows = Vec::new();
        let mut loose = Vec::new();
        for &child in children {
            if document.tag(child).is_some() {
                if self.set_aside(child) {
                    continue;
                }
                if self.display(child) == Some(Display::TableRow) {
                    self.loose_cells(&mut loose, &mut rows);
                    let cells = self.cells(&document.node(child).children);
                    rows.push((Some(child), cells));
                    continue;
                }
            }
            loose.push(child);
        }
        self.loose_cells(&mut loose, &mut rows);
        rows
    }

    fn loose_cells(&mut self, loose: &mut Vec<NodeId>, rows: &mut Vec<(Option<NodeId>, Vec<CellContent>)>) {
        let cells = self.cells(loose);
        loose.clear();
        if !cells.is_empty() {
            rows.push((None, cells));
        }
    }

    /// The cells of a row's children: cell elements, and runs of anything else (but white
    /// space) wrapped in anonymous cells.
    fn cells(&mut self, children: &[NodeId]) -> Vec<CellContent> {
        let document = self.document;
        let mut cells = Vec::new();
        let mut loose: Vec<NodeId> = Vec::new();
        let flush = |loose: &mut Vec<NodeId>, cells: &mut Vec<CellContent>| {
            let shows = loose.iter().any(|&node| match &document.node(node).data {
                NodeData::Text(text) => !text.trim().is_empty(),
                _ => true,
            });
            if shows {
                cells.push(CellContent::Anonymous(std::mem::take(loose)));
            }
            loose.clear();
        };
        for &child in children {
            match &document.node(child).data {
                NodeData::Text(_) => loose.push(child),
                NodeData::Element { .. } => {
                    if self.set_aside(child) {
                        continue;
                    }
                    if self.display(child) == Some(Display::TableCell) {
                        flush(&mut loose, &mut cells);
                        cells.push(CellContent::Element(child));
                    } else {
                        loose.push(child);
                    }
                }
                _ => {}
            }
        }
        flush(&mut loose, &mut cells);
        cells
    }
}

/// An element's span attribute (`colspan`, `rowspan`, `span`) by HTML's rules for
/// non-negative integers: `default` if absent or unparsable, at most `max`. May be 0 (a
/// `rowspan` of 0 reaches the end of the row group).
fn span(document: &Document, node: NodeId, name: &str, default: u32, max: u32) -> u32 {
    let Some(value) = document.attr(node, name) else { return default };
    let digits: String = value.trim_start().chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return default;
    }
    digits.parse::<u32>().unwrap_or(u32::MAX).min(max)
}

/// Gives every cell its slot (HTML §4.9.12.1's "growing downward-growing cells", with
/// rowspans clamped to their row group), and notes each cell's neighbours.
fn place_cells(document: &Document, form: &mut TableForm, groups: impl Iterator<Item = Group>) {
    // Per column: the cell covering it and the last row it covers.
    let mut covering: Vec<Option<(u32, u32)>> = Vec::new();
    let mut above: Vec<Option<u32>> = Vec::new();
    'groups: for group in groups {
        let group_end = (form.rows.len() + group.rows.len()).min(MAX_ROWS as usize) as u32;
        for (row_node, contents) in group.rows {
            let row = form.rows.len() as u32;
            if row >= MAX_ROWS {
                tracing::debug!(target: "armature::layout", "table rows past {MAX_ROWS} are not shown");
                break 'groups;
            }
            let mut here: Vec<Option<u32>> = covering
                .iter()
                .map(|cover| cover.filter(|&(_, last)| last >= row).map(|(cell, _)| cell))
                .collect();
            let first_cell = form.cells.len();
            let mut column = 0u32;
            for content in contents {
                while here.get(column as usize).is_some_and(Option::is_some) {
                    column += 1;
                }
                if column >= MAX_COLUMNS {
                    tracing::debug!(target: "armature::layout", "table cells past column {MAX_COLUMNS} are not shown");
                    break;
                }
                let (columns, rows) = match &content {
                    CellContent::Element(node) => (
                        span(document, *node, "colspan", 1, MAX_COLUMNS).max(1),
                        span(document, *node, "rowspan", 1, MAX_ROWSPAN),
                    ),
                    CellContent::Anonymous(_) => (1, 1),
                };
                let columns = columns.min(MAX_COLUMNS - column);
                let rows = if rows == 0 { group_end - row } else { rows.min(group_end - row) }.max(1);
                let cell = form.cells.len() as u32;
                let end = (column + columns) as usize;
                if here.len() < end {
                    here.resize(end, None);
                    covering.resize(end, None);
                }
                for slot in column as usize..end {
                    here[slot] = Some(cell);
                    covering[slot] = Some((cell, row + rows - 1));
                }
                form.cells.push(FormedCell {
                    content,
                    row,
                    column,
                    rows,
                    columns,
                    left: false,
                    above: false,
                    right: None,
                    below: None,
                });
                column += columns;
            }
            for cell in &mut form.cells[first_cell..] {
                cell.left = cell.column > 0 && here[cell.column as usize - 1].is_some();
                cell.right = here.get((cell.column + cell.columns) as usize).copied().flatten();
            }
            for (slot, (&up, &down)) in above.iter().zip(&here).enumerate() {
                let (Some(up), Some(down)) = (up, down) else { continue };
                if up == down {
                    continue;
                }
                let slot = slot as u32;
                let lower = &mut form.cells[down as usize];
                if lower.row == row && lower.column == slot {
                    lower.above = true;
                }
                let upper = &mut form.cells[up as usize];
                if upper.column == slot && upper.row + upper.rows == row {
                    upper.below = Some(down);
                }
            }
            above = here;
            form.rows.push(FormedRow { node: row_node, group: group.node });
        }
    }
    form.column_count = (covering.len().max(form.columns.len()) as u32).min(MAX_COLUMNS);
}

impl Builder<'_> {
    /// The box of a `display: table` (or `inline-table`) element: the table box, inside a
    /// wrapper with its captions if it has any.
    pub(super) fn table_box(&mut self, node: NodeId, style: &ComputedStyle) -> BoxId {
        let form = form(self.document, self.styles, node);
        let collapse = style.border_collapse == BorderCollapse::Collapse;
        let mut grid = taffy_style(style);
        // A table's width is shrink-to-fit, and its width and height are its border box's
        // (HTML's UA sheet); its height is a minimum (rows grow to fit their cells).
        grid.item_is_table = true;
        grid.box_sizing = taffy::BoxSizing::BorderBox;
        if let Length::Px(height) = style.height {
            grid.min_size.height = length_percentage_auto(Length::Px(height.max(match style.min_height {
                Length::Px(min) => min,
                _ => 0.0,
            })));
        }
        grid.size.height = taffy::Dimension::auto();
        grid.grid_auto_flow = taffy::GridAutoFlow::Row;
        grid.grid_template_areas = None;
        grid.grid_template_column_names = Vec::new();
        grid.grid_template_row_names = Vec::new();
        grid.grid_template_columns = (0..form.column_count as usize)
            .map(|column| {
                let width = form.columns.get(column).and_then(|column| {
                    let part = |node: Option<NodeId>| node.and_then(|node| self.styles.get(node));
                    [part(column.node), part(column.group)]
                        .into_iter()
                        .flatten()
                        .map(|style| style.width)
                        .find(|width| *width != Length::Auto)
                });
                // Negative sizes are invalid CSS the parser lets through: no track is less than 0.
                match width {
                    Some(Length::Px(px)) => length(px.max(0.0)),
                    Some(Length::Percent(value)) => percent(value.max(0.0) / 100.0),
                    _ => auto(),
                }
            })
            .collect();
        grid.grid_template_rows = form
            .rows
            .iter()
            .map(|row| match row.node.and_then(|node| self.styles.get(node)).map(|style| style.height) {
                Some(Length::Px(px)) => minmax(length(px.max(0.0)), auto()),
                _ => auto(),
            })
            .collect();
        grid.grid_auto_rows = Vec::new();
        grid.grid_auto_columns = Vec::new();
        let (spacing_x, spacing_y) = if collapse { (0.0, 0.0) } else { style.border_spacing };
        grid.gap = taffy::Size { width: length(spacing_x), height: length(spacing_y) };
        let padding = style.padding.map(|side| match side {
            Length::Px(px) if !collapse => px,
            _ => 0.0,
        });
        // The spacing also parts the outer cells from the table's padding.
        grid.padding = taffy::Rect {
            left: length(padding.left + spacing_x),
            right: length(padding.right + spacing_x),
            top: length(padding.top + spacing_y),
            bottom: length(padding.bottom + spacing_y),
        };
        let borders = collapse.then(|| collapse::resolve(self.styles, style, &form));
        if let Some((table_sides, _)) = &borders {
            grid.border = collapsed_widths(*table_sides);
        }

        let captions = form.captions.clone();
        let table = self.new_box(BoxKind::Table, Some(node), grid.clone(), None);
        let mut children = Vec::new();
        for (index, cell) in form.cells.iter().enumerate() {
            let cell_borders = borders.as_ref().map(|(_, cells)| cells[index]);
            children.push(self.cell_box(style, &form, cell, cell_borders));
        }
        for &out_of_flow in &form.out_of_flow {
            if let Some(child_style) = self.styles.get(out_of_flow) {
                children.push(self.element_box(out_of_flow, child_style, false));
            }
        }
        self.set_children(table, children);
        if let Some((table_sides, _)) = borders {
            self.boxes[table.index()].table_paint =
                Some(Box::new(TablePaint { backgrounds: Vec::new(), borders: Some(table_sides) }));
        }
        if captions.is_empty() {
            return table;
        }
        self.caption_wrapper(table, grid, &captions)
    }

    /// The anonymous block around a table with captions: it takes the table's place (its
    /// margins, position and width), the captions go above or below the table box.
    fn caption_wrapper(&mut self, table: BoxId, mut grid: taffy::Style, captions: &[NodeId]) -> BoxId {
        let wrapper_style = taffy::Style {
            display: taffy::Display::Block,
            item_is_table: true,
            position: grid.position,
            inset: grid.inset,
            margin: grid.margin,
            // A table's width is its wrapper's, so percentages resolve against the
            // wrapper's containing block; the table box fills the wrapper.
            size: taffy::Size { width: grid.size.width, height: taffy::Dimension::auto() },
            ..super::block_style()
        };
        if !grid.size.width.is_auto() {
            grid.size.width = taffy::Dimension::percent(1.0);
        }
        // The wrapper takes the table's place; a positioned table box stays the containing
        // block of its absolute children.
        if grid.position != taffy::Position::Static {
            grid.position = taffy::Position::Relative;
        }
        grid.inset = taffy::Rect::auto();
        grid.margin = taffy::Rect::zero();
        let _ = self.tree.set_style(self.boxes[table.index()].taffy, grid);
        let wrapper = self.new_box(BoxKind::Block, None, wrapper_style, None);
        let mut children = Vec::new();
        for side in [CaptionSide::Top, CaptionSide::Bottom] {
            if side == CaptionSide::Bottom {
                children.push(table);
            }
            for &caption in captions {
                let Some(caption_style) = self.styles.get(caption) else { continue };
                if caption_style.caption_side == side {
                    children.push(self.element_box(caption, caption_style, false));
                }
            }
        }
        self.set_children(wrapper, children);
        wrapper
    }

    /// A cell's box, at its slot's grid lines, stretched over them.
    fn cell_box(
        &mut self,
        table_style: &ComputedStyle,
        form: &TableForm,
        cell: &FormedCell,
        borders: Option<Sides<CollapsedSide>>,
    ) -> BoxId {
        let row = form.rows.get(cell.row as usize).copied();
        let row_style = row.and_then(|row| row.node).and_then(|node| self.styles.get(node));
        let styles = self.styles;
        // What the cell's style says about its place: (vertical-align, width, height).
        let (id, (vertical_align, width, height)) = match &cell.content {
            CellContent::Element(node) => {
                // Formed cells are styled elements (`form` skips the others).
                let style = styles.get(*node).unwrap_or(table_style);
                (self.element_box(*node, style, true), (style.vertical_align, style.width, style.height))
            }
            CellContent::Anonymous(nodes) => {
                let parent = row_style.unwrap_or(table_style);
                let style = ComputedStyle { display: Display::TableCell, ..parent.inherit() };
                let id = self.new_box(BoxKind::Block, None, taffy_style(&style), None);
                let children = self.children_of(nodes, &style, false, None, None);
                self.set_children(id, children);
                (id, (style.vertical_align, style.width, style.height))
            }
        };
        let taffy_node = self.boxes[id.index()].taffy;
        if let Ok(current) = self.tree.style(taffy_node) {
            let mut placed = current.clone();
            let line = |start: u32, span: u32| taffy::Line {
                // In range: rows and columns are capped below `i16::MAX`.
                start: taffy::GridPlacement::Line((start as i16 + 1).into()),
                end: taffy::GridPlacement::Span(span.min(u16::MAX as u32) as u16),
            };
            placed.grid_row = line(cell.row, cell.rows);
            placed.grid_column = line(cell.column, cell.columns);
            placed.align_self = Some(taffy::AlignItems::STRETCH);
            placed.justify_self = Some(taffy::AlignItems::STRETCH);
            placed.align_content = match vertical_align {
                VerticalAlign::Baseline | VerticalAlign::Top => taffy::AlignContent::START,
                VerticalAlign::Middle => taffy::AlignContent::CENTER,
                VerticalAlign::Bottom => taffy::AlignContent::END,
            };
            // A cell fills its column and row: a width or height it asks for is a minimum
            // of theirs (a percentage one is left to the columns).
            if let Length::Px(width) = width {
                placed.min_size.width = length_percentage_auto(Length::Px(width));
            }
            if let Length::Px(height) = height {
                placed.min_size.height = length_percentage_auto(Length::Px(height));
            }
            placed.size = taffy::Size::auto();
            if let Some(sides) = borders {
                placed.border = collapsed_widths(sides);
            }
            let _ = self.tree.set_style(taffy_node, placed);
        }
        let column = form.columns.get(cell.column as usize);
        let part = |node: Option<NodeId>| {
            node.and_then(|node| self.styles.get(node)).map(|style| style.background_color)
        };
        let backgrounds: Vec<ColorF> = [
            part(column.and_then(|column| column.group)),
            part(column.and_then(|column| column.node)),
            part(row.and_then(|row| row.group)),
            part(row.and_then(|row| row.node)),
        ]
        .into_iter()
        .flatten()
        .filter(|color| !color.is_transparent())
        .collect();
        if !backgrounds.is_empty() || borders.is_some() {
            self.boxes[id.index()].table_paint = Some(Box::new(TablePaint { backgrounds, borders }));
        }
        id
    }
}

/// The border widths layout gives a box whose borders collapsed.
fn collapsed_widths(sides: Sides<CollapsedSide>) -> taffy::Rect<taffy::LengthPercentage> {
    taffy::Rect {
        left: length(sides.left.width),
        right: length(sides.right.width),
        top: length(sides.top.width),
        bottom: length(sides.bottom.width),
    }
}

/// `border-collapse: collapse` (CSS 2 §17.6.2), simplified: each border between two cells
/// is drawn once, by the cell above or to the left, at the wider of the two cells' widths
/// (in its colour); the table's edges are drawn by the table at the widest of its own
/// border and its edge cells'. The border sits inside the cell that draws it rather than
/// straddling the grid line.
mod collapse {
    use super::*;

    /// The table's borders, and each cell's.
    pub(super) fn resolve(
        styles: &StyleMap,
        table_style: &ComputedStyle,
        form: &TableForm,
    ) -> (Sides<CollapsedSide>, Vec<Sides<CollapsedSide>>) {
        let own: Vec<Sides<CollapsedSide>> = form
            .cells
            .iter()
            .map(|cell| match &cell.content {
                CellContent::Element(node) => {
                    styles.get(*node).map_or(Sides::all(CollapsedSide::NONE), CollapsedSide::of)
                }
                CellContent::Anonymous(_) => Sides::all(CollapsedSide::NONE),
            })
            .collect();
        let mut table = CollapsedSide::of(table_style);
        let last_row = form.rows.len() as u32;
        for (cell, sides) in form.cells.iter().zip(&own) {
            if cell.row == 0 {
                table.top = table.top.stronger(sides.top);
            }
            if cell.column == 0 {
                table.left = table.left.stronger(sides.left);
            }
            if cell.row + cell.rows >= last_row {
                table.bottom = table.bottom.stronger(sides.bottom);
            }
            if cell.column + cell.columns >= form.column_count {
                table.right = table.right.stronger(sides.right);
            }
        }
        let cells = form
            .cells
            .iter()
            .zip(&own)
            .map(|(cell, sides)| {
                let shared = |drawn_by_other: bool, edge: bool, side: CollapsedSide| {
                    if drawn_by_other || edge { CollapsedSide::NONE } else { side }
                };
                let towards =
                    |neighbour: Option<u32>,
                     edge: bool,
                     side: CollapsedSide,
                     theirs: fn(&Sides<CollapsedSide>) -> CollapsedSide| {
                        match neighbour {
                            _ if edge => CollapsedSide::NONE,
                            Some(other) => side.stronger(theirs(&own[other as usize])),
                            None => side,
                        }
                    };
                Sides {
                    top: shared(cell.above, cell.row == 0, sides.top),
                    left: shared(cell.left, cell.column == 0, sides.left),
                    right: towards(
                        cell.right,
                        cell.column + cell.columns >= form.column_count,
                        sides.right,
                        |other| other.left,
                    ),
                    bottom: towards(cell.below, cell.row + cell.rows >= last_row, sides.bottom, |other| {
                        other.top
                    }),
                }
            })
            .collect();
        (table, cells)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::TestPage;
    use crate::style;

    /// The table of a page whose only table is `table` (inside `<body>`).
    fn formed(table: &str) -> (Document, TableForm) {
        let document = Document::parse(&format!("<body>{table}")).expect("parses");
        let styles = style::compute(&document);
        let node = document
            .descendants(NodeId::DOCUMENT)
            .find(|&node| styles.get(node).is_some_and(|style| style.display.blockified() == Display::Table))
            .expect("a table");
        let form = form(&document, &styles, node);
        (document, form)
    }

    /// Each cell as (text, row, column, rows, columns).
    fn slots(table: &str) -> Vec<(String, u32, u32, u32, u32)> {
        let (document, form) = formed(table);
        form.cells
            .iter()
            .map(|cell| {
                let text = match &cell.content {
                    CellContent::Element(node) => document.text_content(*node),
                    CellContent::Anonymous(nodes) => {
                        nodes.iter().map(|&node| document.text_content(node)).collect()
                    }
                };
                (text.trim().to_owned(), cell.row, cell.column, cell.rows, cell.columns)
            })
            .collect()
    }

    fn cell(text: &str, row: u32, column: u32, rows: u32, columns: u32) -> (String, u32, u32, u32, u32) {
        (text.to_owned(), row, column, rows, columns)
    }

    #[test]
    fn cells_take_the_slots_their_spans_leave_free() {
        let table = "<table><tr><td rowspan=2>a<td colspan=2>b<td>c\
                     <tr><td>d<td>e<td>f\
                     <tr><td colspan=3>g<td>h</table>";
        assert_eq!(
            slots(table),
            [
                cell("a", 0, 0, 2, 1),
                cell("b", 0, 1, 1, 2),
                cell("c", 0, 3, 1, 1),
                // Row 2 starts right of a's rowspan.
                cell("d", 1, 1, 1, 1),
                cell("e", 1, 2, 1, 1),
                cell("f", 1, 3, 1, 1),
                cell("g", 2, 0, 1, 3),
                cell("h", 2, 3, 1, 1),
            ]
        );
        assert_eq!(formed(table).1.column_count, 4);
    }

    #[test]
    fn rowspans_stop_at_their_row_group_and_zero_reaches_its_end() {
        let table = "<table><tbody><tr><td rowspan=0>a<td rowspan=9>b<tr><td>c<td>d</tbody>\
                     <tbody><tr><td>e</tbody></table>";
        assert_eq!(
            slots(table),
            [
                cell("a", 0, 0, 2, 1),
                cell("b", 0, 1, 2, 1),
                cell("c", 1, 2, 1, 1),
                cell("d", 1, 3, 1, 1),
                cell("e", 2, 0, 1, 1)
            ]
        );
    }

    #[test]
    fn header_rows_go_first_and_footer_rows_last() {
        let table = "<table><tfoot><tr><td>foot</tfoot><tbody><tr><td>body</tbody>\
                     <thead><tr><td>head</thead><tr><td>loose</table>";
        let texts: Vec<String> = slots(table).into_iter().map(|(text, ..)| text).collect();
        // The parser puts the loose row in a tbody of its own, after the thead.
        assert_eq!(texts, ["head", "body", "loose", "foot"]);
    }

    #[test]
    fn loose_content_gets_anonymous_rows_and_cells() {
        // CSS tables (the parser leaves divs alone): cells straight in a table share an
        // anonymous row, and content that is no cell gets an anonymous cell.
        let table = "<div style='display: table'>\
                       <div style='display: table-cell'>a</div><div style='display: table-cell'>b</div>\
                       <div style='display: table-row'>text <b>bold</b><div style='display: table-cell'>c</div></div>\
                       <p>para</p> \
                     </div>";
        assert_eq!(
            slots(table),
            [
                cell("a", 0, 0, 1, 1),
                cell("b", 0, 1, 1, 1),
                cell("text bold", 1, 0, 1, 1),
                cell("c", 1, 1, 1, 1),
                cell("para", 2, 0, 1, 1)
            ]
        );
        let (_, form) = formed(table);
        assert_eq!(form.rows.iter().map(|row| row.node.is_some()).collect::<Vec<_>>(), [false, true, false]);
        assert!(matches!(form.cells[2].content, CellContent::Anonymous(ref nodes) if nodes.len() == 2));
    }

    #[test]
    fn columns_captions_and_absolute_children_are_set_aside() {
        let table = "<table><caption>cap</caption><colgroup span=2></colgroup><colgroup><col span=3><col></colgroup>\
                     <tr><td style='position: absolute'>abs<td>x<td style='display: none'>gone</table>";
        let (document, form) = formed(table);
        assert_eq!(form.captions.len(), 1);
        assert_eq!(form.out_of_flow.len(), 1);
        assert_eq!(document.text_content(form.out_of_flow[0]), "abs");
        assert_eq!(form.columns.len(), 6, "2 of the first group's own, 3 + 1 cols");
        assert_eq!((form.columns[0].node, form.columns[2].node.is_some()), (None, true));
        assert_eq!(form.column_count, 6, "columns count even without cells");
        assert_eq!(slots(table), [cell("x", 0, 0, 1, 1)]);
    }

    #[test]
    fn hostile_spans_are_clamped() {
        let table = "<table><tr><td colspan=999999 rowspan=-3>wide<td>past the last column\
                     <tr><td colspan=0 rowspan=70000>b<td colspan=2x>c</table>";
        assert_eq!(
            slots(table),
            [cell("wide", 0, 0, 1, MAX_COLUMNS), cell("b", 1, 0, 1, 1), cell("c", 1, 1, 1, 2)]
        );
    }

    #[test]
    fn neighbours_are_found_across_spans() {
        let (_, form) = formed("<table><tr><td rowspan=2>a<td>b<tr><td>c<tr><td colspan=2>d</table>");
        let [a, b, c, d] = &form.cells[..] else { panic!("four cells") };
        assert_eq!((a.left, a.above, a.right, a.below), (false, false, Some(1), Some(3)));
        assert_eq!((b.left, b.above, b.right, b.below), (true, false, None, Some(2)));
        // d spans c's column: c draws the border between them; a, above d's first column,
        // spans down to d too.
        assert_eq!((c.left, c.above, c.right, c.below), (true, true, None, Some(3)));
        assert_eq!((d.left, d.above, d.right, d.below), (false, true, None, None));
    }

    fn page(body: &str) -> TestPage {
        TestPage::new(&format!("<body style='margin: 0; font-size: 16px'>{body}</body>"), 400.0, 300.0)
    }

    fn rect(page: &TestPage, id: &str) -> [f32; 4] {
        let rect = page.layout.get(page.element_box(id)).rect;
        [rect.origin.x, rect.origin.y, rect.size.width, rect.size.height]
    }

    #[test]
    fn cells_line_up_in_rows_and_columns_with_spacing_between() {
        let page = page(
            "<table id=t style='border-spacing: 4px 6px'>\
               <tr><td id=a style='width: 50px'>a<td id=b>b</tr>\
               <tr><td id=c style='height: 40px'>c<td id=d style='width: 80px'>d</tr></table>",
        );
        let [a, b, c, d, table] = ["a", "b", "c", "d", "t"].map(|id| rect(&page, id));
        // The table shrinks to fit: 4 + 52 + 4 + 82 + 4 (cells have 1px padding).
        assert_eq!(table[2], 146.0, "{table:?}");
        assert_eq!((a[0], a[1]), (4.0, 6.0));
        // Columns: as wide as their widest cell; rows: as tall as their tallest.
        assert_eq!((a[2], c[2]), (52.0, 52.0));
        assert_eq!((b[0], b[2], d[2]), (60.0, 82.0, 82.0));
        assert_eq!(a[3], b[3], "one row, one height");
        assert_eq!((c[1], c[3], d[3]), (a[1] + a[3] + 6.0, 42.0, 42.0));
        assert_eq!(table[3], 6.0 + a[3] + 6.0 + 42.0 + 6.0);
    }

    #[test]
    fn cells_align_their_content_vertically() {
        let page = page(
            "<table style='border-spacing: 0'><tr style='height: 100px'>\
               <td><div id=middle>m</div><td style='vertical-align: top'><div id=top>t</div>\
               <td valign=bottom><div id=bottom>b</div></table>",
        );
        let [middle, top, bottom] = ["middle", "top", "bottom"].map(|id| rect(&page, id));
        assert_eq!(top[1], 1.0, "inside the 1px padding");
        assert_eq!(bottom[1] + bottom[3], 99.0);
        // Centred, to the whole pixel taffy rounds to.
        assert!((middle[1] - (100.0 - middle[3]) / 2.0).abs() <= 0.5, "{middle:?}");
    }

    #[test]
    fn captions_sit_outside_the_table_box_and_percent_widths_use_the_container() {
        let page = page(
            "<table id=t style='width: 50%; border: 2px solid'><caption id=cap>Caption</caption>\
               <caption id=under style='caption-side: bottom'>Under</caption><tr><td id=a>a</table>",
        );
        let [table, caption, under, a] = ["t", "cap", "under", "a"].map(|id| rect(&page, id));
        assert_eq!(caption[1], 0.0);
        assert_eq!(table[1], caption[3], "the table box follows its caption");
        assert_eq!(under[1], table[1] + table[3]);
        assert_eq!(table[2], 200.0, "50% of 400, border box");
        assert_eq!(caption[2], 200.0);
        assert_eq!(a[0], 4.0, "2px border, 2px spacing");
    }

    #[test]
    fn collapsed_borders_are_drawn_once_by_the_stronger_side() {
        let page = page(
            "<table id=t style='border-collapse: collapse; border: 1px solid'>\
               <tr><td id=a style='border: 3px solid'>a<td id=b style='border: 1px solid'>b\
               <tr><td id=c style='border: 1px solid'>c<td id=d style='border: 5px solid'>d</table>",
        );
        let paint = |id: &str| {
            let borders =
                page.layout.get(page.element_box(id)).table_paint.as_ref().and_then(|paint| paint.borders);
            borders.expect("collapsed borders").map(|side| side.width)
        };
        let sides = |sides: Sides<f32>| [sides.top, sides.right, sides.bottom, sides.left];
        // The table draws its edges, at the widest of its own and its edge cells' borders.
        assert_eq!(sides(paint("t")), [3.0, 5.0, 5.0, 3.0]);
        // Inside, the cell above or to the left draws the wider of the two.
        assert_eq!(sides(paint("a")), [0.0, 3.0, 3.0, 0.0]);
        assert_eq!(sides(paint("b")), [0.0, 0.0, 5.0, 0.0]);
        assert_eq!(sides(paint("c")), [0.0, 5.0, 0.0, 0.0]);
        assert_eq!(sides(paint("d")), [0.0, 0.0, 0.0, 0.0]);
        // Layout uses the same widths: no spacing, no doubled borders.
        let [table, a, b] = ["t", "a", "b"].map(|id| rect(&page, id));
        assert_eq!((a[0], a[1]), (3.0, 3.0));
        assert_eq!(b[0], a[0] + a[2]);
        assert_eq!(table[0], 0.0);
    }

    #[test]
    fn row_and_column_backgrounds_paint_under_their_cells() {
        let page = page(
            "<table><col style='background: red'><col><tbody style='background: lime'>\
               <tr style='background: blue'><td id=a>a<td id=b>b<tr><td id=c>c</table>",
        );
        let backgrounds = |id: &str| {
            let paint = page.layout.get(page.element_box(id)).table_paint.clone().unwrap_or_default();
            paint.backgrounds.iter().map(|color| [color.r, color.g, color.b]).collect::<Vec<_>>()
        };
        let (red, lime, blue) = ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]);
        assert_eq!(backgrounds("a"), [red, lime, blue]);
        assert_eq!(backgrounds("b"), [lime, blue]);
        assert_eq!(backgrounds("c"), [red, lime]);
    }

    #[test]
    fn hostile_tables_lay_out_without_panicking() {
        let many_rows: String =
            (0..2000).map(|row| format!("<tr><td rowspan=0>{row}<td colspan=1000>")).collect();
        for table in [
            many_rows.as_str(),
            "<tr><td colspan=1000 rowspan=65534>x<td>y",
            "<caption>c</caption><caption>d</caption>",
            "<col span=1000 style='width: 100000px'><tr><td style='height: -5px; width: 1e9px'>",
            "<col style='width: -50px'><col style='width: -5%'><tr style='height: -9px'><td>a<td>b",
            "<tr style='height: 1e30px'><td style='border: 1e9px solid'>",
        ] {
            let page = page(&format!(
                "<table style='border-collapse: collapse'>{table}</table><table>{table}</table>"
            ));
            let size = page.layout.document_size;
            assert!(size.width.is_finite() && size.height.is_finite(), "{table:.60}");
        }
    }
}
