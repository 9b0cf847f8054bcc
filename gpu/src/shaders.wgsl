// Armature's primitive shaders: one instanced quad per primitive (a triangle strip of four
// vertices). Positions are page pixels; `globals.origin` is where the current surface's
// top-left sits on the page, so a group's surface can be smaller than the page.

struct Globals {
    // Render-target size in pixels.
    target_size: vec2<f32>,
    // Page pixel at the target's top-left.
    origin: vec2<f32>,
};

@group(0) @binding(0) var<uniform> globals: Globals;
@group(1) @binding(0) var source: texture_2d<f32>;
@group(1) @binding(1) var source_sampler: sampler;

struct Instance {
    @location(0) rect: vec4<f32>,
    @location(1) clip: vec4<f32>,
    @location(2) color: vec4<f32>,
    @location(3) uv: vec4<f32>,
    @location(4) radii: vec4<f32>,
    @location(5) widths: vec4<f32>,
    @location(6) side: u32,
};

struct VertexOutput {
    @builtin(position) position: vec4<f32>,
    // Page pixel of this fragment.
    @location(0) page: vec2<f32>,
    @location(1) uv: vec2<f32>,
    @location(2) color: vec4<f32>,
    @location(3) @interpolate(flat) rect: vec4<f32>,
    @location(4) @interpolate(flat) clip: vec4<f32>,
    @location(5) @interpolate(flat) radii: vec4<f32>,
    @location(6) @interpolate(flat) widths: vec4<f32>,
    @location(7) @interpolate(flat) side: u32,
    // The source rect in texture coordinates (images): x, y, width, height.
    @location(8) @interpolate(flat) uv_rect: vec4<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) vertex: u32, instance: Instance) -> VertexOutput {
    let corner = vec2<f32>(f32(vertex & 1u), f32((vertex >> 1u) & 1u));
    let page = mix(instance.rect.xy, instance.rect.zw, corner);
    let target_pixel = page - globals.origin;
    let ndc = vec2<f32>(
        target_pixel.x / globals.target_size.x * 2.0 - 1.0,
        1.0 - target_pixel.y / globals.target_size.y * 2.0,
    );
    var out: VertexOutput;
    out.position = vec4<f32>(ndc, 0.0, 1.0);
    out.page = page;
    out.uv = instance.uv.xy + corner * instance.uv.zw;
    out.color = instance.color;
    out.rect = instance.rect;
    out.clip = instance.clip;
    out.radii = instance.radii;
    out.widths = instance.widths;
    out.side = instance.side;
    out.uv_rect = instance.uv;
    return out;
}

// 1 inside the clip rect, 0 outside (pixel centres are tested, so clips are crisp).
fn clip_coverage(page: vec2<f32>, clip: vec4<f32>) -> f32 {
    let inside = step(clip.xy, page) * step(page, clip.zw);
    return inside.x * inside.y;
}

// Signed distance from p to a rounded box centred at the origin with half-size `half` and
// per-quadrant radii (tl, tr, br, bl); negative inside.
fn rounded_box_distance(p: vec2<f32>, half: vec2<f32>, radii: vec4<f32>) -> f32 {
    var radius = radii.x;
    if (p.x > 0.0 && p.y < 0.0) { radius = radii.y; }
    if (p.x > 0.0 && p.y > 0.0) { radius = radii.z; }
    if (p.x < 0.0 && p.y > 0.0) { radius = radii.w; }
    radius = min(radius, min(half.x, half.y));
    let q = abs(p) - half + vec2<f32>(radius);
    return min(max(q.x, q.y), 0.0) + length(max(q, vec2<f32>(0.0))) - radius;
}

// Axis-aligned rects: coverage is how much of the pixel the rect spans on each axis, so
// whole-pixel rects cover exactly their pixels and fractional edges are anti-aliased.
@fragment
fn fs_rect(input: VertexOutput) -> @location(0) vec4<f32> {
    let p = input.page;
    let spans = clamp(min(p - input.rect.xy, input.rect.zw - p) + vec2<f32>(0.5), vec2<f32>(0.0), vec2<f32>(1.0));
    return input.color * (spans.x * spans.y) * clip_coverage(p, input.clip);
}

// Coverage of the rounded rect itself (analytic AA from the signed distance).
fn outer_coverage(input: VertexOutput) -> f32 {
    let rect = input.rect;
    let half = (rect.zw - rect.xy) * 0.5;
    let outer = rounded_box_distance(input.page - (rect.xy + half), half, input.radii);
    return clamp(0.5 - outer, 0.0, 1.0);
}

@fragment
fn fs_rounded_rect(input: VertexOutput) -> @location(0) vec4<f32> {
    return input.color * outer_coverage(input) * clip_coverage(input.page, input.clip);
}

@fragment
fn fs_border(input: VertexOutput) -> @location(0) vec4<f32> {
    let rect = input.rect;
    var coverage = outer_coverage(input);
    let w = input.widths; // top, right, bottom, left
    let inner_min = rect.xy + vec2<f32>(w.w, w.x);
    let inner_max = rect.zw - vec2<f32>(w.y, w.z);
    let inner_half = max((inner_max - inner_min) * 0.5, vec2<f32>(0.0));
    // Inner radii shrink by the adjacent border widths (CSS Backgrounds §5.3).
    let inner_radii = max(
        input.radii - vec4<f32>(max(w.w, w.x), max(w.x, w.y), max(w.y, w.z), max(w.z, w.w)),
        vec4<f32>(0.0),
    );
    let inner = rounded_box_distance(input.page - (inner_min + inner_half), inner_half, inner_radii);
    coverage = coverage * clamp(0.5 + inner, 0.0, 1.0);
    if (input.side < 4u) {
        // The side whose edge is nearest, measured in units of that side's width, owns
        // the pixel: corners split along the line from outer to inner corner.
        let p = input.page;
        let big = 1e9;
        let distances = vec4<f32>(
            select(big, (p.y - rect.y) / w.x, w.x > 0.0),
            select(big, (rect.z - p.x) / w.y, w.y > 0.0),
            select(big, (rect.w - p.y) / w.z, w.z > 0.0),
            select(big, (p.x - rect.x) / w.w, w.w > 0.0),
        );
        var nearest = 0u;
        var best = distances.x;
        if (distances.y < best) { nearest = 1u; best = distances.y; }
        if (distances.z < best) { nearest = 2u; best = distances.z; }
        if (distances.w < best) { nearest = 3u; best = distances.w; }
        if (nearest != input.side) { coverage = 0.0; }
    }
    return input.color * coverage * clip_coverage(input.page, input.clip);
}

@fragment
fn fs_glyph(input: VertexOutput) -> @location(0) vec4<f32> {
    // Glyph quads are texel-aligned, so the interpolated uv lands on texel centres.
    let coverage = textureLoad(source, vec2<i32>(floor(input.uv)), 0).r;
    return input.color * coverage * clip_coverage(input.page, input.clip);
}

@fragment
fn fs_image(input: VertexOutput) -> @location(0) vec4<f32> {
    // Textures hold premultiplied colour; `color` scales it (group opacity). Sampling stays
    // half a texel inside the source rect, so neighbours in a shared page never bleed in.
    let half_texel = vec2<f32>(0.5) / vec2<f32>(textureDimensions(source));
    let uv = clamp(input.uv, input.uv_rect.xy + half_texel, input.uv_rect.xy + input.uv_rect.zw - half_texel);
    let texel = textureSample(source, source_sampler, uv);
    return texel * input.color * clip_coverage(input.page, input.clip);
}
