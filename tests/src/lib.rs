//! Helpers for Armature's end-to-end tests: find and run the real `armature` binary, read
//! the PNGs it writes, and look at the process tree it leaves (or doesn't).

pub mod xvfb;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The `armature` binary under test: `$ARMATURE_BIN` if set, else the workspace's own,
/// built (once per test process) by the cargo that runs the tests, so it is never stale.
pub fn armature_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("ARMATURE_BIN") {
        Some(path) => PathBuf::from(path),
        None => build_armature(),
    })
    .clone()
}

/// Builds `armature` with the profile (and `ARMATURE_FEATURES`, for the feature matrix) of
/// this test run and returns its path.
fn build_armature() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable has a path");
    // target/<profile>/deps/<test> → target/<profile>
    let profile_dir =
        exe.parent().and_then(Path::parent).expect("test executable lives in target/<profile>/deps");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(["build", "--quiet", "-p", "armature", "--bin", "armature"]);
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir.file_name().is_some_and(|name| name == "release") {
        command.arg("--release");
    }
    if let Ok(features) = std::env::var("ARMATURE_FEATURES") {
        command.args(["--no-default-features", "--features", &features]);
    }
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "building armature for the tests failed: {status}");
    let bin = profile_dir.join("armature");
    assert!(bin.exists(), "cargo built armature but {} does not exist", bin.display());
    bin
}

/// Whether the binary under test was built with cargo feature `feature` (all are, unless
/// `ARMATURE_FEATURES` names the ones to build with).
pub fn has_feature(feature: &str) -> bool {
    match std::env::var("ARMATURE_FEATURES") {
        Ok(features) => features.split([',', ' ']).any(|name| name == feature),
        Err(_) => true,
    }
}

/// A command running the binary, with a clean environment for what tests control.
pub fn armature() -> Command {
    armature_at(&armature_bin())
}

/// A command running `bin` (e.g. a stripped copy of the binary), with the same clean
/// environment as [`armature`].
pub fn armature_at(bin: &Path) -> Command {
    let mut command = Command::new(bin);
    for variable in [
        "ARMATURE_TEST_EXIT_AT",
        "ARMATURE_TEST_HOLD",
        "ARMATURE_TEST_CORRUPT_ANNOTATIONS",
        "ARMATURE_TEST_BAD_WINDOW",
        "ARMATURE_TEST_CANVAS",
        "ARMATURE_TEST_HOSTILE_STREAM",
        "RUST_LOG",
    ] {
        command.env_remove(variable);
    }
    command
}

/// A finished command's stderr, as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A sample page by file name.
pub fn page(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pages").join(name)
}

/// Runs `armature <page> --headless --screenshot <tmp>.png [extra…]`; returns the output and
/// the decoded image if one was written.
pub fn render(page: &Path, extra: &[&str]) -> (Output, Option<image::RgbaImage>) {
    let directory = tempfile::tempdir().expect("temp dir");
    let png = directory.path().join("out.png");
    let output = armature()
        .arg(page)
        .arg("--headless")
        .arg("--screenshot")
        .arg(&png)
        .args(extra)
        .output()
        .expect("armature runs");
    let image = png.exists().then(|| image::open(&png).expect("a valid PNG").to_rgba8());
    (output, image)
}

/// Renders a page that must succeed; panics with armature's stderr otherwise.
pub fn render_ok(page: &Path, extra: &[&str]) -> image::RgbaImage {
    let (output, image) = render(page, extra);
    assert!(output.status.success(), "armature failed: {}", String::from_utf8_lossy(&output.stderr));
    image.expect("a screenshot was written")
}

/// Runs `armature <page> --dump-layout=json` and parses the dump.
pub fn dump_layout(page: &Path, extra: &[&str]) -> serde_json::Value {
    let output = armature().arg(page).arg("--dump-layout=json").args(extra).output().expect("armature runs");
    assert!(output.status.success(), "--dump-layout failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("--dump-layout=json prints JSON")
}

/// A box of a layout dump with its border-box rect.
#[derive(Clone, Debug)]
pub struct DumpedBox {
    /// `block`, `flex`, `text`, …
    pub kind: String,
    /// `tag#id.class`, empty for anonymous boxes.
    pub element: String,
    /// x, y, width, height.
    pub rect: [f32; 4],
    /// Line boxes (x, y, width, height, text) of a text box.
    pub lines: Vec<([f32; 4], String)>,
    /// A list item's outside marker (x, y, width, height, text).
    pub marker: Option<([f32; 4], String)>,
}

/// Every box of a dump, in tree order.
pub fn dumped_boxes(dump: &serde_json::Value) -> Vec<DumpedBox> {
    fn rect(value: &serde_json::Value) -> [f32; 4] {
        ["x", "y", "width", "height"].map(|key| value[key].as_f64().expect("a number") as f32)
    }
    fn walk(node: &serde_json::Value, out: &mut Vec<DumpedBox>) {
        let lines = node["lines"]
            .as_array()
            .map(|lines| {
                lines
                    .iter()
                    .map(|line| (rect(line), line["text"].as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        out.push(DumpedBox {
            kind: node["kind"].as_str().unwrap_or_default().to_owned(),
            element: node["element"].as_str().unwrap_or_default().to_owned(),
            rect: rect(node),
            lines,
            marker: node
                .get("marker")
                .map(|marker| (rect(marker), marker["text"].as_str().unwrap_or_default().to_owned())),
        });
        for child in node["children"].as_array().into_iter().flatten() {
            walk(child, out);
        }
    }
    let mut out = Vec::new();
    walk(&dump["root"], &mut out);
    out
}

/// The rect of the one box whose element selector starts with `element` (`div#a`).
#[track_caller]
pub fn box_rect(boxes: &[DumpedBox], element: &str) -> [f32; 4] {
    let found: Vec<&DumpedBox> = boxes
        .iter()
        .filter(|b| b.element == element || b.element.starts_with(&format!("{element}.")))
        .collect();
    assert_eq!(found.len(), 1, "expected one box for {element}, found {found:?}");
    found[0].rect
}

/// Asserts that a dumped rect is `expected` within 0.5 px per value.
#[track_caller]
pub fn assert_rect(actual: [f32; 4], expected: [f32; 4]) {
    let close = actual.iter().zip(expected).all(|(a, e)| (a - e).abs() <= 0.5);
    assert!(close, "rect is {actual:?}, expected {expected:?}");
}

/// Asserts a pixel's colour within `tolerance` per channel.
#[track_caller]
pub fn assert_pixel(image: &image::RgbaImage, x: u32, y: u32, expected: [u8; 4], tolerance: u8) {
    let actual = image.get_pixel(x, y).0;
    let close = actual.iter().zip(expected).all(|(a, e)| a.abs_diff(e) <= tolerance);
    assert!(close, "pixel ({x}, {y}) is {actual:?}, expected {expected:?} ±{tolerance}");
}

/// How many pixels in a rectangle differ from `background` by more than 64 in any channel.
pub fn ink_pixels(
    image: &image::RgbaImage,
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    background: [u8; 4],
) -> usize {
    let mut count = 0;
    for py in y..(y + height).min(image.height()) {
        for px in x..(x + width).min(image.width()) {
            let pixel = image.get_pixel(px, py).0;
            if pixel.iter().zip(background).any(|(a, b)| a.abs_diff(b) > 64) {
                count += 1;
            }
        }
    }
    count
}

/// How many pixels in a rectangle satisfy `predicate` (on their RGBA bytes).
pub fn count_pixels(
    image: &image::RgbaImage,
    [x, y, width, height]: [u32; 4],
    predicate: impl Fn([u8; 4]) -> bool,
) -> usize {
    (y..(y + height).min(image.height()))
        .flat_map(|py| (x..(x + width).min(image.width())).map(move |px| (px, py)))
        .filter(|&(px, py)| predicate(image.get_pixel(px, py).0))
        .count()
}

/// Whether a process exists at all (running or zombie).
pub fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The state letter of a process from /proc (R, S, Z, …), if it exists.
pub fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces; the state follows it.
    stat.rsplit_once(") ")?.1.chars().next()
}

/// The direct children of a process, from /proc.
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut children = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return children };
    for entry in entries.flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else { continue };
        let parent = stat.rsplit_once(") ").and_then(|(_, rest)| rest.split(' ').nth(1)?.parse::<u32>().ok());
        if parent == Some(pid) {
            children.push(child);
        }
    }
    children
}

/// A process's command line, arguments joined by spaces.
pub fn command_line(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| {
            bytes
                .split(|&b| b == 0)
                .map(|arg| String::from_utf8_lossy(arg).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// SIGKILLs the GPU process among `launcher`'s children (as a driver crash would end it).
///
/// # Panics
/// If `launcher` has no GPU child, or the signal cannot be sent.
pub fn sigkill_gpu_child(launcher: u32) {
    let gpu = children_of(launcher).into_iter().find(|&pid| command_line(pid).contains("--role=gpu"));
    let pid = rustix::process::Pid::from_raw(gpu.expect("a GPU child") as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).expect("SIGKILL");
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A page of `count` solid, pixel-aligned rects (10×7 px, four colours) in a wrapping flex
/// grid 100 to a row: the batching benchmark's and test's page.
pub fn rect_grid_page(count: usize) -> String {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html>\n<head>\n<title>Rect grid</title>\n<style>\n  body { margin: 0 }\n  \
         #grid { display: flex; flex-wrap: wrap; width: 1000px }\n  #grid div { width: 10px; height: 7px }\n  \
         .a { background: #c00 } .b { background: #0a0 } .c { background: #00c } .d { background: #cc0 }\n\
         </style>\n</head>\n<body>\n<div id=\"grid\">\n",
    );
    for index in 0..count {
        let class = ["a", "b", "c", "d"][(index + index / 100) % 4];
        html.push_str("<div class=\"");
        html.push_str(class);
        html.push_str("\"></div>");
        if index % 100 == 99 {
            html.push('\n');
        }
    }
    html.push_str("</div>\n</body>\n</html>\n");
    html
}

/// Renders a page headless with `--stats-json` and returns the stats and the image.
pub fn render_with_stats(page: &Path, extra: &[&str]) -> (serde_json::Value, image::RgbaImage) {
    let directory = tempfile::tempdir().expect("temp dir");
    let stats_path = directory.path().join("stats.json");
    let stats_arg = stats_path.to_str().expect("a UTF-8 temp path");
    let mut args = vec!["--stats-json", stats_arg];
    args.extend_from_slice(extra);
    let image = render_ok(page, &args);
    let text = std::fs::read_to_string(&stats_path).expect("--stats-json wrote its file");
    (serde_json::from_str(&text).expect("stats are JSON"), image)
}
