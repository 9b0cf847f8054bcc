//! Capture and replay, after WebRender's capture: the pipeline's state is saved at levels,
//! each level as pretty RON (hand-editable) with resources as PNG and raw files beside it,
//! and a capture replays to the same pixels.
//!
//! - [`canvas`]: what image buffers hold, as the canvas commands that drew them, compacted
//!   at full clears (SCENE's canvas drawing, and the recorder's).
//! - [`format`]: what is on disk (manifest, per-frame STREAM and SCENE files).
//! - [`recorder`]: the last frames of one content→GPU stream, kept in memory; the source of
//!   STREAM and SCENE captures and of the stream capture in every crash report.
//! - [`writer`]: writes a capture directory, frame by frame, always leaving a valid one.
//! - [`reader`]: opens a capture (version checks, errors naming file, line and column).
//! - [`replay`]: turns a capture back into the content→GPU commands that drew it.
//!
//! Architecture invariant: capture depends only on api (and file formats); it never talks to
//! processes and knows nothing of wgpu. The GPU process hands it its own state to write.

pub mod canvas;
pub mod format;
pub mod reader;
pub mod recorder;
pub mod replay;
pub mod writer;

use std::path::PathBuf;

pub use armature_api::capture::{Level, Levels, StreamRecording};
pub use format::{FORMAT_VERSION, FrameEntry, FrameNumber, Manifest};
pub use reader::Capture;
pub use recorder::StreamRecorder;
pub use replay::ReplaySource;
pub use writer::CaptureWriter;

/// Why a capture could not be written, read or replayed. Each names the file and, where
/// there is one, the fix.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A RON file is not valid RON, or not what its name says it holds.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong there.
        message: String,
    },
    /// The directory has no manifest.
    #[error("{} is not a capture: it has no manifest.ron (make one with `armature PAGE --capture DIR`)", dir.display())]
    NotACapture {
        /// The directory.
        dir: PathBuf,
    },
    /// The capture was written by a newer armature.
    #[error(
        "{}: capture format version {found} is newer than this armature ({armature}) reads \
         (version {supported}); replay it with armature {written_by} or newer",
        path.display(), armature = env!("CARGO_PKG_VERSION")
    )]
    NewerFormat {
        /// The manifest.
        path: PathBuf,
        /// Its format version.
        found: u32,
        /// The newest this build reads.
        supported: u32,
        /// The armature version that wrote it.
        written_by: String,
    },
    /// The capture is older than any format this build can migrate.
    #[error(
        "{}: capture format version {found} is older than this armature can migrate (it reads \
         versions {oldest} to {supported}); replay it with the armature that wrote it ({written_by})",
        path.display()
    )]
    OlderFormat {
        /// The manifest.
        path: PathBuf,
        /// Its format version.
        found: u32,
        /// The oldest version this build migrates.
        oldest: u32,
        /// The version this build writes.
        supported: u32,
        /// The armature version that wrote it.
        written_by: String,
    },
    /// Asked for a frame the capture does not have.
    #[error("the capture has no frame {frame} (it has frames 1 to {count})")]
    NoSuchFrame {
        /// The frame asked for.
        frame: u32,
        /// How many frames the capture has.
        count: usize,
    },
    /// A frame lacks the level replay needs.
    #[error("frame {frame} has no {level} level (captured levels: {present}); {hint}")]
    MissingLevel {
        /// The frame.
        frame: u32,
        /// The level needed.
        level: Level,
        /// What the frame has.
        present: Levels,
        /// What to do instead.
        hint: &'static str,
    },
    /// A file name in the capture points outside it.
    #[error("{}: resource file '{file}' must be a relative path inside the capture", path.display())]
    BadResourcePath {
        /// The RON file naming it.
        path: PathBuf,
        /// The name.
        file: String,
    },
    /// An image file does not decode, or has another size than the capture says.
    #[error("{}: {message}", path.display())]
    Image {
        /// The image file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The capture is consistent file by file but not as a whole.
    #[error("{}: {message}", path.display())]
    Inconsistent {
        /// The file where it shows.
        path: PathBuf,
        /// What does not add up.
        message: String,
    },
    /// The capture directory exists and holds files.
    #[error("{} already exists and is not empty; capture into a new or empty directory", dir.display())]
    DirectoryNotEmpty {
        /// The directory.
        dir: PathBuf,
    },
}

impl CaptureError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CaptureError {
        let path = path.into();
        move |source| CaptureError::Io { path, source }
    }
}
