//! Window mode: the launcher owns a winit window; the GPU process draws into it.
//!
//! Threads: winit's event loop runs on the main thread and does only windowing; a session
//! thread owns the [`Session`] (children, broker, crash policy). They talk through two
//! channels: [`WindowCommand`]s (resize, scroll, redraw, close) go to the session, and
//! [`AppEvent`]s (frames, titles, the end) come back through winit's event-loop proxy.
//!
//! On X11 the window's XID goes to the GPU process with each content connection, and the
//! GPU process makes its own surface on it (Chromium's model): frames never come back.
//! On Wayland (a surface cannot be shared between processes) or if that fails, frames come
//! back through shared memory and the launcher presents them with softbuffer.
//!
//! HiDPI: the viewport is the window's inner size in physical (device) pixels with the
//! screen's scale factor as the device pixel ratio, so the page is laid out in CSS pixels
//! and drawn at full resolution; moving to a screen of another ratio lays it out again.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use armature_api::messages::{FramePixels, ScrollBy, WindowTarget};
use armature_api::{DeviceIntSize, DevicePixelRatio, LayoutPoint, LayoutVector, Viewport};
use winit::application::ApplicationHandler;
use winit::dpi::{LogicalSize, PhysicalSize};
use winit::event::{ElementState, KeyEvent, MouseButton, MouseScrollDelta, WindowEvent};
use winit::event_loop::{ActiveEventLoop, EventLoop, EventLoopProxy};
use winit::keyboard::{Key, ModifiersState, NamedKey};
use winit::raw_window_handle::{HasWindowHandle, RawWindowHandle};
use winit::window::{Window, WindowId};

use crate::error::LauncherError;
use crate::session::{PageJob, Session, SessionOptions, WindowCommand, WindowUpdate, check_page};

/// CSS pixels one wheel notch scrolls (three lines of 16 px, as desktop browsers do).
const WHEEL_LINE: f32 = 48.0;
/// CSS pixels an arrow key scrolls.
const ARROW_STEP: f32 = 40.0;

/// How frames reach the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Present {
    /// The GPU process draws into the window where it can (X11), else shared memory.
    Auto,
    /// Frames come back through shared memory and the launcher presents them.
    SharedMemory,
}

/// What the window run was asked to do.
pub struct WindowRun<'a> {
    /// The page.
    pub page: &'a Path,
    /// The window's initial inner size in CSS pixels.
    pub css_size: DeviceIntSize,
    /// `--device-pixel-ratio`: draw at this ratio whatever the screen's scale factor.
    pub device_pixel_ratio: Option<DevicePixelRatio>,
    /// How frames reach the window.
    pub present: Present,
    /// How the session runs its children.
    pub session: SessionOptions,
}

/// What the session thread tells the window thread.
enum AppEvent {
    Update(WindowUpdate),
    /// The session is over (the window was closed, or an error ended it).
    Finished(Result<(), LauncherError>),
}

/// Opens a window on `run.page` and serves it until the window is closed.
pub fn run(run: WindowRun<'_>) -> Result<(), LauncherError> {
    check_page(run.page)?;
    let no_display = |variable: &str| std::env::var_os(variable).is_none_or(|value| value.is_empty());
    if no_display("DISPLAY") && no_display("WAYLAND_DISPLAY") {
        return Err(LauncherError::NoDisplay("neither DISPLAY nor WAYLAND_DISPLAY is set".into()));
    }
    let event_loop = EventLoop::<AppEvent>::with_user_event()
        .build()
        .map_err(|error| LauncherError::NoDisplay(error.to_string()))?;
    let mut app = App {
        request: Some((run.page.to_owned(), run.session)),
        css_size: run.css_size,
        forced_ratio: run.device_pixel_ratio,
        viewport: Viewport::from_css(run.css_size, DevicePixelRatio::ONE),
        present: run.present,
        proxy: event_loop.create_proxy(),
        window: None,
        commands: None,
        session: None,
        presenter: None,
        last_frame: None,
        modifiers: ModifiersState::empty(),
        pointer: None,
        clicked: None,
        finished: None,
    };
    event_loop.run_app(&mut app).map_err(|error| LauncherError::Window(error.to_string()))?;
    if let Some(session) = app.session.take() {
        // Only on a winit failure is the session still running: end it.
        if let Some(commands) = &app.commands {
            let _ = commands.send(WindowCommand::Close);
        }
        let _ = session.join();
    }
    app.finished.unwrap_or(Ok(()))
}

/// The window thread's state.
struct App {
    /// The page and session options, until the window exists and the session starts.
    request: Option<(PathBuf, SessionOptions)>,
    /// The inner size asked for, in CSS pixels.
    css_size: DeviceIntSize,
    /// `--device-pixel-ratio`, which overrides the screen's.
    forced_ratio: Option<DevicePixelRatio>,
    /// The window's inner size in device pixels and the ratio the page is drawn at.
    viewport: Viewport,
    present: Present,
    proxy: EventLoopProxy<AppEvent>,
    window: Option<Arc<Window>>,
    commands: Option<crossbeam_channel::Sender<WindowCommand>>,
    session: Option<std::thread::JoinHandle<()>>,
    /// Presents frames that come back as pixels; made on the first such frame.
    presenter: Option<SoftPresenter>,
    /// The newest frame that came back as pixels, drawn again when the window is exposed.
    last_frame: Option<FramePixels>,
    /// The keyboard modifiers held now (Shift turns the wheel sideways).
    modifiers: ModifiersState,
    /// Where the pointer is, in CSS pixels from the viewport's top-left (`None`: outside):
    /// a wheel scrolls the box under it.
    pointer: Option<LayoutPoint>,
    /// Where the user last clicked: keys scroll the box there, as in browsers (`None`
    /// before the first click: the page).
    clicked: Option<LayoutPoint>,
    finished: Option<Result<(), LauncherError>>,
}

impl App {
    fn command(&self, command: WindowCommand) {
        if let Some(commands) = &self.commands {
            let _ = commands.send(command);
        }
    }

    fn fail(&mut self, event_loop: &ActiveEventLoop, error: LauncherError) {
        self.finished = Some(Err(error));
        self.command(WindowCommand::Close);
        event_loop.exit();
    }

    /// Draws the last frame that came back as pixels.
    fn present_pixels(&mut self) -> Result<(), LauncherError> {
        let (Some(window), Some(frame)) = (&self.window, &self.last_frame) else { return Ok(()) };
        let presenter = match &mut self.presenter {
            Some(presenter) => presenter,
            None => self.presenter.insert(SoftPresenter::new(window.clone())?),
        };
        presenter.present(window.inner_size(), frame)
    }

    /// The ratio to draw at on a screen of `scale_factor`: the forced one, or the screen's
    /// within what Armature draws at.
    fn ratio(&self, scale_factor: f64) -> DevicePixelRatio {
        self.forced_ratio.unwrap_or_else(|| {
            let clamped = (scale_factor as f32).clamp(DevicePixelRatio::MIN, DevicePixelRatio::MAX);
            DevicePixelRatio::new(clamped).unwrap_or(DevicePixelRatio::ONE)
        })
    }

    /// Tells the session the viewport changed, if it did.
    fn set_viewport(&mut self, viewport: Viewport) {
        if viewport != self.viewport {
            self.viewport = viewport;
            self.command(WindowCommand::Resize(viewport));
        }
    }

    /// The scroll a key asks for, as desktop browsers map them.
    fn key(&self, event: &KeyEvent) -> Option<ScrollBy> {
        if event.state != ElementState::Pressed {
            return None;
        }
        let step = |x: f32, y: f32| Some(ScrollBy::Pixels(LayoutVector::new(x, y)));
        match &event.logical_key {
            Key::Named(NamedKey::ArrowDown) => step(0.0, ARROW_STEP),
            Key::Named(NamedKey::ArrowUp) => step(0.0, -ARROW_STEP),
            Key::Named(NamedKey::ArrowRight) => step(ARROW_STEP, 0.0),
            Key::Named(NamedKey::ArrowLeft) => step(-ARROW_STEP, 0.0),
            Key::Named(NamedKey::Space) if self.modifiers.shift_key() => Some(ScrollBy::Pages(-1.0)),
            Key::Named(NamedKey::PageDown | NamedKey::Space) => Some(ScrollBy::Pages(1.0)),
            Key::Named(NamedKey::PageUp) => Some(ScrollBy::Pages(-1.0)),
            Key::Named(NamedKey::Home) => Some(ScrollBy::Start),
            Key::Named(NamedKey::End) => Some(ScrollBy::End),
            _ => None,
        }
    }
}

impl ApplicationHandler<AppEvent> for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        let Some((page, session)) = self.request.take() else { return };
        let css = self.css_size;
        let attributes = Window::default_attributes().with_title(format!("{} — Armature", page.display()));
        // CSS pixels are the screen's logical pixels, unless a ratio is forced.
        let attributes = match self.forced_ratio {
            Some(ratio) => {
                let device = Viewport::from_css(css, ratio).size;
                attributes.with_inner_size(PhysicalSize::new(device.width, device.height))
            }
            None => attributes.with_inner_size(LogicalSize::new(css.width, css.height)),
        };
        let window = match event_loop.create_window(attributes) {
            Ok(window) => Arc::new(window),
            Err(error) => return self.fail(event_loop, LauncherError::NoDisplay(error.to_string())),
        };
        let inner = window.inner_size();
        self.viewport = Viewport {
            size: DeviceIntSize::new(inner.width.max(1), inner.height.max(1)),
            ratio: self.ratio(window.scale_factor()),
        };
        let target = match self.present {
            Present::Auto => window_target(&window),
            Present::SharedMemory => None,
        };
        match &target {
            Some(target) => {
                tracing::info!(target: "armature::launcher", "window {target:?}: the GPU process draws into it")
            }
            None => {
                tracing::info!(target: "armature::launcher", "window: frames come back through shared memory")
            }
        }
        let (commands, received) = crossbeam_channel::unbounded();
        let proxy = self.proxy.clone();
        let viewport = self.viewport;
        let spawned = std::thread::Builder::new().name("session".into()).spawn(move || {
            let result = run_session(page, viewport, target, session, &received, &proxy);
            let _ = proxy.send_event(AppEvent::Finished(result));
        });
        match spawned {
            Ok(handle) => self.session = Some(handle),
            Err(error) => {
                return self
                    .fail(event_loop, LauncherError::Window(format!("cannot start a thread: {error}")));
            }
        }
        self.commands = Some(commands);
        self.window = Some(window);
    }

    fn user_event(&mut self, event_loop: &ActiveEventLoop, event: AppEvent) {
        match event {
            AppEvent::Update(WindowUpdate::Frame(frame)) => {
                if frame.rgba.is_some() {
                    self.last_frame = Some(frame);
                    if let Err(error) = self.present_pixels() {
                        self.fail(event_loop, error);
                    }
                }
            }
            AppEvent::Update(WindowUpdate::Title(title)) => {
                if let (Some(window), Some(title)) = (&self.window, title) {
                    window.set_title(&format!("{title} — Armature"));
                }
            }
            AppEvent::Finished(result) => {
                if let Some(session) = self.session.take() {
                    let _ = session.join();
                }
                self.finished.get_or_insert(result);
                event_loop.exit();
            }
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _window: WindowId, event: WindowEvent) {
        tracing::trace!(target: "armature::launcher::window", "{event:?}");
        match event {
            WindowEvent::CloseRequested | WindowEvent::Destroyed => {
                // The session shuts every process down, then says Finished.
                self.command(WindowCommand::Close);
                if self.session.is_none() {
                    event_loop.exit();
                }
            }
            WindowEvent::Resized(size) => {
                if size.width == 0 || size.height == 0 {
                    return;
                }
                let size = DeviceIntSize::new(size.width, size.height);
                self.set_viewport(Viewport { size, ..self.viewport });
            }
            WindowEvent::ScaleFactorChanged { scale_factor, .. } => {
                // winit sends the new inner size in a `Resized` of its own.
                let ratio = self.ratio(scale_factor);
                self.set_viewport(Viewport { ratio, ..self.viewport });
            }
            WindowEvent::RedrawRequested => {
                if self.last_frame.is_some() {
                    if let Err(error) = self.present_pixels() {
                        self.fail(event_loop, error);
                    }
                } else {
                    self.command(WindowCommand::Redraw);
                }
            }
            WindowEvent::MouseWheel { delta, .. } => {
                // winit: positive x and y move the content right and down (the wheel turned
                // left or up), so the scroll position goes the other way.
                let mut by = match delta {
                    MouseScrollDelta::LineDelta(x, y) => LayoutVector::new(-x, -y) * WHEEL_LINE,
                    // Touchpads scroll in physical pixels.
                    MouseScrollDelta::PixelDelta(position) => {
                        LayoutVector::new(-position.x as f32, -position.y as f32) / self.viewport.ratio.get()
                    }
                };
                // Shift turns a plain wheel sideways, as in desktop browsers.
                if self.modifiers.shift_key() && by.x == 0.0 {
                    by = LayoutVector::new(by.y, 0.0);
                }
                if by != LayoutVector::zero() {
                    self.command(WindowCommand::Scroll { by: ScrollBy::Pixels(by), at: self.pointer });
                }
            }
            WindowEvent::CursorMoved { position, .. } => {
                let ratio = self.viewport.ratio.get();
                self.pointer = Some(LayoutPoint::new(position.x as f32 / ratio, position.y as f32 / ratio));
            }
            WindowEvent::CursorLeft { .. } => self.pointer = None,
            WindowEvent::MouseInput { state: ElementState::Pressed, button: MouseButton::Left, .. } => {
                self.clicked = self.pointer;
            }
            WindowEvent::ModifiersChanged(modifiers) => self.modifiers = modifiers.state(),
            // winit makes up a press for each key already held when the window gains focus;
            // that key was pressed for another window, and must not scroll this one.
            WindowEvent::KeyboardInput { event, is_synthetic: false, .. } => {
                if let Some(by) = self.key(&event) {
                    self.command(WindowCommand::Scroll { by, at: self.clicked });
                }
            }
            _ => {}
        }
    }
}

/// The session thread: the first frame, then serving the window until it closes.
fn run_session(
    page: PathBuf,
    viewport: Viewport,
    target: Option<WindowTarget>,
    options: SessionOptions,
    commands: &crossbeam_channel::Receiver<WindowCommand>,
    proxy: &EventLoopProxy<AppEvent>,
) -> Result<(), LauncherError> {
    let mut session = Session::start(options)?;
    if let Some(target) = target {
        session.set_window(target);
    }
    let result = (|| {
        let rendered = session.render(PageJob { page, viewport })?;
        let _ = proxy.send_event(AppEvent::Update(WindowUpdate::Title(rendered.title)));
        let _ = proxy.send_event(AppEvent::Update(WindowUpdate::Frame(rendered.frame)));
        // Input that came while the first frame was made waits in `commands`.
        let mut on_update = |update| {
            let _ = proxy.send_event(AppEvent::Update(update));
        };
        session.serve_window(commands, viewport, &mut on_update)
    })();
    session.shutdown();
    result
}

/// The window as the GPU process can open it: an X11 window's XID on the launcher's display.
/// `None` on Wayland, whose surfaces cannot be shared with another process.
fn window_target(window: &Window) -> Option<WindowTarget> {
    let display = std::env::var("DISPLAY").ok().filter(|display| !display.is_empty())?;
    let handle = window.window_handle().ok()?;
    let xid = match handle.as_raw() {
        // `c_ulong` is 32 bits on some targets.
        #[allow(clippy::useless_conversion)]
        RawWindowHandle::Xlib(handle) => u64::from(handle.window),
        RawWindowHandle::Xcb(handle) => u64::from(handle.window.get()),
        _ => return None,
    };
    // Test switch: hand the GPU process a window that does not exist, to exercise the
    // fallback to shared memory.
    if std::env::var_os(TEST_BAD_WINDOW_ENV).is_some() {
        return Some(WindowTarget::X11 { display, window: 1 });
    }
    Some(WindowTarget::X11 { display, window: xid })
}

/// Test switch: `ARMATURE_TEST_BAD_WINDOW=1` gives the GPU process a wrong window id, so it
/// reports `WindowFailed` and frames come back through shared memory.
const TEST_BAD_WINDOW_ENV: &str = "ARMATURE_TEST_BAD_WINDOW";

/// Presents frames that came back as pixels, with softbuffer (X11 or Wayland).
struct SoftPresenter {
    surface: softbuffer::Surface<Arc<Window>, Arc<Window>>,
}

impl SoftPresenter {
    fn new(window: Arc<Window>) -> Result<SoftPresenter, LauncherError> {
        let failed = |error: softbuffer::SoftBufferError| {
            LauncherError::Window(format!("cannot present frames: {error}"))
        };
        let context = softbuffer::Context::new(window.clone()).map_err(failed)?;
        let surface = softbuffer::Surface::new(&context, window).map_err(failed)?;
        Ok(SoftPresenter { surface })
    }

    /// Copies `frame` 1:1 into a window of `size`; what it does not cover is white.
    fn present(&mut self, size: PhysicalSize<u32>, frame: &FramePixels) -> Result<(), LauncherError> {
        let Some(rgba) = &frame.rgba else { return Ok(()) };
        self.present_pixels(size, frame.size, rgba)
    }

    /// Copies tightly packed RGBA8 rows of `frame_size` 1:1 into a window of `size`.
    fn present_pixels(
        &mut self,
        size: PhysicalSize<u32>,
        frame_size: DeviceIntSize,
        rgba: &[u8],
    ) -> Result<(), LauncherError> {
        let failed = |error: softbuffer::SoftBufferError| {
            LauncherError::Window(format!("cannot present a frame: {error}"))
        };
        let (Some(width), Some(height)) = (NonZeroU32::new(size.width), NonZeroU32::new(size.height)) else {
            return Ok(());
        };
        let expected = frame_size.width as usize * frame_size.height as usize * 4;
        if rgba.len() != expected {
            // From another process: checked, never trusted.
            tracing::warn!(target: "armature::launcher", "dropped a frame of {} bytes, expected {expected}", rgba.len());
            return Ok(());
        }
        self.surface.resize(width, height).map_err(failed)?;
        let mut buffer = self.surface.buffer_mut().map_err(failed)?;
        let (window_width, frame_width) = (size.width as usize, frame_size.width as usize);
        buffer.fill(0x00ff_ffff);
        let rows = (size.height as usize).min(frame_size.height as usize);
        let columns = window_width.min(frame_width);
        for row in 0..rows {
            let source = &rgba[row * frame_width * 4..][..columns * 4];
            let target = &mut buffer[row * window_width..][..columns];
            for (pixel, texel) in target.iter_mut().zip(source.chunks_exact(4)) {
                // softbuffer wants 0RGB.
                *pixel = (u32::from(texel[0]) << 16) | (u32::from(texel[1]) << 8) | u32::from(texel[2]);
            }
        }
        buffer.present().map_err(failed)
    }
}

#[cfg(feature = "capture")]
/// Shows still pixels (a replayed frame) in a window until it is closed or Escape is pressed.
pub fn show_pixels(title: &str, size: DeviceIntSize, rgba: Vec<u8>) -> Result<(), LauncherError> {
    let no_display = |variable: &str| std::env::var_os(variable).is_none_or(|value| value.is_empty());
    if no_display("DISPLAY") && no_display("WAYLAND_DISPLAY") {
        return Err(LauncherError::NoDisplay("neither DISPLAY nor WAYLAND_DISPLAY is set".into()));
    }
    let event_loop = EventLoop::new().map_err(|error| LauncherError::NoDisplay(error.to_string()))?;
    let mut app =
        StillApp { title: title.to_owned(), size, rgba, window: None, presenter: None, result: Ok(()) };
    event_loop.run_app(&mut app).map_err(|error| LauncherError::Window(error.to_string()))?;
    app.result
}

/// The window of [`show_pixels`].
#[cfg(feature = "capture")]
struct StillApp {
    title: String,
    size: DeviceIntSize,
    rgba: Vec<u8>,
    window: Option<Arc<Window>>,
    presenter: Option<SoftPresenter>,
    result: Result<(), LauncherError>,
}

#[cfg(feature = "capture")]
impl StillApp {
    fn draw(&mut self) -> Result<(), LauncherError> {
        let Some(window) = &self.window else { return Ok(()) };
        let presenter = match &mut self.presenter {
            Some(presenter) => presenter,
            None => self.presenter.insert(SoftPresenter::new(window.clone())?),
        };
        presenter.present_pixels(window.inner_size(), self.size, &self.rgba)
    }
}

#[cfg(feature = "capture")]
impl ApplicationHandler for StillApp {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.window.is_some() {
            return;
        }
        let attributes = Window::default_attributes()
            .with_title(self.title.clone())
            .with_inner_size(PhysicalSize::new(self.size.width, self.size.height));
        match event_loop.create_window(attributes) {
            Ok(window) => self.window = Some(Arc::new(window)),
            Err(error) => {
                self.result = Err(LauncherError::NoDisplay(error.to_string()));
                event_loop.exit();
            }
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _window: WindowId, event: WindowEvent) {
        match event {
            WindowEvent::CloseRequested | WindowEvent::Destroyed => event_loop.exit(),
            WindowEvent::KeyboardInput { event, .. }
                if event.state == ElementState::Pressed
                    && event.logical_key == Key::Named(NamedKey::Escape) =>
            {
                event_loop.exit()
            }
            WindowEvent::RedrawRequested | WindowEvent::Resized(_) => {
                if let Err(error) = self.draw() {
                    self.result = Err(error);
                    event_loop.exit();
                }
            }
            _ => {}
        }
    }
}
