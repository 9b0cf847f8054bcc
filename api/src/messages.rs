//! Every cross-process message, one enum per channel (and direction).
//!
//! ```text
//! launcher ──LauncherToGpu──────► gpu        launcher ──LauncherToContent──► content
//! launcher ◄─GpuToLauncher─────── gpu        launcher ◄─ContentToLauncher─── content
//!                    content ──ContentToGpu──► gpu ──GpuToContent──► content
//! ```
//! The content↔gpu pair is created by the launcher (the broker) and handed to each side;
//! children never find each other by themselves.

use std::path::PathBuf;

use ipc_channel::ipc::{IpcReceiver, IpcSender, IpcSharedMemory};
use serde::{Deserialize, Serialize};

use crate::capture::{Levels, StreamRecording};
use crate::{
    CanvasItem, ContentId, ContentStageTimes, DeviceIntSize, DisplayList, Epoch, FrameStats, ImageBufferId,
    LayoutPoint, LayoutVector, ResourceUpdate, Viewport,
};

/// The command-line value of `--role`, naming what a child process is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProcessRole {
    /// The one GPU process.
    Gpu,
    /// A content process (one per page).
    Content,
}

impl ProcessRole {
    /// The spelling used on the command line and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessRole::Gpu => "gpu",
            ProcessRole::Content => "content",
        }
    }
}

impl std::fmt::Display for ProcessRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first (and only) message a child sends to the launcher's one-shot bootstrap server:
/// the two ends of its control channel.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(
    serialize = "ToChild: Serialize, FromChild: Serialize",
    deserialize = "ToChild: Deserialize<'de>, FromChild: Deserialize<'de>"
))]
pub struct ChildBootstrap<ToChild, FromChild> {
    /// The child's process id, as it sees itself.
    pub pid: u32,
    /// Where the launcher sends control messages.
    pub to_child: IpcSender<ToChild>,
    /// Where the launcher receives the child's messages.
    pub from_child: IpcReceiver<FromChild>,
}

/// What the launcher tells the GPU process.
#[derive(Debug, Serialize, Deserialize)]
pub enum LauncherToGpu {
    /// A content process joins: read its commands, send its replies.
    ConnectContent {
        /// Which content process.
        content: ContentId,
        /// Its pid, for reports naming it.
        pid: u32,
        /// The server's end of the content process's stream.
        stream: StreamServerEnd,
        /// Window mode: draw this content's frames straight into the launcher's window
        /// instead of sending their pixels back. Part of the connection, so the window is
        /// attached before any of its frames can arrive. If it cannot work the GPU process
        /// answers [`GpuToLauncher::WindowFailed`] and sends pixels.
        window: Option<WindowTarget>,
        /// How much of this content's stream to keep for a crash report.
        recording: StreamRecording,
    },
    /// Capture frames into a directory (answered by [`GpuToLauncher::CaptureDone`] or
    /// [`GpuToLauncher::CaptureFailed`] when it ends).
    StartCapture(CaptureRequest),
    /// A content process crashed: write the stream it sent (the last frames kept) into
    /// `dir`, a capture beside its crash report. Answered like `StartCapture`.
    SaveStreamCapture {
        /// Whose stream.
        content: ContentId,
        /// The capture directory to make.
        dir: PathBuf,
    },
    /// Exit cleanly.
    Shutdown,
}

/// What to capture, where, for how long.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaptureRequest {
    /// The capture directory (made; must be new or empty).
    pub dir: PathBuf,
    /// The pipeline levels to save.
    pub levels: Levels,
    /// Every frame until shutdown, or only the next one presented.
    pub scope: CaptureScope,
}

/// How long a capture lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CaptureScope {
    /// Every frame until the GPU process exits (`--capture DIR`).
    Run,
    /// The next frame presented (SIGUSR2).
    NextFrame,
}

/// A window another process owns, named so the GPU process can open it itself (as
/// Chromium's GPU process does with the browser's X11 window).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowTarget {
    /// An X11 window: its X server and its id there.
    X11 {
        /// The display name, e.g. ":0" (what `DISPLAY` says).
        display: String,
        /// The window's XID.
        window: u64,
    },
}

/// What the GPU process tells the launcher.
#[derive(Debug, Serialize, Deserialize)]
pub enum GpuToLauncher {
    /// The GPU device is up; ready for content.
    Ready(AdapterSummary),
    /// The GPU process cannot work at all (no adapter, device lost); it exits after this.
    Fatal {
        /// What went wrong, and the fix where there is one.
        message: String,
    },
    /// A presented frame: read back from the GPU, or drawn into the attached window.
    Frame(FramePixels),
    /// Drawing into the window failed; that content's frames come back as
    /// pixels for the launcher to present.
    WindowFailed {
        /// What went wrong.
        message: String,
    },
    /// A capture has begun: frames presented from now on go into it. (A SIGUSR2 capture
    /// asks pages to draw again only once this arrives, so the frame it waits for cannot
    /// reach the GPU process before the request does.)
    CaptureStarted {
        /// The capture directory.
        dir: PathBuf,
    },
    /// A capture is complete: a next-frame capture after its frame, a crash report's
    /// stream capture once written.
    CaptureDone {
        /// The capture directory.
        dir: PathBuf,
        /// Frames it holds.
        frames: u32,
    },
    /// A capture could not be written (it stops; rendering goes on).
    CaptureFailed {
        /// The capture directory.
        dir: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A content process's stream broke the rules (a hostile or broken content process):
    /// the GPU process stopped reading it and asks the launcher to terminate the process
    /// (WebKit's "Requesting termination of web process"). It keeps serving the others.
    TerminateContent {
        /// Which content process.
        content: ContentId,
        /// Its pid.
        pid: u32,
        /// What was wrong, e.g. "missing image buffer destination ImageBufferId(..)".
        reason: String,
    },
}

/// The adapter the GPU process chose, for `--verbose` and crash annotations.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AdapterSummary {
    /// Adapter name, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)".
    pub name: String,
    /// Backend, e.g. "Vulkan".
    pub backend: String,
    /// Device type, e.g. "Cpu" or "DiscreteGpu".
    pub device_type: String,
    /// Driver name and version as the driver reports them.
    pub driver: String,
}

/// A presented frame: its pixels (tightly packed RGBA8 rows, in shared memory), unless it
/// went straight into a window.
#[derive(Debug, Serialize, Deserialize)]
pub struct FramePixels {
    /// Which content process's page this is.
    pub content: ContentId,
    /// Which of its frames.
    pub epoch: Epoch,
    /// Width and height in pixels.
    pub size: DeviceIntSize,
    /// `size.width * size.height * 4` bytes, row after row, no padding; `None` when the GPU
    /// process drew the frame into the attached window.
    pub rgba: Option<IpcSharedMemory>,
    /// What the frame cost in the GPU process.
    pub stats: FrameStats,
}

/// What the launcher tells a content process.
#[derive(Debug, Serialize, Deserialize)]
pub enum LauncherToContent {
    /// Load and render a page.
    Start {
        /// This process's id (and id namespace).
        content: ContentId,
        /// The page file.
        page: PathBuf,
        /// The viewport: its device pixels and their ratio to CSS pixels.
        viewport: Viewport,
        /// The client's end of the stream to the GPU process (brokered by the launcher).
        gpu: StreamClientEnd,
        /// How much of the stream to the GPU process to keep for a crash report.
        recording: StreamRecording,
        /// How page scripts run.
        scripts: ScriptOptions,
    },
    /// The GPU process crashed: write the stream sent to it (the last frames kept) into
    /// `dir`, a capture beside its crash report. Answered by
    /// [`ContentToLauncher::CaptureDone`] or [`ContentToLauncher::CaptureFailed`].
    SaveStreamCapture {
        /// The capture directory to make.
        dir: PathBuf,
    },
    /// The GPU process was relaunched (the old one crashed): here are channels to the new
    /// one. Content sends its page again (resources, display list, a new epoch's `Present`).
    ReconnectGpu {
        /// The client's end of a stream to the new GPU process.
        gpu: StreamClientEnd,
    },
    /// The window was resized, or moved to a screen of another device pixel ratio: lay the
    /// page out again at this viewport and send a frame.
    Resize {
        /// The new viewport.
        viewport: Viewport,
    },
    /// Scroll the page, or a box in it that scrolls, and send a frame if anything moved.
    Scroll {
        /// How far.
        by: ScrollBy,
        /// The viewport point (CSS px) the scroll is aimed at: the pointer, for a wheel;
        /// the last click, for keys. The innermost scrollable box there moves, or the
        /// page; `None`: the page.
        at: Option<LayoutPoint>,
    },
    /// Send the current frame again (the window was exposed and lost its pixels).
    Redraw,
    /// Load and lay out a page, answer with its box tree, draw nothing (`--dump-layout`).
    DumpLayout {
        /// The page file.
        page: PathBuf,
        /// The viewport: layout is in its CSS pixels, text metrics as drawn at its ratio.
        viewport: Viewport,
        /// Text for people or JSON for tools.
        format: LayoutDumpFormat,
    },
    /// Exit cleanly.
    Shutdown,
}

/// A scroll request; content clamps the result to the page.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ScrollBy {
    /// By this many CSS pixels right and down (negative: left and up).
    Pixels(LayoutVector),
    /// By this many viewport heights down (less a little overlap, as browsers do).
    Pages(f32),
    /// To the top of the page, staying where it is across.
    Start,
    /// To the bottom of the page, staying where it is across.
    End,
}

/// How `--dump-layout` prints the box tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LayoutDumpFormat {
    /// An indented tree, one box per line.
    Text,
    /// One JSON document.
    Json,
}

/// What a content process tells the launcher.
#[derive(Debug, Serialize, Deserialize)]
pub enum ContentToLauncher {
    /// The page's script debugger listens here (`--debug-port`).
    DebuggerListening {
        /// The address, with the port chosen for port 0.
        addr: String,
    },
    /// The debugger client disconnected: a run held for it may end.
    DebuggerDetached,
    /// The page was loaded and its first frame sent to the GPU process.
    PageLoaded {
        /// The page's `<title>`, if any.
        title: Option<String>,
        /// How many display items the first frame has.
        display_items: usize,
        /// What each front-end stage took.
        timings: ContentStageTimes,
    },
    /// The answer to [`LauncherToContent::DumpLayout`].
    LayoutDump(String),
    /// The stream capture asked for is written.
    CaptureDone {
        /// The capture directory.
        dir: PathBuf,
        /// Frames it holds.
        frames: u32,
    },
    /// The stream capture asked for could not be written.
    CaptureFailed {
        /// The capture directory.
        dir: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The page could not be loaded; the process exits after this.
    Failed {
        /// What went wrong, naming the file.
        message: String,
    },
}

/// The content process's end of its stream to the GPU process, made by the launcher (the
/// broker), which hands the other end to the GPU process.
#[derive(Debug, Serialize, Deserialize)]
pub struct StreamClientEnd {
    /// The ring both processes map (header and data; see `armature-stream`).
    pub ring: IpcSharedMemory,
    /// Items that do not go inline (too large, or carrying shared memory), in the order
    /// their markers in the ring say.
    pub out_of_line: IpcSender<OutOfLineItem>,
    /// The GPU process's replies.
    pub replies: IpcReceiver<GpuToContent>,
}

/// The GPU process's end of a content process's stream.
#[derive(Debug, Serialize, Deserialize)]
pub struct StreamServerEnd {
    /// The ring both processes map.
    pub ring: IpcSharedMemory,
    /// Out-of-line items.
    pub out_of_line: IpcReceiver<OutOfLineItem>,
    /// Replies to the content process.
    pub replies: IpcSender<GpuToContent>,
}

/// An item that travels beside the ring; a marker record with its sequence number holds
/// its place in the stream (WebKit's "process out of stream message").
#[derive(Debug, Serialize, Deserialize)]
pub enum OutOfLineItem {
    /// An encoded item larger than the ring takes inline, in its own shared buffer.
    Encoded {
        /// Its marker's number.
        sequence: u64,
        /// The item, encoded as inline items are.
        bytes: IpcSharedMemory,
    },
    /// An item carrying shared memory of its own (image uploads), sent as a message.
    Message {
        /// Its marker's number.
        sequence: u64,
        /// The item.
        command: ContentToGpu,
    },
}

/// What a content process asks of the GPU process, in order: the items of its stream.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ContentToGpu {
    /// Add or remove resources (fonts, images, image buffers) before items use them.
    UpdateResources(Vec<ResourceUpdate>),
    /// Draw into an image buffer (created earlier in this stream).
    DrawToImageBuffer {
        /// The buffer.
        buffer: ImageBufferId,
        /// What to draw.
        item: CanvasItem,
    },
    /// Replace the page's display list.
    SetDisplayList(Epoch, DisplayList),
    /// Render the current display list and hand the pixels to the launcher.
    Present(Epoch),
}

/// What the GPU process answers a content process.
#[derive(Debug, Serialize, Deserialize)]
pub enum GpuToContent {
    /// The frame of this epoch was rendered and handed to the launcher.
    Presented(Epoch),
    /// The image buffer exists in the GPU process (drawing may start before this arrives).
    ImageBufferCreated(ImageBufferId),
}

/// How a content process runs its page's scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptOptions {
    /// Serve a DAP debugger on 127.0.0.1 at this port (0: any free port) and turn guest
    /// debugging on.
    pub debug_port: Option<u16>,
    /// How long one script task may run before it is stopped, in milliseconds.
    pub timeout_ms: u64,
}

impl Default for ScriptOptions {
    fn default() -> Self {
        ScriptOptions { debug_port: None, timeout_ms: 5_000 }
    }
}
