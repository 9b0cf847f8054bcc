//! The page's script host: finds `<script>`s, runs them in VMs (armature-vm) and applies
//! their canvas drawing through the page's image-buffer proxies, on the content process's
//! main thread, so the stream to the GPU process keeps one writer and one order.
//!
//! Non-worker scripts run in the page's main VM, in document order; each `worker` script
//! gets a VM of its own (like a Web Worker). The main VM exists whenever the page has a
//! script, so a page with only workers has an idle main VM.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use armature_api::messages::ScriptOptions;
use armature_api::{ColorF, DeviceIntSize, ImageBufferId};
use armature_vm::dap::DapServer;
use armature_vm::{CanvasCall, Host, Script, ScriptError, ScriptSource, VmConfig, VmGroup, VmId};
use crossbeam_channel::{Receiver, Sender};

use crate::canvas::{RemoteImageBufferProxy, RemoteRenderingBackendProxy};
use crate::dom::Document;
use crate::fonts::Fonts;

/// What VM threads tell the main thread.
#[derive(Debug)]
pub enum ScriptEvent {
    /// Draw on a page canvas.
    Canvas(CanvasCall),
    /// A VM finished a task: what it drew can be presented.
    TaskDone,
}

struct PageHost {
    page: String,
    canvases: u32,
    events: Sender<ScriptEvent>,
}

impl Host for PageHost {
    fn console(&self, vm: VmId, script: &str, message: &str) {
        tracing::info!(target: "armature::script", "{} {vm} {script}: {message}", self.page);
    }
    fn canvas_count(&self) -> u32 {
        self.canvases
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
    events: Receiver<ScriptEvent>,
    canvases: Vec<(ImageBufferId, DeviceIntSize)>,
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
    /// cannot be read are reported by name and skipped.
    pub fn start(
        document: &Document,
        page: &Path,
        canvases: Vec<(ImageBufferId, DeviceIntSize)>,
        options: ScriptOptions,
        on_debugger: OnDebugger,
    ) -> Option<PageScripts> {
        let scripts = collect(document, page);
        if scripts.is_empty() {
            return None;
        }
        let page_name = page.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let (events, receiver) = crossbeam_channel::unbounded();
        let host = Arc::new(PageHost { page: page_name.clone(), canvases: canvases.len() as u32, events });
        let timeout = Duration::from_millis(options.timeout_ms.max(1));
        let config = VmConfig { debug: options.debug_port.is_some(), script_timeout: timeout };
        let group = match VmGroup::new(host, config) {
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
        Some(PageScripts { group, events: receiver, canvases })
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

    /// Applies every canvas call that has arrived; returns whether any did. Other events
    /// are dropped (the caller presents after this anyway).
    pub fn drain(&self, gpu: &mut RemoteRenderingBackendProxy, fonts: &mut Fonts) -> bool {
        let mut drew = false;
        while let Ok(event) = self.events.try_recv() {
            if let ScriptEvent::Canvas(call) = event {
                self.apply(gpu, fonts, call);
                drew = true;
            }
        }
        drew
    }

    /// Draws one call on its canvas (the index was checked on the VM thread).
    pub fn apply(&self, gpu: &mut RemoteRenderingBackendProxy, fonts: &mut Fonts, call: CanvasCall) {
        let Some(&(id, size)) = self.canvases.get(call.canvas() as usize) else { return };
        let mut context = gpu.context(RemoteImageBufferProxy::existing(id, size));
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
            CanvasCall::DrawCanvas { source, rect: [x, y, w, h], .. } => {
                let Some(&(source, size)) = self.canvases.get(source as usize) else { return };
                context.draw_buffer(RemoteImageBufferProxy::existing(source, size), x, y, w, h)
            }
        };
    }
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
    for node in document.descendants(crate::dom::NodeId::DOCUMENT) {
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
