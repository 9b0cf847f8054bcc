//! Every sample page rendered by the real binary and checked by pixel: box colours, text
//! ink inside its line boxes (from `--dump-layout`) and none outside, image pixels.

use armature_tests::{
    armature, assert_pixel, box_rect, count_pixels, dump_layout, dumped_boxes, ink_pixels, page, render,
    render_ok,
};

const WHITE: [u8; 4] = [255, 255, 255, 255];
const RED: [u8; 4] = [255, 0, 0, 255];
const GREEN: [u8; 4] = [0, 255, 0, 255];
const BLUE: [u8; 4] = [0, 0, 255, 255];
const BLACK: [u8; 4] = [0, 0, 0, 255];

#[test]
fn every_sample_page_renders() {
    let pages = std::fs::read_dir(page("")).expect("pages directory");
    let mut count = 0;
    for entry in pages {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|extension| extension == "html") {
            let image = render_ok(&path, &[]);
            assert_eq!(image.dimensions(), (1024, 768), "{}", path.display());
            count += 1;
        }
    }
    assert!(count >= 12, "only {count} sample pages");
}

/// Ink inside every line box of every text box, and none in the page outside text, boxes
/// with backgrounds excepted (`blank` lists rects that must stay blank).
fn check_text_ink(name: &str, blank: &[[u32; 4]]) {
    let image = render_ok(&page(name), &[]);
    let boxes = dumped_boxes(&dump_layout(&page(name), &[]));
    let mut lines = 0;
    for text in boxes.iter().filter(|b| b.kind == "text") {
        for (rect, content) in &text.lines {
            if content.trim().is_empty() || rect[1] >= 768.0 {
                continue;
            }
            let [x, y, width, height] = rect.map(|v| v.max(0.0) as u32);
            let ink = ink_pixels(&image, x, y, width.max(1), height.max(1), WHITE);
            assert!(ink > 10, "{name}: line {content:?} at {rect:?} has only {ink} ink pixels");
            lines += 1;
        }
    }
    assert!(lines > 0, "{name} has text");
    for &[x, y, width, height] in blank {
        assert_eq!(
            ink_pixels(&image, x, y, width, height, WHITE),
            0,
            "{name}: ink in {:?}",
            [x, y, width, height]
        );
    }
}

#[test]
fn paragraphs_and_headings_have_ink_in_their_lines_only() {
    // Everything sits in the 320px article; right of it and below it stays blank.
    check_text_ink("paragraphs.html", &[[322, 0, 700, 768], [0, 300, 322, 468]]);
    let image = render_ok(&page("paragraphs.html"), &[]);
    assert_pixel(&image, 315, 5, [244, 244, 244, 255], 1);
    // The heading is dark blue: some of its ink is.
    let blue_ink = count_pixels(&image, [10, 10, 230, 38], |[r, g, b, _]| b > 100 && r < 60 && g < 60);
    assert!(blue_ink > 100, "heading ink is #202080: {blue_ink}");
}

#[test]
fn non_ascii_text_is_shaped_and_drawn() {
    check_text_ink("unicode.html", &[[0, 240, 1024, 528]]);
    let boxes = dumped_boxes(&dump_layout(&page("unicode.html"), &[]));
    let texts: Vec<&str> = boxes.iter().flat_map(|b| b.lines.iter().map(|(_, text)| text.as_str())).collect();
    for expected in ["Ελληνικά: Καλημέρα κόσμε", "Русский: Привет, мир", "“Curly quotes” — and an ellipsis…"]
    {
        assert!(texts.contains(&expected), "{expected:?} not in {texts:?}");
    }
}

#[test]
fn flex_items_are_painted_where_flexbox_puts_them() {
    let image = render_ok(&page("flex-row.html"), &[]);
    let check = |x, y, expected| assert_pixel(&image, x, y, expected, 1);
    check(50, 40, RED);
    check(300, 40, GREEN);
    check(550, 40, BLUE);
    check(175, 40, [238, 238, 238, 255]); // the gap shows the row's background
    check(50, 5, [238, 238, 238, 255]); // above the centred first item
    check(700, 40, WHITE);
    check(75, 110, [255, 0, 255, 255]);
    check(225, 110, [255, 255, 0, 255]);
    check(450, 110, [0, 255, 255, 255]);

    let image = render_ok(&page("flex-column-wrap.html"), &[]);
    let check = |x, y, expected| assert_pixel(&image, x, y, expected, 1);
    for (x, y) in [(50, 20), (160, 20), (50, 70), (160, 70), (50, 120)] {
        check(x, y, [0, 128, 0, 255]);
    }
    check(230, 20, [221, 221, 221, 255]);
    check(160, 120, [221, 221, 221, 255]);
    check(50, 200, [255, 224, 224, 255]);
    check(175, 300, [128, 0, 128, 255]);
}

#[test]
fn borders_have_their_side_colours_and_rounded_corners() {
    let image = render_ok(&page("borders.html"), &[]);
    let check = |x, y, expected| assert_pixel(&image, x, y, expected, 2);
    check(25, 100, [0, 0, 128, 255]); // outer left border
    check(40, 100, [192, 192, 255, 255]); // outer padding
    check(200, 53, RED); // inner top
    check(346, 100, [0, 160, 0, 255]); // inner right
    check(200, 162, BLUE); // inner bottom
    check(53, 100, [255, 165, 0, 255]); // inner left
    check(200, 100, WHITE); // inside the inner border
    check(21, 21, WHITE); // outside the outer box's 30px corner
    check(120, 236, [0, 128, 128, 255]); // pill
    check(21, 217, WHITE); // outside the pill's corner
    check(50, 296, [128, 0, 0, 255]); // dot centre
    check(22, 268, WHITE); // outside the circle
    check(70, 338, BLACK); // top-only border
    check(70, 350, WHITE);
}

#[test]
fn images_show_their_pixels_and_broken_ones_a_frame() {
    let (output, image) = render(&page("images.html"), &[]);
    assert!(output.status.success());
    let image = image.expect("screenshot");
    let check = |x, y, expected| assert_pixel(&image, x, y, expected, 2);
    check(16, 16, RED);
    check(48, 16, BLUE);
    check(40, 80, [0, 192, 0, 255]); // JPEG, scaled to 80×80
    check(20, 152, [128, 128, 255, 255]); // half-transparent blue PNG over white
    check(0, 200, [153, 153, 153, 255]); // the broken image's frame
    check(25, 197, WHITE); // and its inside
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("images/corrupt.png"), "a warning names the undecodable image: {stderr}");
    assert!(stderr.contains("images/no-such-file.png"), "a warning names the missing image: {stderr}");
}

#[test]
fn a_page_past_its_share_of_the_gpu_process_shows_what_fits_and_is_not_ended() {
    // 4,100 distinct images and 1,030 canvases: more textures than the GPU process lets one
    // content process hold (4,096), so sending them all would end the page. The content
    // process keeps to its shares (2,048 images, 1,024 canvases); the rest are broken images
    // and canvases without bitmaps, named in warnings. The images that fit are uploaded in
    // parts of 32: ipc-channel panics on more than 64 shared-memory regions in one message.
    let directory = tempfile::tempdir().expect("temp dir");
    let red = image::RgbaImage::from_pixel(1, 1, image::Rgba(RED));
    let mut html =
        String::from("<body style='margin:0'><div style='display:flex;flex-wrap:wrap;width:1024px'>");
    for index in 0..4_100 {
        red.save(directory.path().join(format!("i{index}.png"))).expect("write an image");
        html.push_str(&format!("<img src='i{index}.png' style='width:8px;height:8px'>"));
    }
    html.push_str("</div>");
    html.push_str(&"<canvas width='1' height='1'></canvas>".repeat(1_030));
    let path = directory.path().join("many.html");
    std::fs::write(&path, html).expect("write");
    let (output, image) = render(&path, &["--window-size", "1024x400"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{}",
        stderr.lines().filter(|line| !line.contains("is not shown")).collect::<Vec<_>>().join("\n")
    );
    let image = image.expect("screenshot");
    // 128 images a row, 8 px each: image N's centre is at ((N % 128) * 8 + 4, (N / 128) * 8 + 4).
    let centre = |index: u32| ((index % 128) * 8 + 4, (index / 128) * 8 + 4);
    for index in [0, 63, 64, 100, 2_047] {
        let (x, y) = centre(index);
        assert_pixel(&image, x, y, RED, 1);
    }
    let (x, y) = centre(2_048);
    assert_pixel(&image, x, y, WHITE, 1); // a broken image's inside
    assert!(
        stderr.contains(
            "image 'i2048.png' is not shown (broken-image box): the page already shows 2048 images"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("image 'i2047.png' is not shown"), "{stderr}");
    assert!(
        stderr.contains("<canvas> 1024 (1x1) has no bitmap: the page already has 1024 canvases"),
        "{stderr}"
    );
    assert!(!stderr.contains("<canvas> 1023 (1x1) has no bitmap"), "{stderr}");
    assert!(!stderr.contains("terminate content process"), "{stderr}");
}

#[test]
fn alpha_colours_blend_and_opacity_applies_to_the_whole_group() {
    let image = render_ok(&page("alpha.html"), &[]);
    let check = |x, y, expected| assert_pixel(&image, x, y, expected, 2);
    check(25, 25, [255, 127, 127, 255]); // rgba(255,0,0,.5) over white
    check(75, 75, [127, 63, 191, 255]); // #0000ff80 over that
    check(125, 125, [127, 127, 255, 255]); // #0000ff80 over white
    check(50, 195, [127, 127, 127, 255]); // black child in a 50% group, not green-tinted
    check(150, 195, [127, 255, 127, 255]); // the group's green
    check(100, 365, [255, 127, 127, 255]); // 50% red group
    check(100, 315, [191, 127, 191, 255]); // 50% blue in it, then the group at 50%
    check(50, 450, WHITE); // opacity: 0
}

#[test]
fn overflow_hidden_clips_to_the_padding_box() {
    let image = render_ok(&page("overflow.html"), &[]);
    let check = |x, y, expected| assert_pixel(&image, x, y, expected, 1);
    check(100, 50, RED);
    check(207, 50, BLACK); // the clip box's own border is not clipped
    check(300, 50, WHITE); // the child beyond the clip
    check(300, 150, BLUE); // overflow: visible paints beyond
    check(100, 270, GREEN);
    check(100, 320, WHITE); // clipped by the outer 60px clip
    check(200, 270, WHITE); // clipped by the inner 160px clip
}

#[test]
fn a_tall_page_shows_its_top_in_the_viewport() {
    let image = render_ok(&page("tall.html"), &[]);
    assert_pixel(&image, 500, 100, RED, 1);
    assert_pixel(&image, 500, 600, GREEN, 1);
    assert_pixel(&image, 500, 767, GREEN, 1);
}

#[test]
fn a_malformed_page_still_renders() {
    let image = render_ok(&page("malformed.html"), &[]);
    let boxes = dumped_boxes(&dump_layout(&page("malformed.html"), &[]));
    assert_pixel(&image, 90, 5, RED, 1);
    let unclosed = box_rect(&boxes, "div#unclosed");
    let (x, y) = ((unclosed[0] + unclosed[2] / 2.0) as u32, (unclosed[1] + unclosed[3] / 2.0) as u32);
    assert_pixel(&image, x, y, GREEN, 1);
    // `height: banana` is ignored: the empty div has no height.
    assert_eq!(box_rect(&boxes, "div#broken")[3], 0.0);
}

/// The runs of at least `least` pixels in a row, between `from` and `to`, that `colour`
/// accepts: (start, length).
fn runs(
    image: &image::RgbaImage,
    y: u32,
    (from, to): (u32, u32),
    least: u32,
    colour: impl Fn([u8; 4]) -> bool,
) -> Vec<(u32, u32)> {
    let mut runs = Vec::new();
    let mut start = None;
    for x in from..=to {
        let inside = x < to && colour(image.get_pixel(x, y).0);
        match (inside, start) {
            (true, None) => start = Some(x),
            (false, Some(first)) => {
                if x - first >= least {
                    runs.push((first, x - first));
                }
                start = None;
            }
            _ => {}
        }
    }
    runs
}

/// The rows of `line` (a dumped line rect) whose runs `colour` accepts, as `runs` finds them.
fn decorated_rows(
    image: &image::RgbaImage,
    line: [f32; 4],
    colour: impl Fn([u8; 4]) -> bool + Copy,
) -> Vec<(u32, Vec<(u32, u32)>)> {
    let [x, y, width, height] = line.map(|value| value.max(0.0) as u32);
    (y..y + height)
        .map(|row| (row, runs(image, row, (x, x + width + 1), 30, colour)))
        .filter(|(_, runs)| !runs.is_empty())
        .collect()
}

#[test]
fn list_markers_hang_beside_their_items_and_text_decorations_are_solid_lines() {
    let image = render_ok(&page("lists.html"), &[]);
    let boxes = dumped_boxes(&dump_layout(&page("lists.html"), &[]));
    let markers: Vec<(&armature_tests::DumpedBox, [f32; 4], &str)> = boxes
        .iter()
        .filter_map(|item| item.marker.as_ref().map(|(rect, text)| (item, *rect, text.as_str())))
        .collect();
    let texts: Vec<&str> = markers.iter().map(|(_, _, text)| *text).collect();
    assert_eq!(
        texts,
        ["\u{2022}", "\u{25e6}", "\u{25aa}", "\u{2022}", "3.", "4.", "9.", "a.", "b.", "III.", "II.", "I."],
        "discs, circles and squares as lists nest; start, value, type and reversed"
    );
    for (item, rect, text) in &markers {
        // Drawn left of the item, ending where it starts.
        assert!((rect[0] + rect[2] - item.rect[0]).abs() <= 0.5, "{text} at {rect:?} beside {:?}", item.rect);
        let [x, y, width, height] = rect.map(|value| value as u32);
        let ink = ink_pixels(&image, x, y, width, height, WHITE);
        assert!(ink > 4, "marker {text} at {rect:?} has {ink} ink pixels");
    }
    // The first line of an element's first text box (after it in tree order).
    let line = |element: &str| {
        let at = boxes.iter().position(|b| b.element == element).expect("the element");
        boxes[at..].iter().find(|b| b.kind == "text").map(|b| b.lines[0].0).expect("a line")
    };
    // Each link is underlined in its own blue, the word between them is not: one row below
    // the text has two long blue runs, one per link.
    let links = line("p#links");
    let blue = |[r, g, b, _]: [u8; 4]| b > 180 && r < 80 && g < 80;
    let rows = decorated_rows(&image, links, blue);
    assert!(rows.iter().any(|(_, runs)| runs.len() == 2), "{rows:?}");
    assert!(rows.iter().all(|(row, _)| *row as f32 > links[1] + links[3] / 2.0), "under the text: {rows:?}");
    // The deletion's line goes through the middle of the text, in its decoration colour.
    let gone = line("p#gone");
    let red = |[r, g, b, _]: [u8; 4]| r > 160 && g < 90 && b < 90;
    let rows = decorated_rows(&image, gone, red);
    assert!(!rows.is_empty(), "a red line through 'Dropped: tables'");
    for (row, runs) in &rows {
        assert!(
            (*row as f32) < gone[1] + gone[3] * 0.7 && (*row as f32) > gone[1] + gone[3] * 0.3,
            "{rows:?}"
        );
        assert!(runs[0].1 as f32 > gone[2] - 4.0, "across the whole line: {runs:?} for {gone:?}");
    }
}

#[test]
fn grid_areas_tracks_and_spans_place_the_dashboard() {
    let image = render_ok(&page("grid.html"), &[]);
    let boxes = dumped_boxes(&dump_layout(&page("grid.html"), &[]));
    let rect = |selector: &str| box_rect(&boxes, selector);
    let kind = |selector: &str| boxes.iter().find(|b| b.element == selector).map(|b| b.kind.as_str());
    assert_eq!((kind("div#page"), kind("span#badges")), (Some("grid"), Some("inline-block")));
    // The areas: the header and footer span both columns, the nav takes the 150px one,
    // and the 1fr row between them stretches the nav and main to the grid's min-height.
    let (head, side, foot) = (rect("header#head"), rect("nav#side"), rect("footer#foot"));
    assert_eq!((head[0], head[1], head[2]), (10.0, 10.0, 1004.0), "{head:?}");
    assert_eq!((side[0], side[1], side[2]), (10.0, head[1] + head[3] + 10.0, 150.0), "{side:?}");
    assert_eq!((foot[0], foot[2]), (10.0, 1004.0), "{foot:?}");
    assert_eq!(foot[1], side[1] + side[3] + 10.0, "the nav fills its row: {side:?} {foot:?}");
    assert_eq!(foot[1] + foot[3], 430.0, "min-height 420 inside 10px padding");
    // repeat(auto-fill, minmax(130px, 1fr)) in main's 1004 - 150 - 10 = 844px: as many
    // 130px columns and 8px gaps as fit (6), sharing the rest: (844 - 5 × 8) / 6 = 134.
    let (wide, tall) = (rect("div#wide"), rect("div#tall"));
    assert_eq!(wide[2], 2.0 * 134.0 + 8.0, "spans two columns: {wide:?}");
    assert_eq!(tall[3], 2.0 * 70.0 + 8.0, "spans two rows: {tall:?}");
    assert!((tall[0] - (wide[0] + wide[2] + 8.0)).abs() <= 1.0, "next to the wide card: {tall:?}");
    // Painted where laid out: the header's blue, and each spanning card's own left border.
    let [x, y] = [head[0] + head[2] / 2.0, head[1] + 4.0].map(|value| value as u32);
    assert_pixel(&image, x, y, [0x23, 0x39, 0x5d, 255], 2);
    let border = |card: [f32; 4]| [card[0] + 2.0, card[1] + card[3] / 2.0].map(|value| value as u32);
    let [x, y] = border(wide);
    assert_pixel(&image, x, y, [0xd9, 0x82, 0x2b, 255], 2);
    let [x, y] = border(tall);
    assert_pixel(&image, x, y, [0x3a, 0x9d, 0x5d, 255], 2);
}

#[test]
fn tables_line_their_cells_up_in_rows_and_columns() {
    let image = render_ok(&page("tables.html"), &[]);
    let boxes = dumped_boxes(&dump_layout(&page("tables.html"), &[]));
    let rect = |selector: &str| box_rect(&boxes, selector);
    let kind = |selector: &str| boxes.iter().find(|b| b.element == selector).map(|b| b.kind.as_str());
    assert_eq!(
        (kind("table#results"), kind("div.cards"), kind("td#west")),
        (Some("table"), Some("table"), Some("block"))
    );
    // width: 100% of the body (1024 - 2 × 12); a cell per column, each column one width.
    let (results, region, west, south) =
        (rect("table#results"), rect("th#region"), rect("td#west"), rect("td#south"));
    assert_eq!(results[2], 1000.0, "{results:?}");
    assert_eq!((west[0], west[2]), (region[0], region[2]), "one column: {region:?} {west:?}");
    assert_eq!(south[0], results[0] + 1.0, "inside the table's edge, the cells' collapsed 1px: {south:?}");
    // The legacy table: a rowspan cell is as tall as its two rows and the spacing between.
    let (store, weekdays, always) = (rect("th#store"), rect("th#weekdays"), rect("td#always"));
    assert_eq!(store[1] + store[3], weekdays[1] + weekdays[3], "{store:?} {weekdays:?}");
    assert_eq!(always[0], weekdays[0], "the colspan cell starts in the second column");
    // CSS table cells share their row's height.
    let (units, growth) = (rect("div#units"), rect("div#growth"));
    assert_eq!((units[1], units[3]), (growth[1], growth[3]));
    assert_eq!(growth[0], units[0] + units[2] + 8.0, "border-spacing 8px");
    // Painted: the header row group's background, an odd row's background under its cells,
    // and a cell's bgcolor.
    let centre = |rect: [f32; 4]| [rect[0] + 4.0, rect[1] + rect[3] / 2.0].map(|value| value as u32);
    let [x, y] = centre(region);
    assert_pixel(&image, x, y, [0x23, 0x39, 0x5d, 255], 2);
    let [x, y] = centre(south);
    assert_pixel(&image, x, y, [0xee, 0xf2, 0xf8, 255], 2);
    let [x, y] = centre(always);
    assert_pixel(&image, x, y, [0xff, 0xf3, 0xcd, 255], 2);
}

#[test]
fn inline_blocks_marks_and_canvases_paint_in_their_lines() {
    let image = render_ok(&page("inline-blocks.html"), &[]);
    let boxes = dumped_boxes(&dump_layout(&page("inline-blocks.html"), &[]));
    let centre = |rect: [f32; 4]| ((rect[0] + rect[2] / 2.0) as u32, (rect[1] + rect[3] / 2.0) as u32);
    let (x, y) = centre(box_rect(&boxes, "span#chip"));
    assert_pixel(&image, x, y, [255, 128, 0, 255], 1);
    let (x, y) = centre(box_rect(&boxes, "canvas#canvas"));
    assert_pixel(&image, x, y, [192, 192, 255, 255], 1); // a fresh canvas is transparent
    assert_pixel(&image, 200, 115, [255, 128, 0, 255], 1); // the centred chip
    assert_pixel(&image, 100, 115, WHITE, 1);
    // The mark's background is yellow around its text.
    let yellow = count_pixels(&image, [150, 0, 110, 40], |pixel| pixel == [255, 255, 0, 255]);
    assert!(yellow > 500, "the mark's background: {yellow} yellow pixels");
}

#[test]
fn a_page_that_is_not_utf8_renders_with_a_warning() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("latin1.html");
    std::fs::write(&path, b"<body style='margin:0;background:#00ff00'><p>caf\xe9 \xff\xfe</p>")
        .expect("write");
    let (output, image) = render(&path, &[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_pixel(&image.expect("screenshot"), 500, 500, GREEN, 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not valid UTF-8"), "{stderr}");
}

#[test]
fn an_enormous_page_renders() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("enormous.html");
    let mut html = String::from("<style>div { height: 1px; background: #0000ff }</style>");
    for index in 0..100_000 {
        html.push_str(&format!("<div class=c{index}></div>"));
    }
    std::fs::write(&path, html).expect("write");
    let image = render_ok(&path, &[]);
    assert_pixel(&image, 500, 500, BLUE, 1);
    let boxes = dumped_boxes(&dump_layout(&path, &[]));
    assert!(boxes.len() > 100_000);
}

#[test]
fn deep_nesting_is_capped_and_pathological_nesting_refused_by_name() {
    let directory = tempfile::tempdir().expect("temp dir");
    // 1,500 levels: past the 512 cap, so the deepest ones become siblings; still renders.
    let deep = directory.path().join("deep.html");
    let html =
        format!("<body style='margin:0'>{}<p>bottom</p>", "<div style='padding-left:0'>".repeat(1_500));
    std::fs::write(&deep, html).expect("write");
    render_ok(&deep, &[]);

    // 50,000 levels: refused quickly with a message that names the problem.
    let hostile = directory.path().join("hostile.html");
    std::fs::write(&hostile, format!("<body>{}x", "<span><div>".repeat(50_000))).expect("write");
    for mode in [&["--dump-layout"][..], &["--headless"][..]] {
        let started = std::time::Instant::now();
        let output = armature().arg(&hostile).args(mode).output().expect("armature runs");
        assert!(!output.status.success(), "{mode:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("deeper than 512 levels"), "{mode:?}: {stderr}");
        assert!(started.elapsed().as_secs() < 60, "{mode:?} took {:?}", started.elapsed());
    }
}
