//! Renders every sample page with armature and writes the README's gallery: a 320x240
//! thumbnail of each (rendered at 800x600, then scaled down) in `docs/gallery/`.
//!
//! `cargo run -p armature-tests --example gallery` (run it after changing a sample page or
//! the renderer; `tests/tests/docs.rs` checks that every page has its thumbnail).

use std::path::Path;

use armature_tests::{page, render_ok};

/// The size pages are laid out at.
const VIEWPORT: &str = "800x600";
/// The thumbnail's size (a quarter of the viewport's area, same aspect).
const THUMBNAIL: (u32, u32) = (320, 240);

fn main() {
    let output = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/gallery");
    std::fs::create_dir_all(&output).expect("create docs/gallery");
    let mut pages: Vec<_> = std::fs::read_dir(page(""))
        .expect("tests/pages")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "html"))
        .collect();
    pages.sort();
    for path in pages {
        let image = render_ok(&path, &["--window-size", VIEWPORT]);
        let thumbnail =
            image::imageops::resize(&image, THUMBNAIL.0, THUMBNAIL.1, image::imageops::FilterType::Triangle);
        let name = path.file_stem().expect("a file name").to_string_lossy().into_owned();
        let target = output.join(format!("{name}.png"));
        thumbnail.save(&target).expect("write the thumbnail");
        println!("{}", target.display());
    }
}
