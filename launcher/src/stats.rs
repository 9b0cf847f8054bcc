//! Frame stats for people (`--verbose`, a table on stderr) and for tools (`--stats-json`).

use std::fmt::Write as _;
use std::path::Path;

use armature_api::{ContentStageTimes, FrameStats};
use serde::Serialize;

use crate::error::LauncherError;
use crate::session::RenderedPage;

/// What `--stats-json` writes: one page's frame, counted, with both processes' stage times.
#[derive(Serialize)]
struct StatsReport<'a> {
    page: &'a Path,
    width: u32,
    height: u32,
    display_items: usize,
    /// From the content process's launch to the frame.
    elapsed_us: u64,
    content: ContentStageTimes,
    gpu: FrameStats,
}

/// The stats as an aligned table, one line per number.
pub fn table(page: &RenderedPage) -> String {
    let stats = &page.frame.stats;
    let content = &page.timings;
    let rows: [(&str, String); 18] = [
        ("display items", stats.items.to_string()),
        ("primitives", stats.primitives.to_string()),
        ("batches", stats.batches.to_string()),
        ("draw calls", stats.draw_calls.to_string()),
        ("surfaces", stats.surfaces.to_string()),
        ("bytes uploaded", stats.bytes_uploaded.to_string()),
        ("glyphs rasterised", stats.glyphs_rasterized.to_string()),
        ("glyphs evicted", stats.glyphs_evicted.to_string()),
        ("glyph atlas side", stats.glyph_atlas_side.to_string()),
        ("cached textures", stats.cached_textures.to_string()),
        ("content: load", micros(content.load_us)),
        ("content: parse", micros(content.parse_us)),
        ("content: style", micros(content.style_us)),
        ("content: layout", micros(content.layout_us)),
        ("content: display list", micros(content.display_list_us)),
        ("gpu: replay", micros(stats.cpu.replay_us)),
        ("gpu: batch", micros(stats.cpu.batch_us)),
        ("gpu: encode + execute", micros(stats.cpu.encode_us + stats.cpu.execute_us)),
    ];
    let mut out = String::from("armature: frame stats\n");
    for (name, value) in rows {
        let _ = writeln!(out, "  {name:<24}{value:>12}");
    }
    out
}

fn micros(us: u64) -> String {
    format!("{:.3} ms", us as f64 / 1000.0)
}

/// Writes the stats as JSON to `path`.
pub fn write_json(path: &Path, page: &RenderedPage) -> Result<(), LauncherError> {
    let report = StatsReport {
        page: &page.page,
        width: page.frame.size.width,
        height: page.frame.size.height,
        display_items: page.display_items,
        elapsed_us: page.elapsed.as_micros().try_into().unwrap_or(u64::MAX),
        content: page.timings,
        gpu: page.frame.stats,
    };
    let failed = |message: String| LauncherError::Output { path: path.to_owned(), message };
    let json = serde_json::to_string_pretty(&report).map_err(|error| failed(error.to_string()))?;
    std::fs::write(path, json + "\n").map_err(|error| failed(error.to_string()))
}
