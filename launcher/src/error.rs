//! The launcher's errors: each names what failed and, where there is one, the fix.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use armature_api::messages::ProcessRole;

/// Everything that can stop the launcher.
#[derive(Debug, thiserror::Error)]
pub enum LauncherError {
    /// The page file cannot be read.
    #[error("cannot read page '{}': {source}", path.display())]
    PageUnreadable {
        /// The page as given.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The screenshot cannot be written where asked.
    #[error("cannot write screenshot '{}': {source}", path.display())]
    ScreenshotUnwritable {
        /// The PNG path as given.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Neither a page nor a tool was named.
    #[error(
        "no page given: run `armature PAGE.html --headless --screenshot out.png`, or see `armature --help`"
    )]
    NoPage,
    /// Window mode was asked for, but this binary was built without it.
    #[cfg(not(feature = "window"))]
    #[error(
        "this armature was built without the `window` feature; pass --headless (with --screenshot \
         out.png to save the page), or rebuild with `--features window`"
    )]
    NoWindowFeature,
    /// No display to open a window on.
    #[cfg(feature = "window")]
    #[error(
        "cannot open a window: {0}. Pass --headless (with --screenshot out.png to save the page), or \
         run under a virtual X server: `xvfb-run armature PAGE`"
    )]
    NoDisplay(String),
    /// The window system failed after the window was up.
    #[cfg(feature = "window")]
    #[error("window system error: {0}")]
    Window(String),
    /// A capture cannot be read or replayed (corrupt, another format version, missing).
    #[cfg(feature = "capture")]
    #[error("{0}")]
    Capture(#[from] armature_capture::CaptureError),
    /// A captured frame is refused by the renderer (a hand edit gone wrong, a hostile file).
    #[cfg(feature = "capture")]
    #[error("frame {frame} of the capture cannot be drawn: {message}")]
    ReplayFrame {
        /// The frame.
        frame: u32,
        /// What the GPU pipeline said.
        message: String,
    },
    /// Replayed frames differ from the captured pixels.
    #[cfg(feature = "capture")]
    #[error("{}", mismatch_summary(.0))]
    ReplayMismatch(Vec<crate::replay::Mismatch>),
    /// A child could not be started.
    #[error("cannot start the {role} process: {source}")]
    Spawn {
        /// Which role.
        role: ProcessRole,
        /// The OS error.
        source: std::io::Error,
    },
    /// A child died before it connected to the launcher.
    #[error("the {role} process (pid {pid}) exited before connecting to the launcher: {status}")]
    ExitedBeforeConnecting {
        /// Which role.
        role: ProcessRole,
        /// Its pid.
        pid: u32,
        /// How it exited.
        status: ExitStatus,
    },
    /// A child neither connected nor died in time.
    #[error("the {role} process (pid {pid}) did not connect within {timeout:?}; it was killed")]
    ConnectTimeout {
        /// Which role.
        role: ProcessRole,
        /// Its pid.
        pid: u32,
        /// The limit.
        timeout: Duration,
    },
    /// The bootstrap handshake itself failed.
    #[error("the {role} process (pid {pid}) failed its handshake: {reason}{}", status_suffix(status))]
    Handshake {
        /// Which role.
        role: ProcessRole,
        /// Its pid.
        pid: u32,
        /// What went wrong.
        reason: String,
        /// How it exited, if it did.
        status: Option<ExitStatus>,
    },
    /// A connected child went away unexpectedly.
    #[error("the {role} process (pid {pid}) exited unexpectedly{}", status_suffix(status))]
    ChildDied {
        /// Which role.
        role: ProcessRole,
        /// Its pid.
        pid: u32,
        /// How it exited.
        status: Option<ExitStatus>,
    },
    /// The GPU process cannot render at all.
    #[error("the GPU process failed: {0}")]
    Gpu(String),
    /// A page could not be rendered.
    #[error("page '{}' failed: {message}", page.display())]
    Page {
        /// The page.
        page: PathBuf,
        /// Why.
        message: String,
    },
    /// The GPU process refused a content process's stream (a hostile or broken content
    /// process); the launcher killed it.
    #[error("page '{}': terminate content process {pid}: {reason}", page.display())]
    ContentTerminated {
        /// The page.
        page: PathBuf,
        /// The content process, now killed.
        pid: u32,
        /// What the GPU process found wrong with its stream.
        reason: String,
    },
    /// Several pages where only one can be shown.
    #[error(
        "several pages (or --screenshot-dir) need --headless, and work without --dump-layout and \
         --stats-json; give one page to show it in a window"
    )]
    ManyPages,
    /// `--debug-port` serves one page's VMs.
    #[cfg(feature = "vm")]
    #[error("--debug-port debugs the scripts of one page; give one PAGE")]
    DebugManyPages,
    /// `--window-size` at `--device-pixel-ratio` is more device pixels than a frame may have.
    #[error("{0}")]
    ViewportTooLarge(String),
    /// No frame arrived in time.
    #[error("no frame for '{}' within {timeout:?}", page.display())]
    FrameTimeout {
        /// The page.
        page: PathBuf,
        /// The limit.
        timeout: Duration,
    },
    /// An ipc channel could not be created or used.
    #[error("ipc failure: {0}")]
    Ipc(String),
    /// The signal handler could not be installed.
    #[error("cannot install the SIGTERM/SIGINT handler: {0}")]
    Signals(std::io::Error),
    /// A reftest manifest cannot be used (the message names file and line).
    #[error("{0}")]
    Manifest(String),
    /// An output file (stats, reftest images) cannot be written.
    #[error("cannot write '{}': {message}", path.display())]
    Output {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A content process crashed (killed by a signal).
    #[error("the content process (pid {pid}) for '{}' crashed ({signal}); {}", page.display(), report.as_deref().unwrap_or("no crash report was written"))]
    ContentCrashed {
        /// Its page.
        page: PathBuf,
        /// Its pid.
        pid: u32,
        /// The signal, e.g. "SIGSEGV".
        signal: String,
        /// Where its crash report is, and how to show it.
        report: Option<String>,
    },
    /// The GPU process crashed more often than the relaunch policy allows.
    #[error(
        "the GPU process crashed {crashes} times within {} minutes, more than the {limit} relaunches allowed; giving up (last: {last})",
        window.as_secs() / 60
    )]
    GpuCrashLimit {
        /// Crashes within the window, this one included.
        crashes: u32,
        /// Crashes that are relaunched.
        limit: u32,
        /// The window.
        window: Duration,
        /// What the last crash was, and its report.
        last: String,
    },
    /// Crash reporting failed (the monitor, the report store, the reader).
    #[cfg(feature = "crash")]
    #[error("{0}")]
    Crash(String),
    /// The crash reports directory given cannot be used.
    #[cfg(feature = "crash")]
    #[error("{0}")]
    CrashReportsDir(String),
    /// Encoding or writing the PNG failed.
    #[error("cannot write screenshot '{}': {message}", path.display())]
    Png {
        /// The PNG path.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

#[cfg(feature = "capture")]
fn mismatch_summary(mismatches: &[crate::replay::Mismatch]) -> String {
    let lines: Vec<String> = mismatches.iter().map(ToString::to_string).collect();
    format!("the replay differs from the captured pixels:\n  {}", lines.join("\n  "))
}

fn status_suffix(status: &Option<ExitStatus>) -> String {
    status.map(|status| format!(": {status}")).unwrap_or_default()
}

impl LauncherError {
    /// Whether this breaks a whole session (the GPU process or the launcher's own ipc), as
    /// opposed to one page.
    pub fn is_session_fatal(&self) -> bool {
        match self {
            LauncherError::Spawn { role, .. }
            | LauncherError::ExitedBeforeConnecting { role, .. }
            | LauncherError::ConnectTimeout { role, .. }
            | LauncherError::Handshake { role, .. }
            | LauncherError::ChildDied { role, .. } => *role == ProcessRole::Gpu,
            LauncherError::Gpu(_)
            | LauncherError::GpuCrashLimit { .. }
            | LauncherError::Ipc(_)
            | LauncherError::Signals(_) => true,
            _ => false,
        }
    }

    /// Whether this is a GPU process that failed before it connected (died, hung, or
    /// garbled its handshake): a crash the relaunch policy covers.
    pub fn is_gpu_start_failure(&self) -> bool {
        match self {
            LauncherError::ExitedBeforeConnecting { role, .. }
            | LauncherError::ConnectTimeout { role, .. }
            | LauncherError::Handshake { role, .. } => *role == ProcessRole::Gpu,
            _ => false,
        }
    }

    /// The process exit code: 2 for bad input on the command line, 3 for a crashed content
    /// process, 4 for a GPU process that crashed too often, 1 for other failures.
    pub fn exit_code(&self) -> u8 {
        match self {
            LauncherError::ContentCrashed { .. } => 3,
            LauncherError::GpuCrashLimit { .. } => 4,
            LauncherError::PageUnreadable { .. }
            | LauncherError::ScreenshotUnwritable { .. }
            | LauncherError::Manifest(_)
            | LauncherError::ManyPages
            | LauncherError::ViewportTooLarge(_)
            | LauncherError::NoPage => 2,
            #[cfg(feature = "vm")]
            LauncherError::DebugManyPages => 2,
            #[cfg(not(feature = "window"))]
            LauncherError::NoWindowFeature => 2,
            #[cfg(feature = "window")]
            LauncherError::NoDisplay(_) => 2,
            #[cfg(feature = "crash")]
            LauncherError::CrashReportsDir(_) => 2,
            #[cfg(feature = "capture")]
            LauncherError::Capture(_) | LauncherError::ReplayFrame { .. } => 2,
            _ => 1,
        }
    }
}
