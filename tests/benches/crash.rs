//! Crash-reporting latencies, measured on the real binary (`cargo bench -p armature-tests
//! --bench crash`); prints a table.
//!
//! 1. Crash → report on disk: a child crashes by `--crash-test` (which records the crash's
//!    wall-clock time, in ns, as its last annotation); a watcher polls the reports directory
//!    every 0.2 ms for the `.extra` (written after the `.dmp`). Latency = when the `.extra`
//!    appeared − the annotated crash time. 20 content and 20 GPU crashes. Goal: p50 ≤ 50 ms.
//! 2. GPU process `kill -9` → next correct frame: a run holds after its frame; the GPU
//!    process is killed; the launcher relaunches it, content re-sends its page, and the
//!    frame is written again. Latency = the SIGKILL → the PNG replaced (and its pixels
//!    checked equal to the first frame). 20 kills. Goal: p50 ≤ 500 ms.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use armature_tests::{armature, page, sigkill_gpu_child, wait_until};

const RUNS: usize = 20;

fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

fn extras(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "extra"))
                .collect()
        })
        .unwrap_or_default()
}

/// One crash of `role` at `point`; returns crash → `.extra` on disk.
fn crash_to_report(role_point: &str, dir: &Path) -> Duration {
    let before = extras(dir).len();
    let mut child = armature()
        .arg(page("boxes.html"))
        .args(["--headless", &format!("--crash-test={role_point}"), "--crash-reports"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("armature runs");
    let mut seen_ns = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let found = extras(dir);
        if found.len() > before {
            seen_ns = Some(now_ns());
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let _ = child.wait();
    let seen_ns = seen_ns.expect("a report appeared");
    let newest = extras(dir).into_iter().max_by_key(|path| path.metadata().and_then(|m| m.modified()).ok());
    let extra: serde_json::Value =
        serde_json::from_slice(&std::fs::read(newest.expect("an .extra")).expect("read")).expect("JSON");
    let crashed_ns: u128 = extra["annotations"]["CrashTestTimeNs"]
        .as_str()
        .and_then(|ns| ns.parse().ok())
        .expect("the crash time annotation");
    Duration::from_nanos(seen_ns.saturating_sub(crashed_ns) as u64)
}

/// Kills the held run's GPU process `RUNS` times; returns each kill → new frame written.
fn kill_to_frame(dir: &Path) -> Vec<Duration> {
    let png = dir.join("held.png");
    let mut launcher = armature()
        .arg(page("text.html"))
        .args(["--headless", "--gpu-crash-limit=1000", "--screenshot"])
        .arg(&png)
        .arg("--crash-reports")
        .arg(dir.join("reports"))
        .env("ARMATURE_TEST_HOLD", "after-frame")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("armature runs");
    assert!(wait_until(Duration::from_secs(60), || png.exists()), "first frame");
    let first = image::open(&png).expect("first frame").to_rgba8();
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let inode = std::fs::metadata(&png).expect("png").ino();
        let killed = Instant::now();
        sigkill_gpu_child(launcher.id());
        // The screenshot is replaced by a rename: a new inode is the new frame.
        let replaced = wait_until(Duration::from_secs(30), || {
            std::fs::metadata(&png).is_ok_and(|metadata| metadata.ino() != inode)
        });
        let elapsed = killed.elapsed();
        assert!(replaced, "a new frame after the relaunch");
        let frame = image::open(&png).expect("new frame").to_rgba8();
        assert!(frame == first, "the new frame has the first frame's pixels");
        times.push(elapsed);
    }
    let _ = launcher.kill();
    let _ = launcher.wait();
    times
}

fn percentile(times: &mut [Duration], p: f64) -> f64 {
    times.sort();
    let index = ((times.len() - 1) as f64 * p).round() as usize;
    times[index].as_secs_f64() * 1000.0
}

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        println!("crash: bench");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rows: Vec<(String, Vec<Duration>, f64)> = Vec::new();
    for (name, role_point) in
        [("content crash → .dmp+.extra", "content:startup"), ("gpu crash → .dmp+.extra", "gpu:mid-frame")]
    {
        let reports = dir.path().join(role_point.replace(':', "-"));
        // One unmeasured run warms the page cache and the binary.
        crash_to_report(role_point, &reports);
        let times = (0..RUNS).map(|_| crash_to_report(role_point, &reports)).collect();
        rows.push((name.to_owned(), times, 50.0));
    }
    rows.push(("gpu kill -9 → next correct frame".to_owned(), kill_to_frame(dir.path()), 500.0));
    println!(
        "{:<36} {:>5} {:>9} {:>9} {:>9} {:>9}",
        "measurement", "runs", "p50 ms", "p90 ms", "max ms", "goal ms"
    );
    for (name, mut times, goal) in rows {
        let runs = times.len();
        let (p50, p90, max) =
            (percentile(&mut times, 0.5), percentile(&mut times, 0.9), percentile(&mut times, 1.0));
        println!("{name:<36} {runs:>5} {p50:>9.1} {p90:>9.1} {max:>9.1} {goal:>9.0}");
    }
}
