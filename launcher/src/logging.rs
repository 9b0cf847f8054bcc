//! Logging set-up shared by every role: tracing to stderr, filtered by `RUST_LOG`, with
//! `--verbose` raising Armature's own targets to `info`.
//!
//! Every line starts with `[ROLE PID]`, from whichever thread wrote it, so the interleaved
//! stderr of a launcher and its children (which inherit the launcher's stderr) says who
//! wrote what. Each event is formatted into one buffer and written with one `write`, so
//! lines of different processes never mix, and each process's lines keep their order.

use std::io::IsTerminal;

use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields, Writer};
use tracing_subscriber::registry::LookupSpan;

/// Installs the subscriber for a process of `role` (`launcher`, `gpu`, `content`).
pub fn init(role: &'static str, verbose: bool) {
    // winit warns about harmless X server quirks (no XSETTINGS, a 0 mm screen) on every run;
    // html5ever warns "foster parenting not implemented" on every table with stray content,
    // though it does foster-parent (see content's `dom` tests). Parse errors are debug lines.
    let default = if verbose {
        "warn,winit=error,html5ever=error,armature=info"
    } else {
        "warn,winit=error,html5ever=error"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = std::io::stderr().is_terminal();
    let inner = format().with_target(false).without_time().with_ansi(ansi);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .event_format(ProcessTagged { role, pid: std::process::id(), inner })
        .try_init();
}

fn format() -> format::Format {
    format::Format::default()
}

/// Prefixes each event with the process's role and pid.
struct ProcessTagged<F> {
    role: &'static str,
    pid: u32,
    inner: F,
}

impl<S, N, F> FormatEvent<S, N> for ProcessTagged<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "[{} {}] ", self.role, self.pid)?;
        self.inner.format_event(context, writer, event)
    }
}
