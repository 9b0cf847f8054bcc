//! The page's script host: finds `<script>`s, runs them in VMs (armature-vm) and applies
//! their canvas drawing through the page's image-buffer proxies, on the content process's
//! main thread, so the stream to the GPU process keeps one writer and one order.
//!
//! Non-worker scripts run in the page's main VM, in document order; each `worker` script
//! gets a VM of its own (like a Web Worker). The main VM exists whenever the page has a
//! script, so a page with only workers has an idle main VM.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use armature_api::limits::{self, Held, Refused};
use armature_api::messages::ScriptOptions;
use armature_api::{ColorF, DeviceIntSize, DevicePixelRatio, ImageBufferId, ImageKey};
use armature_vm::dap::DapServer;
use armature_vm::{
    CanvasCall, Host, Script, ScriptError, ScriptSource, VmConfig, VmGroup, VmId, no_such_canvas,
};
use crossbeam_channel::{Receiver, Sender};

use crate::canvas::{RemoteImageBufferProxy, RemoteRenderingBackendProxy};
use crate::dom::{Document, NodeId};
use crate::fonts::Fonts;
use crate::images::{ImageContent, Images};
use crate::layout::{CanvasBitmap, MAX_CANVAS_SIDE, PageCanvas};

/// What VM threads tell the main thread.
#[derive(Debug)]
pub enum ScriptEvent {
    /// Draw on a canvas.
    Canvas(CanvasCall),
    /// A script made offscreen canvas `canvas`.
    CreateCanvas {
        /// Its index.
        canvas: u32,
        /// Its size in pixels.
        size: DeviceIntSize,
    },
    /// A script is done with offscreen canvas `canvas`.
    DropCanvas {
        /// Its index.
        canvas: u32,
    },
    /// A VM finished a task: what it drew can be presented.
    TaskDone,
}

/// The canvases scripts can name, as VM threads check them: the page's, then the offscreen
/// ones, whose indices are never reused (a dropped one traps, named, rather than drawing
/// on a newer canvas).
struct CanvasTable {
    page: u32,
    /// The page canvases that have no bitmap, with the trap's message for drawing one.
    bitmapless: BTreeMap<u32, String>,
    /// Live offscreen canvases and their sizes.
    offscreen: BTreeMap<u32, DeviceIntSize>,
    /// The next offscreen index.
    next: u32,
    /// What the live offscreen canvases hold of [`limits::OFFSCREEN_CANVASES`].
    held: Held,
}

struct PageHost {
    page: String,
    canvases: Mutex<CanvasTable>,
    /// The page's `<img>`s in document order: the key of each that loaded, or why not.
    images: Vec<Result<ImageKey, String>>,
    events: Sender<ScriptEvent>,
    /// The page's device pixel ratio as f32 bits (VM threads read it; a resize sets it).
    ratio: AtomicU32,
}

impl PageHost {
    fn table(&self) -> std::sync::MutexGuard<'_, CanvasTable> {
        // The table is consistent between statements; a panic elsewhere cannot break it.
        self.canvases.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Host for PageHost {
    fn console(&self, vm: VmId, script: &str, message: &str) {
        tracing::info!(target: "armature::script", "{} {vm} {script}: {message}", self.page);
    }
    fn device_pixel_ratio(&self) -> f32 {
        f32::from_bits(self.ratio.load(Ordering::Relaxed))
    }
    fn canvas_count(&self) -> u32 {
        self.table().page
    }
    fn check_canvas(&self, canvas: u32) -> Result<(), String> {
        let table = self.table();
        if canvas < table.page || table.offscreen.contains_key(&canvas) {
            Ok(())
        } else if canvas < table.next {
            Err(format!("canvas {canvas} was dropped (drop_canvas); it cannot be used again"))
        } else {
            Err(no_such_canvas(canvas, table.page, table.offscreen.len() as u32))
        }
    }
    fn check_source(&self, canvas: u32) -> Result<(), String> {
        self.check_canvas(canvas)?;
        match self.table().bitmapless.get(&canvas) {
            Some(why) => Err(why.clone()),
            None => Ok(()),
        }
    }
    fn create_canvas(&self, _vm: VmId, width: u32, height: u32) -> Result<u32, String> {
        let call = format!("create_canvas({width}, {height})");
        if !(1..=MAX_CANVAS_SIDE).contains(&width) || !(1..=MAX_CANVAS_SIDE).contains(&height) {
            return Err(format!("{call}: a canvas is 1 to {MAX_CANVAS_SIDE} pixels wide and high"));
        }
        let mut table = self.table();
        let size = DeviceIntSize::new(width, height);
        let held =
            table.held.with(size, None, limits::OFFSCREEN_CANVASES).map_err(|refused| match refused {
                Refused::TooMany { max } => format!(
                    "{call}: the page's scripts already hold {max} offscreen canvases, the most allowed \
                 (drop_canvas the ones no longer needed)"
                ),
                Refused::TooManyPixels { pixels, max } => format!(
                    "{call}: the page's offscreen canvases would hold {pixels} pixels, more than the {max} \
                 allowed (drop_canvas the ones no longer needed)"
                ),
            })?;
        let canvas = table.next;
        table.next = canvas.checked_add(1).ok_or_else(|| format!("{call}: canvas indices ran out"))?;
        table.offscreen.insert(canvas, size);
        table.held = held;
        // Sent under the lock, so the main thread learns of canvases in index order.
        let _ = self.events.send(ScriptEvent::CreateCanvas { canvas, size });
        Ok(canvas)
    }
    fn drop_canvas(&self, _vm: VmId, canvas: u32) -> Result<(), String> {
        let mut table = self.table();
        if canvas < table.page {
            return Err(format!(
                "drop_canvas({canvas}): canvas {canvas} is a <canvas> on the page; only offscreen canvases can be dropped"
            ));
        }
        let size = table
            .offscreen
            .remove(&canvas)
            .ok_or_else(|| format!("drop_canvas({canvas}): no such offscreen canvas"))?;
        table.held = table.held.without(size);
        let _ = self.events.send(ScriptEvent::DropCanvas { canvas });
        Ok(())
    }
    fn image_count(&self) -> u32 {
        self.images.len() as u32
    }
    fn check_image(&self, image: u32) -> Result<(), String> {
        match self.images.get(image as usize) {
            Some(Ok(_)) => Ok(()),
            Some(Err(reason)) => Err(format!("image {image} is broken and cannot be drawn: {reason}")),
            None => Err(format!("there is no image {image} on the page (it has {})", self.images.len())),
        }
    }
    fn canvas(&self, _vm: VmId, call: CanvasCall) {
        let _ = self.events.send(ScriptEvent::Canvas(call));
    }
    fn animation_frame_requested(&self, _vm: VmId) {}
    fn script_error(&self, _vm: VmId, error: &ScriptError) {
        tracing::error!(target: "armature::script", "{}: {error}", self.page);
    }
    fn task_done(&self, _vm: VmId) {
        let _ = self.events.send(ScriptEvent::TaskDone);
    }
}

/// A running page's VMs.
pub struct PageScripts {
    group: VmGroup,
    host: Arc<PageHost>,
    events: Receiver<ScriptEvent>,
    /// The page's canvases' image buffers (`None`: it has no bitmap; drawing on it, or it,
    /// does nothing).
    canvases: Vec<Option<(ImageBufferId, DeviceIntSize)>>,
    /// Live offscreen canvases by index, as the GPU process knows them.
    offscreen: HashMap<u32, RemoteImageBufferProxy>,
    /// The page's `<img>`s in document order (`None`: broken).
    images: Vec<Option<ImageKey>>,
}

/// Where the debugger listens, and how a detach is told.
pub type OnDebugger = Box<dyn Fn(DebuggerNews) + Send + Sync>;

/// News of the debugger server for the launcher.
#[derive(Debug)]
pub enum DebuggerNews {
    /// Listening at this address.
    Listening(String),
    /// Could not listen.
    Failed(String),
    /// The client went away.
    Detached,
}

impl PageScripts {
    /// Starts the page's VMs and queues its scripts; `None` if it has none. Scripts that
    /// cannot be read are reported by name and skipped. `images` are the page's `<img>`s
    /// in document order ([`page_images`]); `ratio` is the page's device pixel ratio.
    pub fn start(
        document: &Document,
        page: &Path,
        canvases: &[PageCanvas],
        images: Vec<Result<ImageKey, String>>,
        ratio: DevicePixelRatio,
        options: ScriptOptions,
        on_debugger: OnDebugger,
    ) -> Option<PageScripts> {
        let scripts = collect(document, page);
        if scripts.is_empty() {
            return None;
        }
        let page_name = page.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let (events, receiver) = crossbeam_channel::unbounded();
        let page_canvases = canvases.len() as u32;
        let bitmapless = canvases
            .iter()
            .enumerate()
            .filter_map(|(index, canvas)| {
                let DeviceIntSize { width, height, .. } = canvas.size;
                let why = match &canvas.bitmap {
                    CanvasBitmap::Buffer => return None,
                    // Canvas 2D's InvalidStateError.
                    CanvasBitmap::Empty => format!(
                        "canvas {index} is {width}x{height} pixels: a canvas with no pixels cannot be drawn"
                    ),
                    CanvasBitmap::Refused(why) => format!("canvas {index} cannot be drawn: {why}"),
                };
                Some((index as u32, why))
            })
            .collect();
        let table = CanvasTable {
            page: page_canvases,
            bitmapless,
            offscreen: BTreeMap::new(),
            next: page_canvases,
            held: Held::default(),
        };
        let keys = images.iter().map(|image| image.as_ref().ok().copied()).collect();
        let host = Arc::new(PageHost {
            page: page_name.clone(),
            canvases: Mutex::new(table),
            images,
            events,
            ratio: AtomicU32::new(ratio.get().to_bits()),
        });
        let timeout = Duration::from_millis(options.timeout_ms.max(1));
        let config = VmConfig { debug: options.debug_port.is_some(), script_timeout: timeout };
        let group = match VmGroup::new(host.clone(), config) {
            Ok(group) => group,
            Err(error) => {
                tracing::error!(target: "armature::script", "{page_name}: scripts not run: {error}");
                return None;
            }
        };
        let main = group.spawn("main");
        let mut workers = 0;
        for (worker, script) in scripts {
            match script {
                Ok(script) if worker => {
                    workers += 1;
                    let vm = group.spawn(&format!("worker {workers} ({})", script.name));
                    group.run_script(vm, script);
                }
                Ok(script) => {
                    group.run_script(main, script);
                }
                Err(message) => tracing::error!(target: "armature::script", "{page_name}: {message}"),
            }
        }
        if let Some(port) = options.debug_port {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            match DapServer::bind(addr) {
                Ok(server) => {
                    let bound = server.local_addr().map(|addr| addr.to_string()).unwrap_or_default();
                    let on_debugger = Arc::new(on_debugger);
                    let detached = on_debugger.clone();
                    match server.serve(group.handle(), Box::new(move || detached(DebuggerNews::Detached))) {
                        Ok(()) => on_debugger(DebuggerNews::Listening(bound)),
                        Err(error) => {
                            on_debugger(DebuggerNews::Failed(format!("cannot start the debugger: {error}")))
                        }
                    }
                }
                Err(error) => on_debugger(DebuggerNews::Failed(error.to_string())),
            }
        }
        let canvases = canvases.iter().map(PageCanvas::buffer).collect();
        Some(PageScripts { group, host, events: receiver, canvases, offscreen: HashMap::new(), images: keys })
    }

    /// Waits for the scripts' first tasks so what they draw is in the first frame, at most
    /// [`SETTLE_LIMIT`]: a long-running script must not keep the page from rendering.
    /// `false` if they did not settle. Not capped at a shorter script budget: a script over
    /// its budget is stopped then, and that stop must be counted (and reported) before the
    /// first frame, not race it.
    pub fn settle(&self) -> bool {
        self.group.wait_idle(SETTLE_LIMIT)
    }

    /// The events VM threads send.
    pub fn events(&self) -> &Receiver<ScriptEvent> {
        &self.events
    }

    /// Whether a script waits for an animation frame.
    pub fn wants_frame(&self) -> bool {
        self.group.wants_animation_frame()
    }

    /// Runs the requested animation frame callbacks.
    pub fn animation_frame(&self, time_ms: f64) {
        self.group.animation_frame(time_ms);
    }

    /// Applies every canvas event that has arrived; returns whether any did. `TaskDone`s
    /// are dropped (the caller presents after this anyway).
    pub fn drain(&mut self, gpu: &mut RemoteRenderingBackendProxy, fonts: &mut Fonts) -> bool {
        let mut drew = false;
        while let Ok(event) = self.events.try_recv() {
            drew |= self.apply(gpu, fonts, event);
        }
        drew
    }

    /// Applies one event: makes or drops an offscreen canvas, or draws one call on its
    /// canvas (indices were checked on the VM thread; a call on a canvas another VM has
    /// dropped since is skipped, as the canvas is gone). Returns whether it changed a
    /// canvas (`false` for `TaskDone`).
    pub fn apply(
        &mut self,
        gpu: &mut RemoteRenderingBackendProxy,
        fonts: &mut Fonts,
        event: ScriptEvent,
    ) -> bool {
        let call = match event {
            ScriptEvent::Canvas(call) => call,
            ScriptEvent::CreateCanvas { canvas, size } => {
                self.offscreen.insert(canvas, gpu.create_image_buffer(size));
                return true;
            }
            ScriptEvent::DropCanvas { canvas } => {
                if let Some(buffer) = self.offscreen.remove(&canvas) {
                    gpu.destroy_image_buffer(buffer);
                }
                return true;
            }
            ScriptEvent::TaskDone => return false,
        };
        let Some(buffer) = self.buffer(call.canvas()) else { return false };
        let source = match &call {
            CanvasCall::DrawCanvas { source, .. } => match self.buffer(*source) {
                Some(source) => Some(source),
                None => return false,
            },
            _ => None,
        };
        let mut context = gpu.context(buffer);
        match call {
            CanvasCall::FillColor { rgba, .. } => context.set_fill_color(color(rgba)),
            CanvasCall::StrokeColor { rgba, .. } => context.set_stroke_color(color(rgba)),
            CanvasCall::LineWidth { width, .. } => context.set_line_width(width),
            CanvasCall::FillRect { rect: [x, y, w, h], .. } => context.fill_rect(x, y, w, h),
            CanvasCall::StrokeRect { rect: [x, y, w, h], .. } => context.stroke_rect(x, y, w, h),
            CanvasCall::ClearRect { rect: [x, y, w, h], .. } => context.clear_rect(x, y, w, h),
            CanvasCall::FillText { text, x, y, size, .. } => context.fill_text(fonts, &text, x, y, size),
            CanvasCall::Save { .. } => context.save(),
            CanvasCall::Restore { .. } => context.restore(),
            CanvasCall::Translate { x, y, .. } => context.translate(x, y),
            CanvasCall::Scale { x, y, .. } => context.scale(x, y),
            CanvasCall::DrawCanvas { rect: [x, y, w, h], .. } => match source {
                Some(source) => context.draw_buffer(source, x, y, w, h),
                None => return false,
            },
            CanvasCall::DrawImage { image, rect: [x, y, w, h], .. } => {
                match self.images.get(image as usize).copied().flatten() {
                    Some(key) => context.draw_image(key, x, y, w, h),
                    None => return false,
                }
            }
        };
        true
    }

    /// Makes the live offscreen canvases again in a relaunched GPU process, which knows
    /// nothing of them (transparent again, as the page's canvases are: their drawing was
    /// in the process that died).
    pub fn recreate_offscreen(&self, gpu: &mut RemoteRenderingBackendProxy) {
        let mut live: Vec<_> = self.offscreen.values().copied().collect();
        live.sort_by_key(|buffer| buffer.id().1);
        for buffer in live {
            gpu.recreate_image_buffer(buffer);
        }
    }

    /// The page is now shown at `ratio` (the window moved to another screen): what
    /// `device_pixel_ratio()` returns from the next call on.
    pub fn set_device_pixel_ratio(&self, ratio: DevicePixelRatio) {
        self.host.ratio.store(ratio.get().to_bits(), Ordering::Relaxed);
    }

    /// Tells every VM that the canvases are blank in a relaunched GPU process: each
    /// script's `on_context_restored` runs, to draw what it drew once again.
    pub fn context_restored(&self) {
        self.group.context_restored();
    }

    /// The buffer behind canvas index `canvas`: a page canvas, or a live offscreen one.
    fn buffer(&self, canvas: u32) -> Option<RemoteImageBufferProxy> {
        match self.canvases.get(canvas as usize) {
            Some(page_canvas) => page_canvas.map(|(id, size)| RemoteImageBufferProxy::existing(id, size)),
            None => self.offscreen.get(&canvas).copied(),
        }
    }
}

/// The page's `<img>` elements in document order, as scripts number them: each one's key
/// (loaded now if layout did not need it, a `display: none` image say, so the first frame
/// uploads it), or why it is broken.
pub fn page_images(document: &Document, images: &mut Images) -> Vec<Result<ImageKey, String>> {
    document
        .descendants(NodeId::DOCUMENT)
        .filter(|&node| document.tag(node).is_some_and(|tag| &**tag == "img"))
        .map(|node| match document.attr(node, "src") {
            Some(src) => match images.load(src) {
                ImageContent::Loaded { key, .. } => Ok(key),
                ImageContent::Broken { reason } => Err(reason),
            },
            None => Err("the <img> has no src".to_owned()),
        })
        .collect()
}

/// `0xRRGGBBAA` as a colour.
fn color(rgba: u32) -> ColorF {
    let [r, g, b, a] = rgba.to_be_bytes();
    ColorF::new(f32::from(r) / 255.0, f32::from(g) / 255.0, f32::from(b) / 255.0, f32::from(a) / 255.0)
}

/// Longest wait for scripts before the first frame.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(2);

/// Largest script file read.
const MAX_SCRIPT: u64 = 64 * 1024 * 1024;

/// The page's scripts in document order: (is a worker, the script or why it can't be read).
fn collect(document: &Document, page: &Path) -> Vec<(bool, Result<Script, String>)> {
    let base = page.parent().unwrap_or(Path::new("."));
    let mut inline = 0;
    let mut scripts = Vec::new();
    for node in document.descendants(NodeId::DOCUMENT) {
        if document.tag(node).is_none_or(|tag| &**tag != "script") {
            continue;
        }
        let kind = document.attr(node, "type").unwrap_or("").trim().to_ascii_lowercase();
        let worker = document.attr(node, "worker").is_some();
        let script = match kind.as_str() {
            "application/wasm" => match document.attr(node, "src") {
                Some(src) => read_wasm(&base.join(src), src),
                None => Err("a <script type=\"application/wasm\"> needs a src attribute".to_owned()),
            },
            "text/wat" => {
                inline += 1;
                Ok(Script {
                    name: format!("inline script {inline}"),
                    source: ScriptSource::Wat(document.text_content(node)),
                })
            }
            // JavaScript and other types are not run: Armature's scripts are WebAssembly.
            _ => continue,
        };
        scripts.push((worker, script));
    }
    scripts
}

fn read_wasm(path: &Path, src: &str) -> Result<Script, String> {
    let size = std::fs::metadata(path)
        .map_err(|error| format!("cannot read script '{src}' ({}): {error}", path.display()))?
        .len();
    if size > MAX_SCRIPT {
        return Err(format!("script '{src}' is {size} bytes, more than the {MAX_SCRIPT} allowed"));
    }
    let bytes = std::fs::read(path)
        .map_err(|error| format!("cannot read script '{src}' ({}): {error}", path.display()))?;
    let name =
        path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_else(|| src.to_owned());
    Ok(Script { name, source: ScriptSource::Wasm(bytes) })
}
