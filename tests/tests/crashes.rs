//! Crash reporting end to end, with the real binary: children crash by a real invalid write
//! (`--crash-test`), the launcher writes `.dmp` + `.extra` from outside, the dumps are read
//! back with the `minidump` crate, a GPU process that crashes is relaunched and the page
//! comes out right, a fourth crash ends the run, and a live child's annotations are read
//! through its ELF note (also from a stripped copy of the binary).

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use armature_tests::{
    armature, armature_at, armature_bin, has_feature, page, sigkill_gpu_child, stderr, wait_until,
};
use minidump::{
    Minidump, MinidumpException, MinidumpModuleList, MinidumpSystemInfo, MinidumpThreadList, Module,
};

/// Runs a page headless with crash reports going to `reports`.
fn run(page_name: &str, reports: &Path, png: &Path, extra: &[&str]) -> Output {
    armature()
        .arg(page(page_name))
        .args(["--headless", "--screenshot"])
        .arg(png)
        .arg("--crash-reports")
        .arg(reports)
        .args(extra)
        .output()
        .expect("armature runs")
}

/// The reports in `dir`, as (`.dmp` path, parsed `.extra`), oldest first.
fn reports(dir: &Path) -> Vec<(PathBuf, serde_json::Value)> {
    let mut extras: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("reports dir")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "extra"))
        .collect();
    extras.sort();
    extras
        .into_iter()
        .map(|path| {
            let extra: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).expect("read .extra")).expect(".extra is JSON");
            (path.with_extension("dmp"), extra)
        })
        .collect()
}

/// Reads a dump back with rust-minidump and checks what the issue asks of it.
fn assert_dump_is_a_segv_in_armature(dump_path: &Path) {
    let dump = Minidump::read_path(dump_path).expect("the .dmp parses");
    let system: MinidumpSystemInfo = dump.get_stream().expect("system info");
    let exception: MinidumpException = dump.get_stream().expect("an exception stream");
    let reason = exception.get_crash_reason(system.os, system.cpu).to_string();
    assert!(reason.starts_with("SIGSEGV"), "crash reason {reason}");
    let threads: MinidumpThreadList = dump.get_stream().expect("thread list");
    let crashing = exception.get_crashing_thread_id();
    assert!(threads.get_thread(crashing).is_some(), "crashing thread {crashing} is in the thread list");
    let modules: MinidumpModuleList = dump.get_stream().expect("module list");
    let names: Vec<String> = modules.iter().map(|module| module.code_file().into_owned()).collect();
    assert!(names.iter().any(|name| name.ends_with("/armature")), "armature among the modules: {names:?}");
}

fn annotation<'a>(extra: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    extra["annotations"][key].as_str()
}

#[test]
fn a_content_crash_exits_3_naming_its_report() {
    if !has_feature("crash") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let reports_dir = dir.path().join("reports");
    let png = dir.path().join("out.png");
    let output = run("boxes.html", &reports_dir, &png, &["--crash-test=content:mid-frame"]);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let found = reports(&reports_dir);
    assert_eq!(found.len(), 1, "one report: {found:?}");
    let (dump, extra) = &found[0];
    let message = stderr(&output);
    assert!(message.contains("content process") && message.contains("crashed (SIGSEGV)"), "{message}");
    assert!(message.contains(&dump.display().to_string()), "the message names the report: {message}");
    assert!(!png.exists(), "no screenshot for a crashed page");
    assert_eq!(extra["process_type"], "content");
    assert_eq!(extra["signal"], "SIGSEGV");
    assert!(annotation(extra, "Url").is_some_and(|url| url.ends_with("/boxes.html")), "{extra}");
    assert_eq!(annotation(extra, "ItemCount"), Some("5"));
    // Set just before the crash.
    assert_eq!(annotation(extra, "CrashTestPoint"), Some("mid-frame"));
    assert_dump_is_a_segv_in_armature(dump);
}

#[test]
fn a_gpu_crash_mid_frame_is_relaunched_and_the_png_is_still_right() {
    if !has_feature("crash") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let reports_dir = dir.path().join("reports");
    let clean = dir.path().join("clean.png");
    let crashed = dir.path().join("crashed.png");
    let output = run("text.html", &reports_dir, &clean, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(reports(&reports_dir).is_empty(), "a clean run writes no report");
    for point in ["mid-frame", "readback", "startup"] {
        let output = run("text.html", &reports_dir, &crashed, &[&format!("--crash-test=gpu:{point}")]);
        assert!(output.status.success(), "{point}: {}", stderr(&output));
        assert!(stderr(&output).contains("relaunching it (crash 1 of 3"), "{}", stderr(&output));
        let clean_pixels = image::open(&clean).expect("clean PNG").to_rgba8();
        let crashed_pixels = image::open(&crashed).expect("PNG after the relaunch").to_rgba8();
        assert!(clean_pixels == crashed_pixels, "{point}: the relaunched GPU process draws the same pixels");
    }
    let found = reports(&reports_dir);
    assert_eq!(found.len(), 3);
    let points: Vec<&str> =
        found.iter().filter_map(|(_, extra)| annotation(extra, "CrashTestPoint")).collect();
    assert_eq!(points.len(), 3);
    for (dump, extra) in &found {
        assert_eq!(extra["process_type"], "gpu");
        assert!(annotation(extra, "GpuAdapter").is_some_and(|adapter| !adapter.is_empty()), "{extra}");
        assert_dump_is_a_segv_in_armature(dump);
    }
}

#[test]
fn a_fourth_gpu_crash_in_the_window_ends_the_run_cleanly() {
    if !has_feature("crash") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let reports_dir = dir.path().join("reports");
    let png = dir.path().join("out.png");
    let output = run("boxes.html", &reports_dir, &png, &["--crash-test=gpu:mid-frame:4"]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(4), "{message}");
    assert!(
        message.contains("crashed 4 times within 10 minutes, more than the 3 relaunches allowed"),
        "{message}"
    );
    assert_eq!(message.matches("relaunching it").count(), 3, "{message}");
    assert!(!png.exists(), "no screenshot");
    assert_eq!(reports(&reports_dir).len(), 4, "every crash has its report");
    // The limit is the user's to raise.
    let output =
        run("boxes.html", &reports_dir, &png, &["--crash-test=gpu:mid-frame:4", "--gpu-crash-limit=4"]);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn a_gpu_process_crashing_before_it_connects_is_relaunched_under_the_same_policy() {
    if !has_feature("crash") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let reports_dir = dir.path().join("reports");
    let (clean, crashed) = (dir.path().join("clean.png"), dir.path().join("crashed.png"));
    let output = run("boxes.html", &reports_dir, &clean, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run("boxes.html", &reports_dir, &crashed, &["--crash-test=gpu:before-connect"]);
    let message = stderr(&output);
    assert!(output.status.success(), "{message}");
    assert!(message.contains("exited before connecting to the launcher: signal: 11 (SIGSEGV)"), "{message}");
    assert!(message.contains("relaunching it (crash 1 of 3"), "{message}");
    let clean_pixels = image::open(&clean).expect("clean PNG").to_rgba8();
    assert!(clean_pixels == image::open(&crashed).expect("PNG after the relaunch").to_rgba8());
    // Crash reporting starts once a child is connected: nothing could write a report.
    assert!(reports(&reports_dir).is_empty());
    // A GPU process that never starts is given up on, as one that keeps crashing is.
    let output = run("boxes.html", &reports_dir, &crashed, &["--crash-test=gpu:before-connect:4"]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(4), "{message}");
    assert!(
        message.contains("more than the 3 relaunches allowed; giving up (last: the gpu process"),
        "{message}"
    );
    assert_eq!(message.matches("relaunching it").count(), 3, "{message}");
}

/// Starts a run that holds after its frame, with `--verbose`; returns it once the PNG exists.
fn start_held(bin: &Path, png: &Path, reports_dir: &Path, extra_env: &[(&str, &str)]) -> Child {
    let mut command = armature_at(bin);
    command
        .arg(page("boxes.html"))
        .args(["--headless", "--verbose", "--screenshot"])
        .arg(png)
        .arg("--crash-reports")
        .arg(reports_dir)
        .env("ARMATURE_TEST_HOLD", "after-frame")
        .envs(extra_env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut launcher = command.spawn().expect("armature starts");
    if !wait_until(Duration::from_secs(60), || png.exists()) {
        let _ = launcher.kill();
        panic!("the frame never arrived");
    }
    launcher
}

fn stop(launcher: Child) -> String {
    let pid = rustix::process::Pid::from_raw(launcher.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
    let output = launcher.wait_with_output().expect("launcher exits");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The launcher (their parent) reads both live children's annotations through their notes.
fn assert_live_annotations(bin: &Path) {
    let dir = tempfile::tempdir().expect("temp dir");
    let launcher = start_held(bin, &dir.path().join("out.png"), &dir.path().join("reports"), &[]);
    let message = stop(launcher);
    let gpu = message.lines().find(|line| line.contains("gpu process") && line.contains("annotations"));
    let gpu = gpu.unwrap_or_else(|| panic!("GPU annotations printed: {message}"));
    assert!(gpu.contains("ProcessType=gpu") && gpu.contains("GpuAdapter="), "{gpu}");
    let content =
        message.lines().find(|line| line.contains("content process") && line.contains("annotations"));
    let content = content.unwrap_or_else(|| panic!("content annotations printed: {message}"));
    assert!(content.contains("ProcessType=content") && content.contains("boxes.html"), "{content}");
}

#[test]
fn live_children_are_read_through_their_notes() {
    if !has_feature("crash") {
        return;
    }
    assert_live_annotations(&armature_bin());
}

#[test]
fn the_note_survives_stripping() {
    if !has_feature("crash") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let stripped = dir.path().join("armature");
    std::fs::copy(armature_bin(), &stripped).expect("copy the binary");
    let status = std::process::Command::new("strip").arg(&stripped).status();
    assert!(status.expect("`strip` (binutils) is needed: apt-get install binutils").success());
    let symbols = std::process::Command::new("nm").arg(&stripped).output().expect("nm (binutils)");
    assert!(String::from_utf8_lossy(&symbols.stderr).contains("no symbols"), "the copy is stripped");
    assert_live_annotations(&stripped);
}

#[test]
fn a_corrupted_table_is_reported_as_such_and_nothing_else_breaks() {
    if !has_feature("crash") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let env = [("ARMATURE_TEST_CORRUPT_ANNOTATIONS", "count")];
    let launcher =
        start_held(&armature_bin(), &dir.path().join("out.png"), &dir.path().join("reports"), &env);
    let message = stop(launcher);
    let unreadable = message.lines().filter(|line| line.contains("annotations unreadable")).count();
    assert_eq!(unreadable, 2, "both children's damage named: {message}");
    assert!(
        message.contains("corrupt annotation table") && message.contains("larger than the capacity"),
        "{message}"
    );
    // A crash with a damaged table still gets its dump, with the reason in the .extra.
    let reports_dir = dir.path().join("reports");
    let output = armature()
        .arg(page("boxes.html"))
        .args(["--headless", "--crash-test=content:startup", "--crash-reports"])
        .arg(&reports_dir)
        .env("ARMATURE_TEST_CORRUPT_ANNOTATIONS", "magic")
        .output()
        .expect("armature runs");
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let found = reports(&reports_dir);
    assert_eq!(found.len(), 1);
    let error = found[0].1["annotations_error"].as_str().unwrap_or_default();
    assert!(error.contains("bad magic"), "{}", found[0].1);
    assert_dump_is_a_segv_in_armature(&found[0].0);
}

#[test]
fn a_gpu_process_killed_by_sigkill_is_relaunched_and_the_frame_redrawn() {
    if !has_feature("crash") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let png = dir.path().join("out.png");
    let launcher = start_held(&armature_bin(), &png, &dir.path().join("reports"), &[]);
    let first = image::open(&png).expect("first frame").to_rgba8();
    let modified = std::fs::metadata(&png).expect("png").modified().expect("mtime");
    sigkill_gpu_child(launcher.id());
    let redrawn = wait_until(Duration::from_secs(60), || {
        std::fs::metadata(&png).and_then(|m| m.modified()).is_ok_and(|time| time != modified)
    });
    let message = stop(launcher);
    assert!(redrawn, "the frame was drawn again: {message}");
    assert!(message.contains("crashed (SIGKILL)") && message.contains("relaunching it"), "{message}");
    let second = image::open(&png).expect("redrawn frame").to_rgba8();
    assert!(first == second, "the relaunched GPU process draws the same pixels");
}

#[test]
fn crashes_list_show_and_inspect() {
    if !has_feature("crash") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let reports_dir = dir.path().join("reports");
    let crashes = |args: &[&str]| {
        armature().arg("crashes").args(args).arg("--crash-reports").arg(&reports_dir).output().expect("runs")
    };
    let empty = crashes(&["list"]);
    assert!(empty.status.success() && String::from_utf8_lossy(&empty.stdout).contains("no crash reports"));
    let output = run("boxes.html", &reports_dir, &dir.path().join("out.png"), &["--crash-test=gpu"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let listed = crashes(&["list"]);
    let listing = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(listing.contains("gpu") && listing.contains("SIGSEGV"), "{listing}");
    let id = listing.split_whitespace().next().expect("an id").to_owned();
    let shown = crashes(&["show", &id]);
    let text = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(shown.status.success(), "{}", stderr(&shown));
    assert!(text.contains("ProcessType = gpu") && text.contains("CrashTestPoint = startup"), "{text}");
    assert!(
        text.contains("crashing thread") && text.contains("present") && text.contains("main module armature"),
        "{text}"
    );
    let missing = crashes(&["show", "no-such-report"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("armature crashes list"), "{}", stderr(&missing));
    let nobody = crashes(&["inspect", "999999999"]);
    assert_eq!(nobody.status.code(), Some(1));
    assert!(stderr(&nobody).contains("999999999"), "{}", stderr(&nobody));
}

#[test]
fn an_unusable_reports_directory_is_an_error_only_when_asked_for() {
    if !has_feature("crash") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a directory").expect("write");
    let asked = armature()
        .arg(page("boxes.html"))
        .args(["--headless", "--crash-reports"])
        .arg(file.join("reports"))
        .output()
        .expect("runs");
    assert_eq!(asked.status.code(), Some(2), "{}", stderr(&asked));
    assert!(stderr(&asked).contains("--crash-reports DIR"), "{}", stderr(&asked));
    // The default directory under an unusable HOME costs crash reporting, not the page.
    let png = dir.path().join("out.png");
    let default = armature()
        .arg(page("boxes.html"))
        .args(["--headless", "--screenshot"])
        .arg(&png)
        .env("HOME", &file)
        .env_remove("XDG_DATA_HOME")
        .output()
        .expect("runs");
    assert!(default.status.success(), "{}", stderr(&default));
    assert!(stderr(&default).contains("crash reporting is off"), "{}", stderr(&default));
    assert!(png.exists());
}
