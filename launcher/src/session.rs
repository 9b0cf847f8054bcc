//! A browsing session: one GPU process serving content processes, one per page, as a
//! browser's process model has it. The launcher is the broker: it creates each content
//! process's channels to the GPU process and hands one end to each side.
//!
//! The launcher's main thread owns the children; one router thread per child turns its ipc
//! receiver into events on a single crossbeam channel, so the session sees every process
//! (and every death) in one place. Pages render concurrently (a content process each) and
//! the GPU process draws them as their display lists arrive.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use armature_api::messages::{
    AdapterSummary, ContentToGpu, ContentToLauncher, FramePixels, GpuToContent, GpuToLauncher,
    LauncherToContent, LauncherToGpu, ProcessRole,
};
use armature_api::{ContentId, ContentStageTimes, DeviceIntSize};
use ipc_channel::ipc::{self, IpcReceiver};
use serde::Deserialize;

use crate::error::LauncherError;
use crate::supervise::{self, ChildOptions, ChildProcess, PendingChild, SHUTDOWN_GRACE};

/// How long a page may take from its content process's launch to its frame.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(120);

type GpuChild = ChildProcess<LauncherToGpu, GpuToLauncher>;
type ContentChild = ChildProcess<LauncherToContent, ContentToLauncher>;

/// One page to render.
#[derive(Clone, Debug)]
pub struct PageJob {
    /// The page file.
    pub page: PathBuf,
    /// Its viewport in CSS pixels.
    pub viewport: DeviceIntSize,
}

/// A page rendered: its frame and what its content process said about it.
pub struct RenderedPage {
    /// The page file.
    pub page: PathBuf,
    /// The frame's pixels and GPU-side stats.
    pub frame: FramePixels,
    /// The page's `<title>`.
    pub title: Option<String>,
    /// Display items in the frame.
    pub display_items: usize,
    /// The content process's stage times.
    pub timings: ContentStageTimes,
    /// From the content process's launch to the frame.
    pub elapsed: Duration,
}

/// Something a child said, or its channel closing.
enum Event {
    Gpu(GpuToLauncher),
    Content(ContentId, ContentToLauncher),
    GpuClosed,
    ContentClosed(ContentId),
}

/// A page whose content process is running.
struct InFlight {
    job: usize,
    content: ContentChild,
    started: Instant,
    frame: Option<FramePixels>,
    loaded: Option<(Option<String>, usize, ContentStageTimes)>,
}

/// The GPU process, connected or still starting.
enum Gpu {
    Starting(PendingChild<LauncherToGpu, GpuToLauncher>),
    Connected(GpuChild),
    /// Connecting failed; the session cannot render.
    Gone,
}

/// A GPU process and the content processes it serves.
pub struct Session {
    options: ChildOptions,
    gpu: Gpu,
    events: crossbeam_channel::Receiver<Event>,
    events_sender: crossbeam_channel::Sender<Event>,
    next_content: u32,
    adapter: Option<AdapterSummary>,
    /// Content processes of pages still shown (see [`Session::render`]).
    open_pages: Vec<ContentChild>,
}

impl Session {
    /// Starts the GPU process; it opens its device while the first pages lay out.
    pub fn start(options: ChildOptions) -> Result<Session, LauncherError> {
        let gpu = supervise::spawn::<LauncherToGpu, GpuToLauncher>(ProcessRole::Gpu, options)?;
        let (events_sender, events) = crossbeam_channel::unbounded();
        Ok(Session {
            options,
            gpu: Gpu::Starting(gpu),
            events,
            events_sender,
            next_content: 1,
            adapter: None,
            open_pages: Vec::new(),
        })
    }

    /// Renders one page. Its content process stays up, as a shown page's does, until the
    /// session shuts down.
    pub fn render(&mut self, job: PageJob) -> Result<RenderedPage, LauncherError> {
        let mut results = self.render_jobs(&[job], 1, true)?;
        results.pop().unwrap_or_else(|| Err(LauncherError::Ipc("no result for the page".into())))
    }

    /// Renders pages with up to `parallel` content processes at once, each closed as soon as
    /// its frame is in. A page's own failure is its result; the outer error means the
    /// session itself broke (the GPU process).
    pub fn render_all(
        &mut self,
        jobs: &[PageJob],
        parallel: usize,
    ) -> Result<Vec<Result<RenderedPage, LauncherError>>, LauncherError> {
        self.render_jobs(jobs, parallel, false)
    }

    fn render_jobs(
        &mut self,
        jobs: &[PageJob],
        parallel: usize,
        keep_open: bool,
    ) -> Result<Vec<Result<RenderedPage, LauncherError>>, LauncherError> {
        let mut results: Vec<Option<Result<RenderedPage, LauncherError>>> =
            jobs.iter().map(|_| None).collect();
        let mut in_flight: HashMap<ContentId, InFlight> = HashMap::new();
        let mut next = 0;
        loop {
            while in_flight.len() < parallel.max(1) && next < jobs.len() {
                match self.launch(&jobs[next]) {
                    Ok((id, content)) => {
                        in_flight.insert(
                            id,
                            InFlight {
                                job: next,
                                content,
                                started: Instant::now(),
                                frame: None,
                                loaded: None,
                            },
                        );
                    }
                    Err(error) if error.is_session_fatal() => return Err(error),
                    Err(error) => results[next] = Some(Err(error)),
                }
                next += 1;
            }
            let Some(deadline) = in_flight.values().map(|flight| flight.started + FRAME_TIMEOUT).min() else {
                break;
            };
            let event = match self.events.recv_deadline(deadline) {
                Ok(event) => event,
                Err(_) => {
                    let now = Instant::now();
                    let late: Vec<ContentId> = in_flight
                        .iter()
                        .filter(|(_, flight)| flight.started + FRAME_TIMEOUT <= now)
                        .map(|(&id, _)| id)
                        .collect();
                    for id in late {
                        if let Some(flight) = in_flight.remove(&id) {
                            let page = jobs[flight.job].page.clone();
                            finish(
                                &mut results,
                                flight,
                                Err(LauncherError::FrameTimeout { page, timeout: FRAME_TIMEOUT }),
                            );
                        }
                    }
                    continue;
                }
            };
            let page_error =
                |id: ContentId, message: String, in_flight: &mut HashMap<ContentId, InFlight>| {
                    in_flight.remove(&id).map(|flight| {
                        let page = jobs[flight.job].page.clone();
                        (flight, Err(LauncherError::Page { page, message }))
                    })
                };
            match event {
                Event::Gpu(GpuToLauncher::Ready(adapter)) => {
                    if self.options.verbose {
                        eprintln!(
                            "armature: GPU adapter: {} (backend {}, type {}, driver {})",
                            adapter.name, adapter.backend, adapter.device_type, adapter.driver
                        );
                    }
                    self.adapter = Some(adapter);
                }
                Event::Gpu(GpuToLauncher::Fatal { message }) => return Err(LauncherError::Gpu(message)),
                Event::Gpu(GpuToLauncher::ContentError { content, message }) => {
                    if let Some((flight, result)) = page_error(content, message, &mut in_flight) {
                        finish(&mut results, flight, result);
                    }
                }
                Event::Gpu(GpuToLauncher::Frame(frame)) => {
                    if let Some(flight) = in_flight.get_mut(&frame.content) {
                        flight.frame = Some(frame);
                    }
                }
                Event::Content(id, ContentToLauncher::PageLoaded { title, display_items, timings }) => {
                    if let Some(flight) = in_flight.get_mut(&id) {
                        flight.loaded = Some((title, display_items, timings));
                    }
                }
                Event::Content(_, ContentToLauncher::LayoutDump(_)) => {}
                Event::Content(id, ContentToLauncher::Failed { message }) => {
                    if let Some((flight, result)) = page_error(id, message, &mut in_flight) {
                        finish(&mut results, flight, result);
                    }
                }
                Event::ContentClosed(id) => {
                    if let Some(mut flight) = in_flight.remove(&id) {
                        let status = flight.content.reap();
                        let error = LauncherError::ChildDied {
                            role: ProcessRole::Content,
                            pid: flight.content.pid,
                            status,
                        };
                        finish(&mut results, flight, Err(error));
                    }
                }
                Event::GpuClosed => return Err(self.gpu_died()),
            }
            // A page is done once both its frame and its content's report are in.
            let done: Vec<ContentId> = in_flight
                .iter()
                .filter(|(_, flight)| flight.frame.is_some() && flight.loaded.is_some())
                .map(|(&id, _)| id)
                .collect();
            for id in done {
                let Some(mut flight) = in_flight.remove(&id) else { continue };
                let (Some(frame), Some((title, display_items, timings))) =
                    (flight.frame.take(), flight.loaded.take())
                else {
                    continue;
                };
                let rendered = RenderedPage {
                    page: jobs[flight.job].page.clone(),
                    frame,
                    title,
                    display_items,
                    timings,
                    elapsed: flight.started.elapsed(),
                };
                if keep_open {
                    results[flight.job] = Some(Ok(rendered));
                    self.open_pages.push(flight.content);
                } else {
                    finish(&mut results, flight, Ok(rendered));
                }
            }
        }
        Ok(results
            .into_iter()
            .map(|result| {
                result.unwrap_or_else(|| Err(LauncherError::Ipc("a page was never rendered".into())))
            })
            .collect())
    }

    /// Waits, after the frames, until a child goes away or a signal ends the launcher
    /// (the `ARMATURE_TEST_HOLD=after-frame` test switch). Bounded.
    pub fn hold(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while let Ok(event) = self.events.recv_deadline(deadline) {
            if matches!(event, Event::GpuClosed | Event::ContentClosed(_)) {
                return;
            }
        }
    }

    /// Asks every process to exit and waits for them (killing any after a grace period).
    pub fn shutdown(mut self) {
        for content in &self.open_pages {
            let _ = content.sender.send(LauncherToContent::Shutdown);
        }
        for content in &mut self.open_pages {
            content.wait_or_kill(SHUTDOWN_GRACE);
        }
        if let Gpu::Connected(gpu) = &mut self.gpu {
            let _ = gpu.sender.send(LauncherToGpu::Shutdown);
            gpu.wait_or_kill(SHUTDOWN_GRACE);
        }
    }

    /// The GPU process, connecting to it on first use.
    fn gpu(&mut self) -> Result<&GpuChild, LauncherError> {
        // Left `Gone` if connecting fails.
        match std::mem::replace(&mut self.gpu, Gpu::Gone) {
            Gpu::Starting(pending) => {
                let mut gpu = pending.connect()?;
                if self.options.verbose {
                    eprintln!("armature: started gpu process (pid {})", gpu.pid);
                }
                if let Some(receiver) = gpu.receiver.take() {
                    let sender = self.events_sender.clone();
                    route(receiver, ProcessRole::Gpu, sender, Event::Gpu, Event::GpuClosed);
                }
                self.gpu = Gpu::Connected(gpu);
            }
            other => self.gpu = other,
        }
        match &self.gpu {
            Gpu::Connected(gpu) => Ok(gpu),
            _ => Err(LauncherError::Gpu("the GPU process is gone".into())),
        }
    }

    /// Starts a content process for a page and brokers its connection to the GPU process.
    fn launch(&mut self, job: &PageJob) -> Result<(ContentId, ContentChild), LauncherError> {
        check_page(&job.page)?;
        // Spawned before the GPU connection is awaited, so both start up at once.
        let pending =
            supervise::spawn::<LauncherToContent, ContentToLauncher>(ProcessRole::Content, self.options)?;
        self.gpu()?;
        let mut content = pending.connect()?;
        let id = ContentId(self.next_content);
        self.next_content += 1;
        if self.options.verbose {
            eprintln!("armature: started content process (pid {}) for '{}'", content.pid, job.page.display());
        }
        if let Some(receiver) = content.receiver.take() {
            let sender = self.events_sender.clone();
            route(
                receiver,
                ProcessRole::Content,
                sender,
                move |message| Event::Content(id, message),
                Event::ContentClosed(id),
            );
        }
        let gpu = self.gpu()?;
        broker(gpu, &content, id, &job.page, job.viewport)?;
        Ok((id, content))
    }

    fn gpu_died(&mut self) -> LauncherError {
        match std::mem::replace(&mut self.gpu, Gpu::Gone) {
            Gpu::Connected(mut gpu) => {
                let status = gpu.reap();
                LauncherError::ChildDied { role: ProcessRole::Gpu, pid: gpu.pid, status }
            }
            _ => LauncherError::Gpu("the GPU process is gone".into()),
        }
    }
}

/// Records a page's result and lets its content process go.
fn finish(
    results: &mut [Option<Result<RenderedPage, LauncherError>>],
    mut flight: InFlight,
    result: Result<RenderedPage, LauncherError>,
) {
    let _ = flight.content.sender.send(LauncherToContent::Shutdown);
    flight.content.wait_or_kill(SHUTDOWN_GRACE);
    results[flight.job] = Some(result);
}

/// Forwards a child's messages into the event channel until it closes.
fn route<T>(
    receiver: IpcReceiver<T>,
    role: ProcessRole,
    events: crossbeam_channel::Sender<Event>,
    wrap: impl Fn(T) -> Event + Send + 'static,
    closed: Event,
) where
    T: for<'de> Deserialize<'de> + serde::Serialize + Send + 'static,
{
    let spawned = thread::Builder::new().name(format!("router-{role}")).spawn(move || {
        while let Ok(message) = receiver.recv() {
            if events.send(wrap(message)).is_err() {
                return;
            }
        }
        let _ = events.send(closed);
    });
    if let Err(error) = spawned {
        tracing::error!("cannot start the {role} router thread: {error}");
    }
}

/// Reports the page's own problems before any process starts for it.
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
    gpu: &GpuChild,
    content: &ContentChild,
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
