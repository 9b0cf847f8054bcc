//! `armature`: the launcher (browser process) and, re-executed with `--role=…`, every child.
//!
//! Entry point: a `--role=` first argument means this is a child ([`child`]); anything else
//! is the user's command line ([`cli`]), run in a window ([`window`], the `window` feature),
//! headless ([`headless`]) or as a layout dump ([`dump`]).

mod child;
mod cli;
#[cfg(feature = "crash")]
mod crash;
mod dump;
mod error;
mod headless;
mod logging;
mod reftest;
#[cfg(feature = "capture")]
mod replay;
mod screenshot;
mod session;
mod stats;
mod supervise;
#[cfg(feature = "window")]
mod window;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Every process's allocator (the same binary runs them all). The GPU process's stream thread
/// allocates each decoded text run's glyphs and its main thread frees them once drawn: the
/// cross-thread pattern that glibc's arenas handle worst. mimalloc made the stream's reader
/// 30 % faster (issue 5's bench, which uses it too); engines ship their own allocator for
/// the same reason (PartitionAlloc, mozjemalloc, bmalloc).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some(child_args) = child::parse_args(&args) {
        return match child_args {
            Ok(child_args) => child::main(child_args),
            Err(message) => {
                eprintln!("armature: {message}");
                ExitCode::from(2)
            }
        };
    }
    let cli = cli::Cli::parse();
    let verbose = match &cli.command {
        Some(cli::Command::Reftest { verbose, .. }) => *verbose,
        #[cfg(feature = "crash")]
        Some(cli::Command::Crashes { .. }) => false,
        #[cfg(feature = "capture")]
        Some(cli::Command::Replay(args)) => args.verbose,
        None => cli.verbose,
    };
    logging::init("launcher", verbose);
    let result = run(&cli);
    // Stopped by a signal: whatever the main thread saw meanwhile (children going away) is
    // a consequence of it, not an error or a success of its own.
    if let Some(signal) = supervise::terminating_signal() {
        return ExitCode::from(u8::try_from(128 + signal).unwrap_or(u8::MAX));
    }
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("armature: error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Runs what the command line asks; `Ok(false)` is a run that worked and found failures
/// (reftests).
fn run(cli: &cli::Cli) -> Result<bool, error::LauncherError> {
    if let Some(cli::Command::Reftest { manifest, output, window_size, device_pixel_ratio, verbose }) =
        &cli.command
    {
        let viewport = cli::viewport(*window_size, *device_pixel_ratio)
            .map_err(error::LauncherError::ViewportTooLarge)?;
        supervise::install_signal_cleanup()?;
        return reftest::run(reftest::ReftestRun { manifest, output, viewport, verbose: *verbose });
    }
    #[cfg(feature = "crash")]
    if let Some(cli::Command::Crashes { action, crash_reports }) = &cli.command {
        return crash::run_crashes(action, crash_reports.as_deref());
    }
    #[cfg(feature = "capture")]
    if let Some(cli::Command::Replay(args)) = &cli.command {
        return replay::run(args);
    }
    // Headless runs draw at 1 unless told; a window asks its screen.
    let ratio = cli.device_pixel_ratio.unwrap_or(armature_api::DevicePixelRatio::ONE);
    let viewport = cli::viewport(cli.window_size, ratio).map_err(error::LauncherError::ViewportTooLarge)?;
    // clap requires a page when there is no subcommand.
    let Some(page) = cli.pages.first().map(PathBuf::as_path) else {
        return Err(error::LauncherError::NoPage);
    };
    if cli.pages.len() > 1 || cli.screenshot_dir.is_some() {
        if !cli.headless || cli.dump_layout.is_some() || cli.stats_json.is_some() {
            return Err(error::LauncherError::ManyPages);
        }
        #[cfg(feature = "vm")]
        if cli.scripts.debug_port.is_some() {
            return Err(error::LauncherError::DebugManyPages);
        }
        supervise::install_signal_cleanup()?;
        return headless::run_many(&cli.pages, cli.screenshot_dir.as_deref(), viewport, session_options(cli));
    }
    if let Some(format) = cli.dump_layout {
        supervise::install_signal_cleanup()?;
        return dump::run(page, viewport, format, cli.verbose).map(|()| true);
    }
    if !cli.headless {
        #[cfg(feature = "window")]
        {
            supervise::install_signal_cleanup()?;
            return window::run(window::WindowRun {
                page,
                css_size: cli.window_size,
                device_pixel_ratio: cli.device_pixel_ratio,
                present: cli.present,
                session: session_options(cli),
            })
            .map(|()| true);
        }
        #[cfg(not(feature = "window"))]
        return Err(error::LauncherError::NoWindowFeature);
    }
    supervise::install_signal_cleanup()?;
    headless::run(headless::HeadlessRun {
        page,
        screenshot: cli.screenshot.as_deref(),
        stats_json: cli.stats_json.as_deref(),
        viewport,
        session: session_options(cli),
    })
    .map(|()| true)
}

/// How a page run's session runs its children, from the command line.
fn session_options(cli: &cli::Cli) -> session::SessionOptions {
    #[cfg_attr(not(feature = "crash"), allow(unused_mut))]
    let mut options = session::SessionOptions::new(cli.verbose);
    options.gpu_crash_limit = cli.gpu_crash_limit;
    #[cfg(feature = "crash")]
    {
        options.crash.reports = crash::reports_dir(cli.crash.crash_reports.as_deref());
        options.crash.explicit = cli.crash.crash_reports.is_some();
        options.crash.test = cli.crash.crash_test;
    }
    #[cfg(feature = "vm")]
    {
        options.scripts = armature_api::messages::ScriptOptions {
            debug_port: cli.scripts.debug_port,
            timeout_ms: (cli.scripts.script_timeout * 1000.0).round() as u64,
        };
    }
    #[cfg(feature = "capture")]
    {
        let capture = &cli.capture;
        options.capture.levels = capture.capture_levels;
        options.capture.signal_dir = capture.signal_capture_dir.clone();
        options.capture.run = capture.capture.as_ref().map(|dir| armature_api::messages::CaptureRequest {
            dir: dir.clone(),
            levels: capture.capture_levels,
            scope: armature_api::messages::CaptureScope::Run,
        });
        #[cfg(feature = "crash")]
        {
            options.capture.recording = armature_api::capture::StreamRecording {
                frames: capture.crash_capture_frames,
                max_bytes: capture.crash_capture_mib.saturating_mul(1 << 20),
            };
        }
    }
    options
}
