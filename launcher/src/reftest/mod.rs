//! `armature reftest MANIFEST`: renders every test and reference page of a manifest in one
//! session (one GPU process, a content process per page) and compares their pixels.
//!
//! A failure writes the test's, the reference's and a difference image (differing pixels
//! red, by how much they differ; the rest a faded copy of the test) under the output
//! directory, and prints their paths.

pub mod manifest;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use armature_api::DeviceIntSize;

use crate::error::LauncherError;
use crate::screenshot::PendingScreenshot;
use crate::session::{PageJob, Session, SessionOptions};
use manifest::{Expectation, Reftest, Relation};

/// What `armature reftest` was asked to do.
pub struct ReftestRun<'a> {
    /// The manifest.
    pub manifest: &'a Path,
    /// Where failure images go.
    pub output: &'a Path,
    /// Viewport of every page (device pixels and ratio).
    pub viewport: armature_api::Viewport,
    /// `--verbose`.
    pub verbose: bool,
}

/// How two renderings differ.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Difference {
    /// Largest difference in any channel of any pixel.
    pub max_difference: u8,
    /// Pixels that differ at all.
    pub differing_pixels: u64,
}

/// Compares two frames of the same size.
pub fn compare(a: &[u8], b: &[u8]) -> Difference {
    let mut difference = Difference::default();
    for (pa, pb) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        let max = pa.iter().zip(pb).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0);
        if max > 0 {
            difference.differing_pixels += 1;
            difference.max_difference = difference.max_difference.max(max);
        }
    }
    difference
}

/// A difference image: differing pixels red, brighter for larger differences; the rest a
/// faded copy of `test` so the page stays recognisable.
pub fn difference_image(test: &[u8], reference: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(test.len());
    for (pt, pr) in test.chunks_exact(4).zip(reference.chunks_exact(4)) {
        let max = pt.iter().zip(pr).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0);
        if max > 0 {
            out.extend_from_slice(&[128u8.saturating_add(max / 2), 0, 0, 255]);
        } else {
            let faded = |channel: u8| 192 + channel / 4;
            out.extend_from_slice(&[faded(pt[0]), faded(pt[1]), faded(pt[2]), 255]);
        }
    }
    out
}

/// Outcome counts of a run.
#[derive(Debug, Default)]
struct Summary {
    passed: usize,
    failed: usize,
    expected_failures: usize,
    skipped: usize,
}

/// Runs a manifest. Exit status: success only if every test met its expectation.
pub fn run(request: ReftestRun<'_>) -> Result<bool, LauncherError> {
    let tests =
        manifest::load(request.manifest).map_err(|error| LauncherError::Manifest(error.to_string()))?;
    let mut pages: Vec<PathBuf> = Vec::new();
    for test in tests.iter().filter(|test| test.expectation != Expectation::Skip) {
        for page in [&test.test, &test.reference] {
            if !pages.contains(page) {
                pages.push(page.clone());
            }
        }
    }
    let jobs: Vec<PageJob> =
        pages.iter().map(|page| PageJob { page: page.clone(), viewport: request.viewport }).collect();
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8);
    let mut session = Session::start(SessionOptions::new(request.verbose))?;
    let results = session.render_all(&jobs, parallel);
    session.shutdown();
    let mut frames: HashMap<&Path, Result<(DeviceIntSize, Vec<u8>), String>> = HashMap::new();
    for (page, result) in pages.iter().zip(results?) {
        // Reftests never attach a window, so every frame comes back as pixels.
        let frame = result.and_then(|rendered| match &rendered.frame.rgba {
            Some(rgba) => Ok((rendered.frame.size, rgba.to_vec())),
            None => Err(LauncherError::Ipc("a reftest frame came without pixels".into())),
        });
        frames.insert(page, frame.map_err(|error| error.to_string()));
    }

    let base = request.manifest.parent().unwrap_or(Path::new("."));
    let mut summary = Summary::default();
    for test in &tests {
        let name =
            format!("{} {} {}", shown(&test.test, base), symbol(test.relation), shown(&test.reference, base));
        if test.expectation == Expectation::Skip {
            summary.skipped += 1;
            println!("REFTEST SKIP: {name}");
            continue;
        }
        let rendered = |page: &Path| frames.get(page).cloned().unwrap_or_else(|| Err("not rendered".into()));
        let (test_frame, reference_frame) = match (rendered(&test.test), rendered(&test.reference)) {
            (Ok(test_frame), Ok(reference_frame)) => (test_frame, reference_frame),
            (Err(error), _) | (_, Err(error)) => {
                summary.failed += 1;
                println!("REFTEST UNEXPECTED FAIL: {name}: {error}");
                continue;
            }
        };
        let verdict = judge(test, &test_frame, &reference_frame);
        match (verdict.is_ok(), test.expectation) {
            (true, Expectation::Pass) => {
                summary.passed += 1;
                println!("REFTEST PASS: {name}");
            }
            (false, Expectation::Fail) => {
                summary.expected_failures += 1;
                println!("REFTEST KNOWN FAIL: {name}");
            }
            (true, _) => {
                summary.failed += 1;
                println!("REFTEST UNEXPECTED PASS: {name} (marked `fails`)");
            }
            (false, _) => {
                summary.failed += 1;
                let reason = verdict.err().unwrap_or_default();
                // Named by both pages and the relation, so no two lines share files.
                let relation = match test.relation {
                    Relation::Equal => "eq",
                    Relation::NotEqual => "ne",
                };
                let stem = format!("{}-{relation}-{}", shown(&test.test, base), shown(&test.reference, base));
                let images = write_failure_images(request.output, &stem, &test_frame, &reference_frame)?;
                println!("REFTEST UNEXPECTED FAIL: {name}: {reason}");
                println!("  listed at {}:{}", test.source.0.display(), test.source.1);
                for image in images {
                    println!("  {}", image.display());
                }
            }
        }
    }
    println!(
        "reftest: {} passed, {} failed, {} known failures, {} skipped",
        summary.passed, summary.failed, summary.expected_failures, summary.skipped
    );
    Ok(summary.failed == 0)
}

/// Whether a test's frames meet its relation and fuzz; the error says how they don't.
fn judge(
    test: &Reftest,
    (test_size, test_pixels): &(DeviceIntSize, Vec<u8>),
    (reference_size, reference_pixels): &(DeviceIntSize, Vec<u8>),
) -> Result<(), String> {
    if test_size != reference_size {
        return match test.relation {
            Relation::NotEqual => Ok(()),
            Relation::Equal => Err(format!(
                "sizes differ: {}x{} vs {}x{}",
                test_size.width, test_size.height, reference_size.width, reference_size.height
            )),
        };
    }
    let difference = compare(test_pixels, reference_pixels);
    let described = format!(
        "max difference {}, {} pixels differ",
        difference.max_difference, difference.differing_pixels
    );
    match test.relation {
        Relation::NotEqual if difference.differing_pixels > 0 => Ok(()),
        Relation::NotEqual => Err("the pages render identically".into()),
        Relation::Equal => {
            let fuzz = &test.fuzz;
            if fuzz.max_difference.contains(&difference.max_difference)
                && fuzz.differing_pixels.contains(&difference.differing_pixels)
            {
                Ok(())
            } else {
                Err(format!(
                    "{described} (allowed: max difference {}-{}, {}-{} pixels)",
                    fuzz.max_difference.start(),
                    fuzz.max_difference.end(),
                    fuzz.differing_pixels.start(),
                    fuzz.differing_pixels.end()
                ))
            }
        }
    }
}

fn write_failure_images(
    output: &Path,
    name: &str,
    (test_size, test_pixels): &(DeviceIntSize, Vec<u8>),
    (reference_size, reference_pixels): &(DeviceIntSize, Vec<u8>),
) -> Result<Vec<PathBuf>, LauncherError> {
    std::fs::create_dir_all(output)
        .map_err(|error| LauncherError::Output { path: output.to_owned(), message: error.to_string() })?;
    let stem = name.replace(['/', '\\'], "-");
    let mut written = Vec::new();
    let mut write = |suffix: &str, size: DeviceIntSize, pixels: &[u8]| -> Result<(), LauncherError> {
        let path = output.join(format!("{stem}.{suffix}.png"));
        PendingScreenshot::prepare(&path)?.commit_pixels(size, pixels)?;
        written.push(path);
        Ok(())
    };
    write("test", *test_size, test_pixels)?;
    write("ref", *reference_size, reference_pixels)?;
    if test_size == reference_size {
        write("diff", *test_size, &difference_image(test_pixels, reference_pixels))?;
    }
    Ok(written)
}

fn symbol(relation: Relation) -> &'static str {
    match relation {
        Relation::Equal => "==",
        Relation::NotEqual => "!=",
    }
}

/// A page's path relative to the manifest's directory, for messages.
fn shown(page: &Path, base: &Path) -> String {
    page.strip_prefix(base).unwrap_or(page).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_are_counted_per_pixel_by_their_largest_channel() {
        let a = [0, 0, 0, 255, 10, 10, 10, 255, 5, 5, 5, 255];
        let b = [0, 0, 0, 255, 12, 10, 9, 255, 5, 5, 5, 254];
        assert_eq!(compare(&a, &b), Difference { max_difference: 2, differing_pixels: 2 });
        assert_eq!(compare(&a, &a), Difference::default());
        let diff = difference_image(&a, &b);
        assert_eq!(&diff[4..8], &[129, 0, 0, 255]);
        assert_eq!(&diff[0..4], &[192, 192, 192, 255]);
    }
}
