//! The launcher's crash monitor: a minidumper server on its own thread.
//!
//! A crashing child's handler ([`crate::handler`]) sends its crash context and blocks until
//! the monitor acknowledges. Meanwhile the monitor writes the minidump from outside
//! (minidump-writer ptrace-attaches to the child), pulls the annotations out of the child's
//! memory ([`crate::reader`]), and writes `<id>.extra`. Only then does minidumper send the
//! acknowledgement, and the child dies. So by the time the launcher sees the child's
//! channel close, its report is already on disk and registered here: [`CrashMonitor::take_report`]
//! never races the crash.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use minidumper::{LoopAction, MinidumpBinary, ServerHandler, SocketName};

use crate::annotations::keys;
use crate::report::{self, CrashReport, Extra, StoreError};

/// Why the monitor could not start.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The reports directory cannot be created.
    #[error("cannot create the crash reports directory {}: {source} (choose another with --crash-reports DIR)", dir.display())]
    Directory {
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The server socket cannot be opened.
    #[error("cannot start the crash monitor: {0}")]
    Server(#[from] minidumper::Error),
    /// The server thread cannot be started.
    #[error("cannot start the crash monitor thread: {0}")]
    Thread(std::io::Error),
}

/// The monitor's state shared with its server thread.
struct Shared {
    dir: PathBuf,
    version: String,
    reports: Mutex<HashMap<u32, CrashReport>>,
    next_pending: AtomicU64,
}

/// The running monitor; stops when dropped.
pub struct CrashMonitor {
    socket_name: String,
    shared: Arc<Shared>,
    shutdown: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl CrashMonitor {
    /// Starts the server. Reports go to `dir` (created now, so a bad directory is an error
    /// at start-up, not at the first crash); `version` is recorded in each report.
    pub fn start(dir: &Path, version: &str) -> Result<CrashMonitor, MonitorError> {
        std::fs::create_dir_all(dir)
            .map_err(|source| MonitorError::Directory { dir: dir.to_owned(), source })?;
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        // Abstract namespace: no file to clean up, gone with the launcher.
        let socket_name = format!("armature-crash-{}-{nanos:x}", std::process::id());
        let mut server = minidumper::Server::with_name(SocketName::abstract_namespace(&socket_name))?;
        let shared = Arc::new(Shared {
            dir: dir.to_owned(),
            version: version.to_owned(),
            reports: Mutex::new(HashMap::new()),
            next_pending: AtomicU64::new(0),
        });
        let shutdown = Arc::new(AtomicBool::new(false));
        let handler = Handler { shared: shared.clone() };
        let stop = shutdown.clone();
        let thread = std::thread::Builder::new()
            .name("crash-monitor".into())
            .spawn(move || {
                if let Err(error) = server.run(Box::new(handler), &stop, None) {
                    tracing::error!(target: "armature::crash", "crash monitor stopped: {error}");
                }
            })
            .map_err(MonitorError::Thread)?;
        Ok(CrashMonitor { socket_name, shared, shutdown, thread: Some(thread) })
    }

    /// The name children connect to (an abstract-namespace socket).
    pub fn socket_name(&self) -> &str {
        &self.socket_name
    }

    /// Where reports are written.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// The report written for `pid`, if that process crashed and asked for one.
    pub fn take_report(&self, pid: u32) -> Option<CrashReport> {
        self.shared.reports.lock().unwrap_or_else(|poison| poison.into_inner()).remove(&pid)
    }
}

impl Drop for CrashMonitor {
    fn drop(&mut self) {
        self.shutdown.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Handler {
    shared: Arc<Shared>,
}

impl ServerHandler for Handler {
    fn create_minidump_file(&self) -> Result<(File, PathBuf), std::io::Error> {
        // The id needs the pid, which only the finished dump tells us: write under a
        // temporary name, rename in `on_minidump_created`.
        let n = self.shared.next_pending.fetch_add(1, Ordering::Relaxed);
        let path = self.shared.dir.join(format!(".pending-{}-{n}.dmp", std::process::id()));
        Ok((File::create(&path)?, path))
    }

    fn on_minidump_created(&self, result: Result<MinidumpBinary, minidumper::Error>) -> LoopAction {
        match result {
            Ok(binary) => match self.store(binary) {
                Ok(report) => {
                    tracing::info!(
                        target: "armature::crash",
                        "crash report {} for pid {} written", report.extra.id, report.extra.pid
                    );
                    let pid = report.extra.pid;
                    self.shared
                        .reports
                        .lock()
                        .unwrap_or_else(|poison| poison.into_inner())
                        .insert(pid, report);
                }
                Err(error) => {
                    tracing::error!(target: "armature::crash", "cannot store a crash report: {error}")
                }
            },
            Err(error) => tracing::error!(target: "armature::crash", "cannot write a minidump: {error}"),
        }
        // Keep serving: other children may crash later.
        LoopAction::Continue
    }

    fn on_message(&self, _kind: u32, _buffer: Vec<u8>) {
        // Children send nothing but crash requests: annotations are pulled, never pushed.
    }
}

impl Handler {
    /// Names the dump after the crash and writes its `.extra`, while the child still waits.
    fn store(&self, binary: MinidumpBinary) -> Result<CrashReport, StoreError> {
        let crash_time_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis() as u64)
            .unwrap_or(0);
        let bad_dump = |message: String| StoreError::BadDump { path: binary.path.clone(), message };
        let summary = match &binary.contents {
            Some(bytes) => report::summarize(bytes).map_err(bad_dump)?,
            None => report::summarize_file(&binary.path)?,
        };
        let pid = process_of_thread(summary.thread_id)
            .ok_or_else(|| bad_dump(format!("thread {} belongs to no live process", summary.thread_id)))?;
        let (annotations, torn, annotations_error) = match crate::reader::read_annotations(pid) {
            Ok(read) => (read.entries.into_iter().collect::<BTreeMap<_, _>>(), read.torn, None),
            Err(error) => (BTreeMap::new(), Vec::new(), Some(error.to_string())),
        };
        let process_type = annotations.get(keys::PROCESS_TYPE).cloned();
        let role = process_type.as_deref().filter(|t| t.chars().all(|c| c.is_ascii_alphanumeric()));
        let id = format!("{crash_time_ms}-{}-{pid}", role.unwrap_or("unknown"));
        let dump = self.shared.dir.join(format!("{id}.dmp"));
        std::fs::rename(&binary.path, &dump)
            .map_err(|source| StoreError::Io { path: dump.clone(), source })?;
        let extra = Extra {
            id: id.clone(),
            process_type,
            pid,
            thread_id: summary.thread_id,
            signal: report::signal_name(summary.signal_number),
            signal_number: summary.signal_number,
            crash_reason: summary.crash_reason,
            crash_address: format!("{:#x}", summary.crash_address),
            crash_time_ms,
            armature_version: self.shared.version.clone(),
            annotations,
            torn_annotations: torn,
            annotations_error,
            minidump: format!("{id}.dmp"),
        };
        let extra_path = report::write_extra(&self.shared.dir, &extra)?;
        Ok(CrashReport { extra, dump, extra_path })
    }
}

/// The process (thread group) a thread belongs to, from `/proc/TID/status`.
fn process_of_thread(tid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status.lines().find_map(|line| line.strip_prefix("Tgid:")).and_then(|pid| pid.trim().parse().ok())
}
