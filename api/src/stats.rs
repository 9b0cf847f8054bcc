//! What a frame cost, stage by stage: the numbers `--verbose` prints and `--stats-json`
//! writes. Times are CPU microseconds measured in the process that ran the stage.

use serde::{Deserialize, Serialize};

/// The content process's stages for one page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentStageTimes {
    /// Reading the page file.
    pub load_us: u64,
    /// HTML → DOM.
    pub parse_us: u64,
    /// The cascade.
    pub style_us: u64,
    /// Box tree, taffy and parley (including image decoding).
    pub layout_us: u64,
    /// Box tree → display list.
    pub display_list_us: u64,
}

/// The GPU process's stages for one frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuStageTimes {
    /// Display list → validated primitives (including glyph rasterisation).
    pub replay_us: u64,
    /// Primitives → batches.
    pub batch_us: u64,
    /// Instance and uniform uploads, render passes recorded.
    pub encode_us: u64,
    /// Submission, waiting for the GPU, and copying the pixels out.
    pub execute_us: u64,
}

/// One rendered frame, counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameStats {
    /// Display items in the list.
    pub items: u32,
    /// Primitives (instanced quads) they became.
    pub primitives: u32,
    /// Batches the primitives were grouped into.
    pub batches: u32,
    /// Draw calls issued (one per batch that had its texture).
    pub draw_calls: u32,
    /// Render targets: the page plus one per opacity group.
    pub surfaces: u32,
    /// Bytes written to the GPU for this frame: resources uploaded since the previous
    /// frame, glyph bitmaps, instances and uniforms.
    pub bytes_uploaded: u64,
    /// Glyphs rasterised into the atlas this frame (0 when every glyph was cached).
    pub glyphs_rasterized: u32,
    /// Glyphs evicted from the atlas to make room.
    pub glyphs_evicted: u32,
    /// The glyph atlas's side in texels.
    pub glyph_atlas_side: u32,
    /// Textures alive in the texture cache (shared image pages, images, image buffers).
    pub cached_textures: u32,
    /// Time per stage.
    pub cpu: GpuStageTimes,
}
