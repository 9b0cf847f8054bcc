//! Logging set-up shared by every role: tracing to stderr, filtered by `RUST_LOG`, with
//! `--verbose` raising Armature's own targets to `info`. Each line names its process.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the subscriber and returns a guard whose span tags every line of this thread
/// with the process's role and pid.
pub fn init(role: &'static str, verbose: bool) -> tracing::span::EnteredSpan {
    let default = if verbose { "warn,armature=info" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .try_init();
    tracing::info_span!("process", role, pid = std::process::id()).entered()
}
