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
                        renderer.release(connection.resources);
                    }
                }
                IpcSelectionResult::MessageReceived(id, message) if id == launcher_id => {
                    match message.to::<LauncherToGpu>() {
                        Ok(LauncherToGpu::Shutdown) => return Ok(()),
                        Ok(LauncherToGpu::ConnectContent {
                            content,
                            pid,
                            from_content,
                            to_content,
                            window: target,
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
                                },
                            );
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
                            renderer.release(connection.resources);
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
    to_launcher: &IpcSender<GpuToLauncher>,
    probe: &dyn armature_api::Probe,
) -> Result<(), String> {
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
