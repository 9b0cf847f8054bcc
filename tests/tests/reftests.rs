//! The reftest harness: `tests/reftests/reftest.list` must pass in full (run through the real
//! `armature reftest`), and the harness itself must fail loudly, with images, when pages
//! differ — and name the line of a manifest it cannot read.

use std::path::{Path, PathBuf};
use std::process::Output;

use armature_tests::{armature, armature_bin, stderr};

/// Failure images go under target/, beside the binary's profile directory.
fn output_dir(name: &str) -> PathBuf {
    let bin = armature_bin();
    let target = bin.parent().and_then(Path::parent).unwrap_or(Path::new("target"));
    target.join(name)
}

fn run_manifest(manifest: &Path, output: &Path) -> Output {
    armature().arg("reftest").arg(manifest).arg("--output").arg(output).output().expect("armature runs")
}

#[test]
fn the_reftest_suite_passes() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("reftests").join("reftest.list");
    let output = run_manifest(&manifest, &output_dir("reftests"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "reftests failed:\n{stdout}\n{stderr}");
    let passed = stdout.lines().filter(|line| line.starts_with("REFTEST PASS: ")).count();
    assert!(passed >= 25, "only {passed} reftests ran:\n{stdout}");
}

#[test]
fn the_reftest_suite_passes_on_hidpi_screens_too() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("reftests").join("reftest.list");
    for ratio in ["2", "1.5"] {
        let output = armature()
            .arg("reftest")
            .arg(&manifest)
            .arg("--output")
            .arg(output_dir(&format!("reftests-{ratio}x")))
            .args(["--device-pixel-ratio", ratio])
            .output()
            .expect("armature runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "reftests at {ratio}× failed:\n{stdout}\n{}", stderr(&output));
    }
}

fn write(directory: &Path, name: &str, text: &str) -> PathBuf {
    let path = directory.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn a_failing_reftest_exits_1_and_leaves_test_ref_and_diff_images() {
    let directory = tempfile::tempdir().expect("temp dir");
    let root = directory.path();
    write(
        root,
        "red.html",
        "<body style='margin:0'><div style='width:40px;height:40px;background:red'></div>",
    );
    write(
        root,
        "blue.html",
        "<body style='margin:0'><div style='width:40px;height:40px;background:blue'></div>",
    );
    write(
        root,
        "red-copy.html",
        "<body style='margin:0'><div style='width:40px;height:40px;background:red'></div>",
    );
    let manifest = write(
        root,
        "reftest.list",
        "== red.html blue.html\n!= red.html red-copy.html\nfuzzy(255,1600) == red.html blue.html\n\
         fails == red.html blue.html\nskip == red.html missing.html\n",
    );
    let images = root.join("out");
    let output = run_manifest(&manifest, &images);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "REFTEST UNEXPECTED FAIL: red.html == blue.html: max difference 255, 1600 pixels differ"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("REFTEST UNEXPECTED FAIL: red.html != red-copy.html: the pages render identically")
    );
    assert!(stdout.contains("REFTEST PASS: red.html == blue.html"), "fuzz allows it: {stdout}");
    assert!(stdout.contains("REFTEST KNOWN FAIL: red.html == blue.html"), "{stdout}");
    assert!(stdout.contains("REFTEST SKIP: red.html == missing.html"), "{stdout}");
    assert!(stdout.contains("reftest: 1 passed, 2 failed, 1 known failures, 1 skipped"), "{stdout}");
    for kind in ["test", "ref", "diff"] {
        let path = images.join(format!("red.html-eq-blue.html.{kind}.png"));
        assert!(stdout.contains(&path.display().to_string()), "the path of {kind} is printed: {stdout}");
        let image = image::open(&path).expect("a PNG").to_rgba8();
        let expected = match kind {
            "test" => [255, 0, 0, 255],
            "ref" => [0, 0, 255, 255],
            _ => [255, 0, 0, 255], // the 255 difference at full red
        };
        assert_eq!(image.get_pixel(10, 10).0, expected, "{kind}");
    }
}

#[test]
fn a_page_that_fails_to_load_fails_its_reftest_by_name() {
    let directory = tempfile::tempdir().expect("temp dir");
    write(directory.path(), "ok.html", "<p>ok</p>");
    let manifest = write(directory.path(), "reftest.list", "== ok.html gone.html\n");
    let output = run_manifest(&manifest, &directory.path().join("out"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("REFTEST UNEXPECTED FAIL: ok.html == gone.html: cannot read page"), "{stdout}");
}

#[test]
fn a_bad_manifest_is_named_by_file_and_line_with_exit_2() {
    let directory = tempfile::tempdir().expect("temp dir");
    let manifest = write(directory.path(), "reftest.list", "# fine\n== a.html\n");
    let output = run_manifest(&manifest, &directory.path().join("out"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("reftest.list:2: expected `== test.html ref.html`"), "{stderr}");
}
