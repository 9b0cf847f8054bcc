// Armature's primitive shaders: one instanced quad per primitive (triangle strip of four
// vertices), positioned in device pixels.

struct Globals {
    // Render-target size in pixels.
    target_size: vec2<f32>,
    _padding: vec2<f32>,
};

@group(0) @binding(0) var<uniform> globals: Globals;
@group(0) @binding(1) var glyph_atlas: texture_2d<f32>;

struct Instance {
    @location(0) rect: vec4<f32>,
    @location(1) uv_rect: vec4<f32>,
    @location(2) color: vec4<f32>,
};

struct VertexOutput {
    @builtin(position) position: vec4<f32>,
    @location(0) uv: vec2<f32>,
    @location(1) color: vec4<f32>,
};

@vertex
fn vs_main(@builtin(vertex_index) vertex: u32, instance: Instance) -> VertexOutput {
    let corner = vec2<f32>(f32(vertex & 1u), f32((vertex >> 1u) & 1u));
    let pixel = instance.rect.xy + corner * instance.rect.zw;
    let ndc = vec2<f32>(
        pixel.x / globals.target_size.x * 2.0 - 1.0,
        1.0 - pixel.y / globals.target_size.y * 2.0,
    );
    var out: VertexOutput;
    out.position = vec4<f32>(ndc, 0.0, 1.0);
    out.uv = instance.uv_rect.xy + corner * instance.uv_rect.zw;
    out.color = instance.color;
    return out;
}

@fragment
fn fs_solid(input: VertexOutput) -> @location(0) vec4<f32> {
    return input.color;
}

@fragment
fn fs_glyph(input: VertexOutput) -> @location(0) vec4<f32> {
    // Glyph quads are texel-aligned, so the interpolated uv lands on texel centres.
    let coverage = textureLoad(glyph_atlas, vec2<i32>(floor(input.uv)), 0).r;
    return input.color * coverage;
}
