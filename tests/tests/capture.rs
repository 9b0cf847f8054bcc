//! Capture and replay end to end, with the real binary: every sample page captured and
//! replayed (from SCENE and from STREAM) to its own pixels, a STREAM replay re-captured at
//! SCENE level reproduces the SCENE files, a hand-edited colour replays with the change,
//! damaged captures are named errors, a crash report's stream capture replays, SIGUSR2
//! captures the next frame, and a different window size crops without laying out again.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use armature_tests::{armature, has_feature, page, stderr, wait_until};

/// Renders `page` headless, capturing it at `levels` into `dir`; returns the screenshot.
fn capture(page: &Path, dir: &Path, levels: &str, extra: &[&str]) -> image::RgbaImage {
    let (screenshot, frames) = capture_frames(page, dir, levels, extra);
    assert_eq!(frames, 1, "{} presents one frame", page.display());
    screenshot
}

/// As [`capture`], for a page that may present several frames (its scripts animate): the
/// screenshot and how many frames the capture holds.
fn capture_frames(page: &Path, dir: &Path, levels: &str, extra: &[&str]) -> (image::RgbaImage, u32) {
    let png = dir.with_extension("png");
    let output = armature()
        .arg(page)
        .args(["--headless", "--window-size", "400x300", "--screenshot"])
        .arg(&png)
        .arg("--capture")
        .arg(dir)
        .args(["--capture-levels", levels])
        .args(extra)
        .output()
        .expect("armature runs");
    assert!(output.status.success(), "capturing {}: {}", page.display(), stderr(&output));
    let log = stderr(&output);
    let frames = log
        .split_once("captured ")
        .and_then(|(_, rest)| rest.split_once(" frame(s) into"))
        .and_then(|(count, _)| count.parse().ok())
        .unwrap_or_else(|| panic!("no frame count in: {log}"));
    (image::open(&png).expect("screenshot").to_rgba8(), frames)
}

/// `armature replay DIR [args…]`.
fn replay(dir: &Path, args: &[&str]) -> Output {
    armature().arg("replay").arg(dir).args(args).output().expect("armature replay runs")
}

/// Replays to a PNG and returns it.
fn replay_png(dir: &Path, args: &[&str]) -> image::RgbaImage {
    let png = dir.with_extension("replay.png");
    let mut all = vec!["--screenshot", png.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    let output = replay(dir, &all);
    assert!(output.status.success(), "replay of {}: {}", dir.display(), stderr(&output));
    image::open(&png).expect("replayed screenshot").to_rgba8()
}

/// Starts `page` headless at 400x300, held after its frame (`ARMATURE_TEST_HOLD`), with
/// `extra` options; returns the launcher once the screenshot exists.
fn start_held(page: &Path, png: &Path, extra: &[&std::ffi::OsStr]) -> std::process::Child {
    let mut launcher = armature()
        .arg(page)
        .args(["--headless", "--window-size", "400x300", "--screenshot"])
        .arg(png)
        .args(extra)
        .env("ARMATURE_TEST_HOLD", "after-frame")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("armature starts");
    if !wait_until(Duration::from_secs(60), || png.exists()) {
        let _ = launcher.kill();
        panic!("the frame never arrived");
    }
    launcher
}

/// The stream captures (`<id>.stream/`) in a crash-reports directory.
fn stream_captures(reports: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(reports)
        .expect("reports")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "stream"))
        .collect()
}

fn sample_pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(page(""))
        .expect("pages directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "html"))
        .collect();
    pages.sort();
    pages
}

#[test]
fn without_the_feature_there_is_no_capture_option() {
    if has_feature("capture") {
        return;
    }
    let help = armature().arg("--help").output().expect("help");
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(!help.contains("--capture") && !help.contains("replay"), "{help}");
}

#[test]
fn every_sample_page_replays_to_its_own_pixels() {
    if !has_feature("capture") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    for page in sample_pages() {
        let name = page.file_stem().expect("name").to_string_lossy().into_owned();
        let capture_dir = dir.path().join(&name);
        // A page whose scripts animate presents a frame per animation frame, as many as fit
        // in the run: each is compared with its own captured pixels (canvas drawing included,
        // which SCENE holds as the commands since each canvas's last full clear).
        let animated = std::fs::read_to_string(&page).expect("page").contains("<script");
        let (original, frames) = capture_frames(&page, &capture_dir, "all", &[]);
        assert!(frames == 1 || (animated && frames > 1), "{name}: {frames} frames");
        for level in ["scene", "stream"] {
            if frames == 1 {
                let replayed = replay_png(&capture_dir, &["--from", level]);
                assert!(replayed == original, "{name}: the {level} replay differs from the original run");
            }
            let compared = replay(&capture_dir, &["--compare", "--from", level]);
            assert!(compared.status.success(), "{name} --compare --from {level}: {}", stderr(&compared));
        }
        for file in
            ["manifest.ron", "frames/0001/frame.ron", "frames/0001/atlas.png", "frames/0001/pixels.png"]
        {
            assert!(capture_dir.join(file).exists(), "{name}: {file} was written");
        }
    }
}

#[test]
fn a_stream_replay_reproduces_the_scene() {
    if !has_feature("capture") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let original = dir.path().join("original");
    capture(&page("images.html"), &original, "stream,scene", &[]);
    let again = dir.path().join("again");
    let output = replay(
        &original,
        &[
            "--from",
            "stream",
            "--headless",
            "--capture",
            again.to_str().expect("utf-8"),
            "--capture-levels",
            "scene",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let read = |root: &Path, file: &str| {
        std::fs::read(root.join(file)).unwrap_or_else(|error| panic!("{file}: {error}"))
    };
    assert_eq!(
        String::from_utf8(read(&again, "frames/0001/scene.ron")).expect("utf-8"),
        String::from_utf8(read(&original, "frames/0001/scene.ron")).expect("utf-8"),
        "the SCENE a STREAM replay makes is the SCENE of the run"
    );
    // Every resource the scene names came back byte for byte (the page's images among them).
    let resources: Vec<PathBuf> = std::fs::read_dir(original.join("resources"))
        .expect("resources")
        .map(|entry| entry.expect("entry").path())
        .collect();
    assert!(resources.iter().any(|path| path.extension().is_some_and(|ext| ext == "png")), "{resources:?}");
    for path in resources {
        let file = format!("resources/{}", path.file_name().expect("name").to_string_lossy());
        assert_eq!(read(&again, &file), read(&original, &file), "{file}");
    }
}

/// A page with one known rect: 100x50 of pure red at the top-left.
fn red_box_page(dir: &Path) -> PathBuf {
    let page = dir.join("red.html");
    std::fs::write(
        &page,
        "<body style='margin:0;background:white'><div style='width:100px;height:50px;background:rgb(255,0,0)'></div>",
    )
    .expect("page");
    page
}

#[test]
fn a_hand_edited_colour_replays_with_the_change() {
    if !has_feature("capture") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let capture_dir = dir.path().join("capture");
    let original = capture(&red_box_page(dir.path()), &capture_dir, "scene,pixels", &[]);
    assert_eq!(original.get_pixel(50, 25).0, [255, 0, 0, 255]);

    let scene = capture_dir.join("frames/0001/scene.ron");
    let text = std::fs::read_to_string(&scene).expect("scene.ron");
    let red = "color: (r: 1.0, g: 0.0, b: 0.0, a: 1.0)";
    let rect_lines: Vec<&str> =
        text.lines().filter(|line| line.contains("Rect(") && line.contains(red)).collect();
    assert_eq!(rect_lines.len(), 1, "one red rect, on one line:\n{text}");
    std::fs::write(&scene, text.replace(red, "color: (r: 0.0, g: 0.0, b: 1.0, a: 1.0)")).expect("edit");

    let edited = replay_png(&capture_dir, &[]);
    assert_eq!(edited.get_pixel(50, 25).0, [0, 0, 255, 255], "the edit shows");
    assert_eq!(edited.get_pixel(150, 25).0, original.get_pixel(150, 25).0, "nothing else changed");

    // The captured PIXELS still have the red box: --compare says so and leaves a diff.
    let compared = replay(&capture_dir, &["--compare"]);
    assert_eq!(compared.status.code(), Some(1), "{}", stderr(&compared));
    let message = stderr(&compared);
    assert!(message.contains("frame 1: 5000 of 120000 pixels differ"), "{message}");
    assert!(capture_dir.join("frames/0001/diff-pixels.png").exists(), "{message}");
}

#[test]
fn damaged_captures_are_named_errors() {
    if !has_feature("capture") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let capture_dir = dir.path().join("capture");
    capture(&red_box_page(dir.path()), &capture_dir, "scene", &[]);

    let scene = capture_dir.join("frames/0001/scene.ron");
    let text = std::fs::read_to_string(&scene).expect("scene.ron");
    let (line, column) = text
        .lines()
        .enumerate()
        .find_map(|(index, line)| line.find("Rect(").map(|column| (index + 1, column + 1)))
        .expect("a rect");
    std::fs::write(&scene, text.replacen("Rect(", "Rekt(", 1)).expect("corrupt");
    let output = replay(&capture_dir, &["--headless"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let expected = format!("{}:{line}:{column}: ", scene.display());
    assert!(stderr(&output).contains(&expected) && stderr(&output).contains("Rekt"), "{}", stderr(&output));
    std::fs::write(&scene, text).expect("repair");

    let manifest = capture_dir.join("manifest.ron");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(&manifest, text.replace("format_version: 1,", "format_version: 99,")).expect("newer");
    let output = replay(&capture_dir, &["--headless"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("capture format version 99 is newer") && message.contains("(version 1)"),
        "{message}"
    );

    let output = replay(dir.path(), &["--headless"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("is not a capture: it has no manifest.ron"), "{}", stderr(&output));

    // A hostile value gets the GPU pipeline's own refusal, not a panic.
    std::fs::write(&manifest, text).expect("repair");
    let text = std::fs::read_to_string(&scene).expect("scene.ron");
    std::fs::write(&scene, text.replace("viewport: (400.0, 300.0)", "viewport: (400.0, 1e30)"))
        .expect("hostile");
    let output = replay(&capture_dir, &["--headless"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("frame 1 of the capture cannot be drawn: viewport"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_crash_reports_stream_capture_replays() {
    if !has_feature("capture") || !has_feature("crash") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let reports = dir.path().join("reports");
    let png = dir.path().join("out.png");
    // The GPU process crashes mid-frame; the content process had sent that frame, so its
    // recording is the stream that crashed the GPU process.
    let output = armature()
        .arg(page("text.html"))
        .args(["--headless", "--window-size", "400x300", "--screenshot"])
        .arg(&png)
        .arg("--crash-reports")
        .arg(&reports)
        .arg("--crash-test=gpu:mid-frame")
        .output()
        .expect("armature runs");
    assert!(output.status.success(), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("its last frames are a STREAM capture in"), "{message}");
    let streams = stream_captures(&reports);
    assert_eq!(streams.len(), 1, "{streams:?}");
    assert!(streams[0].with_extension("dmp").exists(), "the capture sits beside its dump");
    let replayed = replay_png(&streams[0], &[]);
    let original = image::open(&png).expect("screenshot").to_rgba8();
    assert!(replayed == original, "the crash's stream replays to the page");
}

#[test]
fn a_crashed_content_processs_stream_comes_from_the_gpu_process() {
    if !has_feature("capture") || !has_feature("crash") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let reports = dir.path().join("reports");
    let png = dir.path().join("out.png");
    let mut launcher =
        start_held(&page("boxes.html"), &png, &["--crash-reports".as_ref(), reports.as_os_str()]);
    let content = armature_tests::children_of(launcher.id())
        .into_iter()
        .find(|pid| armature_tests::command_line(*pid).contains("--role=content"))
        .expect("a content process");
    let pid = rustix::process::Pid::from_raw(content as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::SEGV).expect("SIGSEGV");
    let done = wait_until(Duration::from_secs(60), || launcher.try_wait().ok().flatten().is_some());
    if !done {
        let _ = launcher.kill();
    }
    let output = launcher.wait_with_output().expect("launcher exits");
    let message = stderr(&output);
    assert!(message.contains("its last frames are a STREAM capture in"), "{message}");
    let stream = stream_captures(&reports).pop().unwrap_or_else(|| panic!("a stream capture: {message}"));
    let replayed = replay_png(&stream, &[]);
    let original = image::open(&png).expect("screenshot").to_rgba8();
    assert!(replayed == original, "the crashed page's stream replays to its pixels");
}

#[test]
fn sigusr2_captures_the_next_frame() {
    if !has_feature("capture") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let png = dir.path().join("out.png");
    let captures = dir.path().join("captures");
    let launcher =
        start_held(&page("borders.html"), &png, &["--signal-capture-dir".as_ref(), captures.as_os_str()]);
    let pid = rustix::process::Pid::from_raw(launcher.id() as i32).expect("pid");
    let manifest = captures.join("capture-0001/manifest.ron");
    let has_frame = || std::fs::read_to_string(&manifest).is_ok_and(|text| text.contains("number: (1)"));
    rustix::process::kill_process(pid, rustix::process::Signal::USR2).expect("SIGUSR2");
    let captured = wait_until(Duration::from_secs(60), has_frame);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
    let output = launcher.wait_with_output().expect("launcher exits");
    assert!(captured, "SIGUSR2 captured a frame: {}", stderr(&output));
    assert!(stderr(&output).contains("SIGUSR2: capturing the next frame into"), "{}", stderr(&output));
    let replayed = replay_png(&captures.join("capture-0001"), &[]);
    let original = image::open(&png).expect("screenshot").to_rgba8();
    assert!(replayed == original, "the signalled capture replays to the page");
}

#[test]
fn another_window_size_crops_without_laying_out_again() {
    if !has_feature("capture") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let capture_dir = dir.path().join("capture");
    let original = capture(&page("fluid.html"), &capture_dir, "scene", &[]);
    let png = dir.path().join("small.png");
    let output =
        replay(&capture_dir, &["--window-size", "200x150", "--screenshot", png.to_str().expect("utf-8")]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("replaying at 200x150, not the captured 400x300: nothing is laid out again")
    );
    let small = image::open(&png).expect("png").to_rgba8();
    assert_eq!(small.dimensions(), (200, 150));
    let crop = image::imageops::crop_imm(&original, 0, 0, 200, 150).to_image();
    assert!(small == crop, "the smaller replay is the top-left of the captured frame");
}
