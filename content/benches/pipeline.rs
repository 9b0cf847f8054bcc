//! Page → display list for every sample page: load, parse, style, layout (taffy + parley),
//! display-list build; and the cascade alone over long tables styled by structural
//! selectors, at two sizes, to show it grows linearly (`:nth-child` indices are cached per
//! document). Run with `cargo bench -p armature-content --bench pipeline`.

use std::path::PathBuf;

use armature_api::{ContentId, DeviceIntSize, DevicePixelRatio, Viewport};
use criterion::{Criterion, criterion_group, criterion_main};

fn sample_pages() -> Vec<PathBuf> {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/pages");
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&directory)
        .expect("tests/pages exists")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|extension| extension == "html"))
        .collect();
    pages.sort();
    pages
}

fn page_to_display_list(c: &mut Criterion) {
    let viewport = Viewport::from_css(DeviceIntSize::new(1024, 768), DevicePixelRatio::ONE);
    let mut group = c.benchmark_group("page_to_display_list");
    for page in sample_pages() {
        let name = page.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
        group.bench_function(name, |b| {
            b.iter(|| {
                armature_content::render_page(ContentId(1), &page, viewport).expect("sample pages render")
            })
        });
    }
    group.finish();
}

/// A table of `rows` rows striped and picked out by structural selectors.
fn striped_table(rows: usize) -> armature_content::dom::Document {
    let sheet = "tr:nth-child(even) { background-color: #eee } tr:nth-child(3n+1 of .flagged) td { color: red } \
                 td:first-child { font-weight: bold } td:last-child:not(:empty) { text-align: right } \
                 tbody > tr:nth-last-child(-n+3) td + td { color: gray } table:has(> caption) { margin: 0 }";
    let body: String = (0..rows)
        .map(|row| {
            let class = if row % 5 == 0 { " class=flagged" } else { "" };
            format!("<tr{class}><td>{row}</td><td>name {row}</td><td>{}</td></tr>", row * 7)
        })
        .collect();
    armature_content::dom::Document::parse(&format!("<style>{sheet}</style><table>{body}</table>"))
        .expect("parses")
}

fn cascade(c: &mut Criterion) {
    let mut group = c.benchmark_group("cascade");
    for rows in [1_000, 4_000] {
        let document = striped_table(rows);
        group.bench_function(format!("striped_table_{rows}_rows"), |b| {
            b.iter(|| armature_content::style::compute(&document))
        });
    }
    group.finish();
}

criterion_group!(benches, page_to_display_list, cascade);
criterion_main!(benches);
