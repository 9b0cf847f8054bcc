//! The report store: one `<id>.dmp` (the minidump) and one `<id>.extra` (JSON: annotations
//! and facts about the crash, as Firefox's `.extra` files) per crash, in one directory.
//! Both are written to a temporary name and renamed, so a report is whole or absent.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use minidump::{
    Minidump, MinidumpException, MinidumpModuleList, MinidumpSystemInfo, MinidumpThreadList, Module,
};
use serde::{Deserialize, Serialize};

/// What `<id>.extra` holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extra {
    /// The report's id (also its file stem).
    pub id: String,
    /// The crashed process's `ProcessType` annotation (`gpu`, `content`), if it set one.
    pub process_type: Option<String>,
    /// Its pid.
    pub pid: u32,
    /// The crashing thread's id.
    pub thread_id: u32,
    /// The signal, e.g. `SIGSEGV`.
    pub signal: String,
    /// The signal's number.
    pub signal_number: u32,
    /// The crash reason as rust-minidump names it, e.g. `SIGSEGV / SEGV_MAPERR`.
    pub crash_reason: String,
    /// The faulting address, in hex.
    pub crash_address: String,
    /// When the launcher received the crash: Unix time in milliseconds.
    pub crash_time_ms: u64,
    /// The armature version that wrote the report.
    pub armature_version: String,
    /// The annotations pulled out of the crashed process.
    pub annotations: BTreeMap<String, String>,
    /// Annotations whose value was being rewritten at the crash (left out above).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub torn_annotations: Vec<String>,
    /// Why the annotations could not be read, if they could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations_error: Option<String>,
    /// The minidump's file name.
    pub minidump: String,
}

/// A stored report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrashReport {
    /// Its `.extra` contents.
    pub extra: Extra,
    /// Path of the minidump.
    pub dump: PathBuf,
    /// Path of the `.extra` file.
    pub extra_path: PathBuf,
}

/// Why the store could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// Which.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No report with this id.
    #[error("no crash report '{id}' in {} (see `armature crashes list`)", dir.display())]
    NotFound {
        /// The id asked for.
        id: String,
        /// Where we looked.
        dir: PathBuf,
    },
    /// An `.extra` file is not ours or is damaged.
    #[error("{} is not a readable crash report: {message}", path.display())]
    BadExtra {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A minidump does not parse.
    #[error("{} is not a readable minidump: {message}", path.display())]
    BadDump {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_owned(), source }
}

/// Where reports go by default: `$XDG_DATA_HOME/armature/crashes`, else
/// `~/.local/share/armature/crashes` (the XDG base-directory default), else the temp dir.
pub fn default_dir() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|dir| Path::new(dir).is_absolute())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".local/share")));
    data.unwrap_or_else(std::env::temp_dir).join("armature").join("crashes")
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let temporary = path.with_extension("partial");
    let mut file = std::fs::File::create(&temporary).map_err(io_error(&temporary))?;
    file.write_all(bytes).map_err(io_error(&temporary))?;
    std::fs::rename(&temporary, path).map_err(io_error(path))
}

/// Stores `extra` beside its dump.
pub(crate) fn write_extra(dir: &Path, extra: &Extra) -> Result<PathBuf, StoreError> {
    let path = dir.join(format!("{}.extra", extra.id));
    let json = serde_json::to_vec_pretty(extra)
        .map_err(|error| StoreError::BadExtra { path: path.clone(), message: error.to_string() })?;
    write_atomically(&path, &json)?;
    Ok(path)
}

/// Loads one report.
pub fn load(dir: &Path, id: &str) -> Result<CrashReport, StoreError> {
    // An id is a file stem; refuse anything that would leave the directory.
    if id.is_empty() || id.contains(['/', '\\']) || id.starts_with('.') {
        return Err(StoreError::NotFound { id: id.to_owned(), dir: dir.to_owned() });
    }
    let extra_path = dir.join(format!("{id}.extra"));
    if !extra_path.exists() {
        return Err(StoreError::NotFound { id: id.to_owned(), dir: dir.to_owned() });
    }
    load_extra(&extra_path)
}

fn load_extra(path: &Path) -> Result<CrashReport, StoreError> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    let extra: Extra = serde_json::from_slice(&bytes)
        .map_err(|error| StoreError::BadExtra { path: path.to_owned(), message: error.to_string() })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let dump = dir.join(&extra.minidump);
    Ok(CrashReport { extra, dump, extra_path: path.to_owned() })
}

/// Every report in `dir`, oldest first. Unreadable `.extra` files are returned as errors
/// in place, so one damaged report never hides the others. A missing directory is empty.
pub fn list(dir: &Path) -> Result<Vec<Result<CrashReport, StoreError>>, StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(StoreError::Io { path: dir.to_owned(), source: error }),
    };
    let mut reports: Vec<Result<CrashReport, StoreError>> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "extra"))
        .map(|path| load_extra(&path))
        .collect();
    reports.sort_by_key(|report| match report {
        Ok(report) => (report.extra.crash_time_ms, report.extra.id.clone()),
        Err(_) => (0, String::new()),
    });
    Ok(reports)
}

/// What a minidump says about its crash, read back with rust-minidump.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpSummary {
    /// E.g. `SIGSEGV / SEGV_MAPERR`.
    pub crash_reason: String,
    /// The signal number the exception stream records.
    pub signal_number: u32,
    /// The faulting address.
    pub crash_address: u64,
    /// The crashing thread.
    pub thread_id: u32,
    /// Threads in the dump.
    pub thread_count: usize,
    /// Whether the crashing thread is among them.
    pub crashing_thread_present: bool,
    /// Names (file names) of the modules, the main executable first.
    pub modules: Vec<String>,
}

/// Reads a dump's summary from its bytes.
pub fn summarize(bytes: &[u8]) -> Result<DumpSummary, String> {
    let dump = Minidump::read(bytes).map_err(|error| error.to_string())?;
    let system: MinidumpSystemInfo = dump.get_stream().map_err(|error| format!("system info: {error}"))?;
    let exception: MinidumpException = dump.get_stream().map_err(|error| format!("exception: {error}"))?;
    let threads: MinidumpThreadList = dump.get_stream().map_err(|error| format!("thread list: {error}"))?;
    let modules: MinidumpModuleList = dump.get_stream().map_err(|error| format!("module list: {error}"))?;
    let thread_id = exception.get_crashing_thread_id();
    let file_name = |module: &minidump::MinidumpModule| {
        let name = module.code_file();
        Path::new(name.as_ref()).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    };
    let mut names: Vec<String> = modules.main_module().map(file_name).into_iter().collect();
    names.extend(modules.iter().map(file_name).filter(|name| !name.is_empty()));
    names.dedup();
    Ok(DumpSummary {
        crash_reason: exception.get_crash_reason(system.os, system.cpu).to_string(),
        signal_number: exception.raw.exception_record.exception_code,
        crash_address: exception.get_crash_address(system.os, system.cpu),
        thread_id,
        thread_count: threads.threads.len(),
        crashing_thread_present: threads.get_thread(thread_id).is_some(),
        modules: names,
    })
}

/// Reads a stored dump's summary.
pub fn summarize_file(path: &Path) -> Result<DumpSummary, StoreError> {
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    summarize(&bytes).map_err(|message| StoreError::BadDump { path: path.to_owned(), message })
}

/// The name of a signal number (Linux numbering).
pub fn signal_name(signal: u32) -> String {
    let name = match signal as libc::c_int {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        _ => return format!("signal {signal}"),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extra(id: &str, time: u64) -> Extra {
        Extra {
            id: id.to_owned(),
            process_type: Some("gpu".into()),
            pid: 7,
            thread_id: 7,
            signal: "SIGSEGV".into(),
            signal_number: 11,
            crash_reason: "SIGSEGV / SEGV_MAPERR".into(),
            crash_address: "0x10".into(),
            crash_time_ms: time,
            armature_version: "0.1.0".into(),
            annotations: BTreeMap::from([("ProcessType".into(), "gpu".into())]),
            torn_annotations: Vec::new(),
            annotations_error: None,
            minidump: format!("{id}.dmp"),
        }
    }

    #[test]
    fn store_round_trip_and_listing() {
        let dir = tempfile::tempdir().unwrap();
        write_extra(dir.path(), &extra("b", 20)).unwrap();
        write_extra(dir.path(), &extra("a", 10)).unwrap();
        std::fs::write(dir.path().join("junk.extra"), b"{ not json").unwrap();
        let listed = list(dir.path()).unwrap();
        assert_eq!(listed.len(), 3);
        assert!(listed[0].is_err(), "the damaged report is listed as an error");
        let ids: Vec<&str> =
            listed.iter().filter_map(|r| r.as_ref().ok()).map(|r| r.extra.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        let loaded = load(dir.path(), "a").unwrap();
        assert_eq!(loaded.extra, extra("a", 10));
        assert_eq!(loaded.dump, dir.path().join("a.dmp"));
        assert!(matches!(load(dir.path(), "../etc"), Err(StoreError::NotFound { .. })));
        assert!(matches!(load(dir.path(), "zzz"), Err(StoreError::NotFound { .. })));
        let error = load(dir.path(), "junk").unwrap_err().to_string();
        assert!(error.contains("not a readable crash report"), "{error}");
        assert!(list(&dir.path().join("missing")).unwrap().is_empty());
    }

    #[test]
    fn garbage_is_not_a_minidump() {
        assert!(summarize(b"MDMP but not really").is_err());
        assert!(summarize(&[]).is_err());
    }
}
