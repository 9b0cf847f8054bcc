//! CSS positioning on the sample page `positioned.html`, by the real binary: where
//! `position: relative | absolute | fixed` boxes land (from `--dump-layout`), and how
//! z-index and clips paint them (from the screenshot).

use armature_tests::{assert_pixel, assert_rect, box_rect, dump_layout, dumped_boxes, page, render_ok};

const WHITE: [u8; 4] = [255, 255, 255, 255];

#[test]
fn positioned_boxes_are_placed_in_their_containing_blocks() {
    let dump = dump_layout(&page("positioned.html"), &[]);
    let boxes = dumped_boxes(&dump);
    // Fixed: in the viewport, whatever its parent (the body starts at y 56).
    assert_rect(box_rect(&boxes, "div#header"), [0.0, 0.0, 1024.0, 40.0]);
    assert_rect(box_rect(&boxes, "div#footer"), [1024.0 - 16.0 - 120.0, 768.0 - 16.0 - 32.0, 120.0, 32.0]);
    // The card's padding box is (28, 60) 316x116: the badge hangs 12px past its top right
    // corner, and the note, whose parent is the static .row, sits on its bottom left.
    assert_rect(box_rect(&boxes, "div#card"), [24.0, 56.0, 324.0, 124.0]);
    assert_rect(box_rect(&boxes, "div#badge"), [28.0 + 316.0 + 12.0 - 24.0, 60.0 - 12.0, 24.0, 24.0]);
    assert_rect(box_rect(&boxes, "div#note"), [28.0, 60.0 + 116.0 - 20.0, 60.0, 20.0]);
    // Relative: moved from its place in the flow (y 204), and what follows is not.
    assert_rect(box_rect(&boxes, "div#nudged"), [40.0, 204.0 - 8.0, 80.0, 30.0]);
    assert_rect(box_rect(&boxes, "div#after"), [0.0, 234.0, 80.0, 30.0]);
    // Absolute boxes take no room: #over follows #after directly.
    assert_rect(box_rect(&boxes, "div#over"), [680.0, 264.0, 80.0, 80.0]);
    // No positioned ancestor: the viewport is the containing block.
    assert_rect(box_rect(&boxes, "div#s1"), [420.0, 80.0, 80.0, 80.0]);
    assert_rect(box_rect(&boxes, "div#escapes"), [160.0, 360.0, 80.0, 80.0]);
    assert_rect(box_rect(&boxes, "div#clipped"), [24.0 + 60.0, 360.0 + 30.0, 80.0, 80.0]);
}

#[test]
fn z_index_and_clips_paint_positioned_boxes_as_css_stacks_them() {
    let image = render_ok(&page("positioned.html"), &[]);
    let (red, green, blue) = ([255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]);
    // s1 (z 3) over s2 (z 1); s3 (z 2) over s2, though s2 comes later than s1 in the page.
    assert_pixel(&image, 470, 130, red, 0);
    assert_pixel(&image, 470, 190, green, 0);
    assert_pixel(&image, 510, 170, blue, 0);
    // z-index -1 paints under the in-flow box it overlaps, and over the canvas.
    assert_pixel(&image, 700, 320, [255, 255, 0, 255], 0);
    assert_pixel(&image, 650, 370, [128, 0, 128, 255], 0);
    // A positioned box is painted after the in-flow boxes it overlaps: the badge over the
    // card's border.
    assert_pixel(&image, 345, 58, red, 0);
    // The relative box moved, and left nothing where it was.
    assert_pixel(&image, 50, 200, [255, 170, 0, 255], 0);
    assert_pixel(&image, 20, 230, WHITE, 0);
    // Clipped by its containing block's overflow...
    assert_pixel(&image, 100, 400, [255, 0, 255, 255], 0);
    assert_pixel(&image, 140, 400, WHITE, 0);
    // ...but not by a clip between it and its containing block (the viewport).
    assert_pixel(&image, 200, 400, [0, 255, 255, 255], 0);
    // Fixed boxes at the viewport's edges.
    assert_pixel(&image, 1000, 30, [0x20, 0x30, 0x40, 255], 0);
    assert_pixel(&image, 1000, 740, [0x20, 0x30, 0x40, 255], 0);
}
