//! The GPU process's main loop (its main thread): opens the device, then serves the launcher
//! and every connected content process from one `IpcReceiverSet`.
//!
//! Architecture invariant: nothing a content process sends can panic this process; a bad
//! message ends that content's connection with a named reason reported to the launcher.

use std::collections::HashMap;

use armature_api::messages::{
    ContentToGpu, FramePixels, GpuToContent, GpuToLauncher, LauncherToGpu, WindowTarget,
};
use armature_api::probe::annotation;
use armature_api::{ContentId, DisplayList, Epoch, ProbePoint, SharedProbe};
use ipc_channel::ipc::{IpcReceiver, IpcReceiverSet, IpcSelectionResult, IpcSender, IpcSharedMemory};

use crate::device::{DeviceError, GpuDevice};
use crate::renderer::Renderer;
use crate::resources::ContentResources;

/// Why the GPU process stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum GpuProcessError {
    /// No usable device.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The receiver set failed (an OS error on the ipc sockets).
    #[error("ipc failure in the GPU process: {0}")]
    Ipc(#[from] std::io::Error),
}

/// What the GPU process keeps per connected content process.
struct ContentConnection {
    content: ContentId,
    pid: u32,
    to_content: IpcSender<GpuToContent>,
    resources: ContentResources,
    display_list: Option<(Epoch, DisplayList)>,
    /// The last frames of its stream, for captures and crash reports.
    #[cfg(feature = "capture")]
    recorder: armature_capture::StreamRecorder,
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

    let mut receivers = IpcReceiverSet::new()?;
    let launcher_id = receivers.add(from_launcher)?;
    let mut contents: HashMap<u64, ContentConnection> = HashMap::new();
    let mut window = AttachedWindow::default();
    let mut captures = Captures::default();
    loop {
        for event in receivers.select()? {
            match event {
                IpcSelectionResult::ChannelClosed(id) if id == launcher_id => {
                    // Lifeline: the launcher is gone, so is our reason to exist.
                    return Ok(());
                }
                IpcSelectionResult::ChannelClosed(id) => {
                    if let Some(connection) = contents.remove(&id) {
                        tracing::debug!(target: "armature::gpu", "{} disconnected", connection.content);
                        let resources = captures.departed(connection);
                        renderer.release(resources);
                    }
                }
                IpcSelectionResult::MessageReceived(id, message) if id == launcher_id => {
                    match message.to::<LauncherToGpu>() {
                        Ok(LauncherToGpu::Shutdown) => {
                            captures.finish(&to_launcher);
                            return Ok(());
                        }
                        Ok(LauncherToGpu::StartCapture(request)) => {
                            captures.start(request, &mut renderer, &to_launcher);
                        }
                        Ok(LauncherToGpu::SaveStreamCapture { content, dir }) => {
                            let live = contents.values().find(|connection| connection.content == content);
                            captures.save_stream(content, live, dir, &to_launcher);
                        }
                        Ok(LauncherToGpu::ConnectContent {
                            content,
                            pid,
                            from_content,
                            to_content,
                            window: target,
                            recording,
                        }) => {
                            if let Some(target) = target
                                && let Err(message) = window.attach(&renderer, content, &target)
                            {
                                tracing::warn!(target: "armature::gpu", "cannot draw into the window: {message}");
                                let _ = to_launcher.send(GpuToLauncher::WindowFailed { message });
                            }
                            let id = receivers.add(from_content)?;
                            contents.insert(
                                id,
                                ContentConnection {
                                    content,
                                    pid,
                                    to_content,
                                    resources: ContentResources::default(),
                                    display_list: None,
                                    #[cfg(feature = "capture")]
                                    recorder: armature_capture::StreamRecorder::new(recording),
                                },
                            );
                            #[cfg(not(feature = "capture"))]
                            let _ = recording;
                        }
                        Err(error) => {
                            tracing::error!(target: "armature::gpu", "bad launcher message: {error}")
                        }
                    }
                }
                IpcSelectionResult::MessageReceived(id, message) => {
                    let Some(connection) = contents.get_mut(&id) else { continue };
                    let outcome = match message.to::<ContentToGpu>() {
                        Ok(command) => handle_content_command(
                            connection,
                            command,
                            &mut renderer,
                            &mut window,
                            &mut captures,
                            &to_launcher,
                            &*probe,
                        ),
                        Err(error) => Err(format!("undecodable message: {error}")),
                    };
                    if let Err(reason) = outcome {
                        // Stop reading this content process; the launcher decides its fate.
                        let content = connection.content;
                        tracing::warn!(target: "armature::gpu", "terminate content process {}: {reason}", connection.pid);
                        if let Some(connection) = contents.remove(&id) {
                            let resources = captures.departed(connection);
                            renderer.release(resources);
                        }
                        let _ = to_launcher.send(GpuToLauncher::ContentError { content, message: reason });
                    }
                }
            }
        }
    }
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
    match command {
        ContentToGpu::UpdateResources(updates) => {
            let namespace = connection.content.namespace();
            for update in updates {
                renderer
                    .update_resources(&mut connection.resources, update, namespace)
                    .map_err(|error| error.to_string())?;
            }
        }
        ContentToGpu::SetDisplayList(epoch, list) => connection.display_list = Some((epoch, list)),
        ContentToGpu::Present(epoch) => {
            let Some((list_epoch, list)) = &connection.display_list else {
                return Err(format!("present of epoch {} before any display list", epoch.0));
            };
            if *list_epoch != epoch {
                return Err(format!(
                    "present of epoch {} but the display list is epoch {}",
                    epoch.0, list_epoch.0
                ));
            }
            probe.annotate(annotation::CONTENT, &connection.content.to_string());
            probe.annotate(annotation::EPOCH, &epoch.0.to_string());
            probe.annotate(annotation::ITEM_COUNT, &list.items.len().to_string());
            let (frame, windowed) = window
                .render(renderer, connection.content, list, &connection.resources, to_launcher)
                .map_err(|error| error.to_string())?;
            tracing::info!(
                target: "armature::gpu",
                "{} epoch {}: {}x{} in {} draw calls",
                connection.content, epoch.0, frame.size.width, frame.size.height, frame.stats.draw_calls
            );
            captures.presented(capturing, connection, epoch, &frame, renderer, to_launcher);
            let pixels = FramePixels {
                content: connection.content,
                epoch,
                size: frame.size,
                rgba: (!windowed).then(|| IpcSharedMemory::from_bytes(&frame.rgba)),
                stats: frame.stats,
            };
            if to_launcher.send(GpuToLauncher::Frame(pixels)).is_err() {
                return Ok(());
            }
            // A content process that stopped listening is not an error of ours.
            let _ = connection.to_content.send(GpuToContent::Presented(epoch));
        }
    }
    Ok(())
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
    fn departed(&mut self, connection: ContentConnection) -> ContentResources {
        if self.departed.len() == Self::DEPARTED {
            self.departed.pop_front();
        }
        self.departed.push_back((connection.content, connection.recorder));
        connection.resources
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
                    capture.needs_earlier_stream(connection.content).then(|| connection.recorder.presented())
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
        let (Some(capturing), Some((_, list))) = (capturing, &connection.display_list) else { return };
        let mut index = 0;
        self.active.retain_mut(|capture| {
            let frame = crate::capture::PresentedFrame {
                content: connection.content,
                epoch,
                list,
                resources: &connection.resources,
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

    fn departed(&mut self, connection: ContentConnection) -> ContentResources {
        connection.resources
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
