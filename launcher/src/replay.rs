//! `armature replay DIR`: a capture drawn in a bare GPU pipeline, with no content process
//! (WebRender's wrench). The capture's commands go through the same validation and renderer
//! as a live content process's stream, so a corrupt or hostile capture is refused the same
//! way. Frames can be shown, written as PNG, compared with the captured PIXELS, or captured
//! again (a STREAM replay captured at SCENE level reproduces the original SCENE files).

use std::collections::HashMap;
use std::path::PathBuf;

use armature_api::capture::StreamRecording;
use armature_api::messages::{CaptureRequest, CaptureScope, ContentToGpu};
use armature_api::{ContentId, DeviceIntSize};
use armature_capture::format::FrameEntry;
use armature_capture::replay::Replay;
use armature_capture::{Capture, Level, StreamRecorder};
use armature_gpu::backend::RemoteRenderingBackend;
use armature_gpu::capture::{ActiveCapture, PresentedFrame};
use armature_gpu::device::GpuDevice;
use armature_gpu::renderer::{RenderedFrame, Renderer};

use crate::cli::ReplayArgs;
use crate::error::LauncherError;
use crate::reftest;
use crate::screenshot::PendingScreenshot;

/// A replayed frame that differs from its captured pixels.
#[derive(Debug)]
pub struct Mismatch {
    /// The frame.
    pub frame: u32,
    /// What differs.
    pub detail: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "frame {}: {}", self.frame, self.detail)
    }
}

/// One content process of the capture, as the GPU process would hold it.
struct Connection {
    backend: RemoteRenderingBackend,
    /// Only when the replay is captured again.
    recorder: Option<StreamRecorder>,
    /// This frame's commands so far, for a STREAM capture of the replay.
    since_present: Vec<ContentToGpu>,
}

impl Connection {
    fn new(content: ContentId) -> Connection {
        Connection {
            backend: RemoteRenderingBackend::new(content),
            recorder: None,
            since_present: Vec::new(),
        }
    }
}

/// The bare pipeline: a renderer and what each captured content process uploaded.
struct Pipeline {
    renderer: Renderer,
    connections: HashMap<ContentId, Connection>,
    capture: Option<ActiveCapture>,
    window_size: Option<DeviceIntSize>,
}

impl Pipeline {
    /// Applies one command of `frame`; a drawn `Present` returns the frame and its list.
    fn apply(
        &mut self,
        frame: &FrameEntry,
        command: ContentToGpu,
        draw: bool,
    ) -> Result<Option<RenderedFrame>, LauncherError> {
        let refused = |message: String| LauncherError::ReplayFrame { frame: frame.number.0, message };
        let connection =
            self.connections.entry(frame.content).or_insert_with(|| Connection::new(frame.content));
        let earlier = match (&self.capture, &connection.recorder, &command) {
            (Some(capture), Some(recorder), ContentToGpu::Present(_))
                if capture.needs_earlier_stream(frame.content) =>
            {
                Some(recorder.presented())
            }
            _ => None,
        };
        if let Some(recorder) = &mut connection.recorder {
            recorder.record(&command);
            connection.since_present.push(command.clone());
        }
        let applied = connection
            .backend
            .apply(&mut self.renderer, command)
            .map_err(|error| refused(error.to_string()))?;
        match applied.present {
            None => Ok(None),
            Some(epoch) => {
                let commands = std::mem::take(&mut connection.since_present);
                let Some((_, list)) = &connection.backend.display_list else { return Ok(None) };
                if !draw {
                    return Ok(None);
                }
                let mut resized;
                let list = match self.window_size {
                    Some(size) => {
                        resized = list.clone();
                        // The frame's pixels, at the list's own device pixel ratio.
                        resized.viewport = list.device_pixel_ratio.layout_size(size);
                        &resized
                    }
                    None => list,
                };
                let rendered = self
                    .renderer
                    .render(list, &connection.backend.resources)
                    .map_err(|error| refused(error.to_string()))?;
                if let (Some(capture), Some(recorder)) = (&mut self.capture, &connection.recorder) {
                    let presented = PresentedFrame {
                        content: frame.content,
                        epoch,
                        list,
                        resources: &connection.backend.resources,
                        rendered: &rendered,
                        commands: &commands,
                        earlier: earlier.as_ref(),
                    };
                    armature_gpu::capture::write_frame(capture, &mut self.renderer, recorder, presented)?;
                }
                Ok(Some(rendered))
            }
        }
    }
}

/// Runs `armature replay`. `Ok(false)` never happens: a mismatch is an error (exit 1).
pub fn run(args: &ReplayArgs) -> Result<bool, LauncherError> {
    let capture = Capture::open(&args.dir)?;
    let mut replay = Replay::new(&capture, args.from, args.frame)?;
    let headless = args.headless || args.screenshot.is_some() || args.compare;
    #[cfg(not(feature = "window"))]
    if !headless {
        return Err(LauncherError::NoWindowFeature);
    }
    let screenshot = args.screenshot.as_deref().map(PendingScreenshot::prepare).transpose()?;
    if args.verbose {
        let manifest = capture.manifest();
        eprintln!(
            "armature: capture of {} frame(s), format {} by armature {}; drawing from {:?}",
            manifest.frames.len(),
            manifest.format_version,
            manifest.armature_version,
            replay.source()
        );
    }
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // As for a GPU process (see `supervise`): Mesa's device-select layer would complain.
        // SAFETY: no other thread runs yet in a replay, so nothing reads the environment
        // while it changes.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
    let device = GpuDevice::open().map_err(|error| LauncherError::Gpu(error.to_string()))?;
    let mut renderer = Renderer::new(device);
    let recapture = match &args.capture {
        Some(dir) => {
            let request =
                CaptureRequest { dir: dir.clone(), levels: args.capture_levels, scope: CaptureScope::Run };
            let capture = ActiveCapture::start(&request)?;
            renderer.keep_frame_details(capture.wants_details());
            Some(capture)
        }
        None => None,
    };
    let recording = StreamRecording { frames: 0, max_bytes: 0 };
    let mut pipeline =
        Pipeline { renderer, connections: HashMap::new(), capture: recapture, window_size: args.window_size };

    let mut last: Option<(FrameEntry, RenderedFrame)> = None;
    let mut mismatches = Vec::new();
    let mut told_size = false;
    while let Some(step) = replay.next_step() {
        let step = step?;
        let frame = step.frame;
        if step.fresh
            && let Some(old) = pipeline.connections.remove(&frame.content)
        {
            old.backend.release(&mut pipeline.renderer);
        }
        if pipeline.capture.is_some() {
            let connection =
                pipeline.connections.entry(frame.content).or_insert_with(|| Connection::new(frame.content));
            connection.recorder.get_or_insert_with(|| StreamRecorder::new(recording));
        }
        let mut drawn = None;
        for command in step.commands {
            if let Some(rendered) = pipeline.apply(&frame, command, step.draw)? {
                drawn = Some(rendered);
            }
        }
        let Some(rendered) = drawn else { continue };
        if let Some(size) = args.window_size
            && size != frame.viewport
            && !told_size
        {
            told_size = true;
            eprintln!(
                "armature: replaying at {}x{}, not the captured {}x{}: nothing is laid out again, so the \
                 page is cropped or padded with its background",
                size.width, size.height, frame.viewport.width, frame.viewport.height
            );
        }
        if args.verbose {
            eprintln!(
                "armature: frame {} ({} epoch {}): {}x{} in {} draw calls",
                frame.number.0,
                frame.content,
                frame.epoch.0,
                rendered.size.width,
                rendered.size.height,
                rendered.stats.draw_calls
            );
        }
        if args.compare {
            if let Some(mismatch) = compare(&capture, &frame, &rendered)? {
                eprintln!("armature: {mismatch}");
                mismatches.push(mismatch);
            } else if args.verbose {
                eprintln!("armature: frame {}: identical to the captured pixels", frame.number.0);
            }
        }
        last = Some((frame, rendered));
    }
    if let Some(capture) = &pipeline.capture {
        eprintln!("armature: captured {} frame(s) into {}", capture.frames(), capture.dir().display());
    }
    let Some((frame, rendered)) = last else {
        return Err(LauncherError::Capture(armature_capture::CaptureError::NoSuchFrame {
            frame: args.frame.unwrap_or(1),
            count: capture.manifest().frames.len(),
        }));
    };
    if let Some(screenshot) = screenshot {
        screenshot.commit_pixels(rendered.size, &rendered.rgba)?;
    }
    if !mismatches.is_empty() {
        return Err(LauncherError::ReplayMismatch(mismatches));
    }
    if args.compare {
        eprintln!("armature: every frame replayed identical to the captured pixels");
    }
    if !headless {
        #[cfg(feature = "window")]
        {
            let title = format!("{} — frame {} (replay)", args.dir.display(), frame.number.0);
            crate::window::show_pixels(&title, rendered.size, rendered.rgba)?;
        }
    }
    let _ = frame;
    Ok(true)
}

/// Compares a replayed frame with the capture's PIXELS; a mismatch leaves a diff PNG.
fn compare(
    capture: &Capture,
    frame: &FrameEntry,
    rendered: &RenderedFrame,
) -> Result<Option<Mismatch>, LauncherError> {
    let (size, captured) = capture.load_pixels(frame)?;
    let mismatch = |detail: String| Some(Mismatch { frame: frame.number.0, detail });
    if size != rendered.size {
        return Ok(mismatch(format!(
            "replayed at {}x{} but captured at {}x{} (drop --window-size to compare)",
            rendered.size.width, rendered.size.height, size.width, size.height
        )));
    }
    let difference = reftest::compare(&rendered.rgba, &captured);
    if difference.differing_pixels == 0 {
        return Ok(None);
    }
    let diff_path: PathBuf = capture.frame_path(frame, &format!("diff-{}.png", Level::Pixels.as_str()));
    let diff = reftest::difference_image(&rendered.rgba, &captured);
    PendingScreenshot::prepare(&diff_path)?.commit_pixels(size, &diff)?;
    Ok(mismatch(format!(
        "{} of {} pixels differ (by up to {}); diff: {}",
        difference.differing_pixels,
        u64::from(size.width) * u64::from(size.height),
        difference.max_difference,
        diff_path.display()
    )))
}
