//! Batching as the frame stats report it: thousands of rects in a few draw calls, text-heavy
//! pages in a handful, and the pixels still right.

use armature_tests::{assert_pixel, page, rect_grid_page, render_with_stats};

fn stat(stats: &serde_json::Value, name: &str) -> u64 {
    stats["gpu"][name].as_u64().unwrap_or_else(|| panic!("stats have gpu.{name}: {stats}"))
}

#[test]
fn ten_thousand_rects_take_at_most_four_draw_calls() {
    let directory = tempfile::tempdir().expect("temp dir");
    let page = directory.path().join("rects.html");
    std::fs::write(&page, rect_grid_page(10_000)).expect("write page");
    let (stats, image) = render_with_stats(&page, &[]);
    assert!(stat(&stats, "primitives") >= 10_000, "{stats}");
    assert!(stat(&stats, "batches") <= 4, "10k rects in {} batches: {stats}", stat(&stats, "batches"));
    assert!(stat(&stats, "draw_calls") <= 4, "{stats}");
    assert_eq!(stats["display_items"], 10_000, "{stats}");
    // The grid's first rects, and the last row's last one (colours cycle per row and column).
    assert_pixel(&image, 5, 3, [204, 0, 0, 255], 0);
    assert_pixel(&image, 15, 3, [0, 170, 0, 255], 0);
    assert_pixel(&image, 5, 10, [0, 170, 0, 255], 0);
    assert_pixel(&image, 995, 696, [0, 0, 204, 255], 0);
    assert_pixel(&image, 1010, 3, [255, 255, 255, 255], 0);
}

/// Forty paragraphs of styled text over alternating backgrounds, headings between them.
fn text_heavy_page() -> String {
    let mut html = String::from(
        "<!DOCTYPE html><html><head><style>body { margin: 8px } .odd { background: #eef }\n\
         em { color: #a00 } b { color: #060 } h2 { font-size: 20px }</style></head><body>\n",
    );
    for index in 0..40 {
        if index % 10 == 0 {
            html.push_str(&format!("<h2>Section {}</h2>\n", index / 10 + 1));
        }
        let class = if index % 2 == 1 { " class=\"odd\"" } else { "" };
        html.push_str(&format!(
            "<p{class}>Paragraph {index}: the quick brown fox <em>jumps</em> over the lazy dog, \
             <b>twice</b>, and then once more for good measure.</p>\n"
        ));
    }
    html.push_str("</body></html>\n");
    html
}

#[test]
fn text_heavy_pages_take_a_handful_of_draw_calls() {
    let directory = tempfile::tempdir().expect("temp dir");
    let generated = directory.path().join("text-heavy.html");
    std::fs::write(&generated, text_heavy_page()).expect("write page");
    for page in [generated, page("paragraphs.html"), page("unicode.html")] {
        let (stats, _) = render_with_stats(&page, &[]);
        let primitives = stat(&stats, "primitives");
        let draw_calls = stat(&stats, "draw_calls");
        assert!(
            draw_calls <= 6,
            "{}: {primitives} primitives in {draw_calls} draw calls: {stats}",
            page.display()
        );
    }
    let (stats, _) = render_with_stats(&directory.path().join("text-heavy.html"), &[]);
    assert!(stat(&stats, "primitives") > 1000, "the generated page is text-heavy: {stats}");
}

#[test]
fn stats_report_every_stage() {
    let (stats, _) = render_with_stats(&page("images.html"), &[]);
    for stage in ["load_us", "parse_us", "style_us", "layout_us", "display_list_us"] {
        assert!(stats["content"][stage].is_u64(), "content.{stage}: {stats}");
    }
    for stage in ["replay_us", "batch_us", "encode_us", "execute_us"] {
        assert!(stats["gpu"]["cpu"][stage].is_u64(), "gpu.cpu.{stage}: {stats}");
    }
    // Three decoded images (the fourth is broken) went up once, into one shared page.
    assert_eq!(stat(&stats, "cached_textures"), 1, "{stats}");
    assert!(stat(&stats, "bytes_uploaded") > 64 * 32 * 4, "{stats}");
    assert!(stat(&stats, "glyphs_rasterized") > 0, "{stats}");
}
