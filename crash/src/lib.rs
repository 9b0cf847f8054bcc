//! Crash reporting, Firefox's pull model (bug 1776197).
//!
//! - Client (every child): [`annotations`] is a lock-free table in the process's own memory,
//!   published through an ELF note ([`note`]); [`handler`] installs crash-handler so that a
//!   crashing child asks the launcher's monitor for a dump and waits.
//! - Launcher: [`monitor`] runs the minidumper server; it writes the minidump from outside
//!   (minidump-writer, via minidumper), pulls the annotations out of the waiting child with
//!   [`reader`], and stores both as a report ([`report`]: `<id>.dmp` + `<id>.extra`).
//!
//! No IPC channel carries annotations: after a crash, nothing in the child has to work
//! except the request for a dump.
//!
//! Architecture invariant: crash knows nothing about the launcher, pages or rendering.

pub mod annotations;
pub mod handler;
pub mod monitor;
pub mod note;
pub mod reader;
pub mod report;

pub use annotations::{AnnotationError, annotate};
pub use reader::{Annotations, ReadError, read_annotations};

pub use handler::{CrashGuard, InstallError, crash_now, install};
pub use monitor::{CrashMonitor, MonitorError};
pub use report::{CrashReport, DumpSummary, Extra, StoreError};
