//! CSS Grid values (CSS Grid 1 §7–§8): track lists, line names, `grid-template-areas`, and
//! the line placements of grid items. Parsed with cssparser into taffy's own grid types,
//! which are what layout hands taffy: mirroring taffy's track grammar in types of our own
//! would be a second copy of it.
//!
//! Lengths are resolved here (`em`, `rem`, `pt` → px); percentages and `fr` stay for
//! layout. Every count and line number is bounded, so a hostile page cannot make taffy
//! build an unbounded grid or hit its "grid line of zero" panic.

use cssparser::{ParseError, ParseErrorKind, Parser, Token};
use taffy::{
    GridAutoFlow, GridPlacement, GridTemplateArea, GridTemplateAreas, GridTemplateComponent,
    GridTemplateRepetition, Line, MaxTrackSizingFunction, MinTrackSizingFunction, RepetitionCount,
    TrackSizingFunction,
};

use super::values::FontRelative;

/// The most tracks one `repeat()` makes, and the largest line number kept (taffy's own
/// limit is 10,000 tracks; a page asking for more gets this many).
pub const MAX_REPEAT: u16 = 1000;
/// The largest line number or span kept (CSS lets implementations clamp them).
pub const MAX_LINE: i16 = 1000;
/// The most rows or columns `grid-template-areas` may name.
pub const MAX_AREA_TRACKS: usize = 100;

/// An item's start and end lines along one axis (`grid-row`, `grid-column`).
pub type GridLines = Line<GridPlacement<String>>;

/// `grid-template-rows` or `grid-template-columns`: the explicit tracks and the names of
/// the lines between them (`names` has one set per line, `tracks.len() + 1`, possibly empty).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrackList {
    /// The tracks, a `repeat()` counting as one.
    pub tracks: Vec<GridTemplateComponent<String>>,
    /// The line names before each track and after the last.
    pub names: Vec<Vec<String>>,
}

/// The grid properties of a box: the container's (template, auto tracks, flow, areas) and
/// the item's (its lines). None is inherited.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GridStyle {
    /// `grid-template-rows`.
    pub template_rows: TrackList,
    /// `grid-template-columns`.
    pub template_columns: TrackList,
    /// `grid-auto-rows`: the size of rows the grid adds (empty: `auto`).
    pub auto_rows: Vec<TrackSizingFunction>,
    /// `grid-auto-columns`.
    pub auto_columns: Vec<TrackSizingFunction>,
    /// `grid-auto-flow`.
    pub auto_flow: GridAutoFlow,
    /// `grid-template-areas` (`None`: `none`).
    pub areas: Option<GridTemplateAreas<String>>,
    /// `grid-row-start` / `grid-row-end`.
    pub row: GridLines,
    /// `grid-column-start` / `grid-column-end`.
    pub column: GridLines,
}

/// Parses a track list: `none`, or tracks (`100px`, `20%`, `1fr`, `auto`, `min-content`,
/// `max-content`, `minmax(a, b)`, `fit-content(l)`, `repeat(n | auto-fill | auto-fit, …)`)
/// with `[line names]` between them. At most one automatic repetition, and then only of
/// fixed sizes, as CSS Grid 1 §7.2.3.2 requires.
pub fn parse_track_list(value: &str, font: FontRelative) -> Option<TrackList> {
    let mut parser = Parser::new(value);
    if parser.try_parse(|parser| parser.expect_ident_matching("none")).is_ok() {
        return parser.is_exhausted().then(TrackList::default);
    }
    let mut list = TrackList::default();
    loop {
        list.names.push(parser.try_parse(line_names).unwrap_or_default());
        if parser.is_exhausted() {
            break;
        }
        let component = match parser.try_parse(|parser| repeat(parser, font)) {
            Ok(repetition) => GridTemplateComponent::Repeat(repetition),
            Err(()) => GridTemplateComponent::Single(track_size(&mut parser, font)?),
        };
        list.tracks.push(component);
    }
    let automatic = list.tracks.iter().filter(|track| track.is_auto_repetition()).count();
    let all_fixed = list.tracks.iter().all(|component| match component {
        GridTemplateComponent::Single(track) => track.has_fixed_component(),
        GridTemplateComponent::Repeat(repetition) => {
            repetition.tracks.iter().all(TrackSizingFunction::has_fixed_component)
        }
    });
    let valid = !list.tracks.is_empty() && (automatic == 0 || (automatic == 1 && all_fixed));
    valid.then_some(list)
}

/// Parses `grid-auto-rows` / `grid-auto-columns`: one or more track sizes.
pub fn parse_auto_tracks(value: &str, font: FontRelative) -> Option<Vec<TrackSizingFunction>> {
    let mut parser = Parser::new(value);
    let mut tracks = Vec::new();
    while !parser.is_exhausted() {
        tracks.push(track_size(&mut parser, font)?);
    }
    (!tracks.is_empty()).then_some(tracks)
}

/// Parses `grid-auto-flow`: `row` or `column`, either or both with `dense`.
pub fn parse_auto_flow(keyword: &str) -> Option<GridAutoFlow> {
    let words: Vec<&str> = keyword.split_ascii_whitespace().collect();
    let dense = words.contains(&"dense");
    let axes: Vec<&str> = words.iter().copied().filter(|word| *word != "dense").collect();
    if words.len() - axes.len() > 1 {
        return None;
    }
    Some(match (axes.as_slice(), dense) {
        ([] | ["row"], false) if !words.is_empty() => GridAutoFlow::Row,
        ([] | ["row"], true) => GridAutoFlow::RowDense,
        (["column"], false) => GridAutoFlow::Column,
        (["column"], true) => GridAutoFlow::ColumnDense,
        _ => return None,
    })
}

/// Parses `grid-template-areas`: `none` (`Some(None)`), or one string per row whose
/// whitespace-separated cells name areas (`.`s are no area). Every row has as many cells
/// and every named area is a rectangle, or the value is invalid (`None`).
pub fn parse_areas(value: &str) -> Option<Option<GridTemplateAreas<String>>> {
    let mut parser = Parser::new(value);
    if parser.try_parse(|parser| parser.expect_ident_matching("none")).is_ok() {
        return parser.is_exhausted().then_some(None);
    }
    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    while !parser.is_exhausted() {
        let row = parser.expect_string().ok()?.to_string();
        rows.push(area_cells(&row)?);
    }
    let columns = rows.first()?.len();
    if columns == 0
        || columns > MAX_AREA_TRACKS
        || rows.len() > MAX_AREA_TRACKS
        || rows.iter().any(|row| row.len() != columns)
    {
        return None;
    }
    let mut areas: Vec<GridTemplateArea<String>> = Vec::new();
    for (row_index, row) in rows.iter().enumerate() {
        for (column_index, cell) in row.iter().enumerate() {
            let Some(name) = cell else { continue };
            if areas.iter().any(|area| &area.name == name) {
                continue;
            }
            // The area's extent from its first cell; then every cell must agree with it.
            let width = row[column_index..].iter().take_while(|other| other.as_ref() == Some(name)).count();
            let height = rows[row_index..]
                .iter()
                .take_while(|other| other[column_index].as_ref() == Some(name))
                .count();
            areas.push(GridTemplateArea {
                name: name.clone(),
                row_start: row_index as u16 + 1,
                row_end: (row_index + height) as u16 + 1,
                column_start: column_index as u16 + 1,
                column_end: (column_index + width) as u16 + 1,
            });
        }
    }
    // Rectangles: each name's cells are exactly its area's.
    for (row_index, row) in rows.iter().enumerate() {
        for (column_index, cell) in row.iter().enumerate() {
            let Some(name) = cell else { continue };
            let area = areas.iter().find(|area| &area.name == name)?;
            let inside =
                |at: usize, start: u16, end: u16| (usize::from(start)..usize::from(end)).contains(&(at + 1));
            if !inside(row_index, area.row_start, area.row_end)
                || !inside(column_index, area.column_start, area.column_end)
            {
                return None;
            }
        }
        for area in &areas {
            let spans_row =
                (usize::from(area.row_start)..usize::from(area.row_end)).contains(&(row_index + 1));
            let cells = usize::from(area.column_start) - 1..usize::from(area.column_end) - 1;
            if spans_row && cells.clone().any(|column| row[column].as_ref() != Some(&area.name)) {
                return None;
            }
        }
    }
    Some(Some(GridTemplateAreas { areas, row_count: rows.len() as u16, column_count: columns as u16 }))
}

/// The cells of one `grid-template-areas` row (CSS Grid 1 §7.3.1's tokens): names, and
/// `None` for each run of `.`s; any other character makes the value invalid.
fn area_cells(row: &str) -> Option<Vec<Option<String>>> {
    let name_char = |c: char| c.is_alphanumeric() || c == '-' || c == '_' || !c.is_ascii();
    let mut cells = Vec::new();
    let mut rest = row.trim_start();
    while let Some(first) = rest.chars().next() {
        let end = if first == '.' {
            cells.push(None);
            rest.find(|c| c != '.').unwrap_or(rest.len())
        } else if name_char(first) {
            let end = rest.find(|c| !name_char(c)).unwrap_or(rest.len());
            cells.push(Some(rest[..end].to_owned()));
            end
        } else {
            return None;
        };
        rest = rest[end..].trim_start();
    }
    Some(cells)
}

/// Parses one grid line (`grid-row-start` and friends): `auto`, `<integer>` (not 0),
/// `<name>`, `<integer> <name>`, `span <integer>`, `span <name>`.
pub fn parse_line(value: &str) -> Option<GridPlacement<String>> {
    let mut parser = Parser::new(value);
    let line = grid_line(&mut parser)?;
    parser.is_exhausted().then_some(line)
}

/// Parses `grid-row` / `grid-column` (`start [/ end]`): a lone name is also the end line,
/// anything else leaves the end `auto`.
pub fn parse_line_pair(value: &str) -> Option<GridLines> {
    let parts = split_slashes(value, 2)?;
    let start = parse_line(parts[0])?;
    let end = match parts.get(1) {
        Some(end) => parse_line(end)?,
        None => same_name(&start),
    };
    Some(Line { start, end })
}

/// Parses `grid-area` (`row-start [/ column-start [/ row-end [/ column-end]]]`). A part
/// left out copies row-start (for column-start and row-end) or column-start (for
/// column-end) when that is a lone name, and is `auto` otherwise (CSS Grid 1 §8.4).
/// Returns (rows, columns).
pub fn parse_area(value: &str) -> Option<(GridLines, GridLines)> {
    let parts = split_slashes(value, 4)?;
    let lines: Vec<GridPlacement<String>> =
        parts.iter().map(|part| parse_line(part)).collect::<Option<_>>()?;
    let row_start = lines[0].clone();
    let column_start = lines.get(1).cloned().unwrap_or_else(|| same_name(&row_start));
    let row_end = lines.get(2).cloned().unwrap_or_else(|| same_name(&row_start));
    let column_end = lines.get(3).cloned().unwrap_or_else(|| same_name(&column_start));
    Some((Line { start: row_start, end: row_end }, Line { start: column_start, end: column_end }))
}

/// A line standing for an omitted one: the same name if `line` is a lone name, else `auto`.
fn same_name(line: &GridPlacement<String>) -> GridPlacement<String> {
    match line {
        GridPlacement::NamedLine(name, 0) => GridPlacement::NamedLine(name.clone(), 0),
        _ => GridPlacement::Auto,
    }
}

/// `value` cut at `/`s into 1..=`max` non-empty parts.
fn split_slashes(value: &str, max: usize) -> Option<Vec<&str>> {
    let parts: Vec<&str> = value.split('/').map(str::trim).collect();
    (parts.len() <= max && parts.iter().all(|part| !part.is_empty())).then_some(parts)
}

fn grid_line(parser: &mut Parser<'_>) -> Option<GridPlacement<String>> {
    if parser.try_parse(|parser| parser.expect_ident_matching("auto")).is_ok() {
        return Some(GridPlacement::Auto);
    }
    let span = parser.try_parse(|parser| parser.expect_ident_matching("span")).is_ok();
    // An integer and a name, in either order, each at most once.
    let (mut number, mut name) = (None, None);
    for _ in 0..2 {
        let state = parser.state();
        match parser.next() {
            Ok(Token::Number { int_value: Some(value), .. }) if number.is_none() => number = Some(*value),
            Ok(Token::Ident(ident)) if name.is_none() && custom_ident(ident) => {
                name = Some(ident.to_string())
            }
            _ => {
                parser.reset(&state);
                break;
            }
        }
    }
    let clamp = |value: i32| value.clamp(-i32::from(MAX_LINE), i32::from(MAX_LINE)) as i16;
    Some(match (span, number, name) {
        (_, None, None) => return None,
        (false, Some(0), _) => return None,
        (false, Some(line), None) => GridPlacement::Line(clamp(line).into()),
        (false, line, Some(name)) => GridPlacement::NamedLine(name, line.map_or(0, clamp)),
        (true, Some(count), _) if count <= 0 => return None,
        (true, count, None) => GridPlacement::Span(clamp(count.unwrap_or(1)) as u16),
        (true, count, Some(name)) => GridPlacement::NamedSpan(name, clamp(count.unwrap_or(1)) as u16),
    })
}

/// Whether an identifier may name a line or an area (not a keyword of these properties).
fn custom_ident(ident: &str) -> bool {
    !["auto", "span", "inherit", "initial", "unset", "default"]
        .iter()
        .any(|word| ident.eq_ignore_ascii_case(word))
}

/// A value these parsers refuse (cssparser's error for it; the reason is not kept).
fn invalid() -> ParseError<()> {
    ParseError { kind: ParseErrorKind::Custom(()) }
}

/// `[name name …]`.
fn line_names(parser: &mut Parser<'_>) -> Result<Vec<String>, ()> {
    match parser.next() {
        Ok(Token::SquareBracketBlock) => {}
        _ => return Err(()),
    }
    parser
        .parse_nested_block(|parser| {
            let mut names = Vec::new();
            while !parser.is_exhausted() {
                let name = parser.expect_ident()?.to_string();
                if !custom_ident(&name) {
                    return Err(invalid());
                }
                names.push(name);
            }
            Ok(names)
        })
        .map_err(|_| ())
}

/// `repeat(count, [names] track …)`.
fn repeat(parser: &mut Parser<'_>, font: FontRelative) -> Result<GridTemplateRepetition<String>, ()> {
    parser.expect_function_matching("repeat").map_err(|_| ())?;
    parser
        .parse_nested_block(|parser| {
            let count = match parser.next()?.clone() {
                Token::Number { int_value: Some(count), .. } if count > 0 => {
                    RepetitionCount::Count(count.min(i32::from(MAX_REPEAT)) as u16)
                }
                Token::Ident(ident) if ident.eq_ignore_ascii_case("auto-fill") => RepetitionCount::AutoFill,
                Token::Ident(ident) if ident.eq_ignore_ascii_case("auto-fit") => RepetitionCount::AutoFit,
                _ => return Err(invalid()),
            };
            parser.expect_comma()?;
            let (mut tracks, mut names) = (Vec::new(), Vec::new());
            loop {
                names.push(parser.try_parse(line_names).unwrap_or_default());
                if parser.is_exhausted() {
                    break;
                }
                tracks.push(track_size(parser, font).ok_or_else(invalid)?);
            }
            if tracks.is_empty() {
                return Err(invalid());
            }
            // taffy takes no name sets or exactly one per line.
            if names.iter().all(Vec::is_empty) {
                names.clear();
            }
            Ok(GridTemplateRepetition { count, tracks, line_names: names })
        })
        .map_err(|_: ParseError<()>| ())
}

/// One track size: a breadth, `minmax(min, max)` or `fit-content(limit)`.
fn track_size(parser: &mut Parser<'_>, font: FontRelative) -> Option<TrackSizingFunction> {
    let function = parser.try_parse(|parser| parser.expect_function().map(|name| name.to_ascii_lowercase()));
    match function.as_deref() {
        Ok("minmax") => parser
            .parse_nested_block(|parser| {
                let min = breadth(parser, font).ok_or_else(invalid)?;
                parser.expect_comma()?;
                let max = breadth(parser, font).ok_or_else(invalid)?;
                // The minimum may not be flexible (CSS Grid 1 §7.2.4).
                let min = match min {
                    Breadth::Fr(_) => return Err(invalid()),
                    min => min.min(),
                };
                Ok(TrackSizingFunction { min, max: max.max() })
            })
            .ok(),
        Ok("fit-content") => parser
            .parse_nested_block(|parser| {
                let limit = match breadth(parser, font) {
                    Some(Breadth::Px(px)) => MaxTrackSizingFunction::fit_content_px(px),
                    Some(Breadth::Percent(percent)) => MaxTrackSizingFunction::fit_content_percent(percent),
                    _ => return Err(invalid()),
                };
                Ok(TrackSizingFunction { min: MinTrackSizingFunction::auto(), max: limit })
            })
            .ok(),
        Ok(_) => None,
        Err(_) => {
            let max = breadth(parser, font)?.max();
            Some(TrackSizingFunction { min: MinTrackSizingFunction::from(max), max })
        }
    }
}

/// A track breadth (CSS Grid 1 §7.2.4).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Breadth {
    Px(f32),
    /// A fraction of the grid container's size (0–1).
    Percent(f32),
    Fr(f32),
    Auto,
    MinContent,
    MaxContent,
}

impl Breadth {
    fn max(self) -> MaxTrackSizingFunction {
        match self {
            Breadth::Px(px) => MaxTrackSizingFunction::length(px),
            Breadth::Percent(percent) => MaxTrackSizingFunction::percent(percent),
            Breadth::Fr(fr) => MaxTrackSizingFunction::fr(fr),
            Breadth::Auto => MaxTrackSizingFunction::auto(),
            Breadth::MinContent => MaxTrackSizingFunction::min_content(),
            Breadth::MaxContent => MaxTrackSizingFunction::max_content(),
        }
    }

    /// As a minimum (never `Fr`: the caller refused it).
    fn min(self) -> MinTrackSizingFunction {
        match self {
            Breadth::Px(px) => MinTrackSizingFunction::length(px),
            Breadth::Percent(percent) => MinTrackSizingFunction::percent(percent),
            Breadth::Fr(_) | Breadth::Auto => MinTrackSizingFunction::auto(),
            Breadth::MinContent => MinTrackSizingFunction::min_content(),
            Breadth::MaxContent => MinTrackSizingFunction::max_content(),
        }
    }
}

/// One breadth: a non-negative length or percentage, `<n>fr`, or a keyword.
fn breadth(parser: &mut Parser<'_>, font: FontRelative) -> Option<Breadth> {
    let breadth = match parser.next().ok()?.clone() {
        Token::Dimension { value, unit, .. } => match unit.to_ascii_lowercase().as_str() {
            "fr" => Breadth::Fr(value),
            "px" => Breadth::Px(value),
            "em" => Breadth::Px(value * font.em),
            "rem" => Breadth::Px(value * font.rem),
            "pt" => Breadth::Px(value * 4.0 / 3.0),
            _ => return None,
        },
        Token::Percentage { unit_value, .. } => Breadth::Percent(unit_value),
        Token::Number { value: 0.0, .. } => Breadth::Px(0.0),
        Token::Ident(ident) => match ident.to_ascii_lowercase().as_str() {
            "auto" => Breadth::Auto,
            "min-content" => Breadth::MinContent,
            "max-content" => Breadth::MaxContent,
            _ => return None,
        },
        _ => return None,
    };
    let value = match breadth {
        Breadth::Px(value) | Breadth::Percent(value) | Breadth::Fr(value) => value,
        _ => 0.0,
    };
    (value.is_finite() && value >= 0.0).then_some(breadth)
}

#[cfg(test)]
mod tests {
    use taffy::prelude::TaffyAuto;
    use taffy::style_helpers::{fr, length, line, minmax, percent, span};

    use super::*;

    const FONT: FontRelative = FontRelative { em: 10.0, rem: 16.0 };

    fn single(track: TrackSizingFunction) -> GridTemplateComponent<String> {
        GridTemplateComponent::Single(track)
    }

    #[test]
    fn track_lists_parse_sizes_functions_repeats_and_names() {
        let list = parse_track_list(
            "[full-start] 100px 2em [main] 1fr minmax(10%, 2fr) fit-content(50px) auto",
            FONT,
        )
        .expect("valid");
        assert_eq!(
            list.tracks,
            [
                single(length(100.0)),
                single(length(20.0)),
                single(fr(1.0)),
                single(minmax(percent(0.1), fr(2.0))),
                single(TrackSizingFunction {
                    min: MinTrackSizingFunction::auto(),
                    max: MaxTrackSizingFunction::fit_content_px(50.0)
                }),
                single(TrackSizingFunction::AUTO),
            ]
        );
        assert_eq!(list.names.len(), list.tracks.len() + 1, "one name set per line");
        assert_eq!(list.names[0], ["full-start"]);
        assert_eq!(list.names[2], ["main"]);
        assert!(list.names[6].is_empty());

        let list = parse_track_list("repeat(3, [col] 1fr) 200px", FONT).expect("valid");
        let GridTemplateComponent::Repeat(repetition) = &list.tracks[0] else { panic!("{list:?}") };
        assert_eq!(repetition.count, RepetitionCount::Count(3));
        assert_eq!(repetition.tracks, [fr(1.0)]);
        assert_eq!(
            repetition.line_names,
            [vec!["col".to_owned()], vec![]],
            "a set per line of the repetition"
        );
        let list = parse_track_list("repeat(auto-fill, minmax(120px, 1fr))", FONT);
        assert!(list.is_some(), "an automatic repetition of a fixed minimum");
        assert_eq!(
            parse_track_list("repeat(99999, 1px)", FONT).map(|list| match &list.tracks[0] {
                GridTemplateComponent::Repeat(repetition) => repetition.count,
                _ => RepetitionCount::AutoFill,
            }),
            Some(RepetitionCount::Count(MAX_REPEAT)),
            "a hostile count is clamped"
        );
        assert_eq!(parse_track_list("none", FONT), Some(TrackList::default()));
    }

    #[test]
    fn invalid_track_lists_are_refused() {
        for value in [
            "",
            "-10px",
            "1fr -1fr",
            "minmax(1fr, 100px)",
            "repeat(0, 1fr)",
            "repeat(2)",
            "repeat(auto-fill, 1fr)",
            "repeat(auto-fill, 10px) repeat(auto-fit, 10px)",
            "10px [auto]",
            "10px [1]",
            "fit-content(1fr)",
            "calc(10px)",
            "none 10px",
            "10vw",
        ] {
            assert_eq!(parse_track_list(value, FONT), None, "{value:?}");
        }
    }

    #[test]
    fn auto_tracks_and_flow() {
        assert_eq!(
            parse_auto_tracks("50px minmax(1em, auto)", FONT),
            Some(vec![length(50.0), minmax(length(10.0), TrackSizingFunction::AUTO.max)])
        );
        assert_eq!(parse_auto_tracks("", FONT), None);
        assert_eq!(parse_auto_flow("row"), Some(GridAutoFlow::Row));
        assert_eq!(parse_auto_flow("dense"), Some(GridAutoFlow::RowDense));
        assert_eq!(parse_auto_flow("dense column"), Some(GridAutoFlow::ColumnDense));
        assert_eq!(parse_auto_flow("column"), Some(GridAutoFlow::Column));
        assert_eq!(parse_auto_flow("row column"), None);
        assert_eq!(parse_auto_flow("dense dense"), None);
        assert_eq!(parse_auto_flow(""), None);
    }

    #[test]
    fn template_areas_are_rectangles_of_named_cells() {
        let areas = parse_areas(r#""head head" "side main" ". foot""#).expect("valid").expect("areas");
        assert_eq!((areas.row_count, areas.column_count), (3, 2));
        let area = |name: &str| {
            let area = areas.areas.iter().find(|area| area.name == name).expect(name);
            (area.row_start, area.row_end, area.column_start, area.column_end)
        };
        assert_eq!(area("head"), (1, 2, 1, 3));
        assert_eq!(area("side"), (2, 3, 1, 2));
        assert_eq!(area("main"), (2, 3, 2, 3));
        assert_eq!(area("foot"), (3, 4, 2, 3));
        assert_eq!(areas.areas.len(), 4, "dots name nothing");
        assert_eq!(
            parse_areas(r#""a...b""#).expect("valid").expect("areas").column_count,
            3,
            "a dot run is one cell"
        );
        assert_eq!(parse_areas("none"), Some(None));
        for value in [r#""a b" "a""#, r#""a b a""#, r#""a a" "a b""#, r#""a b" "b b""#, r#""""#, "a", ""] {
            assert_eq!(parse_areas(value), None, "{value:?}");
        }
    }

    #[test]
    fn lines_spans_names_and_shorthands() {
        assert_eq!(parse_line("auto"), Some(GridPlacement::Auto));
        assert_eq!(parse_line("2"), Some(line(2)));
        assert_eq!(parse_line("-1"), Some(line(-1)));
        assert_eq!(parse_line("span 3"), Some(span(3)));
        assert_eq!(parse_line("main"), Some(GridPlacement::NamedLine("main".into(), 0)));
        assert_eq!(parse_line("2 col"), Some(GridPlacement::NamedLine("col".into(), 2)));
        assert_eq!(parse_line("span col 2"), Some(GridPlacement::NamedSpan("col".into(), 2)));
        assert_eq!(parse_line("40000"), Some(line(MAX_LINE)), "clamped");
        for value in ["0", "span 0", "span -1", "span", "1 2", "a b", "auto 1", ""] {
            assert_eq!(parse_line(value), None, "{value:?}: refused (taffy panics on line 0)");
        }
        assert_eq!(parse_line_pair("1 / 3"), Some(Line { start: line(1), end: line(3) }));
        assert_eq!(parse_line_pair("2 / span 2"), Some(Line { start: line(2), end: span(2) }));
        assert_eq!(parse_line_pair("2"), Some(Line { start: line(2), end: GridPlacement::Auto }));
        let named = GridPlacement::NamedLine("side".to_owned(), 0);
        assert_eq!(parse_line_pair("side"), Some(Line { start: named.clone(), end: named.clone() }));
        assert_eq!(parse_line_pair("1 / 2 / 3"), None);
        assert_eq!(
            parse_area("side"),
            Some((
                Line { start: named.clone(), end: named.clone() },
                Line { start: named.clone(), end: named }
            ))
        );
        assert_eq!(
            parse_area("1 / 2 / 3 / 4"),
            Some((Line { start: line(1), end: line(3) }, Line { start: line(2), end: line(4) }))
        );
        assert_eq!(
            parse_area("2 / 1"),
            Some((
                Line { start: line(2), end: GridPlacement::Auto },
                Line { start: line(1), end: GridPlacement::Auto }
            ))
        );
        assert_eq!(parse_area("1 / 2 / 3 / 4 / 5"), None);
    }
}
