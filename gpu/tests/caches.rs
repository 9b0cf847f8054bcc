//! The renderer's caches on a real device (lavapipe in CI): the glyph atlas grows, then evicts
//! the least recently used glyphs, and every frame's pixels stay exactly those of a renderer
//! whose atlas never filled; small images share one texture page and one batch; deleted
//! resources free their textures.

use armature_api::{
    BorderRadius, ColorF, DeviceIntSize, DisplayItem, DisplayList, FontKey, GlyphInstance, IdNamespace,
    ImageKey, LayoutPoint, LayoutRect, LayoutSize, ResourceUpdate,
};
use armature_gpu::device::GpuDevice;
use armature_gpu::renderer::{RenderedFrame, Renderer, RendererOptions};
use armature_gpu::resources::ContentResources;
use ipc_channel::ipc::IpcSharedMemory;

const NAMESPACE: IdNamespace = IdNamespace(1);
const FONT: FontKey = FontKey(NAMESPACE, 0);

fn renderer(options: RendererOptions) -> Renderer {
    Renderer::with_options(
        GpuDevice::open().expect("a Vulkan adapter (install mesa-vulkan-drivers)"),
        options,
    )
}

fn with_font(renderer: &mut Renderer) -> ContentResources {
    let mut resources = ContentResources::default();
    let update = ResourceUpdate::AddFont { key: FONT, bytes: dejavu::sans::regular().to_vec() };
    renderer.update_resources(&mut resources, update, NAMESPACE).expect("DejaVu is a font");
    resources
}

/// A line of glyphs by id (any ids DejaVu has) at 40 px.
fn text(ids: std::ops::Range<u32>) -> DisplayList {
    let glyphs = ids
        .enumerate()
        .map(|(i, index)| GlyphInstance { index, point: LayoutPoint::new(10.0 + 44.0 * i as f32, 60.0) })
        .collect();
    DisplayList {
        viewport: LayoutSize::new(600.0, 80.0),
        scroll_offset: LayoutPoint::zero(),
        device_pixel_ratio: armature_api::DevicePixelRatio::ONE,
        background: ColorF::WHITE,
        items: vec![DisplayItem::Text { font: FONT, size: 40.0, color: ColorF::BLACK, glyphs }],
    }
}

fn render(renderer: &mut Renderer, resources: &ContentResources, list: &DisplayList) -> RenderedFrame {
    renderer.render(list, resources).expect("renders")
}

#[test]
fn the_glyph_atlas_grows_then_evicts_and_pixels_never_change() {
    let mut reference = renderer(RendererOptions::default());
    let reference_resources = with_font(&mut reference);
    let expected =
        |reference: &mut Renderer, list: &DisplayList| render(reference, &reference_resources, list).rgba;

    // Grows: 64² holds about three 40 px glyphs; twelve need more room.
    let mut growing = renderer(RendererOptions { glyph_atlas_initial_side: 64, glyph_atlas_max_side: 512 });
    let resources = with_font(&mut growing);
    let list = text(40..52);
    let frame = render(&mut growing, &resources, &list);
    assert!(frame.stats.glyph_atlas_side > 64, "{:?}", frame.stats);
    assert_eq!(frame.stats.glyphs_rasterized, 12);
    assert_eq!(frame.stats.glyphs_evicted, 0);
    assert!(frame.rgba == expected(&mut reference, &list), "pixels after growing");
    let again = render(&mut growing, &resources, &list);
    assert_eq!(again.stats.glyphs_rasterized, 0, "cached glyphs are reused");

    // Evicts: at its maximum, a frame of new glyphs pushes out the previous frame's.
    let mut full = renderer(RendererOptions { glyph_atlas_initial_side: 128, glyph_atlas_max_side: 128 });
    let resources = with_font(&mut full);
    let mut inked = std::collections::HashMap::new();
    for (round, ids) in [40..52, 60..72, 40..52].into_iter().enumerate() {
        let list = text(ids.clone());
        let reference_frame = render(&mut reference, &reference_resources, &list);
        // Glyphs with ink, as the reference rasterised them the first time it saw them.
        let inked = *inked.entry(ids.start).or_insert(reference_frame.stats.glyphs_rasterized);
        let frame = render(&mut full, &resources, &list);
        assert_eq!(frame.stats.glyph_atlas_side, 128);
        if round > 0 {
            assert!(frame.stats.glyphs_evicted > 0, "round {round}: {:?}", frame.stats);
            // Some fit beside the old glyphs; the rest fragment the atlas, so it starts afresh
            // and the frame replays once with only its own glyphs.
            assert!(frame.stats.glyphs_rasterized >= inked, "round {round}: {:?}", frame.stats);
        }
        assert!(frame.rgba == reference_frame.rgba, "round {round}: pixels after evicting");
    }
}

#[test]
fn a_frame_that_needs_more_than_the_full_atlas_draws_what_fits() {
    // 64² at most: a frame's own glyphs are never evicted mid-frame, so after the fresh start
    // the glyphs that do not fit are skipped (and logged), not drawn from a reused slot.
    let mut tiny = renderer(RendererOptions { glyph_atlas_initial_side: 64, glyph_atlas_max_side: 64 });
    let resources = with_font(&mut tiny);
    let frame = render(&mut tiny, &resources, &text(40..52));
    assert_eq!(frame.stats.glyph_atlas_side, 64);
    assert!((1..12).contains(&frame.stats.primitives), "{:?}", frame.stats);
}

fn image(
    renderer: &mut Renderer,
    resources: &mut ContentResources,
    key: u32,
    side: u32,
    rgba: [u8; 4],
) -> ImageKey {
    let key = ImageKey(NAMESPACE, key);
    let pixels: Vec<u8> = (0..side * side).flat_map(|_| rgba).collect();
    let update = ResourceUpdate::AddImage {
        key,
        size: DeviceIntSize::new(side, side),
        rgba: IpcSharedMemory::from_bytes(&pixels),
    };
    renderer.update_resources(resources, update, NAMESPACE).expect("a valid image");
    key
}

fn rect(x: f32, y: f32, width: f32, height: f32) -> LayoutRect {
    LayoutRect::new(LayoutPoint::new(x, y), LayoutSize::new(width, height))
}

#[test]
fn small_images_share_a_page_and_a_batch_and_deleted_ones_free_their_textures() {
    let mut renderer = renderer(RendererOptions::default());
    let mut resources = ContentResources::default();
    let red = image(&mut renderer, &mut resources, 0, 16, [255, 0, 0, 255]);
    let green = image(&mut renderer, &mut resources, 1, 16, [0, 255, 0, 255]);
    let big = image(&mut renderer, &mut resources, 2, 300, [0, 0, 255, 255]);
    assert_eq!(renderer.texture_cache().page_count(), 1);
    assert_eq!(renderer.texture_cache().texture_count(), 2, "one shared page, one standalone");

    let list = DisplayList {
        viewport: LayoutSize::new(400.0, 320.0),
        scroll_offset: LayoutPoint::zero(),
        device_pixel_ratio: armature_api::DevicePixelRatio::ONE,
        background: ColorF::WHITE,
        items: vec![
            DisplayItem::Image { key: red, rect: rect(0.0, 0.0, 16.0, 16.0) },
            DisplayItem::Rect {
                rect: rect(20.0, 0.0, 10.0, 10.0),
                color: ColorF::BLACK,
                radius: BorderRadius::ZERO,
            },
            // Scaled up: sampling stays inside the image's own texels in the shared page.
            DisplayItem::Image { key: green, rect: rect(40.0, 0.0, 64.0, 64.0) },
            DisplayItem::Image { key: big, rect: rect(0.0, 20.0, 300.0, 300.0) },
        ],
    };
    let frame = render(&mut renderer, &resources, &list);
    let at = |x: u32, y: u32| {
        let offset = ((y * 400 + x) * 4) as usize;
        [frame.rgba[offset], frame.rgba[offset + 1], frame.rgba[offset + 2], frame.rgba[offset + 3]]
    };
    assert_eq!(at(8, 8), [255, 0, 0, 255]);
    assert_eq!(at(25, 5), [0, 0, 0, 255]);
    for (x, y) in [(40, 0), (103, 0), (40, 19), (103, 19), (70, 10)] {
        assert_eq!(at(x, y), [0, 255, 0, 255], "green at its edges too ({x}, {y})");
    }
    assert_eq!(at(150, 200), [0, 0, 255, 255]);
    // Both small images in one batch: the black rect does not overlap the green image.
    assert_eq!(frame.stats.batches, 3, "{:?}", frame.stats);

    for key in [green, big] {
        renderer
            .update_resources(&mut resources, ResourceUpdate::DeleteImage(key), NAMESPACE)
            .expect("deleted");
    }
    assert_eq!(renderer.texture_cache().texture_count(), 1, "the big image's texture is gone");
    renderer.release(resources);
    assert_eq!(renderer.texture_cache().texture_count(), 1, "the first page stays for the next images");
}
