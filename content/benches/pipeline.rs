//! Page → display list for every sample page: load, parse, style, layout (taffy + parley),
//! display-list build. Run with `cargo bench -p armature-content --bench pipeline`.

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

criterion_group!(benches, page_to_display_list);
criterion_main!(benches);
