//! The process topology: three processes during a run, none after it, none after the
//! launcher is stopped by SIGTERM, SIGINT or even SIGKILL, and no hang on a child that dies
//! before connecting (ipc-channel #201).

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use armature_tests::{armature, children_of, command_line, page, process_exists, process_state, wait_until};
use rustix::process::{Pid, Signal};

/// Starts a run that holds after writing its frame; returns it with its two children once
/// both are up and the frame exists.
fn start_held_run(png: &std::path::Path) -> (Child, Vec<u32>) {
    let mut launcher = armature()
        .arg(page("boxes.html"))
        .args(["--headless", "--screenshot"])
        .arg(png)
        .env("ARMATURE_TEST_HOLD", "after-frame")
        .stderr(Stdio::null())
        .spawn()
        .expect("armature starts");
    let held = wait_until(Duration::from_secs(60), || png.exists());
    if !held {
        let _ = launcher.kill();
        panic!("the frame never arrived");
    }
    let children = children_of(launcher.id());
    (launcher, children)
}

fn signal(pid: u32, signal: Signal) {
    let pid = Pid::from_raw(pid as i32).expect("a positive pid");
    rustix::process::kill_process(pid, signal).expect("signal delivered");
}

fn roles(children: &[u32]) -> Vec<String> {
    let mut roles: Vec<String> = children
        .iter()
        .filter_map(|&pid| {
            command_line(pid).split(' ').find_map(|arg| arg.strip_prefix("--role=").map(str::to_owned))
        })
        .collect();
    roles.sort();
    roles
}

/// A held run with its two children, stopped by `stop`: the launcher exits 128+signal and
/// has reaped both children first (no zombie, no orphan).
fn assert_signal_leaves_no_children(stop: Signal) {
    let directory = tempfile::tempdir().expect("temp dir");
    let (mut launcher, children) = start_held_run(&directory.path().join("out.png"));
    assert_eq!(children.len(), 2, "children: {children:?}");
    assert_eq!(roles(&children), ["content", "gpu"]);

    signal(launcher.id(), stop);
    let status = launcher.wait().expect("launcher exits");
    assert_eq!(status.code(), Some(128 + stop.as_raw()), "exit status after {stop:?}: {status}");
    for pid in children {
        assert!(!process_exists(pid), "child {pid} survived as {:?}", process_state(pid));
    }
}

#[test]
fn a_run_has_a_gpu_and_a_content_child_and_sigterm_leaves_none() {
    assert_signal_leaves_no_children(Signal::TERM);
}

#[test]
fn sigint_leaves_no_children_either() {
    assert_signal_leaves_no_children(Signal::INT);
}

#[test]
fn children_die_with_a_launcher_killed_by_sigkill() {
    let directory = tempfile::tempdir().expect("temp dir");
    let (mut launcher, children) = start_held_run(&directory.path().join("out.png"));
    assert_eq!(children.len(), 2);
    signal(launcher.id(), Signal::KILL);
    launcher.wait().expect("launcher reaped");
    // The kernel's parent-death signal kills them; their new parent reaps them (or, in a
    // container whose init does not reap, they stay zombies: never running).
    let all_dead = wait_until(Duration::from_secs(5), || {
        children.iter().all(|&pid| matches!(process_state(pid), None | Some('Z') | Some('X')))
    });
    assert!(
        all_dead,
        "children still running: {:?}",
        children.iter().map(|&pid| process_state(pid)).collect::<Vec<_>>()
    );
}

#[test]
fn a_normal_run_leaves_no_process_behind() {
    let directory = tempfile::tempdir().expect("temp dir");
    let png = directory.path().join("out.png");
    let output = armature()
        .arg(page("boxes.html"))
        .args(["--headless", "--verbose", "--screenshot"])
        .arg(&png)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let started: Vec<&str> =
        stderr.lines().filter(|line| line.starts_with("[launcher ") && line.contains(" started ")).collect();
    let pids: Vec<u32> = started
        .iter()
        .flat_map(|line| line.split("(pid ").skip(1))
        .filter_map(|rest| rest.split(')').next()?.parse().ok())
        .collect();
    assert_eq!(pids.len(), 2, "verbose names the gpu and content children: {started:?}");
    for &pid in &pids {
        assert!(!process_exists(pid), "child {pid} left behind as {:?}", process_state(pid));
    }
}

/// Every log line names the process (role and pid) that wrote it, and the children's lines
/// reach the launcher's stderr in causal order.
#[test]
fn log_lines_say_which_process_wrote_them() {
    let output = armature()
        .arg(page("boxes.html"))
        .args(["--headless", "--verbose"])
        .env("RUST_LOG", "armature=debug")
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let launcher = output_pid_of(&stderr, "launcher");
    let gpu = pid_in(&stderr, "started gpu process (pid ");
    let content = pid_in(&stderr, "started content process (pid ");
    assert!(launcher.is_some() && launcher != gpu && launcher != content, "three processes log: {stderr}");
    let tagged = |role: &str, pid: Option<u32>| format!("[{role} {}] ", pid.expect("a pid"));
    let (content_tag, gpu_tag) = (tagged("content", content), tagged("gpu", gpu));
    // Every tracing line starts with a tag (the rest are the launcher's own messages,
    // "armature: …", and the --verbose stats table).
    for line in stderr.lines().filter(|line| line.starts_with('[')) {
        let tag = line.split("] ").next().unwrap_or_default();
        let (role, pid) = tag.trim_start_matches('[').split_once(' ').expect("[ROLE PID]");
        assert!(["launcher", "gpu", "content"].contains(&role), "{line}");
        assert!(pid.parse::<u32>().is_ok(), "{line}");
    }
    // Content logs its display list before sending it; the GPU process logs the frame after
    // drawing it: one pipe keeps that order.
    let position = |needle: &str| stderr.lines().position(|line| line.contains(needle));
    let sent = position(&format!("{content_tag}DEBUG sending epoch 1")).expect("content's line");
    let drawn = stderr
        .lines()
        .position(|line| line.starts_with(&gpu_tag) && line.contains("epoch 1:"))
        .expect("the GPU process's line");
    assert!(sent < drawn, "content's line comes before the GPU's:\n{stderr}");
}

/// The pid in the first line that contains `prefix` right before it.
fn pid_in(stderr: &str, prefix: &str) -> Option<u32> {
    let rest = stderr.split(prefix).nth(1)?;
    rest.split(')').next()?.parse().ok()
}

/// The pid of the first line tagged `[role PID]`.
fn output_pid_of(stderr: &str, role: &str) -> Option<u32> {
    let rest = stderr.split(&format!("[{role} ")).nth(1)?;
    rest.split(']').next()?.parse().ok()
}

/// Every process of `role` exits before it connects: the run ends with `code`, promptly.
fn assert_dead_child_reported(role: &str, code: i32) -> String {
    let started = Instant::now();
    let output = armature()
        .arg(page("boxes.html"))
        .arg("--headless")
        .env("ARMATURE_TEST_EXIT_AT", format!("{role}-startup"))
        .output()
        .expect("runs");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert!(
        stderr.contains(&format!("the {role} process (pid ")) && stderr.contains("exited before connecting"),
        "{stderr}"
    );
    assert!(stderr.contains("exit status: 42"), "{stderr}");
    stderr
}

#[test]
fn a_gpu_process_dying_before_it_connects_is_reported_not_waited_on() {
    // A GPU process failure like any other: relaunched under the policy, then given up on
    // (exit 4) when every one dies.
    let stderr = assert_dead_child_reported("gpu", 4);
    assert_eq!(stderr.matches("relaunching it").count(), 3, "{stderr}");
}

#[test]
fn a_content_process_dying_before_it_connects_is_reported_not_waited_on() {
    assert_dead_child_reported("content", 1);
}

#[test]
fn stress_signals_race_the_main_thread_and_never_exit_zero() {
    // The signal thread kills the children while the main thread sees them go away; the
    // exit status must still be 128+signal every time, with nothing left behind.
    for round in 0..8 {
        assert_signal_leaves_no_children(if round % 2 == 0 { Signal::INT } else { Signal::TERM });
    }
}
