//! Replay: a display list from content (untrusted) → validated primitives, surface by
//! surface, in paint order. [`crate::batch`] then groups them into draw calls.
//!
//! Every primitive is one instanced quad ([`Instance`]); its [`PrimitiveKind`] picks the
//! shader. Items come in layout (CSS) pixels and primitives leave in device pixels: replay
//! scales every coordinate, radius and border width by the list's device pixel ratio and
//! rasterises glyphs at their size times it, so text on a HiDPI target is drawn from the
//! outlines at full resolution rather than magnified (WebRender's layout → device step).
//!
//! An opacity group renders into its own surface (a texture the size of its content), which
//! its parent then composites with the group's opacity — WebRender's picture/surface model,
//! reduced to opacity. Glyphs are rasterised into the atlas here, so the atlas knows which
//! glyphs this frame uses.

use armature_api::{
    BorderRadius, BorderSides, ColorF, DisplayItem, DisplayList, FontKey, ImageBufferId, ImageKey, LayoutRect,
};

use crate::batch::{
    BatchKey, BlendMode, FramePrimitives, Primitive, PrimitiveKind, SurfaceIndex, SurfacePrimitives,
    TextureSource, intersect, is_empty, union,
};
use crate::glyph_atlas::{GlyphAtlas, GlyphKey};
use crate::resources::ContentResources;
use crate::texture_cache::{CacheEntry, TextureCache};

/// Per-instance data of every primitive: one quad. Coordinates are device pixels of the
/// page (the scroll offset is the shader's).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
#[cfg_attr(feature = "capture", derive(serde::Serialize))]
pub struct Instance {
    /// x0, y0, x1, y1 of the quad.
    pub rect: [f32; 4],
    /// x0, y0, x1, y1 of the clip; pixels outside are not touched.
    pub clip: [f32; 4],
    /// Premultiplied colour (for images: a multiplier, i.e. the opacity in every channel).
    pub color: [f32; 4],
    /// Texture coordinates: atlas texels (glyphs) or 0..1 (images, surfaces).
    pub uv: [f32; 4],
    /// Corner radii: top-left, top-right, bottom-right, bottom-left.
    pub radii: [f32; 4],
    /// Border widths top, right, bottom, left (all 0 for a filled shape).
    pub widths: [f32; 4],
    /// Which border side this instance paints: 0..=3 (top, right, bottom, left), 4 = all.
    pub side: u32,
    /// Padding to 16-byte alignment.
    #[cfg_attr(feature = "capture", serde(skip))]
    pub _padding: [u32; 3],
}

/// What replay is building: each surface's primitives and content bounds.
#[derive(Default)]
struct Builder {
    frame: FramePrimitives,
    /// What each surface's primitives cover so far (visible part).
    content_bounds: Vec<Option<[f32; 4]>>,
}

impl Builder {
    fn new_surface(&mut self, bounds: [f32; 4]) -> SurfaceIndex {
        self.frame.surfaces.push(SurfacePrimitives { primitives: Vec::new(), bounds });
        self.content_bounds.push(None);
        SurfaceIndex(self.frame.surfaces.len() - 1)
    }

    /// Adds a primitive to a surface unless its clip hides all of it.
    fn push(&mut self, surface: SurfaceIndex, key: BatchKey, instance: Instance) {
        let primitive = Primitive { key, instance };
        let visible = primitive.bounds();
        if is_empty(visible) {
            return;
        }
        let bounds = &mut self.content_bounds[surface.0];
        *bounds = Some(bounds.map_or(visible, |b| union(b, visible)));
        self.frame.surfaces[surface.0].primitives.push(primitive);
    }
}

const fn key(kind: PrimitiveKind, blend: BlendMode, texture: TextureSource) -> BatchKey {
    BatchKey { kind, blend, texture }
}

const ALPHA: BlendMode = BlendMode::PremultipliedAlpha;

/// A display list the GPU process refuses to draw. Content is untrusted: these end its
/// frame with a named reason instead of a panic.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReplayError {
    /// A text item uses a font that was never uploaded.
    #[error("display item {item} uses font {font:?}, which was never uploaded")]
    UnknownFont {
        /// Index of the item.
        item: usize,
        /// The missing key.
        font: FontKey,
    },
    /// An image item uses an image that was never uploaded.
    #[error("display item {item} uses image {key:?}, which was never uploaded")]
    UnknownImage {
        /// Index of the item.
        item: usize,
        /// The missing key.
        key: ImageKey,
    },
    /// A canvas item uses an image buffer that does not exist.
    #[error("display item {item} uses image buffer {buffer:?}, which does not exist")]
    UnknownImageBuffer {
        /// Index of the item.
        item: usize,
        /// The missing id.
        buffer: ImageBufferId,
    },
    /// A coordinate, size or colour is NaN or infinite.
    #[error("display item {item} has a non-finite value")]
    NonFinite {
        /// Index of the item.
        item: usize,
    },
    /// The list's scroll offset is NaN, infinite or absurdly far.
    #[error("the display list's scroll offset ({x}, {y}) is not finite or beyond ±{MAX_SCROLL_OFFSET}")]
    ScrollOffset {
        /// Horizontal offset.
        x: f32,
        /// Vertical offset.
        y: f32,
    },
    /// A text item asks for an absurd font size.
    #[error("display item {item} has font size {size}, outside 0..={MAX_FONT_SIZE}")]
    FontSize {
        /// Index of the item.
        item: usize,
        /// The size.
        size: f32,
    },
    /// A glyph id beyond what a font can hold.
    #[error("display item {item} has glyph id {index}, beyond any font's 65535")]
    GlyphIndex {
        /// Index of the item.
        item: usize,
        /// The id.
        index: u32,
    },
    /// A `Pop*` without its `Push*`.
    #[error("display item {item} pops a clip or opacity group that was never pushed")]
    UnbalancedPop {
        /// Index of the item.
        item: usize,
    },
    /// Groups nested deeper than the renderer allows.
    #[error("display item {item} nests opacity groups deeper than {MAX_GROUP_DEPTH}")]
    TooDeep {
        /// Index of the item.
        item: usize,
    },
}

/// Largest font size rasterised; a hostile size would otherwise allocate huge bitmaps.
pub const MAX_FONT_SIZE: f32 = 1024.0;

/// Largest scroll offset accepted on either axis, in layout pixels; f32 keeps whole pixels
/// exact only below 2^24.
pub const MAX_SCROLL_OFFSET: f32 = 8_000_000.0;
/// Deepest nesting of opacity groups (each level holds a texture while it renders).
pub const MAX_GROUP_DEPTH: usize = 32;

fn finite(values: &[f32]) -> bool {
    values.iter().all(|value| value.is_finite())
}

fn color_array(color: ColorF) -> [f32; 4] {
    color.premultiplied().map(|channel| channel.clamp(0.0, 1.0))
}

/// `rect`'s x0, y0, x1, y1 in device pixels.
fn corners(rect: &LayoutRect, scale: f32) -> [f32; 4] {
    [rect.origin.x, rect.origin.y, rect.origin.x + rect.size.width, rect.origin.y + rect.size.height]
        .map(|value| value * scale)
}

/// A quad with every optional field empty.
fn quad(rect: [f32; 4], clip: [f32; 4], color: [f32; 4]) -> Instance {
    Instance { rect, clip, color, uv: [0.0; 4], radii: [0.0; 4], widths: [0.0; 4], side: 4, _padding: [0; 3] }
}

/// A quad showing a cache entry over `rect`.
fn textured_quad(
    item: usize,
    rect: &LayoutRect,
    scale: f32,
    clip: [f32; 4],
    entry: &CacheEntry,
    cache: &TextureCache,
) -> Result<Instance, ReplayError> {
    let rect = corners(rect, scale);
    check_finite(item, &rect, &ColorF::BLACK, None)?;
    let mut instance = quad(rect, clip, [1.0; 4]);
    instance.uv = cache.uv_rect(entry);
    Ok(instance)
}

/// Whether every coordinate is a whole pixel, so a quad covers each pixel it touches fully.
fn pixel_aligned(rect: [f32; 4]) -> bool {
    rect.iter().all(|value| value.fract() == 0.0)
}

fn contains(outer: [f32; 4], inner: [f32; 4]) -> bool {
    outer[0] <= inner[0] && outer[1] <= inner[1] && inner[2] <= outer[2] && inner[3] <= outer[3]
}

/// An open opacity group while replaying.
struct Group {
    surface: SurfaceIndex,
    opacity: f32,
    clip_depth: usize,
}

/// Turns a display list into primitives, rasterising any glyphs it needs into the atlas.
pub fn replay(
    list: &DisplayList,
    resources: &ContentResources,
    atlas: &mut GlyphAtlas,
    cache: &TextureCache,
) -> Result<FramePrimitives, ReplayError> {
    let scroll = list.scroll_offset;
    let in_range = |value: f32| value.is_finite() && value.abs() <= MAX_SCROLL_OFFSET;
    if !in_range(scroll.x) || !in_range(scroll.y) {
        return Err(ReplayError::ScrollOffset { x: scroll.x, y: scroll.y });
    }
    let scale = list.device_pixel_ratio.get();
    // The root surface shows the page rect at the scroll offset.
    let viewport = corners(&LayoutRect::new(scroll, list.viewport), scale);
    let mut builder = Builder::default();
    let mut surface = builder.new_surface(viewport);
    let mut clips = vec![viewport];
    let mut groups: Vec<Group> = Vec::new();

    for (item, display_item) in list.items.iter().enumerate() {
        let clip = *clips.last().unwrap_or(&viewport);
        match display_item {
            DisplayItem::Rect { rect, color, radius } => {
                let rect = corners(rect, scale);
                check_finite(item, &rect, color, Some(radius))?;
                if color.is_transparent() || is_empty(rect) {
                    continue;
                }
                let mut instance = quad(rect, clip, color_array(*color));
                instance.radii = radii(radius, scale);
                let key = if instance.radii != [0.0; 4] {
                    key(PrimitiveKind::RoundedRect, ALPHA, TextureSource::None)
                } else if color.a >= 1.0 && pixel_aligned(rect) && contains(clip, rect) {
                    // Covers every pixel it touches: no need to read the target back.
                    key(PrimitiveKind::Rect, BlendMode::Opaque, TextureSource::None)
                } else {
                    key(PrimitiveKind::Rect, ALPHA, TextureSource::None)
                };
                builder.push(surface, key, instance);
            }
            DisplayItem::Border { rect, sides, radius } => {
                let rect = corners(rect, scale);
                check_finite(item, &rect, &ColorF::BLACK, Some(radius))?;
                for side in sides.to_array() {
                    if !finite(&[side.width, side.color.r, side.color.g, side.color.b, side.color.a]) {
                        return Err(ReplayError::NonFinite { item });
                    }
                }
                if is_empty(rect) {
                    continue;
                }
                for instance in border_instances(rect, clip, sides, radius, scale) {
                    builder.push(surface, key(PrimitiveKind::Border, ALPHA, TextureSource::None), instance);
                }
            }
            DisplayItem::Text { font, size, color, glyphs } => {
                if !size.is_finite() || *size <= 0.0 || *size > MAX_FONT_SIZE {
                    return Err(ReplayError::FontSize { item, size: *size });
                }
                check_finite(item, &[0.0; 4], color, None)?;
                let font_data =
                    resources.fonts.get(*font).ok_or(ReplayError::UnknownFont { item, font: *font })?;
                let color = color_array(*color);
                let glyph_key = key(PrimitiveKind::Glyph, ALPHA, TextureSource::GlyphAtlas);
                for glyph in glyphs {
                    if !finite(&[glyph.point.x, glyph.point.y]) {
                        return Err(ReplayError::NonFinite { item });
                    }
                    let index = u16::try_from(glyph.index)
                        .map_err(|_| ReplayError::GlyphIndex { item, index: glyph.index })?;
                    let raster = GlyphKey::new(*font, index, *size * scale);
                    let Some(entry) = atlas.get_or_insert(raster, font_data) else {
                        continue;
                    };
                    // Whole-pixel placement keeps the bitmap texel-aligned (crisp, exact).
                    let x = (glyph.point.x * scale).round() + entry.left as f32;
                    let y = (glyph.point.y * scale).round() - entry.top as f32;
                    let (width, height) = (entry.width as f32, entry.height as f32);
                    let mut instance = quad([x, y, x + width, y + height], clip, color);
                    instance.uv = [entry.atlas_x as f32, entry.atlas_y as f32, width, height];
                    builder.push(surface, glyph_key, instance);
                }
            }
            DisplayItem::Image { key: image, rect } => {
                let entry =
                    resources.images.get(image).ok_or(ReplayError::UnknownImage { item, key: *image })?;
                let instance = textured_quad(item, rect, scale, clip, entry, cache)?;
                let key = key(PrimitiveKind::Image, ALPHA, TextureSource::Cache(entry.texture));
                builder.push(surface, key, instance);
            }
            DisplayItem::Canvas { buffer, rect } => {
                let entry = resources
                    .buffers
                    .get(buffer)
                    .ok_or(ReplayError::UnknownImageBuffer { item, buffer: *buffer })?;
                let instance = textured_quad(item, rect, scale, clip, entry, cache)?;
                let key = key(PrimitiveKind::Canvas, ALPHA, TextureSource::Cache(entry.texture));
                builder.push(surface, key, instance);
            }
            DisplayItem::PushClip { rect } => {
                let rect = corners(rect, scale);
                check_finite(item, &rect, &ColorF::BLACK, None)?;
                clips.push(intersect(clip, rect));
            }
            DisplayItem::PopClip => {
                // A group's clips belong to it: popping past the group's start is unbalanced.
                let floor = groups.last().map_or(1, |group| group.clip_depth);
                if clips.len() <= floor {
                    return Err(ReplayError::UnbalancedPop { item });
                }
                clips.pop();
            }
            DisplayItem::PushOpacity { opacity } => {
                if !opacity.is_finite() {
                    return Err(ReplayError::NonFinite { item });
                }
                if groups.len() >= MAX_GROUP_DEPTH {
                    return Err(ReplayError::TooDeep { item });
                }
                groups.push(Group { surface, opacity: opacity.clamp(0.0, 1.0), clip_depth: clips.len() });
                surface = builder.new_surface([0.0; 4]);
            }
            DisplayItem::PopOpacity => {
                let Some(group) = groups.pop() else { return Err(ReplayError::UnbalancedPop { item }) };
                if clips.len() != group.clip_depth {
                    return Err(ReplayError::UnbalancedPop { item });
                }
                close_group(&mut builder, surface, &group, clip);
                surface = group.surface;
            }
        }
    }
    // Groups left open at the end close there, as if the list ended with their pops.
    while let Some(group) = groups.pop() {
        let clip = *clips.get(group.clip_depth.saturating_sub(1)).unwrap_or(&viewport);
        close_group(&mut builder, surface, &group, clip);
        surface = group.surface;
    }
    builder.frame.order.push(SurfaceIndex(0));
    Ok(builder.frame)
}

/// Finishes an opacity group: fixes its surface's bounds and composites it into its parent.
fn close_group(builder: &mut Builder, surface: SurfaceIndex, group: &Group, clip: [f32; 4]) {
    let Some(bounds) = builder.content_bounds[surface.0] else { return };
    // Whole pixels, so the group's texels line up with the page's.
    let bounds = [bounds[0].floor(), bounds[1].floor(), bounds[2].ceil(), bounds[3].ceil()];
    builder.frame.surfaces[surface.0].bounds = bounds;
    builder.frame.order.push(surface);
    if group.opacity <= 0.0 {
        return;
    }
    let mut instance = quad(bounds, clip, [group.opacity; 4]);
    instance.uv = [0.0, 0.0, 1.0, 1.0];
    let key = key(PrimitiveKind::Composite, ALPHA, TextureSource::Surface(surface));
    builder.push(group.surface, key, instance);
}

fn check_finite(
    item: usize,
    rect: &[f32; 4],
    color: &ColorF,
    radius: Option<&BorderRadius>,
) -> Result<(), ReplayError> {
    let radius = radius.copied().unwrap_or(BorderRadius::ZERO).to_array();
    if finite(rect) && finite(&[color.r, color.g, color.b, color.a]) && finite(&radius) {
        Ok(())
    } else {
        Err(ReplayError::NonFinite { item })
    }
}

/// Corner radii in device pixels.
fn radii(radius: &BorderRadius, scale: f32) -> [f32; 4] {
    radius.to_array().map(|r| r.max(0.0) * scale)
}

/// A border as instances: one if every drawn side has the same colour, else one per side
/// (each shades only the pixels nearest its own edge, so corners split diagonally).
fn border_instances(
    rect: [f32; 4],
    clip: [f32; 4],
    sides: &BorderSides,
    radius: &BorderRadius,
    scale: f32,
) -> Vec<Instance> {
    let sides = sides.to_array();
    let widths = sides.map(|side| side.width.max(0.0) * scale);
    let drawn: Vec<usize> = (0..4).filter(|&i| widths[i] > 0.0 && !sides[i].color.is_transparent()).collect();
    let mut template = quad(rect, clip, [0.0; 4]);
    template.radii = radii(radius, scale);
    template.widths = widths;
    let same_color = drawn.windows(2).all(|pair| sides[pair[0]].color == sides[pair[1]].color);
    // One instance shades every side with width, so it fits only if all of them are drawn.
    let every_side_drawn = drawn.len() == widths.iter().filter(|&&width| width > 0.0).count();
    match drawn.first() {
        None => Vec::new(),
        Some(&first) if same_color && every_side_drawn => {
            vec![Instance { color: color_array(sides[first].color), ..template }]
        }
        _ => drawn
            .into_iter()
            .map(|i| Instance { color: color_array(sides[i].color), side: i as u32, ..template })
            .collect(),
    }
}
