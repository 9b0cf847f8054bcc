//! A browsing session: one GPU process serving content processes, one per page, as a
//! browser's process model has it. The launcher is the broker: it creates each content
//! process's channels to the GPU process and hands one end to each side.
//!
//! The launcher's main thread owns the children; one router thread per child turns its ipc
//! receiver into events on a single crossbeam channel, so the session sees every process
//! (and every death) in one place. Pages render concurrently (a content process each) and
//! the GPU process draws them as their display lists arrive.
//!
//! Crash policy (the launcher is the crash monitor's host): a GPU process that dies is
//! relaunched, at most [`SessionOptions::gpu_crash_limit`] times within
//! [`GPU_CRASH_WINDOW`], and every content process still showing a page gets channels to
//! the new one and sends its page again. A content process that dies is its page's error,
//! naming its crash report.

use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use armature_api::capture::{Levels, StreamRecording};
use armature_api::messages::{
    AdapterSummary, CaptureRequest, CaptureScope, ContentToLauncher, FramePixels, GpuToContent,
    GpuToLauncher, LauncherToContent, LauncherToGpu, OutOfLineItem, ProcessRole, StreamClientEnd,
    StreamServerEnd, WindowTarget,
};
use armature_api::{ContentId, ContentStageTimes, Viewport};
use ipc_channel::ipc::{self, IpcSender};

use crate::error::LauncherError;
use crate::supervise::{self, ChildOptions, ChildProcess, PendingChild, SHUTDOWN_GRACE};

/// How long a page may take from its content process's launch to its frame.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(120);

/// GPU process crashes within this long count towards the relaunch limit.
pub const GPU_CRASH_WINDOW: Duration = Duration::from_secs(10 * 60);

/// How a session runs its children.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// `--verbose`.
    pub verbose: bool,
    /// GPU process crashes relaunched within [`GPU_CRASH_WINDOW`]; one more ends the session.
    pub gpu_crash_limit: u32,
    /// Where crash reports go, and the `--crash-test` switch.
    #[cfg(feature = "crash")]
    pub crash: CrashSettings,
    /// Captures: of the whole run, on SIGUSR2, and of each stream for crash reports.
    pub capture: CaptureSettings,
    /// How content processes run page scripts (`--debug-port`, `--script-timeout`).
    pub scripts: armature_api::messages::ScriptOptions,
}

/// What a session captures.
#[derive(Clone, Debug)]
pub struct CaptureSettings {
    /// `--capture DIR`: every frame of the run.
    pub run: Option<CaptureRequest>,
    /// Levels of a SIGUSR2 capture.
    pub levels: Levels,
    /// Where SIGUSR2 captures go (numbered directories inside).
    pub signal_dir: PathBuf,
    /// How much of each stream both its ends keep for crash reports.
    pub recording: StreamRecording,
}

impl Default for CaptureSettings {
    fn default() -> CaptureSettings {
        // A crash report's stream capture needs both crash reports and captures.
        let recording = if cfg!(all(feature = "crash", feature = "capture")) {
            StreamRecording::default()
        } else {
            StreamRecording::OFF
        };
        CaptureSettings {
            run: None,
            levels: Levels::ALL,
            signal_dir: PathBuf::from("armature-captures"),
            recording,
        }
    }
}

/// Crash reporting for a session.
#[cfg(feature = "crash")]
#[derive(Clone, Debug)]
pub struct CrashSettings {
    /// The reports directory.
    pub reports: PathBuf,
    /// Whether the user named it (`--crash-reports`): then a directory that cannot be used
    /// is an error; the default one only costs crash reporting, with a warning.
    pub explicit: bool,
    /// Which children to crash, for tests.
    pub test: Option<crate::crash::CrashTest>,
}

impl SessionOptions {
    /// The defaults: 3 GPU crashes relaunched, reports in the default directory.
    pub fn new(verbose: bool) -> SessionOptions {
        SessionOptions {
            verbose,
            gpu_crash_limit: 3,
            #[cfg(feature = "crash")]
            crash: CrashSettings { reports: crate::crash::reports_dir(None), explicit: false, test: None },
            capture: CaptureSettings::default(),
            scripts: armature_api::messages::ScriptOptions::default(),
        }
    }
}

type GpuChild = ChildProcess<LauncherToGpu, GpuToLauncher>;
type ContentChild = ChildProcess<LauncherToContent, ContentToLauncher>;

/// One page to render.
#[derive(Clone, Debug)]
pub struct PageJob {
    /// The page file.
    pub page: PathBuf,
    /// Its viewport: device pixels, and their ratio to CSS pixels.
    pub viewport: Viewport,
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

#[cfg(feature = "window")]
/// What the user did to the window (window mode).
#[derive(Debug)]
pub enum WindowCommand {
    /// The window's new inner size or device pixel ratio: lay the page out again.
    Resize(Viewport),
    /// Wheel or keys, aimed at a viewport point (CSS px): see `LauncherToContent::Scroll`.
    Scroll {
        /// How far.
        by: armature_api::messages::ScrollBy,
        /// Where.
        at: Option<armature_api::LayoutPoint>,
    },
    /// The window lost its pixels (exposed): draw the frame again.
    Redraw,
    /// The window was closed: end the session.
    Close,
}

#[cfg(feature = "window")]
/// What a window-mode session tells the window.
pub enum WindowUpdate {
    /// A frame: drawn into the window already, or pixels for the launcher to present.
    Frame(FramePixels),
    /// The shown page's `<title>`.
    Title(Option<String>),
}

#[cfg(feature = "window")]
/// Error pages written for crashed pages, removed with the session.
#[derive(Default)]
struct ErrorPages {
    directory: Option<tempfile::TempDir>,
    shown: std::collections::HashSet<ContentId>,
}

#[cfg(feature = "window")]
impl ErrorPages {
    /// Writes an error page about `page`'s `error` and returns its path.
    fn write(&mut self, page: &Path, error: &LauncherError) -> Result<PathBuf, LauncherError> {
        let failed =
            |source: std::io::Error| LauncherError::Window(format!("cannot write an error page: {source}"));
        let directory = match &self.directory {
            Some(directory) => directory,
            None => self
                .directory
                .insert(tempfile::Builder::new().prefix("armature-error-").tempdir().map_err(failed)?),
        };
        let path = directory.path().join(format!("error-{}.html", self.shown.len() + 1));
        std::fs::write(&path, error_page_html(page, error)).map_err(failed)?;
        Ok(path)
    }
}

#[cfg(feature = "window")]
/// The HTML of an error page (Chromium's "Aw, Snap!", Firefox's "Gah. Your tab just crashed.").
fn error_page_html(page: &Path, error: &LauncherError) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
    };
    let heading = match error {
        LauncherError::ContentCrashed { .. } | LauncherError::ChildDied { .. } => "This page crashed",
        _ => "This page could not be shown",
    };
    format!(
        "<!DOCTYPE html>\n<html><head><title>{heading}</title><style>\n\
         body {{ background: #f2f2f2; color: #202124; font-family: sans-serif; margin: 48px; }}\n\
         h1 {{ font-size: 28px; color: #b3261e; }}\n\
         p {{ font-size: 16px; line-height: 1.5; }}\n\
         .detail {{ background: #ffffff; border: 1px solid #cccccc; padding: 12px; font-family: monospace; font-size: 13px; }}\n\
         </style></head><body>\n<h1>{heading}</h1>\n<p>{page}</p>\n<p class=\"detail\">{detail}</p>\n\
         <p>Close the window and run Armature again; the crash report above has the details.</p>\n</body></html>\n",
        page = escape(&page.display().to_string()),
        detail = escape(&error.to_string()),
    )
}

/// Something a child said, or its channel closing. GPU events carry the generation of the
/// GPU process they came from (it changes at each relaunch).
enum Event {
    Gpu(u32, GpuToLauncher),
    Content(ContentId, ContentToLauncher),
    GpuClosed(u32),
    ContentClosed(ContentId),
    /// SIGUSR2: capture the next frame.
    CaptureSignal,
}

/// Who survives a crash and holds the crashed stream's recording: the GPU process (for a
/// content process's stream), or content processes (for the streams to a crashed GPU).
/// Without crash reports nobody is asked.
#[cfg_attr(not(feature = "crash"), allow(dead_code))]
enum Survivors<'a> {
    Gpu(ContentId),
    Contents(&'a [(ContentId, u32, IpcSender<LauncherToContent>)]),
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
    options: SessionOptions,
    /// The page's script debugger has come and gone (it may before the first frame).
    debugger_detached: bool,
    /// The SIGUSR2 capture asked of the GPU process and not yet started: pages draw again
    /// once it has.
    signal_capture: Option<PathBuf>,
    gpu: Gpu,
    /// Which GPU process this is: 1 for the first, +1 per relaunch.
    gpu_generation: u32,
    /// GPU processes that connected so far (one that died before it connected is not one).
    gpus_connected: u32,
    /// Content processes started so far.
    content_launches: u32,
    /// When the GPU process crashed, within the window.
    gpu_crashes: Vec<Instant>,
    events: crossbeam_channel::Receiver<Event>,
    events_sender: crossbeam_channel::Sender<Event>,
    next_content: u32,
    adapter: Option<AdapterSummary>,
    /// Content processes of pages still shown (see [`Session::render`]).
    open_pages: Vec<(ContentId, ContentChild)>,
    /// Window mode: the window every content process's frames are drawn into.
    window: Option<WindowTarget>,
    /// The page file of every content process launched.
    pages: HashMap<ContentId, PathBuf>,
    /// The crash monitor children report to. Declared last: dropped after the children.
    #[cfg(feature = "crash")]
    monitor: Option<armature_crash::CrashMonitor>,
}

impl Session {
    /// Starts the crash monitor and the GPU process; the GPU process opens its device while
    /// the first pages lay out.
    pub fn start(options: SessionOptions) -> Result<Session, LauncherError> {
        let (events_sender, events) = crossbeam_channel::unbounded();
        let mut session = Session {
            debugger_detached: false,
            signal_capture: None,
            options,
            gpu: Gpu::Gone,
            gpu_generation: 0,
            gpus_connected: 0,
            content_launches: 0,
            gpu_crashes: Vec::new(),
            events,
            events_sender,
            next_content: 1,
            adapter: None,
            open_pages: Vec::new(),
            window: None,
            pages: HashMap::new(),
            #[cfg(feature = "crash")]
            monitor: None,
        };
        #[cfg(feature = "crash")]
        {
            match crate::crash::start_monitor(&session.options.crash.reports) {
                Ok(monitor) => session.monitor = Some(monitor),
                Err(error) if !session.options.crash.explicit => {
                    eprintln!("armature: warning: crash reporting is off: {error}");
                }
                Err(error) => return Err(error),
            }
        }
        session.spawn_gpu()?;
        if cfg!(feature = "capture") {
            session.listen_for_capture_signal()?;
        }
        Ok(session)
    }

    /// SIGUSR2 captures the next frame (WebRender's capture hotkey, for a process with no
    /// keyboard).
    fn listen_for_capture_signal(&self) -> Result<(), LauncherError> {
        let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGUSR2])
            .map_err(LauncherError::Signals)?;
        let events = self.events_sender.clone();
        std::thread::Builder::new()
            .name("capture-signal".into())
            .spawn(move || {
                for _ in signals.forever() {
                    if events.send(Event::CaptureSignal).is_err() {
                        return;
                    }
                }
            })
            .map_err(LauncherError::Signals)?;
        Ok(())
    }

    /// Handles what captures say and SIGUSR2; any other event is given back.
    fn capture_event(&mut self, event: Event) -> Option<Event> {
        match event {
            Event::Content(_, ContentToLauncher::DebuggerListening { addr }) => {
                eprintln!("armature: debugger (DAP) listening on {addr}; see docs/guides/debugger.md");
                None
            }
            Event::Content(_, ContentToLauncher::DebuggerDetached) => {
                self.debugger_detached = true;
                None
            }
            Event::CaptureSignal => {
                match next_numbered_dir(&self.options.capture.signal_dir) {
                    Ok(dir) => {
                        let request = CaptureRequest {
                            dir,
                            levels: self.options.capture.levels,
                            scope: CaptureScope::NextFrame,
                        };
                        eprintln!(
                            "armature: SIGUSR2: capturing the next frame into {}",
                            request.dir.display()
                        );
                        if let Gpu::Connected(gpu) = &self.gpu {
                            self.signal_capture = Some(request.dir.clone());
                            let _ = gpu.sender.send(LauncherToGpu::StartCapture(request));
                        }
                    }
                    Err(error) => eprintln!("armature: warning: SIGUSR2 capture: {error}"),
                }
                None
            }
            Event::Gpu(_, GpuToLauncher::CaptureStarted { dir }) => {
                // Shown pages draw again, so there is a next frame to capture; only now, so
                // that frame cannot overtake the request on its way to the GPU process.
                if self.signal_capture.as_ref() == Some(&dir) {
                    self.signal_capture = None;
                    for (_, content) in &self.open_pages {
                        let _ = content.sender.send(LauncherToContent::Redraw);
                    }
                }
                None
            }
            Event::Gpu(_, GpuToLauncher::CaptureDone { dir, frames })
            | Event::Content(_, ContentToLauncher::CaptureDone { dir, frames }) => {
                eprintln!(
                    "armature: captured {frames} frame(s) into {} (armature replay {0})",
                    dir.display()
                );
                None
            }
            Event::Gpu(_, GpuToLauncher::CaptureFailed { dir, message })
            | Event::Content(_, ContentToLauncher::CaptureFailed { dir, message }) => {
                eprintln!("armature: warning: capture into {} failed: {message}", dir.display());
                None
            }
            other => Some(other),
        }
    }

    /// What a child of `role` is started with; `launch` counts that role's processes from 0.
    fn child_options(&self, role: ProcessRole, launch: u32) -> ChildOptions {
        #[cfg(feature = "crash")]
        return ChildOptions {
            verbose: self.options.verbose,
            crash_server: self.monitor.as_ref().map(|monitor| monitor.socket_name().to_owned()),
            crash_test: self.options.crash.test.and_then(|test| test.point_for(role, launch)),
        };
        #[cfg(not(feature = "crash"))]
        {
            let _ = (role, launch);
            ChildOptions { verbose: self.options.verbose, ..ChildOptions::default() }
        }
    }

    /// Starts a GPU process (the first, or a relaunch); it connects on first use.
    fn spawn_gpu(&mut self) -> Result<(), LauncherError> {
        let options = self.child_options(ProcessRole::Gpu, self.gpu_generation);
        let pending = supervise::spawn::<LauncherToGpu, GpuToLauncher>(ProcessRole::Gpu, options)?;
        self.gpu = Gpu::Starting(pending);
        self.gpu_generation += 1;
        Ok(())
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
            let Some(event) = self.capture_event(event) else { continue };
            let page_error =
                |id: ContentId, message: String, in_flight: &mut HashMap<ContentId, InFlight>| {
                    in_flight.remove(&id).map(|flight| {
                        let page = jobs[flight.job].page.clone();
                        (flight, Err(LauncherError::Page { page, message }))
                    })
                };
            match event {
                Event::Gpu(_, GpuToLauncher::Ready(adapter)) => {
                    self.adapter = Some(adapter);
                }
                Event::Gpu(generation, GpuToLauncher::Fatal { message })
                    if generation == self.gpu_generation =>
                {
                    return Err(LauncherError::Gpu(message));
                }
                Event::Gpu(_, GpuToLauncher::Fatal { .. }) => {}
                Event::Gpu(_, GpuToLauncher::TerminateContent { content, pid, reason }) => {
                    if let Some(mut flight) = in_flight.remove(&content) {
                        // It broke the stream's rules: no grace, it is killed at once.
                        flight.content.wait_or_kill(Duration::ZERO);
                        let page = jobs[flight.job].page.clone();
                        results[flight.job] =
                            Some(Err(LauncherError::ContentTerminated { page, pid, reason }));
                    }
                }
                Event::Gpu(_, GpuToLauncher::WindowFailed { message }) => window_failed(&message),
                Event::Gpu(_, GpuToLauncher::Frame(frame)) => {
                    if let Some(flight) = in_flight.get_mut(&frame.content) {
                        flight.frame = Some(frame);
                    }
                }
                Event::Content(id, ContentToLauncher::PageLoaded { title, display_items, timings }) => {
                    if let Some(flight) = in_flight.get_mut(&id) {
                        flight.loaded = Some((title, display_items, timings));
                    }
                }
                Event::Content(
                    _,
                    ContentToLauncher::LayoutDump(_)
                    | ContentToLauncher::DebuggerListening { .. }
                    | ContentToLauncher::DebuggerDetached,
                ) => {}
                Event::Content(id, ContentToLauncher::Failed { message }) => {
                    if let Some((flight, result)) = page_error(id, message, &mut in_flight) {
                        finish(&mut results, flight, result);
                    }
                }
                Event::ContentClosed(id) => {
                    if let Some(mut flight) = in_flight.remove(&id) {
                        let status = flight.content.reap();
                        let error = self.content_died(id, &jobs[flight.job].page, flight.content.pid, status);
                        finish(&mut results, flight, Err(error));
                    }
                }
                Event::GpuClosed(generation) if generation == self.gpu_generation => {
                    let contents: Vec<_> = in_flight
                        .iter()
                        .map(|(&id, flight)| (id, flight.content.pid, flight.content.sender.clone()))
                        .collect();
                    self.relaunch_gpu(contents)?;
                }
                Event::GpuClosed(_) | Event::CaptureSignal => {}
                Event::Gpu(
                    _,
                    GpuToLauncher::CaptureStarted { .. }
                    | GpuToLauncher::CaptureDone { .. }
                    | GpuToLauncher::CaptureFailed { .. },
                )
                | Event::Content(
                    _,
                    ContentToLauncher::CaptureDone { .. } | ContentToLauncher::CaptureFailed { .. },
                ) => {}
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
                    self.open_pages.push((id, flight.content));
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

    /// Keeps the shown pages up after their frames until a content process goes away, a
    /// signal ends the launcher, or `limit` passes (the `ARMATURE_TEST_HOLD=after-frame` test
    /// switch). A GPU process that dies meanwhile is relaunched and the pages are drawn
    /// again; each new frame goes to `on_frame`.
    pub fn hold(
        &mut self,
        limit: Duration,
        on_frame: &mut dyn FnMut(FramePixels) -> Result<(), LauncherError>,
    ) -> Result<(), LauncherError> {
        let deadline = Instant::now() + limit;
        let debugging = self.options.scripts.debug_port.is_some();
        loop {
            if debugging && self.debugger_detached {
                return Ok(());
            }
            let Ok(event) = self.events.recv_deadline(deadline) else { break };
            let Some(event) = self.capture_event(event) else { continue };
            match event {
                Event::Gpu(_, GpuToLauncher::Frame(frame)) => on_frame(frame)?,
                Event::Content(_, ContentToLauncher::DebuggerDetached)
                    if self.options.scripts.debug_port.is_some() =>
                {
                    return Ok(());
                }
                Event::Gpu(generation, GpuToLauncher::Fatal { message })
                    if generation == self.gpu_generation =>
                {
                    return Err(LauncherError::Gpu(message));
                }
                Event::GpuClosed(generation) if generation == self.gpu_generation => {
                    self.relaunch_gpu_for_open_pages()?;
                }
                Event::ContentClosed(id) => {
                    // A crash while held still gets its report's stream capture.
                    if let Some(index) = self.open_pages.iter().position(|(open, _)| *open == id) {
                        let (_, mut content) = self.open_pages.remove(index);
                        let status = content.reap();
                        let error = self.content_died(id, &self.page_of(id), content.pid, status);
                        eprintln!("armature: {error}");
                    }
                    return Ok(());
                }
                _ => {}
            }
        }
        Ok(())
    }

    #[cfg(feature = "window")]
    /// Window mode: draws every content process's frames into `window` from now on (and
    /// after a GPU process relaunch).
    pub fn set_window(&mut self, window: WindowTarget) {
        self.window = Some(window);
    }

    #[cfg(feature = "window")]
    /// Window mode, after the first frame: forwards what the user does to the shown page's
    /// content process and every new frame (and title) to `on_update`, until the window is
    /// closed. A GPU process that dies is relaunched as in any session; a content process
    /// that dies is replaced by an error page naming its crash report (a crashed error page
    /// ends the session).
    pub fn serve_window(
        &mut self,
        commands: &crossbeam_channel::Receiver<WindowCommand>,
        mut viewport: Viewport,
        on_update: &mut dyn FnMut(WindowUpdate),
    ) -> Result<(), LauncherError> {
        let events = self.events.clone();
        let mut error_pages = ErrorPages::default();
        loop {
            crossbeam_channel::select! {
                recv(commands) -> command => {
                    let message = match command {
                        Err(_) | Ok(WindowCommand::Close) => return Ok(()),
                        Ok(WindowCommand::Resize(size)) => {
                            viewport = size;
                            LauncherToContent::Resize { viewport: size }
                        }
                        Ok(WindowCommand::Scroll { by, at }) => LauncherToContent::Scroll { by, at },
                        Ok(WindowCommand::Redraw) => LauncherToContent::Redraw,
                    };
                    // A content process that is gone says so through its channel.
                    if let Some((_, content)) = self.open_pages.last() {
                        let _ = content.sender.send(message);
                    }
                }
                recv(events) -> event => {
                    let Ok(event) = event else {
                        return Err(LauncherError::Ipc("the session's event channel closed".into()));
                    };
                    let Some(event) = self.capture_event(event) else { continue };
                    match event {
                        Event::Gpu(_, GpuToLauncher::Frame(frame)) => on_update(WindowUpdate::Frame(frame)),
                        Event::Gpu(_, GpuToLauncher::WindowFailed { message }) => window_failed(&message),
                        Event::Gpu(generation, GpuToLauncher::Fatal { message })
                            if generation == self.gpu_generation =>
                        {
                            return Err(LauncherError::Gpu(message));
                        }
                        Event::Gpu(_, GpuToLauncher::TerminateContent { content, pid, reason }) => {
                            if let Some(index) = self.open_pages.iter().position(|(open, _)| *open == content) {
                                let (_, mut killed) = self.open_pages.remove(index);
                                killed.wait_or_kill(Duration::ZERO);
                            }
                            let error = LauncherError::ContentTerminated { page: self.page_of(content), pid, reason };
                            self.replace_with_error_page(content, error, viewport, &mut error_pages)?;
                        }
                        Event::GpuClosed(generation) if generation == self.gpu_generation => {
                            self.relaunch_gpu_for_open_pages()?;
                        }
                        Event::Content(_, ContentToLauncher::PageLoaded { title, .. }) => {
                            on_update(WindowUpdate::Title(title));
                        }
                        Event::Content(id, ContentToLauncher::Failed { message }) => {
                            let error = LauncherError::Page { page: self.page_of(id), message };
                            self.replace_with_error_page(id, error, viewport, &mut error_pages)?;
                        }
                        Event::ContentClosed(id) => {
                            let Some(index) = self.open_pages.iter().position(|(open, _)| *open == id) else {
                                continue;
                            };
                            let (_, mut content) = self.open_pages.remove(index);
                            let status = content.reap();
                            let error = self.content_died(id, &self.page_of(id), content.pid, status);
                            self.replace_with_error_page(id, error, viewport, &mut error_pages)?;
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// The page file a content process shows.
    fn page_of(&self, content: ContentId) -> PathBuf {
        self.pages.get(&content).cloned().unwrap_or_default()
    }

    #[cfg(feature = "window")]
    /// Shows an error page in place of `failed`'s page (Chromium's "Aw, Snap!"); if the
    /// failed page was itself an error page, the error ends the session.
    fn replace_with_error_page(
        &mut self,
        failed: ContentId,
        error: LauncherError,
        viewport: Viewport,
        error_pages: &mut ErrorPages,
    ) -> Result<(), LauncherError> {
        if let Some(index) = self.open_pages.iter().position(|(open, _)| *open == failed) {
            let (_, mut content) = self.open_pages.remove(index);
            let _ = content.sender.send(LauncherToContent::Shutdown);
            content.wait_or_kill(SHUTDOWN_GRACE);
        }
        if error_pages.shown.contains(&failed) {
            return Err(error);
        }
        eprintln!("armature: error: {error}");
        let page = error_pages.write(&self.page_of(failed), &error)?;
        let (id, content) = self.launch(&PageJob { page, viewport })?;
        error_pages.shown.insert(id);
        self.open_pages.push((id, content));
        Ok(())
    }

    /// Asks every process to exit and waits for them (killing any after a grace period).
    pub fn shutdown(mut self) {
        for (_, content) in &self.open_pages {
            let _ = content.sender.send(LauncherToContent::Shutdown);
        }
        for (_, content) in &mut self.open_pages {
            content.wait_or_kill(SHUTDOWN_GRACE);
        }
        if let Gpu::Connected(gpu) = &mut self.gpu {
            let _ = gpu.sender.send(LauncherToGpu::Shutdown);
            gpu.wait_or_kill(SHUTDOWN_GRACE);
        }
        // A capture running until shutdown reports itself last: hear it out (its channel
        // closes right after).
        if self.options.capture.run.is_some() {
            let generation = self.gpu_generation;
            while let Ok(event) = self.events.recv_timeout(SHUTDOWN_GRACE) {
                match self.capture_event(event) {
                    Some(Event::GpuClosed(closed)) if closed == generation => break,
                    _ => {}
                }
            }
        }
    }

    /// What each running child publishes in its crash annotations, read from outside (for
    /// `--verbose`).
    #[cfg(feature = "crash")]
    pub fn child_annotations(&self) -> Vec<String> {
        let gpu = match &self.gpu {
            Gpu::Connected(gpu) => Some((ProcessRole::Gpu, gpu.pid)),
            _ => None,
        };
        let contents = self.open_pages.iter().map(|(_, content)| (ProcessRole::Content, content.pid));
        gpu.into_iter()
            .chain(contents)
            .map(|(role, pid)| crate::crash::describe_annotations(role, pid))
            .collect()
    }

    /// The GPU process died while pages are shown: relaunch it for their content processes.
    fn relaunch_gpu_for_open_pages(&mut self) -> Result<(), LauncherError> {
        let contents =
            self.open_pages.iter().map(|(id, content)| (*id, content.pid, content.sender.clone())).collect();
        self.relaunch_gpu(contents)
    }

    /// The GPU process died: apply the relaunch policy, then hand every content process in
    /// `contents` (id, pid, control channel) a connection to the new GPU process.
    fn relaunch_gpu(
        &mut self,
        contents: Vec<(ContentId, u32, IpcSender<LauncherToContent>)>,
    ) -> Result<(), LauncherError> {
        let Gpu::Connected(mut gpu) = std::mem::replace(&mut self.gpu, Gpu::Gone) else {
            return Err(LauncherError::Gpu("the GPU process is gone".into()));
        };
        let status = gpu.reap();
        let what = format!(
            "the GPU process (pid {}) {}",
            gpu.pid,
            self.death(gpu.pid, status, Survivors::Contents(&contents))
        );
        self.relaunch_gpu_after(what)?;
        let window = self.window.clone();
        let recording = self.options.capture.recording;
        let gpu = self.gpu()?;
        for (id, pid, sender) in contents {
            let gpu_end = connect_to_gpu(gpu, id, pid, window.clone(), recording)?;
            // A content process that is gone meanwhile reports itself through its channel.
            let _ = sender.send(LauncherToContent::ReconnectGpu { gpu: gpu_end });
        }
        Ok(())
    }

    /// The GPU process failed (`what` says how): counts the crash and starts another, or
    /// gives up once more crashed within [`GPU_CRASH_WINDOW`] than the policy relaunches.
    fn relaunch_gpu_after(&mut self, what: String) -> Result<(), LauncherError> {
        let now = Instant::now();
        self.gpu_crashes.retain(|&crash| now.duration_since(crash) < GPU_CRASH_WINDOW);
        self.gpu_crashes.push(now);
        let crashes = self.gpu_crashes.len() as u32;
        let limit = self.options.gpu_crash_limit;
        if crashes > limit {
            return Err(LauncherError::GpuCrashLimit {
                crashes,
                limit,
                window: GPU_CRASH_WINDOW,
                last: what,
            });
        }
        eprintln!(
            "armature: warning: {what}; relaunching it (crash {crashes} of {limit} allowed within {} minutes)",
            GPU_CRASH_WINDOW.as_secs() / 60
        );
        self.spawn_gpu()
    }

    /// Describes how a child ended, with its crash report if it wrote one.
    fn death(&self, pid: u32, status: Option<ExitStatus>, survivors: Survivors<'_>) -> String {
        let how = match status {
            Some(status) => match status.signal() {
                Some(signal) => format!("crashed ({})", signal_name(signal)),
                None => format!("exited unexpectedly ({status})"),
            },
            None => "went away".to_owned(),
        };
        match self.crash_report(pid, survivors) {
            Some(report) => format!("{how}; {report}"),
            None => how,
        }
    }

    /// The crash report `pid` left, described for messages. It is on disk before the
    /// child's channel closes (the child waits for the monitor), so no waiting is needed.
    /// The survivors are asked to write the crashed stream's last frames beside the report.
    fn crash_report(&self, pid: u32, survivors: Survivors<'_>) -> Option<String> {
        #[cfg(feature = "crash")]
        {
            let report = self.monitor.as_ref()?.take_report(pid)?;
            let mut description = crate::crash::describe(&report);
            let captures = self.save_crashed_streams(&report.dump.with_extension("stream"), survivors);
            if !captures.is_empty() {
                let dirs: Vec<String> = captures.iter().map(|dir| dir.display().to_string()).collect();
                description
                    .push_str(&format!("; its last frames are a STREAM capture in {}", dirs.join(", ")));
            }
            Some(description)
        }
        #[cfg(not(feature = "crash"))]
        {
            let _ = (pid, survivors);
            None
        }
    }

    /// Asks the survivors of a crash to write the stream they recorded into `dir` (one
    /// directory per content process when several survive a GPU crash); returns where.
    #[cfg(feature = "crash")]
    fn save_crashed_streams(&self, dir: &Path, survivors: Survivors<'_>) -> Vec<PathBuf> {
        if self.options.capture.recording.frames == 0 {
            return Vec::new();
        }
        match survivors {
            Survivors::Gpu(content) => {
                let Gpu::Connected(gpu) = &self.gpu else { return Vec::new() };
                let request = LauncherToGpu::SaveStreamCapture { content, dir: dir.to_owned() };
                if gpu.sender.send(request).is_err() {
                    return Vec::new();
                }
                vec![dir.to_owned()]
            }
            Survivors::Contents(contents) => contents
                .iter()
                .filter_map(|(id, _, sender)| {
                    let dir = match contents.len() {
                        1 => dir.to_owned(),
                        _ => dir.with_extension(format!("stream-content{}", id.0)),
                    };
                    sender.send(LauncherToContent::SaveStreamCapture { dir: dir.clone() }).ok().map(|()| dir)
                })
                .collect(),
        }
    }

    /// The error for a content process that died while its page was in flight.
    fn content_died(
        &self,
        id: ContentId,
        page: &Path,
        pid: u32,
        status: Option<ExitStatus>,
    ) -> LauncherError {
        match status.and_then(|status| status.signal()) {
            Some(signal) => LauncherError::ContentCrashed {
                page: page.to_owned(),
                pid,
                signal: signal_name(signal),
                report: self.crash_report(pid, Survivors::Gpu(id)),
            },
            None => LauncherError::ChildDied { role: ProcessRole::Content, pid, status },
        }
    }

    /// The GPU process, connecting to it on first use. One that dies, hangs or garbles its
    /// handshake before it connects is a GPU crash like any other: relaunched under the
    /// same policy (a driver that crashes while the process starts must not end the run at
    /// once, nor be retried for ever).
    fn gpu(&mut self) -> Result<&GpuChild, LauncherError> {
        // Left `Gone` if connecting fails for good.
        loop {
            let pending = match std::mem::replace(&mut self.gpu, Gpu::Gone) {
                Gpu::Starting(pending) => pending,
                other => {
                    self.gpu = other;
                    break;
                }
            };
            let mut gpu = match pending.connect() {
                Ok(gpu) => gpu,
                Err(error) if error.is_gpu_start_failure() => {
                    self.relaunch_gpu_after(error.to_string())?;
                    continue;
                }
                Err(error) => return Err(error),
            };
            if self.options.verbose {
                tracing::info!(target: "armature::launcher", "started gpu process (pid {})", gpu.pid);
            }
            let generation = self.gpu_generation;
            gpu.route(
                self.events_sender.clone(),
                move |message| Event::Gpu(generation, message),
                Event::GpuClosed(generation),
            );
            // A whole-run capture is the first connected GPU process's; a relaunched one
            // starts with an empty writer, so it would not replay on its own.
            self.gpus_connected += 1;
            if let Some(request) = &self.options.capture.run {
                if self.gpus_connected == 1 {
                    let _ = gpu.sender.send(LauncherToGpu::StartCapture(request.clone()));
                } else {
                    eprintln!(
                        "armature: warning: the capture in {} ends with the GPU process that crashed",
                        request.dir.display()
                    );
                }
            }
            self.gpu = Gpu::Connected(gpu);
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
        let options = self.child_options(ProcessRole::Content, self.content_launches);
        self.content_launches += 1;
        let pending =
            supervise::spawn::<LauncherToContent, ContentToLauncher>(ProcessRole::Content, options)?;
        self.gpu()?;
        let mut content = pending.connect()?;
        let id = ContentId(self.next_content);
        self.next_content += 1;
        self.pages.insert(id, job.page.clone());
        if self.options.verbose {
            tracing::info!(target: "armature::launcher", "started content process (pid {}) for '{}'", content.pid, job.page.display());
        }
        content.route(
            self.events_sender.clone(),
            move |message| Event::Content(id, message),
            Event::ContentClosed(id),
        );
        let window = self.window.clone();
        let recording = self.options.capture.recording;
        let gpu = self.gpu()?;
        let gpu_end = connect_to_gpu(gpu, id, content.pid, window, recording)?;
        // Content resolves the page itself; give it an absolute path so its cwd never matters.
        let page = std::path::absolute(&job.page).unwrap_or_else(|_| job.page.clone());
        let start = LauncherToContent::Start {
            content: id,
            page,
            viewport: job.viewport,
            gpu: gpu_end,
            recording,
            scripts: self.options.scripts,
        };
        // A content process that died already (a crash at startup) breaks this pipe; its
        // `ContentClosed` event follows and is handled as the crash it is.
        if let Err(error) = content.sender.send(start) {
            tracing::debug!("content process {} did not take its page: {error}", content.pid);
        }
        Ok((id, content))
    }
}

/// The GPU process could not draw into the window; frames come back as pixels instead.
fn window_failed(message: &str) {
    eprintln!(
        "armature: warning: the GPU process cannot draw into the window ({message}); frames come \
         back through shared memory instead"
    );
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

/// Reports the page's own problems before any process starts for it.
pub fn check_page(page: &Path) -> Result<(), LauncherError> {
    let unreadable = |source| LauncherError::PageUnreadable { path: page.to_owned(), source };
    let metadata = std::fs::metadata(page).map_err(unreadable)?;
    if metadata.is_dir() {
        return Err(unreadable(std::io::Error::new(std::io::ErrorKind::IsADirectory, "it is a directory")));
    }
    std::fs::File::open(page).map(drop).map_err(unreadable)
}

/// The broker: makes a content process's stream to the GPU process — the shared-memory ring
/// and the two ipc channels beside it — hands the GPU process its end, and returns the
/// content's. If the GPU process is dying, the content still gets its end (its sends fail)
/// and a `ReconnectGpu` after the relaunch.
fn connect_to_gpu(
    gpu: &GpuChild,
    content: ContentId,
    pid: u32,
    window: Option<WindowTarget>,
    recording: StreamRecording,
) -> Result<StreamClientEnd, LauncherError> {
    let ipc_error = |error: &dyn std::fmt::Display| LauncherError::Ipc(error.to_string());
    let ring =
        armature_stream::create_ring_memory(armature_stream::DEFAULT_CAPACITY).map_err(|e| ipc_error(&e))?;
    let (to_gpu, from_content) = ipc::channel::<OutOfLineItem>().map_err(|e| ipc_error(&e))?;
    let (to_content, from_gpu) = ipc::channel::<GpuToContent>().map_err(|e| ipc_error(&e))?;
    let stream = StreamServerEnd { ring: ring.clone(), out_of_line: from_content, replies: to_content };
    let connect = LauncherToGpu::ConnectContent { content, pid, stream, window, recording };
    if let Err(error) = gpu.sender.send(connect) {
        tracing::debug!("the GPU process did not take {content}: {error}");
    }
    Ok(StreamClientEnd { ring, out_of_line: to_gpu, replies: from_gpu })
}

/// The first `DIR/capture-NNNN` that does not exist yet (DIR is made).
fn next_numbered_dir(dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|error| format!("cannot make {}: {error}", dir.display()))?;
    (1..10_000)
        .map(|number| dir.join(format!("capture-{number:04}")))
        .find(|candidate| !candidate.exists())
        .ok_or_else(|| format!("{} holds 9999 captures already", dir.display()))
}

/// A signal's name, e.g. "SIGSEGV", or its number.
pub fn signal_name(signal: i32) -> String {
    use rustix::process::Signal;
    let names = [
        (Signal::SEGV, "SIGSEGV"),
        (Signal::BUS, "SIGBUS"),
        (Signal::FPE, "SIGFPE"),
        (Signal::ILL, "SIGILL"),
        (Signal::ABORT, "SIGABRT"),
        (Signal::TRAP, "SIGTRAP"),
        (Signal::KILL, "SIGKILL"),
        (Signal::TERM, "SIGTERM"),
        (Signal::INT, "SIGINT"),
    ];
    match names.iter().find(|(known, _)| known.as_raw() == signal) {
        Some((_, name)) => (*name).to_owned(),
        None => format!("signal {signal}"),
    }
}
