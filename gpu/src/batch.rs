//! Batching: a frame's primitives, surface by surface in paint order, grouped into batches
//! that each take one instanced draw call.
//!
//! This is WebRender's alpha batcher reduced to what Armature draws. A batch is keyed by
//! (primitive kind, blend mode, texture). A primitive may join an earlier batch with its key
//! only if nothing in the batches after that one overlaps it: those are drawn later, so
//! joining moves the primitive under them, which is invisible exactly when they do not
//! overlap. The search looks back a bounded number of batches, and each batch remembers a
//! bounded number of item rects (then only its bounding box), so batching stays linear.

use std::ops::Range;

use crate::replay::Instance;
use crate::texture_cache::CacheTextureId;

/// How many batches back a primitive may look for one to join (WebRender uses 10 too).
pub const BATCH_LOOKBACK: usize = 10;
/// Item rects a batch keeps for overlap tests; past this, its bounding box stands in.
pub const MAX_ITEM_RECTS: usize = 64;

/// What a primitive is; each kind has its own fragment shader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "capture", derive(serde::Serialize))]
pub enum PrimitiveKind {
    /// An axis-aligned rect (anti-aliased edges where it is not pixel-aligned).
    Rect,
    /// A rect with rounded corners (signed distance, analytic AA).
    RoundedRect,
    /// A border, optionally rounded, one instance per side when colours differ.
    Border,
    /// A glyph masked by the glyph atlas.
    Glyph,
    /// A decoded image.
    Image,
    /// A canvas's image buffer.
    Canvas,
    /// An opacity group's surface composited into its parent.
    Composite,
}

/// How a batch's fragments combine with what is already there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "capture", derive(serde::Serialize))]
pub enum BlendMode {
    /// Overwrite: opaque, pixel-aligned primitives that cover every pixel they touch.
    Opaque,
    /// Premultiplied-alpha "over".
    PremultipliedAlpha,
}

/// Index of a surface (render target) within a frame; 0 is the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "capture", derive(serde::Serialize))]
pub struct SurfaceIndex(pub usize);

/// The texture a batch samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "capture", derive(serde::Serialize))]
pub enum TextureSource {
    /// None (solid primitives).
    None,
    /// The glyph atlas.
    GlyphAtlas,
    /// A texture of the texture cache (an image page, an image, an image buffer).
    Cache(CacheTextureId),
    /// Another surface of this frame.
    Surface(SurfaceIndex),
}

/// What primitives must share to be drawn by one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "capture", derive(serde::Serialize))]
pub struct BatchKey {
    /// Shader.
    pub kind: PrimitiveKind,
    /// Blend state.
    pub blend: BlendMode,
    /// Texture bound.
    pub texture: TextureSource,
}

/// One primitive: a key and the instance the shaders draw.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "capture", derive(serde::Serialize))]
pub struct Primitive {
    /// How it is drawn.
    pub key: BatchKey,
    /// What is drawn.
    pub instance: Instance,
}

impl Primitive {
    /// The page pixels it may touch: its quad within its clip.
    pub fn bounds(&self) -> [f32; 4] {
        intersect(self.instance.rect, self.instance.clip)
    }
}

/// One surface's primitives in paint order, as replay leaves them.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "capture", derive(serde::Serialize))]
pub struct SurfacePrimitives {
    /// Primitives in paint order.
    pub primitives: Vec<Primitive>,
    /// The page-pixel area the surface covers: x0, y0, x1, y1, whole pixels.
    pub bounds: [f32; 4],
}

/// A frame's primitives: what replay produces and batching consumes.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "capture", derive(serde::Serialize))]
pub struct FramePrimitives {
    /// Surfaces; index 0 is the page.
    pub surfaces: Vec<SurfacePrimitives>,
    /// The order to render surfaces in: every group before the surface it is composited into.
    pub order: Vec<SurfaceIndex>,
}

impl FramePrimitives {
    /// Primitives over every surface.
    pub fn primitive_count(&self) -> usize {
        self.surfaces.iter().map(|surface| surface.primitives.len()).sum()
    }
}

/// A run of instances drawn with one call.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "capture", derive(serde::Serialize))]
pub struct Batch {
    /// Pipeline, blend state and texture.
    pub key: BatchKey,
    /// Which of the frame's instances.
    pub instances: Range<u32>,
}

/// One surface's batches in draw order.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "capture", derive(serde::Serialize))]
pub struct SurfaceBatches {
    /// Batches in draw order.
    pub batches: Vec<Batch>,
    /// The page-pixel area the surface covers.
    pub bounds: [f32; 4],
}

/// Everything the renderer needs to draw one frame.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "capture", derive(serde::Serialize))]
pub struct FrameBatches {
    /// All instances of the frame, each batch's contiguous.
    pub instances: Vec<Instance>,
    /// Surfaces; index 0 is the page.
    pub surfaces: Vec<SurfaceBatches>,
    /// Render order of the surfaces.
    pub order: Vec<SurfaceIndex>,
}

impl FrameBatches {
    /// Batches over every surface; each is one draw call.
    pub fn batch_count(&self) -> usize {
        self.surfaces.iter().map(|surface| surface.batches.len()).sum()
    }
}

/// A batch being filled.
struct BatchBuilder {
    key: BatchKey,
    instances: Vec<Instance>,
    bounds: [f32; 4],
    /// `None` once there are more than [`MAX_ITEM_RECTS`]: then `bounds` stands in.
    item_rects: Option<Vec<[f32; 4]>>,
}

impl BatchBuilder {
    fn new(primitive: &Primitive, bounds: [f32; 4]) -> BatchBuilder {
        BatchBuilder {
            key: primitive.key,
            instances: vec![primitive.instance],
            bounds,
            item_rects: Some(vec![bounds]),
        }
    }

    fn overlaps(&self, rect: [f32; 4]) -> bool {
        if !intersects(self.bounds, rect) {
            return false;
        }
        match &self.item_rects {
            Some(rects) => rects.iter().any(|&item| intersects(item, rect)),
            None => true,
        }
    }

    fn add(&mut self, primitive: &Primitive, bounds: [f32; 4]) {
        self.instances.push(primitive.instance);
        self.bounds = union(self.bounds, bounds);
        if let Some(rects) = &mut self.item_rects {
            if rects.len() < MAX_ITEM_RECTS {
                rects.push(bounds);
            } else {
                self.item_rects = None;
            }
        }
    }
}

/// The batches of one surface while they are built.
#[derive(Default)]
struct AlphaBatchList {
    batches: Vec<BatchBuilder>,
}

impl AlphaBatchList {
    fn add(&mut self, primitive: &Primitive) {
        let bounds = primitive.bounds();
        let mut target = None;
        for (index, batch) in self.batches.iter().enumerate().rev().take(BATCH_LOOKBACK) {
            if batch.key == primitive.key {
                target = Some(index);
                break;
            }
            if batch.overlaps(bounds) {
                break;
            }
        }
        match target {
            Some(index) => self.batches[index].add(primitive, bounds),
            None => self.batches.push(BatchBuilder::new(primitive, bounds)),
        }
    }
}

/// Groups a frame's primitives into batches.
pub fn build(frame: &FramePrimitives) -> FrameBatches {
    let mut instances = Vec::with_capacity(frame.primitive_count());
    let surfaces = frame
        .surfaces
        .iter()
        .map(|surface| {
            let mut list = AlphaBatchList::default();
            for primitive in &surface.primitives {
                list.add(primitive);
            }
            let batches = list
                .batches
                .into_iter()
                .map(|batch| {
                    let start = instances.len() as u32;
                    instances.extend_from_slice(&batch.instances);
                    Batch { key: batch.key, instances: start..instances.len() as u32 }
                })
                .collect();
            SurfaceBatches { batches, bounds: surface.bounds }
        })
        .collect();
    FrameBatches { instances, surfaces, order: frame.order.clone() }
}

/// The overlap of two rects (x0, y0, x1, y1); empty if they do not overlap.
pub fn intersect(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
    [a[0].max(b[0]), a[1].max(b[1]), a[2].min(b[2]), a[3].min(b[3])]
}

/// Whether a rect covers no area.
pub fn is_empty(rect: [f32; 4]) -> bool {
    rect[2] <= rect[0] || rect[3] <= rect[1]
}

fn intersects(a: [f32; 4], b: [f32; 4]) -> bool {
    !is_empty(intersect(a, b))
}

/// The smallest rect holding both.
pub fn union(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
    [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])]
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOLID: BatchKey =
        BatchKey { kind: PrimitiveKind::Rect, blend: BlendMode::Opaque, texture: TextureSource::None };
    const GLYPH: BatchKey = BatchKey {
        kind: PrimitiveKind::Glyph,
        blend: BlendMode::PremultipliedAlpha,
        texture: TextureSource::GlyphAtlas,
    };

    fn primitive(key: BatchKey, rect: [f32; 4]) -> Primitive {
        let instance = Instance {
            rect,
            clip: [0.0, 0.0, 1000.0, 1000.0],
            color: [1.0; 4],
            uv: [0.0; 4],
            radii: [0.0; 4],
            widths: [0.0; 4],
            side: 4,
            _padding: [0; 3],
        };
        Primitive { key, instance }
    }

    fn batch(primitives: Vec<Primitive>) -> FrameBatches {
        build(&FramePrimitives {
            surfaces: vec![SurfacePrimitives { primitives, bounds: [0.0, 0.0, 1000.0, 1000.0] }],
            order: vec![SurfaceIndex(0)],
        })
    }

    fn keys_and_rects(frame: &FrameBatches) -> Vec<(PrimitiveKind, Vec<[f32; 4]>)> {
        frame.surfaces[0]
            .batches
            .iter()
            .map(|batch| {
                let range = batch.instances.start as usize..batch.instances.end as usize;
                (batch.key.kind, frame.instances[range].iter().map(|i| i.rect).collect())
            })
            .collect()
    }

    #[test]
    fn disjoint_primitives_of_one_key_share_a_batch_across_other_kinds() {
        // Two paragraphs, each a background then text, side by side: backgrounds batch,
        // text batches.
        let frame = batch(vec![
            primitive(SOLID, [0.0, 0.0, 100.0, 20.0]),
            primitive(GLYPH, [2.0, 2.0, 10.0, 18.0]),
            primitive(SOLID, [0.0, 30.0, 100.0, 50.0]),
            primitive(GLYPH, [2.0, 32.0, 10.0, 48.0]),
        ]);
        assert_eq!(
            keys_and_rects(&frame),
            vec![
                (PrimitiveKind::Rect, vec![[0.0, 0.0, 100.0, 20.0], [0.0, 30.0, 100.0, 50.0]]),
                (PrimitiveKind::Glyph, vec![[2.0, 2.0, 10.0, 18.0], [2.0, 32.0, 10.0, 48.0]]),
            ]
        );
    }

    #[test]
    fn a_primitive_never_moves_under_something_painted_after_it_that_overlaps() {
        // Rect A, glyph over A, rect B over the glyph: B may not join A's batch.
        let frame = batch(vec![
            primitive(SOLID, [0.0, 0.0, 100.0, 20.0]),
            primitive(GLYPH, [2.0, 2.0, 10.0, 18.0]),
            primitive(SOLID, [5.0, 5.0, 50.0, 10.0]),
        ]);
        let kinds: Vec<_> = keys_and_rects(&frame).into_iter().map(|(kind, _)| kind).collect();
        assert_eq!(kinds, vec![PrimitiveKind::Rect, PrimitiveKind::Glyph, PrimitiveKind::Rect]);
    }

    #[test]
    fn instances_of_a_batch_are_contiguous_and_in_paint_order() {
        let frame = batch((0..100).map(|i| primitive(SOLID, [i as f32, 0.0, i as f32 + 1.0, 1.0])).collect());
        assert_eq!(frame.batch_count(), 1);
        assert_eq!(frame.surfaces[0].batches[0].instances, 0..100);
        assert!(frame.instances.windows(2).all(|pair| pair[0].rect[0] < pair[1].rect[0]));
    }

    #[test]
    fn lookback_is_bounded() {
        // Eleven other kinds in between: the twelfth primitive starts a new batch rather than
        // search further.
        let mut primitives = vec![primitive(SOLID, [0.0, 0.0, 1.0, 1.0])];
        for i in 0..BATCH_LOOKBACK {
            let key = BatchKey { texture: TextureSource::Surface(SurfaceIndex(i + 1)), ..GLYPH };
            primitives.push(primitive(key, [10.0 + i as f32, 0.0, 11.0 + i as f32, 1.0]));
        }
        primitives.push(primitive(SOLID, [500.0, 0.0, 501.0, 1.0]));
        assert_eq!(batch(primitives).batch_count(), BATCH_LOOKBACK + 2);
    }

    #[test]
    fn a_full_batch_is_tested_by_its_bounding_box() {
        // A rect, then a row of glyphs, then a rect in a gap between two glyphs: it joins
        // the first rect's batch while the glyph batch keeps its item rects, and starts a
        // batch of its own once the glyph batch is down to a bounding box.
        let run = |glyphs: usize| {
            let mut primitives = vec![primitive(SOLID, [0.0, 10.0, 1.0, 11.0])];
            primitives.extend(
                (0..glyphs).map(|i| primitive(GLYPH, [i as f32 * 10.0, 0.0, i as f32 * 10.0 + 1.0, 1.0])),
            );
            primitives.push(primitive(SOLID, [5.0, 0.0, 6.0, 1.0]));
            batch(primitives).batch_count()
        };
        assert_eq!(run(MAX_ITEM_RECTS), 2);
        assert_eq!(run(MAX_ITEM_RECTS + 1), 3);
    }
}
