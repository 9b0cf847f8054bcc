//! The content process's main loop (its main thread): waits for the launcher's `Start`,
//! renders the page into a display list, streams it to the GPU process, then idles until
//! told to shut down or until its lifeline to the launcher breaks.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use armature_api::messages::{ContentToGpu, ContentToLauncher, LauncherToContent, LayoutDumpFormat};
use armature_api::probe::annotation;
use armature_api::{
    ContentId, ContentStageTimes, DisplayList, Epoch, LayoutSize, ProbePoint, ResourceUpdate, SharedProbe,
};
use ipc_channel::ipc::{IpcReceiver, IpcSender};

use crate::dom::Document;
use crate::fonts::{FontError, Fonts};
use crate::images::Images;
use crate::layout::PageLayout;
use crate::page::PageError;
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
    viewport: LayoutSize,
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
    let layout =
        crate::layout::layout(&document, &styles, &mut fonts, &mut images, content.namespace(), viewport);
    let layout_us = clock.lap();
    let timings = ContentStageTimes { load_us, parse_us, style_us, layout_us, display_list_us: 0 };
    Ok(LaidOutPage { document, styles, layout, fonts, images, timings })
}

/// Runs the whole front end on a page file: load, parse, style, lay out, build.
pub fn render_page(
    content: ContentId,
    page: &Path,
    viewport: LayoutSize,
) -> Result<RenderedPage, ContentProcessError> {
    let laid_out = lay_out_page(content, page, viewport)?;
    let mut clock = StageClock::start();
    let built = crate::display_list::build(&laid_out.layout, &laid_out.styles, &laid_out.fonts);
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
    let mut updates = page.fonts.resource_updates(used_fonts);
    updates.extend(page.images.resource_updates());
    updates.extend(
        page.layout.canvases.iter().map(|&(id, size)| ResourceUpdate::CreateImageBuffer { id, size }),
    );
    updates
}

/// `--dump-layout`: the page's box tree as text or JSON.
pub fn dump_layout(
    page: &Path,
    viewport: LayoutSize,
    format: LayoutDumpFormat,
) -> Result<String, ContentProcessError> {
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

/// The page this process shows, kept so it can be sent again to a relaunched GPU process.
struct ShownPage {
    resources: Vec<ResourceUpdate>,
    display_list: DisplayList,
    epoch: Epoch,
}

impl ShownPage {
    /// Queues everything the GPU process needs for the page and asks for a frame.
    fn send(&self, link: &GpuLink) -> Result<(), String> {
        link.send(ContentToGpu::UpdateResources(self.resources.clone()))?;
        link.send(ContentToGpu::SetDisplayList(self.epoch, self.display_list.clone()))?;
        link.send(ContentToGpu::Present(self.epoch))
    }
}

/// The content process's end of one connection to a GPU process. Messages go out, in
/// order, from a thread of the link's own, so the main loop never blocks on the GPU
/// process: a GPU process that dies in the middle of a large (fragmented) ipc-channel
/// message leaves the sender blocked for good, because ipc-channel keeps the fragments'
/// receiving end open in the sender until the send returns. A relaunch then brings a new
/// link ([`LauncherToContent::ReconnectGpu`]) and the old thread is left behind. (Issue 5's
/// shared-memory stream replaces this transport.)
struct GpuLink {
    queue: std::sync::mpsc::Sender<ContentToGpu>,
}

impl GpuLink {
    fn connect(to_gpu: IpcSender<ContentToGpu>) -> GpuLink {
        let (queue, outgoing) = std::sync::mpsc::channel::<ContentToGpu>();
        let spawned = std::thread::Builder::new().name("to-gpu".into()).spawn(move || {
            for message in outgoing {
                if let Err(error) = to_gpu.send(message) {
                    // The GPU process is gone: the launcher relaunches it and reconnects us.
                    tracing::warn!(target: "armature::content", "GPU process gone ({error}); waiting for a new one");
                    return;
                }
            }
        });
        if let Err(error) = spawned {
            tracing::error!(target: "armature::content", "cannot start the to-gpu thread: {error}");
        }
        GpuLink { queue }
    }

    /// Queues a message; fails only if the link's thread is gone (its GPU process died).
    fn send(&self, message: ContentToGpu) -> Result<(), String> {
        self.queue.send(message).map_err(|_| "the GPU process connection is closed".to_owned())
    }
}

/// The content process's main loop. Returns when the launcher says `Shutdown` or goes away.
pub fn run(
    to_launcher: IpcSender<ContentToLauncher>,
    from_launcher: IpcReceiver<LauncherToContent>,
    probe: SharedProbe,
) -> Result<(), ContentProcessError> {
    probe.reached(ProbePoint::Startup);
    // Kept alive for the process's lifetime so the GPU process can always reply.
    let mut _gpu_replies = None;
    let mut link: Option<GpuLink> = None;
    let mut shown: Option<ShownPage> = None;
    while let Ok(message) = from_launcher.recv() {
        match message {
            LauncherToContent::Start { content, page, viewport, to_gpu, from_gpu } => {
                _gpu_replies = Some(from_gpu);
                let gpu = link.insert(GpuLink::connect(to_gpu));
                probe.annotate(annotation::URL, &file_url(&page));
                let viewport = LayoutSize::new(viewport.width as f32, viewport.height as f32);
                let path = page.clone();
                let rendered = match on_front_end_thread(move || render_page(content, &path, viewport)) {
                    Ok(rendered) => rendered,
                    Err(error) => {
                        // The launcher prints the message; if it is gone there is no one to tell.
                        let _ = to_launcher.send(ContentToLauncher::Failed { message: error.to_string() });
                        return Err(error);
                    }
                };
                let display_items = rendered.display_list.items.len();
                let timings = rendered.timings;
                let page_shown = ShownPage {
                    resources: rendered.resources,
                    display_list: rendered.display_list,
                    epoch: Epoch(1),
                };
                probe.annotate(annotation::EPOCH, &page_shown.epoch.0.to_string());
                probe.annotate(annotation::ITEM_COUNT, &display_items.to_string());
                probe.reached(ProbePoint::MidFrame);
                if let Err(error) = page_shown.send(gpu) {
                    tracing::warn!(target: "armature::content", "{error}; waiting for a new GPU process");
                }
                tracing::info!(target: "armature::content", "{}: {display_items} display items", page.display());
                shown = Some(page_shown);
                let _ = to_launcher.send(ContentToLauncher::PageLoaded {
                    title: rendered.title,
                    display_items,
                    timings,
                });
            }
            LauncherToContent::ReconnectGpu { to_gpu, from_gpu } => {
                _gpu_replies = Some(from_gpu);
                let gpu = link.insert(GpuLink::connect(to_gpu));
                // The new GPU process knows nothing of us: send the page again, as a new frame.
                if let Some(page) = &mut shown {
                    page.epoch = Epoch(page.epoch.0 + 1);
                    probe.annotate(annotation::EPOCH, &page.epoch.0.to_string());
                    if let Err(error) = page.send(gpu) {
                        tracing::warn!(target: "armature::content", "{error}; waiting for a new GPU process");
                    }
                }
            }
            LauncherToContent::DumpLayout { page, viewport, format } => {
                let viewport = LayoutSize::new(viewport.width as f32, viewport.height as f32);
                match on_front_end_thread(move || dump_layout(&page, viewport, format)) {
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
    // The launcher's end closed: our lifeline broke, so exit quietly.
    Ok(())
}

/// A page path as a `file://` URL, for annotations.
fn file_url(page: &Path) -> String {
    format!("file://{}", page.display())
}
