//! `armature`: the launcher (browser process) and, re-executed with `--role=…`, every child.
//!
//! Entry point: a `--role=` first argument means this is a child ([`child`]); anything else
//! is the user's command line ([`cli`]), run headless ([`headless`]) or as a layout dump
//! ([`dump`]).

mod child;
mod cli;
mod dump;
mod error;
mod headless;
mod logging;
mod screenshot;
mod supervise;

use std::process::ExitCode;

use clap::Parser;

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
    let _span = logging::init("launcher", cli.verbose);
    let result = run(&cli);
    // Stopped by a signal: whatever the main thread saw meanwhile (children going away) is
    // a consequence of it, not an error or a success of its own.
    if let Some(signal) = supervise::terminating_signal() {
        return ExitCode::from(u8::try_from(128 + signal).unwrap_or(u8::MAX));
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("armature: error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

fn run(cli: &cli::Cli) -> Result<(), error::LauncherError> {
    if let Some(format) = cli.dump_layout {
        supervise::install_signal_cleanup()?;
        return dump::run(&cli.page, cli.window_size, format, cli.verbose);
    }
    if !cli.headless {
        return Err(error::LauncherError::WindowModeUnavailable);
    }
    supervise::install_signal_cleanup()?;
    headless::run(headless::HeadlessRun {
        page: &cli.page,
        screenshot: cli.screenshot.as_deref(),
        viewport: cli.window_size,
        verbose: cli.verbose,
    })
}
