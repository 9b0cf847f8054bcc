//! The GPU process's main loop (its main thread): opens the device, then serves the launcher
//! and every connected content process.
//!
//! ```text
//! launcher ── ipc ──► [launcher thread] ──┐
//! content 1 ─ ring ─► [stream thread 1] ──┼─► main thread: RemoteRenderingBackend per
//! content 2 ─ ring ─► [stream thread 2] ──┘   content, renderer, frames → launcher
//! ```
//! Each content process's stream is read on a thread of its own (it sleeps on the ring's
//! futex while the stream is empty) and its decoded items queue, bounded, for the main
//! thread, which owns the device. A full queue stops the stream thread, which stops freeing
//! ring space, which makes the content process wait: back-pressure end to end.
//!
//! Architecture invariant: nothing a content process sends can panic this process; a bad
//! item ends that content's stream with a named reason reported to the launcher
//! (`TerminateContent`), and the others are served on.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use armature_api::messages::{
    ContentToGpu, FramePixels, GpuToContent, GpuToLauncher, LauncherToGpu, StreamServerEnd, WindowTarget,
};
use armature_api::probe::annotation;
use armature_api::{ContentId, DisplayList, Epoch, ProbePoint, SharedProbe};
use armature_stream::StreamServer;
use crossbeam_channel::{Receiver, Select};
use ipc_channel::ipc::{IpcReceiver, IpcSender, IpcSharedMemory};

use crate::backend::RemoteRenderingBackend;
use crate::device::{DeviceError, GpuDevice};
use crate::renderer::Renderer;

/// Batches of decoded items a stream thread may queue ahead of the main thread (each at most
/// one read span of records, 16 KiB: a few hundred items).
const STREAM_QUEUE: usize = 16;
/// Room a new batch starts with: a read span of a canvas frame's mix (about 65 bytes a
/// record), so a typical batch fills it without growing.
const BATCH_ITEMS: usize = 256;
/// Replies that may wait for a content process to read them; more means it stopped reading.
const REPLY_QUEUE: usize = 16 * 1024;

/// Why the GPU process stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum GpuProcessError {
    /// No usable device.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// A thread could not be started.
    #[error("cannot start a GPU process thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// What a stream thread hands the main thread.
enum StreamEvent {
    /// The next items, in stream order: what the stream thread read at once (one channel
    /// message per batch, not per item).
    Items(Vec<ContentToGpu>),
    /// The stream broke a rule; nothing more comes.
    Violation(String),
    /// The content process is gone and everything it sent was read.
    Closed,
}

/// What the GPU process keeps per connected content process.
struct ContentConnection {
    pid: u32,
    /// Replies, sent on by a thread of their own so a content process that stops reading
    /// them can never block this one.
    replies: crossbeam_channel::Sender<GpuToContent>,
    backend: RemoteRenderingBackend,
    items: Receiver<StreamEvent>,
    /// Tells the stream thread to stop (the connection is dropped).
    stop: Arc<AtomicBool>,
    /// The last frames of its stream, for captures and crash reports.
    #[cfg(feature = "capture")]
    recorder: armature_capture::StreamRecorder,
}

impl Drop for ContentConnection {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Starts the thread that reads one content process's stream.
fn read_stream(
    content: ContentId,
    end: StreamServerEnd,
) -> Result<(ContentConnectionParts, Receiver<StreamEvent>), String> {
    let (mut server, replies) = StreamServer::accept(end).map_err(|error| error.to_string())?;
    let (events, items) = crossbeam_channel::bounded(STREAM_QUEUE);
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    std::thread::Builder::new()
        .name(format!("stream-{}", content.0))
        .spawn(move || {
            loop {
                let mut items = Vec::with_capacity(BATCH_ITEMS);
                let read = server.next_batch(&stopped, &mut items);
                // Items before a violation are the stream's too: they go first.
                if !items.is_empty() && events.send(StreamEvent::Items(items)).is_err() {
                    break;
                }
                let end = match read {
                    Ok(true) => continue,
                    Ok(false) => StreamEvent::Closed,
                    Err(violation) => StreamEvent::Violation(violation.to_string()),
                };
                let _ = events.send(end);
                break;
            }
            let stats = server.stats();
            tracing::debug!(target: "armature::gpu", "{content} stream ends after {} records ({} bytes, {} sleeps, {} wakeups)", stats.records, stats.bytes, stats.sleeps, stats.wakeups);
        })
        .map_err(|error| format!("cannot start its stream thread: {error}"))?;
    let (queued, outgoing) = crossbeam_channel::bounded::<GpuToContent>(REPLY_QUEUE);
    std::thread::Builder::new()
        .name(format!("replies-{}", content.0))
        .spawn(move || {
            for reply in outgoing {
                if replies.send(reply).is_err() {
                    return;
                }
            }
        })
        .map_err(|error| format!("cannot start its replies thread: {error}"))?;
    Ok((ContentConnectionParts { replies: queued, stop }, items))
}

struct ContentConnectionParts {
    replies: crossbeam_channel::Sender<GpuToContent>,
    stop: Arc<AtomicBool>,
}

/// Runs the GPU process until the launcher says `Shutdown` or goes away. `probe` hears
/// where the process is (annotations, frame points).
pub fn run(
    to_launcher: IpcSender<GpuToLauncher>,
    from_launcher: IpcReceiver<LauncherToGpu>,
    probe: SharedProbe,
) -> Result<(), GpuProcessError> {
    let device = match GpuDevice::open() {
        Ok(device) => device,
        Err(error) => {
            let _ = to_launcher.send(GpuToLauncher::Fatal { message: error.to_string() });
            return Err(error.into());
        }
    };
    tracing::info!(
        target: "armature::gpu",
        "adapter: {} ({}, {}, driver {})",
        device.summary.name, device.summary.backend, device.summary.device_type, device.summary.driver
    );
    let summary = device.summary.clone();
    probe.annotate(
        annotation::GPU_ADAPTER,
        &format!(
            "{} ({}, {}, driver {})",
            summary.name, summary.backend, summary.device_type, summary.driver
        ),
    );
    let mut renderer = Renderer::new(device);
    renderer.set_probe(probe.clone());
    if to_launcher.send(GpuToLauncher::Ready(summary)).is_err() {
        return Ok(());
    }
    probe.reached(ProbePoint::Startup);

    // The launcher's messages, on a thread of their own so one `Select` waits for everything.
    let (launcher_events, launcher) = crossbeam_channel::unbounded();
    std::thread::Builder::new().name("from-launcher".into()).spawn(move || {
        while let Ok(message) = from_launcher.recv() {
            if launcher_events.send(message).is_err() {
                return;
            }
        }
        // Dropping the sender tells the main loop: the lifeline broke.
    })?;

    let mut contents: HashMap<ContentId, ContentConnection> = HashMap::new();
    let mut window = AttachedWindow::default();
    let mut captures = Captures::default();
    loop {
        // Receivers are cheap handles: cloned so the select does not borrow `contents`.
        let streams: Vec<(ContentId, Receiver<StreamEvent>)> =
            contents.iter().map(|(id, connection)| (*id, connection.items.clone())).collect();
        let mut select = Select::new();
        select.recv(&launcher);
        for (_, items) in &streams {
            select.recv(items);
        }
        let operation = select.select();
        let index = operation.index();
        let mut from_launcher = Vec::new();
        let mut stream_event = None;
        if index == 0 {
            let Ok(message) = operation.recv(&launcher) else {
                // Lifeline: the launcher is gone, so is our reason to exist.
                return Ok(());
            };
            from_launcher.push(message);
        } else if let Some((content, items)) = streams.get(index - 1) {
            stream_event = Some((*content, operation.recv(items).unwrap_or(StreamEvent::Closed)));
            // The launcher's messages go first: one sent before what made this item (a
            // capture before the redraw it asked for) must not be overtaken by it.
            from_launcher.extend(launcher.try_iter());
        }
        for message in from_launcher {
            match message {
                LauncherToGpu::Shutdown => {
                    captures.finish(&to_launcher);
                    return Ok(());
                }
                LauncherToGpu::StartCapture(request) => captures.start(request, &mut renderer, &to_launcher),
                LauncherToGpu::SaveStreamCapture { content, dir } => {
                    captures.save_stream(content, contents.get(&content), dir, &to_launcher);
                }
                LauncherToGpu::ConnectContent { content, pid, stream, window: target, recording } => {
                    if let Some(target) = target
                        && let Err(message) = window.attach(&renderer, content, &target)
                    {
                        tracing::warn!(target: "armature::gpu", "cannot draw into the window: {message}");
                        let _ = to_launcher.send(GpuToLauncher::WindowFailed { message });
                    }
                    match read_stream(content, stream) {
                        Ok((parts, items)) => {
                            #[cfg(not(feature = "capture"))]
                            let _ = recording;
                            let connection = ContentConnection {
                                pid,
                                replies: parts.replies,
                                backend: RemoteRenderingBackend::new(content),
                                items,
                                stop: parts.stop,
                                #[cfg(feature = "capture")]
                                recorder: armature_capture::StreamRecorder::new(recording),
                            };
                            if let Some(old) = contents.insert(content, connection) {
                                release(old, &mut captures, &mut renderer);
                            }
                        }
                        Err(reason) => {
                            let _ =
                                to_launcher.send(GpuToLauncher::TerminateContent { content, pid, reason });
                        }
                    }
                }
            }
        }
        let Some((content, event)) = stream_event else { continue };
        let Some(connection) = contents.get_mut(&content) else { continue };
        let outcome = match event {
            StreamEvent::Items(commands) => commands.into_iter().try_for_each(|command| {
                handle_content_command(
                    connection,
                    command,
                    &mut renderer,
                    &mut window,
                    &mut captures,
                    &to_launcher,
                    &*probe,
                )
            }),
            StreamEvent::Violation(reason) => Err(reason),
            StreamEvent::Closed => {
                tracing::debug!(target: "armature::gpu", "{content} disconnected");
                if let Some(connection) = contents.remove(&content) {
                    release(connection, &mut captures, &mut renderer);
                }
                continue;
            }
        };
        if let Err(reason) = outcome {
            // Stop reading this content process; the launcher terminates it.
            let pid = connection.pid;
            tracing::warn!(target: "armature::gpu", "terminate content process {pid}: {reason}");
            if let Some(connection) = contents.remove(&content) {
                release(connection, &mut captures, &mut renderer);
            }
            let _ = to_launcher.send(GpuToLauncher::TerminateContent { content, pid, reason });
        }
    }
}

/// Lets a connection go: its recorder is kept for a crash report, its GPU memory freed.
fn release(connection: ContentConnection, captures: &mut Captures, renderer: &mut Renderer) {
    captures.departed(connection).release(renderer);
}

fn handle_content_command(
    connection: &mut ContentConnection,
    command: ContentToGpu,
    renderer: &mut Renderer,
    window: &mut AttachedWindow,
    captures: &mut Captures,
    to_launcher: &IpcSender<GpuToLauncher>,
    probe: &dyn armature_api::Probe,
) -> Result<(), String> {
    let capturing = captures.record(connection, &command);
    let applied = connection.backend.apply(renderer, command).map_err(|error| error.to_string())?;
    for created in applied.created {
        reply(connection, GpuToContent::ImageBufferCreated(created))?;
    }
    let Some(epoch) = applied.present else { return Ok(()) };
    let content = connection.backend.content();
    let Some((_, list)) = &connection.backend.display_list else { return Ok(()) };
    probe.annotate(annotation::CONTENT, &content.to_string());
    probe.annotate(annotation::EPOCH, &epoch.0.to_string());
    probe.annotate(annotation::ITEM_COUNT, &list.items.len().to_string());
    let (frame, windowed) = window
        .render(renderer, content, list, &connection.backend.resources, to_launcher)
        .map_err(|error| error.to_string())?;
    tracing::info!(
        target: "armature::gpu",
        "{} epoch {}: {}x{} in {} draw calls",
        content, epoch.0, frame.size.width, frame.size.height, frame.stats.draw_calls
    );
    captures.presented(capturing, connection, epoch, &frame, renderer, to_launcher);
    let pixels = FramePixels {
        content,
        epoch,
        size: frame.size,
        rgba: (!windowed).then(|| IpcSharedMemory::from_bytes(&frame.rgba)),
        stats: frame.stats,
    };
    if to_launcher.send(GpuToLauncher::Frame(pixels)).is_err() {
        return Ok(());
    }
    reply(connection, GpuToContent::Presented(epoch))
}

/// Queues a reply; a content process that lets thousands pile up has stopped reading.
fn reply(connection: &ContentConnection, reply: GpuToContent) -> Result<(), String> {
    match connection.replies.try_send(reply) {
        Ok(()) | Err(crossbeam_channel::TrySendError::Disconnected(_)) => Ok(()),
        Err(crossbeam_channel::TrySendError::Full(_)) => {
            Err(format!("it stopped reading the GPU process's replies ({REPLY_QUEUE} waiting)"))
        }
    }
}

/// Captures in progress, and the recorders of content processes that went away (a crash
/// report's stream capture is asked for after the content process is gone).
#[derive(Default)]
struct Captures {
    #[cfg(feature = "capture")]
    active: Vec<crate::capture::ActiveCapture>,
    #[cfg(feature = "capture")]
    departed: std::collections::VecDeque<(ContentId, armature_capture::StreamRecorder)>,
}

/// What a frame's captures need from before its `Present` was recorded.
#[cfg(feature = "capture")]
struct FrameCapturing {
    /// The frame's commands, `Present` last.
    commands: Vec<ContentToGpu>,
    /// Per active capture: the stream's state before this frame, if it needs it.
    earlier: Vec<Option<armature_capture::recorder::StreamState>>,
}

/// Without the `capture` feature there is nothing to carry.
#[cfg(not(feature = "capture"))]
struct FrameCapturing;

#[cfg(feature = "capture")]
impl Captures {
    /// Recorders kept of content processes that went away.
    const DEPARTED: usize = 8;

    fn start(
        &mut self,
        request: armature_api::messages::CaptureRequest,
        renderer: &mut Renderer,
        to_launcher: &IpcSender<GpuToLauncher>,
    ) {
        match crate::capture::ActiveCapture::start(&request) {
            Ok(capture) => {
                tracing::info!(target: "armature::gpu", "capturing {} into {}", request.levels, request.dir.display());
                self.active.push(capture);
                renderer.keep_frame_details(self.active.iter().any(|capture| capture.wants_details()));
                let _ = to_launcher.send(GpuToLauncher::CaptureStarted { dir: request.dir });
            }
            Err(error) => {
                let _ = to_launcher
                    .send(GpuToLauncher::CaptureFailed { dir: request.dir, message: error.to_string() });
            }
        }
    }

    fn save_stream(
        &mut self,
        content: ContentId,
        live: Option<&ContentConnection>,
        dir: std::path::PathBuf,
        to_launcher: &IpcSender<GpuToLauncher>,
    ) {
        let recorder = live.map(|connection| &connection.recorder).or_else(|| {
            self.departed
                .iter()
                .rev()
                .find(|(departed, _)| *departed == content)
                .map(|(_, recorder)| recorder)
        });
        let result = match recorder {
            Some(recorder) => armature_capture::CaptureWriter::create(
                &dir,
                armature_api::capture::Levels::default().with(armature_api::capture::Level::Stream),
            )
            .and_then(|mut writer| writer.write_recording(content, recorder))
            .map_err(|error| error.to_string()),
            None => Err(format!("no stream of {content} was recorded")),
        };
        let _ = to_launcher.send(match result {
            Ok(frames) => GpuToLauncher::CaptureDone { dir, frames: frames as u32 },
            Err(message) => GpuToLauncher::CaptureFailed { dir, message },
        });
    }

    /// Keeps a departing connection's recorder; returns its resources to release.
    fn departed(&mut self, mut connection: ContentConnection) -> RemoteRenderingBackend {
        if self.departed.len() == Self::DEPARTED {
            self.departed.pop_front();
        }
        let recorder = std::mem::replace(
            &mut connection.recorder,
            armature_capture::StreamRecorder::new(armature_api::capture::StreamRecording::OFF),
        );
        self.departed.push_back((connection.backend.content(), recorder));
        take_backend(connection)
    }

    /// Every capture still running is complete (the GPU process is shutting down).
    fn finish(&mut self, to_launcher: &IpcSender<GpuToLauncher>) {
        for capture in self.active.drain(..) {
            let _ = to_launcher
                .send(GpuToLauncher::CaptureDone { dir: capture.dir().to_owned(), frames: capture.frames() });
        }
    }

    /// Records a command of `connection`'s stream; for a `Present` while capturing, returns
    /// what its captures need from before it.
    fn record(
        &mut self,
        connection: &mut ContentConnection,
        command: &ContentToGpu,
    ) -> Option<FrameCapturing> {
        let capturing = (matches!(command, ContentToGpu::Present(_)) && !self.active.is_empty()).then(|| {
            let mut commands = connection.recorder.pending().to_vec();
            commands.push(command.clone());
            let earlier = self
                .active
                .iter()
                .map(|capture| {
                    capture
                        .needs_earlier_stream(connection.backend.content())
                        .then(|| connection.recorder.presented())
                })
                .collect();
            FrameCapturing { commands, earlier }
        });
        connection.recorder.record(command);
        capturing
    }

    /// Writes a presented frame into every capture running; a one-frame capture is then done.
    fn presented(
        &mut self,
        capturing: Option<FrameCapturing>,
        connection: &ContentConnection,
        epoch: Epoch,
        rendered: &crate::renderer::RenderedFrame,
        renderer: &mut Renderer,
        to_launcher: &IpcSender<GpuToLauncher>,
    ) {
        let (Some(capturing), Some((_, list))) = (capturing, &connection.backend.display_list) else {
            return;
        };
        let mut index = 0;
        self.active.retain_mut(|capture| {
            let frame = crate::capture::PresentedFrame {
                content: connection.backend.content(),
                epoch,
                list,
                resources: &connection.backend.resources,
                rendered,
                commands: &capturing.commands,
                earlier: capturing.earlier.get(index).and_then(Option::as_ref),
            };
            index += 1;
            match crate::capture::write_frame(capture, renderer, &connection.recorder, frame) {
                Ok(number) if capture.is_one_frame() => {
                    tracing::info!(target: "armature::gpu", "captured frame {} into {}", number.0, capture.dir().display());
                    let _ = to_launcher.send(GpuToLauncher::CaptureDone { dir: capture.dir().to_owned(), frames: capture.frames() });
                    false
                }
                Ok(_) => true,
                Err(error) => {
                    let _ = to_launcher.send(GpuToLauncher::CaptureFailed { dir: capture.dir().to_owned(), message: error.to_string() });
                    false
                }
            }
        });
        renderer.keep_frame_details(self.active.iter().any(|capture| capture.wants_details()));
    }
}

#[cfg(not(feature = "capture"))]
impl Captures {
    const UNSUPPORTED: &str = "this GPU process was built without the `capture` feature";

    fn start(
        &mut self,
        request: armature_api::messages::CaptureRequest,
        _: &mut Renderer,
        to_launcher: &IpcSender<GpuToLauncher>,
    ) {
        let _ = to_launcher
            .send(GpuToLauncher::CaptureFailed { dir: request.dir, message: Self::UNSUPPORTED.into() });
    }

    fn save_stream(
        &mut self,
        _: ContentId,
        _: Option<&ContentConnection>,
        dir: std::path::PathBuf,
        to_launcher: &IpcSender<GpuToLauncher>,
    ) {
        let _ = to_launcher.send(GpuToLauncher::CaptureFailed { dir, message: Self::UNSUPPORTED.into() });
    }

    fn departed(&mut self, connection: ContentConnection) -> RemoteRenderingBackend {
        take_backend(connection)
    }

    fn finish(&mut self, _: &IpcSender<GpuToLauncher>) {}

    fn record(&mut self, _: &mut ContentConnection, _: &ContentToGpu) -> Option<FrameCapturing> {
        None
    }

    fn presented(
        &mut self,
        _: Option<FrameCapturing>,
        _: &ContentConnection,
        _: Epoch,
        _: &crate::renderer::RenderedFrame,
        _: &mut Renderer,
        _: &IpcSender<GpuToLauncher>,
    ) {
    }
}

/// The backend out of a connection that is going away.
fn take_backend(mut connection: ContentConnection) -> RemoteRenderingBackend {
    let content = connection.backend.content();
    std::mem::replace(&mut connection.backend, RemoteRenderingBackend::new(content))
}

/// The window one content process's frames go to, in window mode.
#[derive(Default)]
struct AttachedWindow {
    #[cfg(feature = "window")]
    attached: Option<(ContentId, crate::window::WindowPresenter)>,
}

impl AttachedWindow {
    /// Opens the launcher's window for `content`'s frames.
    fn attach(
        &mut self,
        renderer: &Renderer,
        content: ContentId,
        target: &WindowTarget,
    ) -> Result<(), String> {
        #[cfg(feature = "window")]
        {
            // The old surface goes before a new one is made on the same window.
            self.attached = None;
            let presenter = crate::window::WindowPresenter::open(renderer.gpu(), target)
                .map_err(|error| error.to_string())?;
            tracing::info!(target: "armature::gpu", "drawing {content} into {target:?}");
            self.attached = Some((content, presenter));
            Ok(())
        }
        #[cfg(not(feature = "window"))]
        {
            let _ = (renderer, content, target);
            Err("this GPU process was built without the `window` feature".into())
        }
    }

    /// Renders a frame of `content`: into the window if it is attached to it, else read back.
    /// Returns whether it went to the window. A window that stops working is detached (the
    /// launcher hears `WindowFailed`) and the frame is read back instead.
    fn render(
        &mut self,
        renderer: &mut Renderer,
        content: ContentId,
        list: &DisplayList,
        resources: &crate::resources::ContentResources,
        to_launcher: &IpcSender<GpuToLauncher>,
    ) -> Result<(crate::renderer::RenderedFrame, bool), crate::renderer::RenderError> {
        #[cfg(feature = "window")]
        if let Some((attached, presenter)) = &mut self.attached
            && *attached == content
        {
            match renderer.present(list, resources, presenter) {
                Ok(frame) => return Ok((frame, true)),
                Err(crate::renderer::RenderError::Window(error)) => {
                    tracing::warn!(target: "armature::gpu", "window presentation failed: {error}");
                    self.attached = None;
                    let _ = to_launcher.send(GpuToLauncher::WindowFailed { message: error.to_string() });
                }
                Err(error) => return Err(error),
            }
        }
        let _ = (content, to_launcher);
        Ok((renderer.render(list, resources)?, false))
    }
}
