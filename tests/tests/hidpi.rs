//! Device pixel ratio (HiDPI) end to end: a page is laid out in CSS pixels and drawn at the
//! ratio, so at 2 it is the same page with every length doubled — text drawn from the
//! outlines at twice the size, not magnified; a canvas keeps its bitmap and is stretched
//! over its CSS box; a capture replays at its ratio; and ratios or sizes out of range are
//! named errors. (A window on a 2× screen is in `window.rs`.)

use std::path::{Path, PathBuf};

use armature_tests::{armature, has_feature, page, render_ok, stderr};

/// A page of boxes, a border with a radius and sides of two colours, a paragraph that
/// wraps, an opacity group and an overflow clip, with every length `scale` times its 1×
/// value (and no image, whose bitmap would differ between the two).
fn scaled_page(dir: &Path, scale: u32) -> PathBuf {
    let px = |value: u32| format!("{}px", value * scale);
    let html = format!(
        "<!DOCTYPE html><style>
           body {{ margin: 0; background: #fff; font-family: sans-serif; }}
           .box {{ margin: {m}; width: {w120}; height: {h40}; background: #c33; }}
           .bordered {{ margin: {m}; width: {w100}; height: {h30}; border: {b3} solid #236;
                        border-left-color: #e90; border-radius: {r8}; }}
           p {{ margin: {m}; width: {w260}; font-size: {f16}; line-height: {l20}; }}
           .fade {{ margin: {m}; width: {w60}; height: {h20}; background: #093; opacity: 0.5; }}
           .clip {{ margin: {m}; width: {w50}; height: {h15}; overflow: hidden; }}
           .clip div {{ width: {w100}; height: {h30}; background: #639; }}
         </style>
         <div class=box></div>
         <div class=bordered></div>
         <p>Laid out in CSS pixels, drawn in device pixels: the same page at twice the size.</p>
         <div class=fade></div>
         <div class=clip><div></div></div>",
        m = px(10),
        w120 = px(120),
        h40 = px(40),
        w100 = px(100),
        h30 = px(30),
        b3 = px(3),
        r8 = px(8),
        w260 = px(260),
        f16 = px(16),
        l20 = px(20),
        w60 = px(60),
        h20 = px(20),
        w50 = px(50),
        h15 = px(15),
    );
    let path = dir.join(format!("scaled-{scale}.html"));
    std::fs::write(&path, html).expect("write page");
    path
}

/// Pixels that differ between two images of one size.
fn differing(a: &image::RgbaImage, b: &image::RgbaImage) -> usize {
    assert_eq!(a.dimensions(), b.dimensions());
    a.pixels().zip(b.pixels()).filter(|(a, b)| a != b).count()
}

/// The smallest rect (x0, y0, x1, y1, exclusive) holding every pixel of `color`.
fn bounds_of(image: &image::RgbaImage, color: [u8; 4]) -> Option<[u32; 4]> {
    image.enumerate_pixels().filter(|(_, _, pixel)| pixel.0 == color).fold(None, |bounds, (x, y, _)| {
        let [x0, y0, x1, y1] = bounds.unwrap_or([x, y, x + 1, y + 1]);
        Some([x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1)])
    })
}

#[test]
fn a_page_at_device_pixel_ratio_2_is_the_page_with_every_length_doubled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hidpi =
        render_ok(&scaled_page(dir.path(), 1), &["--window-size", "300x220", "--device-pixel-ratio", "2"]);
    let doubled = render_ok(&scaled_page(dir.path(), 2), &["--window-size", "600x440"]);
    assert_eq!(hidpi.dimensions(), (600, 440), "300x220 CSS pixels at 2 are 600x440 device pixels");
    assert_eq!(differing(&hidpi, &doubled), 0, "the 2× render is the doubled page, pixel for pixel");
    // And not merely the 1× page magnified: text drawn at 32 px has ink a magnified 16 px
    // glyph cannot have (every 2×2 block of a magnified image is one colour).
    let magnified = image::imageops::resize(
        &render_ok(&scaled_page(dir.path(), 1), &["--window-size", "300x220"]),
        600,
        440,
        image::imageops::FilterType::Nearest,
    );
    let sharper = differing(&hidpi, &magnified);
    assert!(sharper > 500, "only {sharper} pixels differ from the 1× render magnified");
}

#[test]
fn a_canvas_keeps_its_bitmap_and_covers_its_css_box_in_device_pixels() {
    let page = page("canvas.html");
    let yellow = [255, 255, 0, 255];
    let at_1 = render_ok(&page, &["--window-size", "400x300"]);
    let at_2 = render_ok(&page, &["--window-size", "400x300", "--device-pixel-ratio", "2"]);
    let at_1_5 = render_ok(&page, &["--window-size", "400x300", "--device-pixel-ratio", "1.5"]);
    let css = bounds_of(&at_1, yellow).expect("the canvas is yellow at 1");
    assert_eq!(bounds_of(&at_2, yellow), Some(css.map(|side| side * 2)), "at 2, twice the device pixels");
    // At 1.5 the 300×100 canvas covers 450×150 device pixels exactly (its edges fall on
    // whole pixels); a stretched bitmap's edge texels keep its colour.
    assert_eq!(bounds_of(&at_1_5, yellow), Some(css.map(|side| side * 3 / 2)), "at 1.5");
}

#[test]
fn a_capture_at_ratio_2_replays_to_its_own_pixels() {
    if !has_feature("capture") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let capture = dir.path().join("capture");
    let png = dir.path().join("original.png");
    let output = armature()
        .arg(page("hello.html"))
        .args(["--headless", "--window-size", "200x150", "--device-pixel-ratio", "2", "--screenshot"])
        .arg(&png)
        .arg("--capture")
        .arg(&capture)
        .output()
        .expect("armature runs");
    assert!(output.status.success(), "{}", stderr(&output));
    let scene = std::fs::read_to_string(capture.join("frames/0001/scene.ron")).expect("scene.ron");
    assert!(scene.contains("device_pixel_ratio: 2.0"), "the scene holds the ratio:\n{scene}");
    for level in ["scene", "stream"] {
        let compared = armature()
            .args(["replay", "--compare", "--from", level])
            .arg(&capture)
            .output()
            .expect("replay runs");
        assert!(compared.status.success(), "--from {level}: {}", stderr(&compared));
    }
    let original = image::open(&png).expect("png").to_rgba8();
    assert_eq!(original.dimensions(), (400, 300));

    // A hand-edited ratio out of range is the renderer's named refusal.
    let scene_path = capture.join("frames/0001/scene.ron");
    std::fs::write(&scene_path, scene.replace("device_pixel_ratio: 2.0", "device_pixel_ratio: 40.0"))
        .expect("edit");
    let output =
        armature().args(["replay", "--headless", "--from", "scene"]).arg(&capture).output().expect("runs");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("cannot be drawn: device pixel ratio 40 is outside 0.25..=4"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn ratios_and_sizes_out_of_range_are_named_errors() {
    let hello = page("hello.html");
    for (args, message) in [
        (
            &["--device-pixel-ratio", "5"][..],
            "invalid value '5' for '--device-pixel-ratio <RATIO>': device pixel ratio 5 is outside 0.25..=4",
        ),
        (&["--device-pixel-ratio", "x"][..], "'x' is not a number (e.g. 2 or 1.5)"),
        (
            &["--window-size", "10000x600", "--device-pixel-ratio", "2"][..],
            "--window-size 10000x600 at device pixel ratio 2 is 20000x1200 device pixels, more than 16384 \
             per side: use a smaller --window-size or --device-pixel-ratio",
        ),
    ] {
        let output = armature()
            .arg(&hello)
            .args(["--headless", "--screenshot", "/dev/null"])
            .args(args)
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains(message), "{args:?}: {}", stderr(&output));
    }
}
