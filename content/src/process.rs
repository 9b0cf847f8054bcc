//! The content process's main loop (its main thread): waits for the launcher's `Start`,
//! renders the page into a display list, streams it to the GPU process, then idles until
//! told to shut down or until its lifeline to the launcher breaks.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use armature_api::capture::StreamRecording;
use armature_api::messages::{
    ContentToGpu, ContentToLauncher, LauncherToContent, LayoutDumpFormat, ScrollBy,
};
use armature_api::probe::annotation;
use armature_api::{
    ContentId, ContentStageTimes, DevicePixelRatio, DisplayList, Epoch, LayoutPoint, LayoutSize, ProbePoint,
    ResourceUpdate, SharedProbe, Viewport,
};
use ipc_channel::ipc::{IpcReceiver, IpcSender};

use crate::canvas::RemoteRenderingBackendProxy;

use crate::dom::Document;
use crate::fonts::{FontError, Fonts};
use crate::images::Images;
use crate::layout::{CanvasBitmap, PageCanvas, PageLayout};
use crate::page::PageError;
use crate::scroll::ScrollPositions;
use crate::style::StyleMap;

/// Why the content process stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ContentProcessError {
    /// The page could not be loaded.
    #[error(transparent)]
    Page(#[from] PageError),
    /// The page could not be parsed.
    #[error(transparent)]
    Parse(#[from] crate::dom::ParseError),
    /// The bundled fonts are broken.
    #[error(transparent)]
    Font(#[from] FontError),
    /// The stream to the GPU process cannot be used.
    #[error(transparent)]
    Stream(#[from] armature_stream::ClientError),
}

/// A page after every front-end stage up to layout.
pub struct LaidOutPage {
    /// The DOM.
    pub document: Document,
    /// Computed styles.
    pub styles: StyleMap,
    /// The box tree with positions.
    pub layout: PageLayout,
    /// The fonts layout used.
    pub fonts: Fonts,
    /// The page's decoded images.
    pub images: Images,
    /// What each stage took so far.
    pub timings: ContentStageTimes,
}

/// A page turned into what the GPU process needs to draw it.
#[derive(Debug)]
pub struct RenderedPage {
    /// The page's `<title>`.
    pub title: Option<String>,
    /// Resources (fonts, images, canvas buffers) the display list refers to.
    pub resources: Vec<ResourceUpdate>,
    /// The display list.
    pub display_list: DisplayList,
    /// What each front-end stage took.
    pub timings: ContentStageTimes,
}

/// Loads, parses, styles and lays out a page.
pub fn lay_out_page(
    content: ContentId,
    page: &Path,
    viewport: Viewport,
) -> Result<LaidOutPage, ContentProcessError> {
    let mut clock = StageClock::start();
    let html = crate::page::load(page)?;
    let load_us = clock.lap();
    let document = Document::parse(&html)?;
    let parse_us = clock.lap();
    let styles = crate::style::compute(&document);
    let style_us = clock.lap();
    let mut fonts = Fonts::new(content.namespace())?;
    let mut images = Images::new(content.namespace(), page);
    let (namespace, css) = (content.namespace(), viewport.layout_size());
    let layout =
        crate::layout::layout(&document, &styles, &mut fonts, &mut images, namespace, css, viewport.ratio);
    let layout_us = clock.lap();
    // Once per page, not per layout: the canvases are the same in every one.
    for canvas in &layout.canvases {
        if let CanvasBitmap::Refused(why) = &canvas.bitmap {
            tracing::warn!(target: "armature::content", "{}: {why}", page.display());
        }
    }
    let timings = ContentStageTimes { load_us, parse_us, style_us, layout_us, display_list_us: 0 };
    Ok(LaidOutPage { document, styles, layout, fonts, images, timings })
}

/// Runs the whole front end on a page file: load, parse, style, lay out, build.
pub fn render_page(
    content: ContentId,
    page: &Path,
    viewport: Viewport,
) -> Result<RenderedPage, ContentProcessError> {
    let laid_out = lay_out_page(content, page, viewport)?;
    let mut clock = StageClock::start();
    let (layout, styles, fonts) = (&laid_out.layout, &laid_out.styles, &laid_out.fonts);
    let built =
        crate::display_list::build(layout, styles, fonts, &ScrollPositions::new(layout), viewport.ratio);
    let timings = ContentStageTimes { display_list_us: clock.lap(), ..laid_out.timings };
    Ok(RenderedPage {
        title: laid_out.document.title(),
        resources: resources(&laid_out, &built.fonts),
        display_list: built.list,
        timings,
    })
}

/// Times consecutive stages.
struct StageClock(Instant);

impl StageClock {
    fn start() -> StageClock {
        StageClock(Instant::now())
    }

    /// Microseconds since the previous lap (or the start).
    fn lap(&mut self) -> u64 {
        let now = Instant::now();
        let elapsed = now - std::mem::replace(&mut self.0, now);
        elapsed.as_micros().try_into().unwrap_or(u64::MAX)
    }
}

/// Everything the GPU process must hold before it can draw the page: used fonts, decoded
/// images, and one image buffer per canvas.
fn resources(page: &LaidOutPage, used_fonts: &BTreeSet<armature_api::FontKey>) -> Vec<ResourceUpdate> {
    resources_except(page, used_fonts, &SentResources::default())
}

/// [`resources`], less what `sent` says the GPU process already holds.
fn resources_except(
    page: &LaidOutPage,
    used_fonts: &BTreeSet<armature_api::FontKey>,
    sent: &SentResources,
) -> Vec<ResourceUpdate> {
    let fonts: BTreeSet<_> = used_fonts.difference(&sent.fonts).copied().collect();
    let mut updates = page.fonts.resource_updates(&fonts);
    updates.extend(page.images.resource_updates(&sent.images));
    updates.extend(
        page.layout
            .canvases
            .iter()
            .filter_map(PageCanvas::buffer)
            .filter(|(id, _)| !sent.buffers.contains(id))
            .map(|(id, size)| ResourceUpdate::CreateImageBuffer { id, size }),
    );
    updates
}

/// The resources one GPU process holds for us, by key, so a new frame uploads only what is
/// new (a scroll that brings a bold run into view sends one font, not all of them again).
#[derive(Default)]
struct SentResources {
    fonts: BTreeSet<armature_api::FontKey>,
    images: BTreeSet<armature_api::ImageKey>,
    buffers: BTreeSet<armature_api::ImageBufferId>,
}

impl SentResources {
    fn record(&mut self, updates: &[ResourceUpdate]) {
        for update in updates {
            match update {
                ResourceUpdate::AddFont { key, .. } => {
                    self.fonts.insert(*key);
                }
                ResourceUpdate::AddImage { key, .. } => {
                    self.images.insert(*key);
                }
                ResourceUpdate::CreateImageBuffer { id, .. } => {
                    self.buffers.insert(*id);
                }
                ResourceUpdate::DeleteFont(_)
                | ResourceUpdate::DeleteImage(_)
                | ResourceUpdate::DestroyImageBuffer(_) => {}
            }
        }
    }
}

/// `--dump-layout`: the page's box tree as text or JSON.
pub fn dump_layout(
    page: &Path,
    viewport: Viewport,
    format: LayoutDumpFormat,
) -> Result<String, ContentProcessError> {
    // The boxes are in CSS pixels whatever the ratio, laid out as they are drawn at it (text
    // metrics are whole pixels only at 1).
    let laid_out = lay_out_page(ContentId(0), page, viewport)?;
    let dump = crate::layout::dump::dump(&laid_out.layout, &laid_out.document);
    Ok(match format {
        LayoutDumpFormat::Text => crate::layout::dump::to_text(&dump),
        LayoutDumpFormat::Json => crate::layout::dump::to_json(&dump),
    })
}

/// Stack for the front end's thread: style and layout recurse once per DOM level, and the
/// parser caps nesting at [`crate::dom::MAX_DEPTH`]; this leaves room for that in debug builds.
const FRONT_END_STACK: usize = 256 * 1024 * 1024;

/// Runs `work` on a thread with [`FRONT_END_STACK`] of stack.
fn on_front_end_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let thread = std::thread::Builder::new().name("front-end".into()).stack_size(FRONT_END_STACK).spawn(work);
    match thread.map(|handle| handle.join()) {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        // The OS refused a thread (out of memory): nothing sensible is left to do.
        Err(error) => panic!("cannot start the front-end thread: {error}"),
    }
}

/// The page this process shows: laid out once, laid out again when the viewport changes,
/// its display list rebuilt when it scrolls, and sent again in full to a relaunched GPU
/// process.
struct ShownPage {
    page: LaidOutPage,
    /// Device pixels per CSS pixel of the screen (or screenshot) it is shown on.
    ratio: DevicePixelRatio,
    scroll: ScrollPositions,
    display_list: DisplayList,
    used_fonts: BTreeSet<armature_api::FontKey>,
    sent: SentResources,
    epoch: Epoch,
}

impl ShownPage {
    fn new(page: LaidOutPage, ratio: DevicePixelRatio) -> ShownPage {
        ShownPage {
            scroll: ScrollPositions::new(&page.layout),
            page,
            ratio,
            display_list: DisplayList {
                viewport: LayoutSize::zero(),
                scroll_offset: LayoutPoint::zero(),
                device_pixel_ratio: ratio,
                background: armature_api::ColorF::WHITE,
                items: Vec::new(),
            },
            used_fonts: BTreeSet::new(),
            sent: SentResources::default(),
            epoch: Epoch(1),
        }
    }

    /// Builds the display list at the current scroll position.
    fn build(&mut self) -> u64 {
        let mut clock = StageClock::start();
        let page = &self.page;
        let built =
            crate::display_list::build(&page.layout, &page.styles, &page.fonts, &self.scroll, self.ratio);
        self.display_list = built.list;
        self.used_fonts = built.fonts;
        clock.lap()
    }

    /// Lays the page out again for a new viewport, keeping the scroll position where it can.
    fn resize(&mut self, content: ContentId, viewport: Viewport) {
        self.ratio = viewport.ratio;
        let page = &mut self.page;
        page.layout = crate::layout::layout(
            &page.document,
            &page.styles,
            &mut page.fonts,
            &mut page.images,
            content.namespace(),
            viewport.layout_size(),
            viewport.ratio,
        );
        self.scroll = self.scroll.relayout(&page.layout, viewport.ratio);
        self.build();
    }

    /// Scrolls what is under viewport point `at` (see [`crate::scroll`]); `false` if
    /// nothing moved.
    fn scroll(&mut self, by: ScrollBy, at: Option<LayoutPoint>) -> bool {
        if !self.scroll.scroll(&self.page.layout, by, at, self.ratio) {
            return false;
        }
        self.build();
        true
    }

    /// Sends what the GPU process does not have yet, the display list as a new epoch, and a
    /// `Present`.
    fn send_frame(&mut self, gpu: &mut RemoteRenderingBackendProxy) -> Result<(), String> {
        self.epoch = Epoch(self.epoch.0 + 1);
        self.send_current(gpu, |_, _| Ok(()))
    }

    /// Sends the current epoch: resources it lacks, then `draw` (canvas drawing, which may
    /// use them), the display list and a `Present`, all in one ordered stream.
    fn send_current(
        &mut self,
        gpu: &mut RemoteRenderingBackendProxy,
        draw: impl FnOnce(&mut RemoteRenderingBackendProxy, &mut LaidOutPage) -> Result<(), String>,
    ) -> Result<(), String> {
        self.send_resources(gpu);
        draw(gpu, &mut self.page)?;
        tracing::debug!(target: "armature::content", "sending epoch {}", self.epoch.0);
        gpu.send(ContentToGpu::SetDisplayList(self.epoch, self.display_list.clone()));
        gpu.send(ContentToGpu::Present(self.epoch));
        gpu.flush().map_err(|error| error.to_string())
    }

    /// Sends the resources the GPU process lacks (fonts, images, canvas buffers).
    fn send_resources(&mut self, gpu: &mut RemoteRenderingBackendProxy) {
        let updates = resources_except(&self.page, &self.used_fonts, &self.sent);
        if !updates.is_empty() {
            self.sent.record(&updates);
            gpu.send(ContentToGpu::UpdateResources(updates));
        }
    }
}

/// The content process's main loop. Returns when the launcher says `Shutdown` or goes away.
/// It runs on a thread with a large stack, since the page's front end (style and layout
/// recurse per DOM level) runs inside it.
pub fn run(
    to_launcher: IpcSender<ContentToLauncher>,
    from_launcher: IpcReceiver<LauncherToContent>,
    probe: SharedProbe,
) -> Result<(), ContentProcessError> {
    on_front_end_thread(move || main_loop(&to_launcher, from_launcher, &probe))
}

/// How often animation frames run while a script asks for them (60 Hz).
#[cfg(feature = "vm")]
const FRAME_INTERVAL: std::time::Duration = std::time::Duration::from_micros(16_667);

fn main_loop(
    to_launcher: &IpcSender<ContentToLauncher>,
    from_launcher: IpcReceiver<LauncherToContent>,
    probe: &SharedProbe,
) -> Result<(), ContentProcessError> {
    probe.reached(ProbePoint::Startup);
    // Through the router, so one select waits for the launcher and for the page's scripts.
    let from_launcher =
        ipc_channel::router::ROUTER.route_ipc_receiver_to_new_crossbeam_receiver(from_launcher);
    let mut link: Option<RemoteRenderingBackendProxy> = None;
    let mut recording = StreamRecording::OFF;
    let mut shown: Option<(ContentId, ShownPage)> = None;
    let mut pending = std::collections::VecDeque::new();
    #[cfg(feature = "vm")]
    let mut scripts: Option<crate::script::PageScripts> = None;
    #[cfg(feature = "vm")]
    let (mut next_frame, started, mut drew) = (Instant::now(), Instant::now(), false);
    loop {
        let message = match pending.pop_front() {
            Some(message) => message,
            #[cfg(feature = "vm")]
            None => {
                let never = crossbeam_channel::never();
                // A handle of its own, so a script event's arm may change the scripts.
                let events = scripts.as_ref().map_or(never, |scripts| scripts.events().clone());
                let frame = match &scripts {
                    Some(scripts) if scripts.wants_frame() => {
                        crossbeam_channel::at(next_frame.max(Instant::now()))
                    }
                    _ => crossbeam_channel::never(),
                };
                crossbeam_channel::select! {
                    recv(from_launcher) -> message => match message {
                        Ok(message) => message,
                        // The launcher's end closed: our lifeline broke, so exit quietly.
                        Err(_) => return Ok(()),
                    },
                    recv(events) -> event => {
                        let (Ok(event), Some(scripts)) = (event, &mut scripts) else { continue };
                        let (Some((_, page)), Some(gpu)) = (&mut shown, &mut link) else { continue };
                        match event {
                            // Present what a task drew once it is done, as a frame would.
                            crate::script::ScriptEvent::TaskDone if drew => {
                                drew = false;
                                gpu.send(ContentToGpu::Present(page.epoch));
                                send_or_wait(gpu.flush().map_err(|error| error.to_string()));
                            }
                            crate::script::ScriptEvent::TaskDone => {}
                            event => drew |= scripts.apply(gpu, &mut page.page.fonts, event),
                        }
                        continue;
                    },
                    recv(frame) -> _ => {
                        next_frame = Instant::now() + FRAME_INTERVAL;
                        if let Some(scripts) = &scripts {
                            scripts.animation_frame(started.elapsed().as_secs_f64() * 1000.0);
                        }
                        continue;
                    },
                }
            }
            #[cfg(not(feature = "vm"))]
            None => match from_launcher.recv() {
                Ok(message) => message,
                // The launcher's end closed: our lifeline broke, so exit quietly.
                Err(_) => return Ok(()),
            },
        };
        match message {
            LauncherToContent::Start {
                content,
                page,
                viewport,
                gpu,
                recording: asked,
                scripts: script_options,
            } => {
                recording = asked;
                let gpu = match RemoteRenderingBackendProxy::connect(gpu, content.namespace(), recording) {
                    Ok(proxy) => link.insert(proxy),
                    Err(error) => {
                        let _ = to_launcher.send(ContentToLauncher::Failed { message: error.to_string() });
                        return Err(ContentProcessError::Stream(error));
                    }
                };
                probe.annotate(annotation::URL, &file_url(&page));
                #[cfg_attr(not(feature = "vm"), allow(unused_mut))]
                let mut laid_out = match lay_out_page(content, &page, viewport) {
                    Ok(laid_out) => laid_out,
                    Err(error) => {
                        // The launcher prints the message; if it is gone there is no one to tell.
                        let _ = to_launcher.send(ContentToLauncher::Failed { message: error.to_string() });
                        return Err(error);
                    }
                };
                let title = laid_out.document.title();
                #[cfg(feature = "vm")]
                {
                    scripts =
                        start_scripts(&mut laid_out, &page, viewport.ratio, script_options, to_launcher);
                }
                #[cfg(not(feature = "vm"))]
                warn_scripts_ignored(&laid_out.document, script_options);
                let timings = laid_out.timings;
                let mut page_shown = ShownPage::new(laid_out, viewport.ratio);
                let timings = ContentStageTimes { display_list_us: page_shown.build(), ..timings };
                let display_items = page_shown.display_list.items.len();
                probe.annotate(annotation::EPOCH, &page_shown.epoch.0.to_string());
                probe.annotate(annotation::ITEM_COUNT, &display_items.to_string());
                probe.reached(ProbePoint::MidFrame);
                tracing::info!(target: "armature::content", "{}: {display_items} display items", page.display());
                let drawn = page_shown.send_current(gpu, |gpu, laid_out| {
                    crate::test_support::draw(gpu, laid_out, &page)?;
                    // What the scripts drew before settling is part of the first frame.
                    #[cfg(feature = "vm")]
                    if let Some(scripts) = &mut scripts {
                        scripts.drain(gpu, &mut laid_out.fonts);
                    }
                    Ok(())
                });
                if let Err(error) = drawn {
                    tracing::warn!(target: "armature::content", "{error}; waiting for a new GPU process");
                }
                shown = Some((content, page_shown));
                let _ = to_launcher.send(ContentToLauncher::PageLoaded { title, display_items, timings });
            }
            LauncherToContent::ReconnectGpu { gpu } => {
                let (Some(_), Some(old)) = (&shown, &link) else { continue };
                let gpu = match old.reconnect(gpu, recording) {
                    Ok(proxy) => link.insert(proxy),
                    Err(error) => {
                        tracing::error!(target: "armature::content", "cannot use the new GPU process's stream: {error}");
                        continue;
                    }
                };
                // The new GPU process knows nothing of us: make the scripts' offscreen
                // canvases again and send the page, as a new frame.
                #[cfg(feature = "vm")]
                if let Some(scripts) = &scripts {
                    scripts.recreate_offscreen(gpu);
                }
                if let Some((_, page)) = &mut shown {
                    page.sent = SentResources::default();
                    if let Err(error) = page.send_frame(gpu) {
                        tracing::warn!(target: "armature::content", "{error}; waiting for a new GPU process");
                    }
                    probe.annotate(annotation::EPOCH, &page.epoch.0.to_string());
                }
                // Every canvas is blank now: scripts that drew once redraw (Canvas 2D's
                // `contextrestored`), behind the page's frame in the stream.
                #[cfg(feature = "vm")]
                if let Some(scripts) = &scripts {
                    scripts.context_restored();
                }
            }
            LauncherToContent::Resize { viewport } => {
                // A window being dragged sends many sizes; only the newest matters.
                let mut viewport = viewport;
                let mut scrolls = Vec::new();
                while let Ok(next) = from_launcher.try_recv() {
                    match next {
                        LauncherToContent::Resize { viewport: newer } => viewport = newer,
                        LauncherToContent::Scroll { by, at } => scrolls.push((by, at)),
                        LauncherToContent::Redraw => {}
                        other => {
                            pending.push_back(other);
                            break;
                        }
                    }
                }
                let (Some((content, page)), Some(gpu)) = (&mut shown, &mut link) else { continue };
                #[cfg(feature = "vm")]
                if let Some(scripts) = &scripts {
                    scripts.set_device_pixel_ratio(viewport.ratio);
                }
                page.resize(*content, viewport);
                for (by, at) in scrolls {
                    page.scroll(by, at);
                }
                let css = viewport.layout_size();
                tracing::info!(
                    target: "armature::content",
                    "relaid out at {}x{} CSS px (device pixel ratio {}): {} display items",
                    css.width, css.height, viewport.ratio, page.display_list.items.len()
                );
                send_or_wait(page.send_frame(gpu));
                probe.annotate(annotation::EPOCH, &page.epoch.0.to_string());
            }
            LauncherToContent::Scroll { by, at } => {
                let (Some((_, page)), Some(gpu)) = (&mut shown, &mut link) else { continue };
                if page.scroll(by, at) {
                    tracing::debug!(target: "armature::content", "scrolled to {:?}", page.scroll);
                    send_or_wait(page.send_frame(gpu));
                    probe.annotate(annotation::EPOCH, &page.epoch.0.to_string());
                }
            }
            LauncherToContent::Redraw => {
                let (Some((_, page)), Some(gpu)) = (&mut shown, &mut link) else { continue };
                gpu.send(ContentToGpu::Present(page.epoch));
                send_or_wait(gpu.flush().map_err(|error| error.to_string()));
            }
            LauncherToContent::SaveStreamCapture { dir } => {
                let saved = match (&link, &shown) {
                    (Some(link), Some((content, _))) => link.save_stream(*content, &dir),
                    _ => Err("nothing was sent to a GPU process".into()),
                };
                let _ = to_launcher.send(match saved {
                    Ok(frames) => ContentToLauncher::CaptureDone { dir, frames },
                    Err(message) => ContentToLauncher::CaptureFailed { dir, message },
                });
            }
            LauncherToContent::DumpLayout { page, viewport, format } => {
                match dump_layout(&page, viewport, format) {
                    Ok(dump) => {
                        let _ = to_launcher.send(ContentToLauncher::LayoutDump(dump));
                    }
                    Err(error) => {
                        let _ = to_launcher.send(ContentToLauncher::Failed { message: error.to_string() });
                        return Err(error);
                    }
                }
            }
            LauncherToContent::Shutdown => return Ok(()),
        }
    }
}

/// Starts the page's scripts and waits for their first tasks, so what they draw is in the
/// first frame. The debugger's news goes to the launcher.
#[cfg(feature = "vm")]
fn start_scripts(
    page: &mut LaidOutPage,
    path: &Path,
    ratio: DevicePixelRatio,
    options: armature_api::messages::ScriptOptions,
    to_launcher: &IpcSender<ContentToLauncher>,
) -> Option<crate::script::PageScripts> {
    use crate::script::DebuggerNews;
    let launcher = to_launcher.clone();
    let on_debugger = Box::new(move |news| {
        let message = match news {
            DebuggerNews::Listening(addr) => ContentToLauncher::DebuggerListening { addr },
            DebuggerNews::Detached => ContentToLauncher::DebuggerDetached,
            DebuggerNews::Failed(message) => ContentToLauncher::Failed { message },
        };
        let _ = launcher.send(message);
    });
    let images = crate::script::page_images(&page.document, &mut page.images);
    let scripts = crate::script::PageScripts::start(
        &page.document,
        path,
        &page.layout.canvases,
        images,
        ratio,
        options,
        on_debugger,
    )?;
    if !scripts.settle() {
        tracing::warn!(target: "armature::script", "{}: scripts still busy; drawing the page anyway", path.display());
    }
    Some(scripts)
}

/// Without the `vm` feature, says that the page's scripts are not run.
#[cfg(not(feature = "vm"))]
fn warn_scripts_ignored(document: &Document, options: armature_api::messages::ScriptOptions) {
    let _ = options;
    let count = document
        .descendants(crate::dom::NodeId::DOCUMENT)
        .filter(|&node| document.tag(node).is_some_and(|tag| &**tag == "script"))
        .count();
    if count > 0 {
        tracing::warn!(target: "armature::script", "built without the `vm` feature: {count} scripts not run");
    }
}

/// A send to a GPU process that died is not our error: the launcher relaunches it and
/// reconnects us.
fn send_or_wait(sent: Result<(), String>) {
    if let Err(error) = sent {
        tracing::warn!(target: "armature::content", "{error}; waiting for a new GPU process");
    }
}

/// A page path as a `file://` URL, for annotations.
fn file_url(page: &Path) -> String {
    format!("file://{}", page.display())
}

#[cfg(test)]
mod tests {
    use armature_api::{DeviceIntSize, LayoutVector};

    use super::*;

    /// A 1000x600 page shown in a 200x100 viewport.
    fn wide_page() -> ShownPage {
        page_with_body_style("margin: 0")
    }

    /// A 1000x600 div in a body of style `body`, shown in a 200x100 viewport.
    fn page_with_body_style(body: &str) -> ShownPage {
        let html = format!("<body style='{body}'><div style='width: 1000px; height: 600px'></div></body>");
        // One file per call: tests run in parallel threads of one process.
        static PAGES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let serial = PAGES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("armature-scroll-{}-{serial}.html", std::process::id()));
        std::fs::write(&path, &html).expect("write the page");
        let viewport = Viewport::from_css(DeviceIntSize::new(200, 100), DevicePixelRatio::ONE);
        let page = lay_out_page(ContentId(1), &path, viewport).expect("lays out");
        let _ = std::fs::remove_file(&path);
        ShownPage::new(page, DevicePixelRatio::ONE)
    }

    #[test]
    fn scrolling_stays_on_the_page_on_both_axes() {
        let mut shown = wide_page();
        let by = |x, y| ScrollBy::Pixels(LayoutVector::new(x, y));
        assert!(shown.scroll(by(120.0, 30.0), None));
        assert_eq!(shown.scroll.viewport(), LayoutPoint::new(120.0, 30.0));
        assert_eq!(shown.display_list.scroll_offset, shown.scroll.viewport(), "the list is rebuilt there");
        // Past the far edges: the document less the viewport.
        assert!(shown.scroll(by(5000.0, 5000.0), None));
        assert_eq!(shown.scroll.viewport(), LayoutPoint::new(800.0, 500.0));
        assert!(!shown.scroll(by(1.0, 0.0), None), "already at the right edge");
        // Home and End move down the page only; the position across is kept.
        assert!(shown.scroll(ScrollBy::Start, None));
        assert_eq!(shown.scroll.viewport(), LayoutPoint::new(800.0, 0.0));
        assert!(shown.scroll(ScrollBy::End, None));
        assert_eq!(shown.scroll.viewport(), LayoutPoint::new(800.0, 500.0));
        // An axis that is not a number stays put; the other still moves.
        assert!(shown.scroll(by(f32::NAN, -100.0), None));
        assert_eq!(shown.scroll.viewport(), LayoutPoint::new(800.0, 400.0));
        assert!(shown.scroll(by(f32::NEG_INFINITY, 0.0), None));
        assert_eq!(shown.scroll.viewport().x, 0.0);
    }

    #[test]
    fn the_viewport_scrolls_only_along_the_axes_its_overflow_lets_it() {
        let by = ScrollBy::Pixels(LayoutVector::new(100.0, 100.0));
        let mut shown = page_with_body_style("margin: 0; overflow-x: hidden");
        assert!(shown.scroll(by, None));
        assert_eq!(shown.scroll.viewport(), LayoutPoint::new(0.0, 100.0));
        let mut shown = page_with_body_style("margin: 0; overflow: hidden");
        assert!(!shown.scroll(by, None), "overflow: hidden on the body stops the user scrolling");
        assert!(!shown.scroll(ScrollBy::End, None));
        let mut shown = page_with_body_style("margin: 0; overflow: auto");
        assert!(shown.scroll(by, None), "auto, as visible, scrolls");
    }

    #[test]
    fn a_wider_viewport_pulls_the_scroll_position_back_onto_the_page() {
        let mut shown = wide_page();
        shown.scroll(ScrollBy::Pixels(LayoutVector::new(700.0, 0.0)), None);
        shown.resize(ContentId(1), Viewport::from_css(DeviceIntSize::new(600, 100), DevicePixelRatio::ONE));
        assert_eq!(shown.scroll.viewport(), LayoutPoint::new(400.0, 0.0));
        shown.resize(ContentId(1), Viewport::from_css(DeviceIntSize::new(1200, 700), DevicePixelRatio::ONE));
        assert_eq!(shown.scroll.viewport(), LayoutPoint::zero(), "the whole page fits");
    }
}
