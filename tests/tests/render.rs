//! Pages rendered by the real binary (launcher + GPU + content processes), checked by pixel.

use armature_tests::{assert_pixel, count_pixels, ink_pixels, page, render_ok};

const WHITE: [u8; 4] = [255, 255, 255, 255];

#[test]
fn boxes_are_painted_at_their_places_and_gaps_stay_clear() {
    let image = render_ok(&page("boxes.html"), &[]);
    assert_eq!(image.dimensions(), (1024, 768), "default --window-size");
    let check = |x, y, expected| assert_pixel(&image, x, y, expected, 1);
    // Centres of the boxes.
    check(100, 50, [255, 0, 0, 255]);
    check(250, 200, [0, 255, 0, 255]);
    check(40, 290, [127, 127, 255, 255]); // 50% blue over white
    check(10, 340, [0, 0, 128, 255]); // navy padding
    check(45, 375, [255, 255, 0, 255]); // yellow child: 50% of the 100px content box
    check(100, 375, [0, 0, 128, 255]); // right of the yellow child, still navy
    // Gaps and edges.
    check(500, 50, WHITE); // right of red
    check(100, 125, WHITE); // the empty div between red and green
    check(50, 200, WHITE); // left of green (margin-left)
    check(450, 200, WHITE); // right of green
    check(120, 290, WHITE); // right of the half-blue box
    check(100, 600, WHITE); // below everything
    // Exact edges: the red box covers x 0..200, y 0..100.
    check(199, 99, [255, 0, 0, 255]);
    check(200, 50, WHITE);
    check(100, 100, WHITE);
}

#[test]
fn window_size_sets_the_screenshot_size() {
    let image = render_ok(&page("boxes.html"), &["--window-size", "320x200"]);
    assert_eq!(image.dimensions(), (320, 200));
    assert_pixel(&image, 100, 50, [255, 0, 0, 255], 1);
    assert_pixel(&image, 250, 200 - 1, [0, 255, 0, 255], 1);
}

#[test]
fn text_has_ink_inside_its_line_boxes_and_none_outside() {
    let image = render_ok(&page("text.html"), &[]);
    // "Hello text" at 32px: its line box is the top ~38px; the words are < 250px wide.
    let first_line = ink_pixels(&image, 0, 0, 250, 38, WHITE);
    assert!(first_line > 200, "first line has only {first_line} ink pixels");
    assert_eq!(ink_pixels(&image, 300, 0, 724, 38, WHITE), 0, "ink right of the first line");
    // The 100px spacer below it is blank.
    assert_eq!(ink_pixels(&image, 0, 40, 1024, 95, WHITE), 0, "ink in the spacer");
    // The second paragraph is red text around y = 138..157.
    let second_line = ink_pixels(&image, 0, 136, 600, 22, WHITE);
    assert!(second_line > 200, "second line has only {second_line} ink pixels");
    let reddish = count_pixels(&image, [0, 136, 600, 22], |[r, g, b, _]| r > 150 && g < 100 && b < 100);
    assert!(reddish > 50, "the second line is red: {reddish} red pixels");
    assert_eq!(ink_pixels(&image, 0, 160, 1024, 608, WHITE), 0, "ink below the text");
}

#[test]
fn the_sample_page_renders_with_its_background_and_heading() {
    let image = render_ok(&page("hello.html"), &[]);
    // Body background #f4f1ea propagates to the whole canvas.
    assert_pixel(&image, 1000, 700, [0xf4, 0xf1, 0xea, 255], 1);
    // The heading's ink is the heading colour.
    let heading = ink_pixels(&image, 8, 20, 400, 40, [0xf4, 0xf1, 0xea, 255]);
    assert!(heading > 300, "heading ink: {heading}");
}

#[test]
fn style_sheets_cascade_by_specificity_importance_and_order() {
    let image = render_ok(&page("cascade.html"), &[]);
    // .row is a 100x50 div holding two 50px-tall boxes, so it grows to 100px.
    assert_pixel(&image, 50, 25, [0, 255, 0, 255], 0); // #first.box
    assert_pixel(&image, 50, 75, [0, 0, 255, 255], 0); // .row > .box
    assert_pixel(&image, 50, 125, [255, 255, 0, 255], 0); // section .box
    assert_pixel(&image, 50, 175, [0, 0, 0, 255], 0); // !important beats the style attribute
    assert_pixel(&image, 50, 225, [255, 0, 255, 255], 0); // the later sheet
    assert_pixel(&image, 150, 25, WHITE, 0); // divs are 100px wide
}
