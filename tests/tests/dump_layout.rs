//! `--dump-layout`: boxes of sample pages at hand-computed rects.

use armature_tests::{armature, assert_rect, box_rect, dump_layout, dumped_boxes, page};

#[test]
fn flex_row_spaces_and_centres_items_and_shares_free_space_by_grow_factor() {
    let boxes = dumped_boxes(&dump_layout(&page("flex-row.html"), &[]));
    // 600px row, three 100px items, space-between: 0, 250, 500; centred in the 80px line.
    assert_rect(box_rect(&boxes, "div#row"), [0.0, 0.0, 600.0, 80.0]);
    assert_rect(box_rect(&boxes, "div#a"), [0.0, 15.0, 100.0, 50.0]);
    assert_rect(box_rect(&boxes, "div#b"), [250.0, 0.0, 100.0, 80.0]);
    assert_rect(box_rect(&boxes, "div#c"), [500.0, 25.0, 100.0, 30.0]);
    // 600 - 150 fixed = 450 shared 1:2 (flex: 1 / flex: 2 have a 0 basis).
    assert_rect(box_rect(&boxes, "div#grow"), [0.0, 90.0, 600.0, 40.0]);
    assert_rect(box_rect(&boxes, "div#fixed"), [0.0, 90.0, 150.0, 40.0]);
    assert_rect(box_rect(&boxes, "div#g1"), [150.0, 90.0, 150.0, 40.0]);
    assert_rect(box_rect(&boxes, "div#g2"), [300.0, 90.0, 300.0, 40.0]);
}

#[test]
fn flex_wrap_makes_lines_and_columns_pack_at_the_end() {
    let boxes = dumped_boxes(&dump_layout(&page("flex-column-wrap.html"), &[]));
    // 250px wide, 100px items, 10px gaps: two per line.
    assert_rect(box_rect(&boxes, "div#wrap"), [0.0, 0.0, 250.0, 140.0]);
    let expected = [(0.0, 0.0), (110.0, 0.0), (0.0, 50.0), (110.0, 50.0), (0.0, 100.0)];
    for (index, (x, y)) in expected.into_iter().enumerate() {
        assert_rect(box_rect(&boxes, &format!("div#w{}", index + 1)), [x, y, 100.0, 40.0]);
    }
    // Column of 200px, justify-content: flex-end, align-items: flex-end; the label's text
    // line sets the last item's height, so the first two items are placed from the bottom.
    let column = box_rect(&boxes, "div#column");
    assert_rect(column, [0.0, 160.0, 200.0, 200.0]);
    let label = box_rect(&boxes, "p#label");
    assert!((label[1] + label[3] - 360.0).abs() < 0.5, "the label ends at the column's bottom: {label:?}");
    assert!((label[0] + label[2] - 200.0).abs() < 0.5, "the label sits at the right edge: {label:?}");
    assert_rect(box_rect(&boxes, "div#c2"), [150.0, label[1] - 30.0, 50.0, 30.0]);
    assert_rect(box_rect(&boxes, "div#c1"), [150.0, label[1] - 60.0, 50.0, 30.0]);
}

#[test]
fn borders_and_padding_add_to_the_content_box() {
    let boxes = dumped_boxes(&dump_layout(&page("borders.html"), &[]));
    // body margin 20; outer: 300 content + 2×20 padding + 2×10 border.
    assert_rect(box_rect(&boxes, "div#outer"), [20.0, 20.0, 360.0, 176.0]);
    // inner: inside outer's border and padding; 100 content + 2×8 border high.
    assert_rect(box_rect(&boxes, "div#inner"), [50.0, 50.0, 300.0, 116.0]);
    assert_rect(box_rect(&boxes, "div#pill"), [20.0, 216.0, 200.0, 40.0]);
    assert_rect(box_rect(&boxes, "div#dot"), [20.0, 266.0, 60.0, 60.0]);
    // A top border only: 20 content + 6 border.
    assert_rect(box_rect(&boxes, "div#top-only"), [20.0, 336.0, 100.0, 26.0]);
}

#[test]
fn overflowing_children_keep_their_size_and_the_document_grows_past_the_viewport() {
    let boxes = dumped_boxes(&dump_layout(&page("overflow.html"), &[]));
    assert_rect(box_rect(&boxes, "div#clip"), [0.0, 0.0, 210.0, 110.0]);
    assert_rect(box_rect(&boxes, "div#visible"), [0.0, 130.0, 200.0, 50.0]);
    assert_rect(box_rect(&boxes, "div#nested"), [0.0, 240.0, 300.0, 60.0]);

    let dump = dump_layout(&page("tall.html"), &[]);
    // Six 500px bands; the last one's paragraph margin (16px) collapses through its top.
    assert_eq!(dump["document_height"].as_f64(), Some(3016.0));
    assert_eq!(dump["viewport_height"].as_f64(), Some(768.0));
}

#[test]
fn images_take_their_intrinsic_or_css_sizes_and_broken_ones_their_attributes() {
    let boxes = dumped_boxes(&dump_layout(&page("images.html"), &[]));
    assert_rect(box_rect(&boxes, "img#png"), [0.0, 0.0, 64.0, 32.0]);
    // width=80 on a 40×40 JPEG: the height follows the intrinsic ratio.
    assert_rect(box_rect(&boxes, "img#jpeg"), [0.0, 42.0, 80.0, 80.0]);
    assert_rect(box_rect(&boxes, "img#scaled"), [0.0, 132.0, 40.0, 40.0]);
    assert_rect(box_rect(&boxes, "img#broken"), [0.0, 182.0, 50.0, 30.0]);
    assert_rect(box_rect(&boxes, "img#missing"), [0.0, 222.0, 20.0, 20.0]);
    let kinds: Vec<&str> =
        boxes.iter().filter(|b| b.element.starts_with("img#")).map(|b| b.kind.as_str()).collect();
    assert_eq!(kinds, ["image", "image", "image", "broken-image", "broken-image"]);
}

#[test]
fn text_wraps_inside_its_block_and_aligns() {
    let boxes = dumped_boxes(&dump_layout(&page("paragraphs.html"), &[]));
    assert_rect(box_rect(&boxes, "article#article"), [0.0, 0.0, 320.0, boxes[3].rect[3]]);
    let title = box_rect(&boxes, "h1#title");
    assert_eq!((title[0], title[1], title[2]), (10.0, 10.0, 300.0));
    // line-height: 20px; every line fits in the 300px column.
    let wrap = boxes
        .iter()
        .find(|b| b.kind == "text" && b.lines.iter().any(|(_, t)| t.starts_with("This paragraph")));
    let wrap = wrap.expect("the wrapping paragraph's text box");
    assert!(wrap.lines.len() >= 4, "wraps into several lines: {:?}", wrap.lines);
    for (index, (rect, _)) in wrap.lines.iter().enumerate() {
        assert_eq!(rect[3], 20.0, "line-height");
        assert_eq!(rect[1], wrap.rect[1] + 20.0 * index as f32, "lines stack");
        assert!(rect[0] >= 10.0 && rect[0] + rect[2] <= 310.5, "line {index} inside the column: {rect:?}");
    }
    let joined: Vec<&str> = wrap.lines.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(
        joined.join(" "),
        "This paragraph is long enough that it has to wrap inside a column three hundred pixels wide, \
         several times over, at word boundaries."
    );
    // Right-aligned text ends at the content box's right edge.
    let right = boxes.iter().find(|b| b.kind == "text" && b.lines.iter().any(|(_, t)| t == "Right aligned."));
    let (line, _) = &right.expect("right-aligned text").lines[0];
    assert!((line[0] + line[2] - 310.0).abs() < 1.0, "{line:?}");
}

#[test]
fn inline_blocks_and_canvases_sit_in_their_lines() {
    let boxes = dumped_boxes(&dump_layout(&page("inline-blocks.html"), &[]));
    let chip = box_rect(&boxes, "span#chip");
    assert_eq!((chip[2], chip[3]), (60.0, 24.0));
    assert!(chip[0] > 30.0 && chip[1] >= 0.0 && chip[1] + chip[3] <= 40.0, "inside the first line: {chip:?}");
    let canvas = box_rect(&boxes, "canvas#canvas");
    assert_eq!((canvas[2], canvas[3]), (120.0, 60.0), "the canvas's width/height attributes");
    // Centred in a 400px block: (400 - 60) / 2.
    let centred = boxes.iter().find(|b| b.element == "span.chip").expect("the centred chip");
    assert_eq!(centred.rect[0], 170.0);
}

/// `armature <name> --dump-layout --window-size <size>`'s text dump.
fn text_dump(name: &str, window_size: &str) -> String {
    let output = armature()
        .arg(page(name))
        .args(["--dump-layout", "--window-size", window_size])
        .output()
        .expect("armature runs");
    assert!(output.status.success());
    String::from_utf8(output.stdout).expect("UTF-8")
}

#[test]
fn the_text_format_is_an_indented_tree_and_the_window_size_applies() {
    let text = text_dump("flex-row.html", "500x300");
    let mut lines = text.lines();
    // The 600 px flex row overflows the 500 px viewport: the document is as wide as it.
    assert_eq!(lines.next(), Some("viewport 500x300, document 600x300"));
    assert_eq!(lines.next(), Some("viewport (0, 0) 500x300"));
    assert!(text.contains("\n      flex <div#row.row> (0, 0) 600x80\n"), "{text}");
    assert!(text.contains("\n        block <div#b> (250, 0) 100x80\n"), "{text}");
}

#[test]
fn the_dump_is_laid_out_as_drawn_at_the_device_pixel_ratio() {
    let heights = |ratio: &str| -> Vec<f32> {
        let boxes = dumped_boxes(&dump_layout(&page("paragraphs.html"), &["--device-pixel-ratio", ratio]));
        boxes.iter().flat_map(|b| b.lines.iter().map(|(rect, _)| rect[3])).collect()
    };
    let (one, fractional) = (heights("1"), heights("1.5"));
    assert_eq!(one.len(), fractional.len(), "the same lines");
    // At 1 parley rounds line metrics to whole pixels; at 1.5 it keeps them, as the page is drawn.
    assert!(one.iter().all(|height| height.fract() == 0.0), "{one:?}");
    assert!(fractional.iter().any(|height| height.fract() != 0.0), "{fractional:?}");
}

#[test]
fn list_items_show_their_markers_hung_left_of_them() {
    let text = text_dump("lists.html", "800x600");
    // The marker's width includes its suffix's space; its text is shown without it.
    assert!(text.contains("\n            marker (36.92, 170) 19.08x20 \"3.\"\n"), "{text}");
    let boxes = dumped_boxes(&dump_layout(&page("lists.html"), &["--window-size", "800x600"]));
    let steps: Vec<([f32; 4], String)> =
        boxes.iter().filter(|b| b.element == "li").filter_map(|b| b.marker.clone()).skip(4).take(3).collect();
    let texts: Vec<&str> = steps.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(texts, ["3.", "4.", "9."]);
    // One 20 px line per item, each marker ending at the items' left edge (56).
    for (at, (rect, _)) in steps.iter().enumerate() {
        assert_rect([rect[0] + rect[2], rect[1], 0.0, rect[3]], [56.0, 170.0 + 20.0 * at as f32, 0.0, 20.0]);
    }
}

#[test]
fn boxes_the_user_can_scroll_show_how_far_their_content_reaches() {
    let dump = dump_layout(&page("scroll-boxes.html"), &["--window-size", "400x300"]);
    let mut scrolls = Vec::new();
    let mut stack = vec![&dump["root"]];
    while let Some(node) = stack.pop() {
        if let (Some(width), Some(height)) = (node["scroll_width"].as_f64(), node["scroll_height"].as_f64()) {
            scrolls.push((node["element"].as_str().unwrap_or_default().to_owned(), width, height));
        }
        stack.extend(node["children"].as_array().into_iter().flatten());
    }
    scrolls.sort_by(|a, b| a.0.cmp(&b.0));
    let names: Vec<&str> = scrolls.iter().map(|(name, ..)| name.as_str()).collect();
    // The inbox and the code block, and the reading column (auto too); not the body or
    // the boxes that do not clip.
    assert_eq!(names, ["div#inbox", "div.reading", "pre"], "{scrolls:?}");
    // Twelve mails of 40 px in the 160x200 inbox; one long line in the code block.
    assert_eq!((scrolls[0].1, scrolls[0].2), (160.0, 480.0));
    assert!(scrolls[2].1 > 800.0 && scrolls[2].2 == 52.0, "{scrolls:?}");
    // What they hold makes the page no longer: it ends at the footer.
    assert_eq!(dump["document_height"], 500.0);
}

#[test]
fn a_missing_page_fails_the_dump_with_the_usual_message() {
    let output = armature().args(["/no/such/page.html", "--dump-layout"]).output().expect("armature runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot read page '/no/such/page.html'"), "{stderr}");
}
