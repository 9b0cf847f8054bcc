//! The renderer on a real device (lavapipe in CI): pixels of a known list, and display
//! lists a hostile content process might send, each refused with a named error.

use armature_api::{
    ColorF, DisplayItem, DisplayList, FontKey, GlyphInstance, IdNamespace, LayoutPoint, LayoutRect,
    LayoutSize,
};
use armature_gpu::device::GpuDevice;
use armature_gpu::fonts::FontStore;
use armature_gpu::renderer::{RenderError, Renderer};
use armature_gpu::replay::ReplayError;

fn renderer() -> Renderer {
    Renderer::new(GpuDevice::open().expect("a Vulkan adapter (install mesa-vulkan-drivers)"))
}

fn list(width: f32, height: f32, items: Vec<DisplayItem>) -> DisplayList {
    DisplayList { viewport: LayoutSize::new(width, height), background: ColorF::WHITE, items }
}

fn rect(x: f32, y: f32, width: f32, height: f32, color: ColorF) -> DisplayItem {
    DisplayItem::Rect { rect: LayoutRect::new(LayoutPoint::new(x, y), LayoutSize::new(width, height)), color }
}

fn pixel(rgba: &[u8], width: u32, x: u32, y: u32) -> [u8; 4] {
    let offset = ((y * width + x) * 4) as usize;
    [rgba[offset], rgba[offset + 1], rgba[offset + 2], rgba[offset + 3]]
}

#[test]
fn rects_land_on_their_pixels_in_paint_order_with_odd_widths() {
    let mut renderer = renderer();
    // 333 px wide: rows are padded to 256 bytes for the copy and must be unpadded again.
    let items = vec![
        rect(10.0, 10.0, 100.0, 50.0, ColorF::new(1.0, 0.0, 0.0, 1.0)),
        rect(60.0, 30.0, 100.0, 50.0, ColorF::new(0.0, 0.0, 1.0, 0.5)),
    ];
    let frame = renderer.render(&list(333.0, 101.0, items), &FontStore::default()).expect("renders");
    assert_eq!((frame.size.width, frame.size.height), (333, 101));
    assert_eq!(frame.rgba.len(), 333 * 101 * 4);
    assert_eq!(pixel(&frame.rgba, 333, 20, 20), [255, 0, 0, 255]);
    assert_eq!(pixel(&frame.rgba, 333, 5, 5), [255, 255, 255, 255]);
    // Half blue over red where they overlap, over white elsewhere.
    let over_red = pixel(&frame.rgba, 333, 80, 40);
    assert!(
        over_red[0].abs_diff(128) <= 1 && over_red[1] == 0 && over_red[2].abs_diff(128) <= 1,
        "{over_red:?}"
    );
    let over_white = pixel(&frame.rgba, 333, 150, 70);
    assert!(over_white[0].abs_diff(128) <= 1 && over_white[2] == 255, "{over_white:?}");
    assert_eq!(pixel(&frame.rgba, 333, 332, 100), [255, 255, 255, 255]);
}

#[test]
fn hostile_display_lists_are_refused_by_name() {
    let mut renderer = renderer();
    let fonts = FontStore::default();
    let check =
        |renderer: &mut Renderer, list: DisplayList, expected: &dyn Fn(&RenderError) -> bool| match renderer
            .render(&list, &fonts)
        {
            Ok(_) => panic!("a hostile list rendered"),
            Err(error) => assert!(expected(&error), "unexpected error: {error}"),
        };
    let unknown_font = FontKey(IdNamespace(7), 3);
    let text = DisplayItem::Text {
        font: unknown_font,
        size: 16.0,
        color: ColorF::BLACK,
        glyphs: vec![GlyphInstance { index: 1, point: LayoutPoint::new(1.0, 1.0) }],
    };
    check(
        &mut renderer,
        list(100.0, 100.0, vec![text]),
        &|error| matches!(error, RenderError::Replay(ReplayError::UnknownFont { item: 0, font }) if *font == unknown_font),
    );
    check(&mut renderer, list(100.0, 100.0, vec![rect(f32::NAN, 0.0, 1.0, 1.0, ColorF::BLACK)]), &|error| {
        matches!(error, RenderError::Replay(ReplayError::NonFinite { item: 0 }))
    });
    check(&mut renderer, list(1e9, 100.0, vec![]), &|error| {
        matches!(error, RenderError::ViewportSize { .. })
    });
    check(&mut renderer, list(0.0, 100.0, vec![]), &|error| {
        matches!(error, RenderError::ViewportSize { .. })
    });
    check(&mut renderer, list(f32::INFINITY, 1.0, vec![]), &|error| {
        matches!(error, RenderError::ViewportSize { .. })
    });
    // After all that, the same renderer still draws correctly.
    let frame = renderer
        .render(&list(8.0, 8.0, vec![rect(0.0, 0.0, 8.0, 8.0, ColorF::new(0.0, 1.0, 0.0, 1.0))]), &fonts)
        .expect("renders after refusals");
    assert_eq!(pixel(&frame.rgba, 8, 4, 4), [0, 255, 0, 255]);
}

#[test]
fn fonts_that_are_not_fonts_are_refused() {
    let mut fonts = FontStore::default();
    let key = FontKey(IdNamespace(1), 0);
    assert!(fonts.add(key, b"definitely not a font".to_vec()).is_err());
    assert!(fonts.add(key, Vec::new()).is_err());
    assert!(fonts.get(key).is_none());
}
