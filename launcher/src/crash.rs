//! Crash reporting plugged into the launcher (the `crash` feature): the monitor a session
//! runs, the children's side (crash handler, annotations, the `--crash-test` switch), and
//! `armature crashes list|show|inspect`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use armature_api::messages::ProcessRole;
use armature_api::probe::annotation;
use armature_api::{Probe, ProbePoint, SharedProbe};
use armature_crash::report::{self, CrashReport};
use armature_crash::{CrashGuard, CrashMonitor};

use crate::cli::CrashesAction;
use crate::error::LauncherError;

/// Test switch for children: `ARMATURE_TEST_CORRUPT_ANNOTATIONS=magic|count|length|utf8`
/// damages the child's annotation table right after start-up, so the reader's validation
/// can be checked on a real process.
pub const TEST_CORRUPT_ENV: &str = "ARMATURE_TEST_CORRUPT_ANNOTATIONS";

/// `--crash-test=ROLE[:POINT[:TIMES]]`: which children crash, where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrashTest {
    /// Which role crashes.
    pub role: ProcessRole,
    /// Where.
    pub point: ProbePoint,
    /// How many processes of that role crash (the first ones launched).
    pub times: u32,
}

impl CrashTest {
    /// Parses the command-line spelling.
    pub fn parse(text: &str) -> Result<CrashTest, String> {
        let mut parts = text.split(':');
        let role = match parts.next() {
            Some("gpu") => ProcessRole::Gpu,
            Some("content") => ProcessRole::Content,
            other => {
                return Err(format!("'{}' is not a role (expected gpu or content)", other.unwrap_or("")));
            }
        };
        let point = parts.next().map(str::parse::<ProbePoint>).transpose()?.unwrap_or(ProbePoint::Startup);
        if role == ProcessRole::Content && point == ProbePoint::Readback {
            return Err("a content process has no readback point (use startup or mid-frame)".into());
        }
        let times = match parts.next() {
            Some(times) => times
                .parse::<u32>()
                .ok()
                .filter(|&times| times >= 1)
                .ok_or_else(|| format!("'{times}' is not a number of crashes (1 or more)"))?,
            None => 1,
        };
        if let Some(extra) = parts.next() {
            return Err(format!("unexpected ':{extra}' (the form is ROLE[:POINT[:TIMES]])"));
        }
        Ok(CrashTest { role, point, times })
    }

    /// The point the `launch`-th process (counting from 0) of `role` should crash at.
    pub fn point_for(&self, role: ProcessRole, launch: u32) -> Option<ProbePoint> {
        (self.role == role && launch < self.times).then_some(self.point)
    }
}

/// The reports directory a command line names, or the default.
pub fn reports_dir(explicit: Option<&Path>) -> PathBuf {
    explicit.map(Path::to_owned).unwrap_or_else(report::default_dir)
}

/// Starts the monitor a session's children report to.
pub fn start_monitor(dir: &Path) -> Result<CrashMonitor, LauncherError> {
    CrashMonitor::start(dir, env!("CARGO_PKG_VERSION")).map_err(|error| match error {
        armature_crash::MonitorError::Directory { .. } => LauncherError::CrashReportsDir(error.to_string()),
        other => LauncherError::Crash(other.to_string()),
    })
}

/// How a report is named in messages: its dump's path and the command that shows it.
pub fn describe(report: &CrashReport) -> String {
    format!("crash report {} (armature crashes show {})", report.dump.display(), report.extra.id)
}

/// The child's side: set up by `armature --role=…` right after it connected.
pub struct ChildCrash {
    _guard: Option<CrashGuard>,
}

impl ChildCrash {
    /// Installs the crash handler (if the launcher runs a monitor) and sets the
    /// annotations every child has.
    pub fn install(role: ProcessRole, server: Option<&str>) -> ChildCrash {
        set(annotation::PROCESS_TYPE, role.as_str());
        let guard = server.and_then(|server| match armature_crash::install(server) {
            Ok(guard) => Some(guard),
            Err(error) => {
                // A child without crash reporting still does its work.
                tracing::warn!("crash reporting is off in this process: {error}");
                None
            }
        });
        if let Ok(damage) = std::env::var(TEST_CORRUPT_ENV) {
            match damage.parse() {
                Ok(damage) => armature_crash::annotations::corrupt_for_test(damage),
                Err(error) => tracing::warn!("{TEST_CORRUPT_ENV}: {error}"),
            }
        }
        ChildCrash { _guard: guard }
    }
}

fn set(key: &str, value: &str) {
    if let Err(error) = armature_crash::annotate(key, value) {
        tracing::debug!("annotation not set: {error}");
    }
}

/// The probe children hand to the GPU and content crates: annotations go to the crash
/// table; the `--crash-test` point, when reached, crashes the process.
pub struct ChildProbe {
    crash_at: Option<ProbePoint>,
}

impl ChildProbe {
    /// A probe that crashes at `crash_at`, if given.
    pub fn shared(crash_at: Option<ProbePoint>) -> SharedProbe {
        Arc::new(ChildProbe { crash_at })
    }
}

impl Probe for ChildProbe {
    fn annotate(&self, key: &str, value: &str) {
        set(key, value);
    }

    fn reached(&self, point: ProbePoint) {
        if self.crash_at == Some(point) {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
            set(annotation::CRASH_TEST_POINT, point.as_str());
            set(annotation::CRASH_TEST_TIME_NS, &now.to_string());
            armature_crash::crash_now();
        }
    }
}

/// Runs `armature crashes …`.
pub fn run_crashes(action: &CrashesAction, dir: Option<&Path>) -> Result<bool, LauncherError> {
    let dir = reports_dir(dir);
    let store = |error: armature_crash::StoreError| LauncherError::Crash(error.to_string());
    let mut out = std::io::stdout().lock();
    let write_error =
        |error: std::io::Error| LauncherError::Crash(format!("cannot write to stdout: {error}"));
    match action {
        CrashesAction::List => {
            let reports = report::list(&dir).map_err(store)?;
            if reports.is_empty() {
                writeln!(out, "no crash reports in {}", dir.display()).map_err(write_error)?;
            }
            for listed in reports {
                let line = match listed {
                    Ok(report) => {
                        let extra = &report.extra;
                        format!(
                            "{}  {:<8} pid {:<7} {:<8} {}",
                            extra.id,
                            extra.process_type.as_deref().unwrap_or("unknown"),
                            extra.pid,
                            extra.signal,
                            extra.annotations.get(annotation::URL).map(String::as_str).unwrap_or("")
                        )
                    }
                    Err(error) => format!("(unreadable) {error}"),
                };
                writeln!(out, "{line}").map_err(write_error)?;
            }
        }
        CrashesAction::Show { id } => {
            let report = report::load(&dir, id).map_err(store)?;
            let extra = &report.extra;
            let mut text = format!(
                "report      {}\nprocess     {} (pid {}, thread {})\nsignal      {} ({}) at {}\ntime        {} ms since the Unix epoch\nversion     armature {}\nminidump    {}\nextra       {}\n",
                extra.id,
                extra.process_type.as_deref().unwrap_or("unknown"),
                extra.pid,
                extra.thread_id,
                extra.signal,
                extra.crash_reason,
                extra.crash_address,
                extra.crash_time_ms,
                extra.armature_version,
                report.dump.display(),
                report.extra_path.display(),
            );
            text.push_str("annotations\n");
            for (key, value) in &extra.annotations {
                text.push_str(&format!("  {key} = {value}\n"));
            }
            if let Some(error) = &extra.annotations_error {
                text.push_str(&format!("  (not readable: {error})\n"));
            }
            match report::summarize_file(&report.dump) {
                Ok(summary) => text.push_str(&format!(
                    "minidump    {} threads (crashing thread {} {}), {} modules, main module {}\n",
                    summary.thread_count,
                    summary.thread_id,
                    if summary.crashing_thread_present { "present" } else { "missing" },
                    summary.modules.len(),
                    summary.modules.first().map(String::as_str).unwrap_or("?"),
                )),
                Err(error) => text.push_str(&format!("minidump    not readable: {error}\n")),
            }
            write!(out, "{text}").map_err(write_error)?;
        }
        CrashesAction::Inspect { pid } => {
            let annotations = armature_crash::read_annotations(*pid).map_err(|error| {
                let hint = if matches!(&error, armature_crash::ReadError::Memory { source, .. } if source.raw_os_error() == Some(libc_eperm()))
                {
                    " (reading another process needs ptrace rights: run as its parent, as root, or with kernel.yama.ptrace_scope=0)"
                } else {
                    ""
                };
                LauncherError::Crash(format!("{error}{hint}"))
            })?;
            for (key, value) in &annotations.entries {
                writeln!(out, "{key} = {value}").map_err(write_error)?;
            }
            for key in &annotations.torn {
                writeln!(out, "{key} (being written)").map_err(write_error)?;
            }
        }
    }
    Ok(true)
}

/// EPERM, without a libc dependency of our own.
fn libc_eperm() -> i32 {
    rustix::io::Errno::PERM.raw_os_error()
}

/// Reads a live child's annotations for `--verbose` (the launcher is its parent, so it
/// has the ptrace rights the reader needs).
pub fn describe_annotations(role: ProcessRole, pid: u32) -> String {
    match armature_crash::read_annotations(pid) {
        Ok(annotations) => {
            let pairs: Vec<String> = annotations.entries.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{role} process (pid {pid}) annotations: {}", pairs.join(", "))
        }
        Err(error) => format!("{role} process (pid {pid}) annotations unreadable: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_test_spellings() {
        let parse = CrashTest::parse;
        assert_eq!(
            parse("gpu"),
            Ok(CrashTest { role: ProcessRole::Gpu, point: ProbePoint::Startup, times: 1 })
        );
        assert_eq!(
            parse("gpu:mid-frame:4"),
            Ok(CrashTest { role: ProcessRole::Gpu, point: ProbePoint::MidFrame, times: 4 })
        );
        assert_eq!(
            parse("content:mid-frame"),
            Ok(CrashTest { role: ProcessRole::Content, point: ProbePoint::MidFrame, times: 1 })
        );
        assert_eq!(
            parse("content:before-connect:2"),
            Ok(CrashTest { role: ProcessRole::Content, point: ProbePoint::BeforeConnect, times: 2 })
        );
        assert!(parse("content:readback").is_err());
        assert!(parse("browser").is_err());
        assert!(parse("gpu:sideways").is_err());
        assert!(parse("gpu:startup:0").is_err());
        assert!(parse("gpu:startup:1:2").is_err());
        let test = parse("gpu:readback:2").unwrap();
        assert_eq!(test.point_for(ProcessRole::Gpu, 1), Some(ProbePoint::Readback));
        assert_eq!(test.point_for(ProcessRole::Gpu, 2), None);
        assert_eq!(test.point_for(ProcessRole::Content, 0), None);
    }
}
