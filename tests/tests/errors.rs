//! Bad input on the command line and a machine without a GPU driver: clear messages,
//! the right exit codes, nothing left behind.

use std::time::{Duration, Instant};

use armature_tests::{armature, page, stderr};

#[test]
fn a_missing_page_exits_2_naming_the_file_and_the_reason() {
    let output = armature().args(["/no/such/page.html", "--headless"]).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot read page '/no/such/page.html': No such file or directory"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_directory_as_page_is_refused() {
    let directory = tempfile::tempdir().expect("temp dir");
    let output = armature().arg(directory.path()).arg("--headless").output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("cannot read page"), "{}", stderr(&output));
}

#[test]
fn an_unwritable_screenshot_path_exits_2_naming_it_and_starts_nothing() {
    let started = Instant::now();
    let output = armature()
        .arg(page("boxes.html"))
        .args(["--headless", "--screenshot", "/no/such/dir/out.png"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("cannot write screenshot '/no/such/dir/out.png'"),
        "{}",
        stderr(&output)
    );
    // Refused before any child process was started.
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_failed_run_leaves_no_partial_png() {
    let directory = tempfile::tempdir().expect("temp dir");
    let png = directory.path().join("out.png");
    let output = armature()
        .arg(page("boxes.html"))
        .args(["--headless", "--screenshot"])
        .arg(&png)
        .env("ARMATURE_TEST_EXIT_AT", "gpu-startup")
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let leftovers: Vec<_> = std::fs::read_dir(directory.path()).expect("readable").collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

#[test]
fn window_mode_without_headless_says_what_to_do() {
    let output = armature().arg(page("boxes.html")).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--headless"), "{}", stderr(&output));
}

#[test]
fn a_bad_window_size_is_a_usage_error() {
    let output = armature()
        .arg(page("boxes.html"))
        .args(["--headless", "--window-size", "wide"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("WIDTHxHEIGHT"), "{}", stderr(&output));
}

#[test]
fn no_vulkan_driver_names_the_package_that_provides_one() {
    // Point the Vulkan loader at no driver at all: wgpu finds no adapter.
    let (output, image) = {
        let mut command = armature();
        command
            .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
            .env("VK_DRIVER_FILES", "/nonexistent/icd.json");
        let directory = tempfile::tempdir().expect("temp dir");
        let png = directory.path().join("out.png");
        let output = command
            .arg(page("boxes.html"))
            .args(["--headless", "--screenshot"])
            .arg(&png)
            .output()
            .expect("runs");
        (output, png.exists())
    };
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("mesa-vulkan-drivers"), "{}", stderr(&output));
    assert!(!image, "no screenshot without a GPU");
}

#[test]
fn help_explains_every_option() {
    let output = armature().arg("--help").output().expect("runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for option in ["--headless", "--screenshot", "--window-size", "--verbose", "PAGE"] {
        assert!(help.contains(option), "--help lacks {option}:\n{help}");
    }
}
