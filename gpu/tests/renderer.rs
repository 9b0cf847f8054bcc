//! The renderer on a real device (lavapipe in CI): pixels of a known list, and display
//! lists a hostile content process might send, each refused with a named error.

use armature_api::{
    BorderRadius, BorderSide, BorderSides, ColorF, DeviceIntSize, DisplayItem, DisplayList, FontKey,
    GlyphInstance, IdNamespace, ImageBufferId, ImageKey, LayoutPoint, LayoutRect, LayoutSize, ResourceUpdate,
};
use armature_gpu::device::GpuDevice;
use armature_gpu::fonts::FontStore;
use armature_gpu::renderer::{RenderError, Renderer};
use armature_gpu::replay::ReplayError;
use armature_gpu::resources::{ContentResources, ResourceError};
use ipc_channel::ipc::IpcSharedMemory;

fn renderer() -> Renderer {
    Renderer::new(GpuDevice::open().expect("a Vulkan adapter (install mesa-vulkan-drivers)"))
}

fn list(width: f32, height: f32, items: Vec<DisplayItem>) -> DisplayList {
    DisplayList {
        viewport: LayoutSize::new(width, height),
        scroll_offset: LayoutPoint::zero(),
        device_pixel_ratio: armature_api::DevicePixelRatio::ONE,
        background: ColorF::WHITE,
        items,
    }
}

fn layout_rect(x: f32, y: f32, width: f32, height: f32) -> LayoutRect {
    LayoutRect::new(LayoutPoint::new(x, y), LayoutSize::new(width, height))
}

fn rect(x: f32, y: f32, width: f32, height: f32, color: ColorF) -> DisplayItem {
    DisplayItem::Rect { rect: layout_rect(x, y, width, height), color, radius: BorderRadius::ZERO }
}

const RED: ColorF = ColorF { r: 1.0, g: 0.0, b: 0.0, a: 1.0 };
const GREEN: ColorF = ColorF { r: 0.0, g: 1.0, b: 0.0, a: 1.0 };
const BLUE: ColorF = ColorF { r: 0.0, g: 0.0, b: 1.0, a: 1.0 };
const WHITE: [u8; 4] = [255, 255, 255, 255];

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
    let frame = renderer.render(&list(333.0, 101.0, items), &ContentResources::default()).expect("renders");
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
    let resources = ContentResources::default();
    let check =
        |renderer: &mut Renderer, list: DisplayList, expected: &dyn Fn(&RenderError) -> bool| match renderer
            .render(&list, &resources)
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
    let image = ImageKey(IdNamespace(1), 9);
    check(
        &mut renderer,
        list(10.0, 10.0, vec![DisplayItem::Image { key: image, rect: layout_rect(0.0, 0.0, 4.0, 4.0) }]),
        &|error| matches!(error, RenderError::Replay(ReplayError::UnknownImage { item: 0, key }) if *key == image),
    );
    let buffer = ImageBufferId(IdNamespace(1), 2);
    check(
        &mut renderer,
        list(10.0, 10.0, vec![DisplayItem::Canvas { buffer, rect: layout_rect(0.0, 0.0, 4.0, 4.0) }]),
        &|error| matches!(error, RenderError::Replay(ReplayError::UnknownImageBuffer { item: 0, .. })),
    );
    check(&mut renderer, list(10.0, 10.0, vec![DisplayItem::PopClip]), &|error| {
        matches!(error, RenderError::Replay(ReplayError::UnbalancedPop { item: 0 }))
    });
    // A clip pushed inside a group must be popped inside it.
    let crossed = vec![
        DisplayItem::PushOpacity { opacity: 0.5 },
        DisplayItem::PushClip { rect: layout_rect(0.0, 0.0, 5.0, 5.0) },
        DisplayItem::PopOpacity,
    ];
    check(&mut renderer, list(10.0, 10.0, crossed), &|error| {
        matches!(error, RenderError::Replay(ReplayError::UnbalancedPop { item: 2 }))
    });
    let deep = vec![DisplayItem::PushOpacity { opacity: 0.9 }; 1000];
    check(&mut renderer, list(10.0, 10.0, deep), &|error| {
        matches!(error, RenderError::Replay(ReplayError::TooDeep { .. }))
    });
    let nan_radius = DisplayItem::Rect {
        rect: layout_rect(0.0, 0.0, 4.0, 4.0),
        color: RED,
        radius: BorderRadius { top_left: f32::NAN, ..BorderRadius::ZERO },
    };
    check(&mut renderer, list(10.0, 10.0, vec![nan_radius]), &|error| {
        matches!(error, RenderError::Replay(ReplayError::NonFinite { item: 0 }))
    });
    let huge_glyph = DisplayItem::Text {
        font: unknown_font,
        size: 12.0,
        color: ColorF::BLACK,
        glyphs: vec![GlyphInstance { index: 70_000, point: LayoutPoint::new(1.0, 1.0) }],
    };
    check(&mut renderer, list(10.0, 10.0, vec![huge_glyph]), &|error| {
        matches!(error, RenderError::Replay(ReplayError::UnknownFont { .. } | ReplayError::GlyphIndex { .. }))
    });
    // After all that, the same renderer still draws correctly.
    let frame = renderer
        .render(&list(8.0, 8.0, vec![rect(0.0, 0.0, 8.0, 8.0, ColorF::new(0.0, 1.0, 0.0, 1.0))]), &resources)
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

#[test]
fn rounded_rects_borders_clips_and_opacity_groups() {
    let mut renderer = renderer();
    let side = |color| BorderSide { width: 10.0, color };
    let items = vec![
        // A 100x100 rect with 50px radii is a circle: corners stay white, the centre is red.
        DisplayItem::Rect {
            rect: layout_rect(0.0, 0.0, 100.0, 100.0),
            color: RED,
            radius: BorderRadius { top_left: 50.0, top_right: 50.0, bottom_right: 50.0, bottom_left: 50.0 },
        },
        // A border with a different colour per side: each side owns its edge, the inside is empty.
        DisplayItem::Border {
            rect: layout_rect(120.0, 0.0, 100.0, 100.0),
            sides: BorderSides {
                top: side(RED),
                right: side(GREEN),
                bottom: side(BLUE),
                left: side(ColorF::BLACK),
            },
            radius: BorderRadius::ZERO,
        },
        // Clipped to 10x10.
        DisplayItem::PushClip { rect: layout_rect(240.0, 0.0, 10.0, 10.0) },
        rect(240.0, 0.0, 50.0, 50.0, GREEN),
        DisplayItem::PopClip,
        // An opacity group of two overlapping opaque rects: the overlap is not darker.
        DisplayItem::PushOpacity { opacity: 0.5 },
        rect(300.0, 0.0, 40.0, 40.0, BLUE),
        rect(320.0, 0.0, 40.0, 40.0, BLUE),
        DisplayItem::PopOpacity,
    ];
    let frame = renderer.render(&list(400.0, 110.0, items), &ContentResources::default()).expect("renders");
    let at = |x, y| pixel(&frame.rgba, 400, x, y);
    assert_eq!(at(50, 50), [255, 0, 0, 255]);
    assert_eq!(at(3, 3), WHITE, "outside the rounded corner");
    assert_eq!(at(170, 4), [255, 0, 0, 255], "top side");
    assert_eq!(at(215, 50), [0, 255, 0, 255], "right side");
    assert_eq!(at(170, 95), [0, 0, 255, 255], "bottom side");
    assert_eq!(at(124, 50), [0, 0, 0, 255], "left side");
    assert_eq!(at(170, 50), WHITE, "inside the border");
    assert_eq!(at(245, 5), [0, 255, 0, 255], "inside the clip");
    assert_eq!(at(260, 20), WHITE, "outside the clip");
    let single = at(310, 20);
    let overlap = at(330, 20);
    assert_eq!(single, overlap, "group opacity applies once to the group");
    assert!(single[0].abs_diff(128) <= 1 && single[2] == 255, "{single:?}");
    assert_eq!(frame.stats.surfaces, 2);
}

#[test]
fn images_and_image_buffers_are_validated_then_drawn() {
    let mut renderer = renderer();
    let namespace = IdNamespace(4);
    let mut resources = ContentResources::default();
    // 2x1: an opaque red pixel, a half-transparent green one (straight alpha).
    let key = ImageKey(namespace, 0);
    let rgba = IpcSharedMemory::from_bytes(&[255, 0, 0, 255, 0, 255, 0, 128]);
    let update = ResourceUpdate::AddImage { key, size: DeviceIntSize::new(2, 1), rgba };
    renderer.update_resources(&mut resources, update, namespace).expect("a valid image");
    let buffer = ImageBufferId(namespace, 0);
    renderer
        .update_resources(
            &mut resources,
            ResourceUpdate::CreateImageBuffer { id: buffer, size: DeviceIntSize::new(30, 30) },
            namespace,
        )
        .expect("a valid buffer");

    let refused = [
        ResourceUpdate::AddImage {
            key: ImageKey(IdNamespace(5), 0),
            size: DeviceIntSize::new(1, 1),
            rgba: IpcSharedMemory::from_bytes(&[0; 4]),
        },
        ResourceUpdate::AddImage {
            key: ImageKey(namespace, 1),
            size: DeviceIntSize::new(100, 100),
            rgba: IpcSharedMemory::from_bytes(&[0; 4]),
        },
        ResourceUpdate::CreateImageBuffer { id: ImageBufferId(namespace, 1), size: DeviceIntSize::new(0, 5) },
        ResourceUpdate::CreateImageBuffer {
            id: ImageBufferId(namespace, 1),
            size: DeviceIntSize::new(1 << 20, 5),
        },
    ];
    for update in refused {
        let error = renderer.update_resources(&mut resources, update, namespace).expect_err("refused");
        assert!(
            matches!(
                error,
                ResourceError::ForeignNamespace { .. }
                    | ResourceError::ImageBytes { .. }
                    | ResourceError::ImageSize { .. }
            ),
            "{error}"
        );
    }

    let items = vec![
        DisplayItem::Image { key, rect: layout_rect(0.0, 0.0, 40.0, 20.0) },
        rect(50.0, 0.0, 30.0, 30.0, BLUE),
        DisplayItem::Canvas { buffer, rect: layout_rect(50.0, 0.0, 30.0, 30.0) },
    ];
    let frame = renderer.render(&list(100.0, 40.0, items), &resources).expect("renders");
    let at = |x, y| pixel(&frame.rgba, 100, x, y);
    assert_eq!(at(2, 10), [255, 0, 0, 255]);
    let green = at(37, 10);
    assert!(green[1] >= 127 && green[0] >= 126 && green[2] >= 126, "half green over white: {green:?}");
    assert_eq!(at(65, 15), [0, 0, 255, 255], "a fresh image buffer is transparent");
}
