//! Headless mode: spawn the GPU and content processes, broker their connection, wait for
//! the first frame, write it as PNG, shut everything down.
//!
//! The launcher's main thread owns the children; one router thread per child turns its ipc
//! receiver into events on a single crossbeam channel, so the main loop sees every process
//! (and every death) in one place.

use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use armature_api::messages::{
    ContentToGpu, ContentToLauncher, GpuToContent, GpuToLauncher, LauncherToContent, LauncherToGpu,
    ProcessRole,
};
use armature_api::{ContentId, DeviceIntSize};
use ipc_channel::ipc::{self, IpcReceiver};
use serde::Deserialize;

use crate::error::LauncherError;
use crate::screenshot::PendingScreenshot;
use crate::supervise::{self, ChildOptions, ChildProcess, SHUTDOWN_GRACE};

/// How long a page may take from launch to its first frame.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(120);

/// What the headless run was asked to do.
pub struct HeadlessRun<'a> {
    /// The page.
    pub page: &'a Path,
    /// Where to write the PNG, if anywhere.
    pub screenshot: Option<&'a Path>,
    /// Viewport size.
    pub viewport: DeviceIntSize,
    /// `--verbose`.
    pub verbose: bool,
}

/// Something a child said, or its channel closing.
enum Event {
    Gpu(GpuToLauncher),
    Content(ContentToLauncher),
    Closed(ProcessRole),
}

/// Forwards a child's messages into the event channel until it closes.
fn route<T>(
    receiver: IpcReceiver<T>,
    role: ProcessRole,
    events: crossbeam_channel::Sender<Event>,
    wrap: fn(T) -> Event,
) where
    T: for<'de> Deserialize<'de> + serde::Serialize + Send + 'static,
{
    let spawned = thread::Builder::new().name(format!("router-{role}")).spawn(move || {
        while let Ok(message) = receiver.recv() {
            if events.send(wrap(message)).is_err() {
                return;
            }
        }
        let _ = events.send(Event::Closed(role));
    });
    if let Err(error) = spawned {
        tracing::error!("cannot start the {role} router thread: {error}");
    }
}

/// Runs one page headless.
pub fn run(request: HeadlessRun<'_>) -> Result<(), LauncherError> {
    check_page(request.page)?;
    let screenshot = request.screenshot.map(PendingScreenshot::prepare).transpose()?;
    let options = ChildOptions { verbose: request.verbose };
    let started = Instant::now();

    // Both children start at once; the GPU opens its device while content lays out.
    let gpu = supervise::spawn::<LauncherToGpu, GpuToLauncher>(ProcessRole::Gpu, options)?;
    let content = supervise::spawn::<LauncherToContent, ContentToLauncher>(ProcessRole::Content, options)?;
    let mut gpu = gpu.connect()?;
    let mut content = content.connect()?;
    if request.verbose {
        eprintln!("armature: started gpu process (pid {}), content process (pid {})", gpu.pid, content.pid);
    }

    let (events_sender, events) = crossbeam_channel::unbounded();
    if let Some(receiver) = gpu.receiver.take() {
        route(receiver, ProcessRole::Gpu, events_sender.clone(), Event::Gpu);
    }
    if let Some(receiver) = content.receiver.take() {
        route(receiver, ProcessRole::Content, events_sender, Event::Content);
    }

    let content_id = ContentId(1);
    broker(&gpu, &content, content_id, request.page, request.viewport)?;

    let frame = loop {
        let remaining = FRAME_TIMEOUT.saturating_sub(started.elapsed());
        let event = events.recv_timeout(remaining).map_err(|_| LauncherError::FrameTimeout {
            page: request.page.to_owned(),
            timeout: FRAME_TIMEOUT,
        })?;
        match event {
            Event::Gpu(GpuToLauncher::Ready(adapter)) => {
                if request.verbose {
                    eprintln!(
                        "armature: GPU adapter: {} (backend {}, type {}, driver {})",
                        adapter.name, adapter.backend, adapter.device_type, adapter.driver
                    );
                }
            }
            Event::Gpu(GpuToLauncher::Fatal { message }) => return Err(LauncherError::Gpu(message)),
            Event::Gpu(GpuToLauncher::ContentError { message, .. }) => {
                return Err(LauncherError::Page { page: request.page.to_owned(), message });
            }
            Event::Gpu(GpuToLauncher::Frame(frame)) if frame.content == content_id => break frame,
            Event::Gpu(GpuToLauncher::Frame(_)) => {}
            Event::Content(ContentToLauncher::PageLoaded { title, display_items }) => {
                if request.verbose {
                    let title = title.as_deref().unwrap_or("(untitled)");
                    eprintln!("armature: loaded '{title}': {display_items} display items");
                }
            }
            Event::Content(ContentToLauncher::LayoutDump(_)) => {}
            Event::Content(ContentToLauncher::Failed { message }) => {
                return Err(LauncherError::Page { page: request.page.to_owned(), message });
            }
            Event::Closed(ProcessRole::Gpu) => return Err(died(&mut gpu)),
            Event::Closed(ProcessRole::Content) => return Err(died(&mut content)),
        }
    };
    if request.verbose {
        eprintln!(
            "armature: frame {}x{} after {:.0} ms",
            frame.size.width,
            frame.size.height,
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    if let Some(screenshot) = screenshot {
        screenshot.commit(&frame)?;
    }
    hold_if_asked(&events);

    let _ = content.sender.send(LauncherToContent::Shutdown);
    let _ = gpu.sender.send(LauncherToGpu::Shutdown);
    content.wait_or_kill(SHUTDOWN_GRACE);
    gpu.wait_or_kill(SHUTDOWN_GRACE);
    Ok(())
}

/// Test switch: `ARMATURE_TEST_HOLD=after-frame` keeps every process up after the frame is
/// written until a child goes away or a signal ends the launcher, so tests can inspect
/// the process tree and interrupt it. Bounded, so a forgotten switch cannot hang forever.
pub const TEST_HOLD_ENV: &str = "ARMATURE_TEST_HOLD";

fn hold_if_asked(events: &crossbeam_channel::Receiver<Event>) {
    if std::env::var(TEST_HOLD_ENV).is_ok_and(|point| point == "after-frame") {
        eprintln!("armature: holding after the frame ({TEST_HOLD_ENV})");
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Ok(event) = events.recv_deadline(deadline) {
            if matches!(event, Event::Closed(_)) {
                return;
            }
        }
    }
}

/// Reports the page's own problems before any process starts.
pub fn check_page(page: &Path) -> Result<(), LauncherError> {
    let unreadable = |source| LauncherError::PageUnreadable { path: page.to_owned(), source };
    let metadata = std::fs::metadata(page).map_err(unreadable)?;
    if metadata.is_dir() {
        return Err(unreadable(std::io::Error::new(std::io::ErrorKind::IsADirectory, "it is a directory")));
    }
    std::fs::File::open(page).map(drop).map_err(unreadable)
}

/// The broker: creates the content↔GPU channels and hands one end to each process.
fn broker(
    gpu: &ChildProcess<LauncherToGpu, GpuToLauncher>,
    content: &ChildProcess<LauncherToContent, ContentToLauncher>,
    content_id: ContentId,
    page: &Path,
    viewport: DeviceIntSize,
) -> Result<(), LauncherError> {
    let ipc_error = |error: &dyn std::fmt::Display| LauncherError::Ipc(error.to_string());
    let (to_gpu, from_content) = ipc::channel::<ContentToGpu>().map_err(|e| ipc_error(&e))?;
    let (to_content, from_gpu) = ipc::channel::<GpuToContent>().map_err(|e| ipc_error(&e))?;
    gpu.sender
        .send(LauncherToGpu::ConnectContent {
            content: content_id,
            pid: content.pid,
            from_content,
            to_content,
        })
        .map_err(|e| ipc_error(&e))?;
    // Content resolves the page itself; give it an absolute path so its cwd never matters.
    let page: PathBuf = std::path::absolute(page).unwrap_or_else(|_| page.to_owned());
    content
        .sender
        .send(LauncherToContent::Start { content: content_id, page, viewport, to_gpu, from_gpu })
        .map_err(|e| ipc_error(&e))
}

fn died<T, F>(child: &mut ChildProcess<T, F>) -> LauncherError {
    let status = child.reap();
    LauncherError::ChildDied { role: child.role, pid: child.pid, status }
}
