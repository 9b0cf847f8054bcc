//! The command line (clap).

use std::path::PathBuf;

use armature_api::{DeviceIntSize, DevicePixelRatio, Viewport};
use clap::Parser;

/// Armature: a multi-process browser-engine skeleton. Renders an HTML page with a GPU
/// process and a content process.
#[derive(Debug, Parser)]
#[command(
    name = "armature",
    version,
    about,
    long_about = None,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    /// A tool instead of a page.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The HTML page to render; several with `--headless` (one content process each, all
    /// against one GPU process).
    #[arg(value_name = "PAGE", required = true, num_args = 1..)]
    pub pages: Vec<PathBuf>,

    /// Render without a window (CI, screenshots).
    #[arg(long)]
    pub headless: bool,

    /// Write the rendered page to this PNG file (headless mode, one page).
    #[arg(long, value_name = "PNG", requires = "headless")]
    pub screenshot: Option<PathBuf>,

    /// Write each page's PNG into this directory as NAME.png, NAME being the page's file
    /// name without extension (headless mode; made if missing).
    #[arg(long, value_name = "DIR", requires = "headless", conflicts_with = "screenshot")]
    pub screenshot_dir: Option<PathBuf>,

    /// How frames reach the window: `auto` lets the GPU process draw into it (X11), else
    /// they come back through shared memory; `shared-memory` always brings them back.
    #[cfg(feature = "window")]
    #[arg(long, value_name = "HOW", default_value = "auto", conflicts_with = "headless")]
    pub present: crate::window::Present,

    /// Viewport size in CSS pixels, as WIDTHxHEIGHT (the window's initial inner size).
    #[arg(long, value_name = "WxH", default_value = "1024x768", value_parser = parse_window_size)]
    pub window_size: DeviceIntSize,

    /// Device pixels per CSS pixel (`window.devicePixelRatio`), 0.25 to 4: the page is laid
    /// out in CSS pixels and drawn at this ratio, so `--window-size 800x600
    /// --device-pixel-ratio 2` writes a 1600x1200 screenshot with text drawn at full
    /// resolution. [default: 1 headless; the screen's own ratio in a window]
    #[arg(long, value_name = "RATIO", value_parser = parse_device_pixel_ratio)]
    pub device_pixel_ratio: Option<DevicePixelRatio>,

    /// Print the page's box tree with each box's rect (text, or json) and exit; draws nothing.
    #[arg(long, value_name = "FORMAT", num_args = 0..=1, default_missing_value = "text")]
    pub dump_layout: Option<DumpFormat>,

    /// Write the frame's stats (items, primitives, batches, draw calls, bytes uploaded,
    /// time per stage) as JSON to this file (headless mode).
    #[arg(long, value_name = "FILE", requires = "headless")]
    pub stats_json: Option<PathBuf>,

    /// Print what each process does: the GPU adapter and backend, display items, and the
    /// frame's stats.
    #[arg(long, short)]
    pub verbose: bool,

    /// How many GPU process crashes within ten minutes are relaunched; one more ends the run
    /// (Chromium's limit is 3 too).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub gpu_crash_limit: u32,

    /// Crash reporting.
    #[cfg(feature = "crash")]
    #[command(flatten)]
    pub crash: CrashArgs,

    /// Capture.
    #[cfg(feature = "capture")]
    #[command(flatten)]
    pub capture: CaptureArgs,

    /// Page scripts.
    #[cfg(feature = "vm")]
    #[command(flatten)]
    pub scripts: ScriptArgs,
}

/// Page-script options (WebAssembly VMs and their debugger).
#[cfg(feature = "vm")]
#[derive(Debug, clap::Args)]
pub struct ScriptArgs {
    /// Serve a Debug Adapter Protocol debugger for the page's script VMs on 127.0.0.1 at
    /// this port (PORT or 127.0.0.1:PORT; 0 picks a free port and prints it). Turns guest
    /// debugging on; the run stays up until the debugger disconnects.
    #[arg(long, value_name = "PORT", value_parser = parse_debug_port)]
    pub debug_port: Option<u16>,

    /// Stop a script task that runs longer than this many seconds (an infinite loop); the
    /// page keeps rendering and the error names the script.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0, value_parser = parse_seconds)]
    pub script_timeout: f64,
}

/// `PORT`, `127.0.0.1:PORT` or `localhost:PORT`; other addresses are refused (a debugger
/// can read and stop every script, so it is served on loopback only).
#[cfg(feature = "vm")]
fn parse_debug_port(text: &str) -> Result<u16, String> {
    let port = match text.rsplit_once(':') {
        None => text,
        Some(("127.0.0.1" | "localhost" | "[::1]", port)) => port,
        Some((host, _)) => {
            return Err(format!("the debugger listens on 127.0.0.1 only, not on '{host}'; pass a port"));
        }
    };
    port.parse().map_err(|_| format!("'{port}' is not a port number (0 to 65535)"))
}

#[cfg(feature = "vm")]
fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds <= 86_400.0 => Ok(seconds),
        _ => Err(format!("'{text}' is not a number of seconds between 0 and 86400")),
    }
}

/// Capture options (WebRender-style captures, replayed by `armature replay`).
#[cfg(feature = "capture")]
#[derive(Debug, clap::Args)]
pub struct CaptureArgs {
    /// Capture every frame of the run into this directory (new or empty), at
    /// --capture-levels.
    #[arg(long, value_name = "DIR")]
    pub capture: Option<PathBuf>,

    /// Which pipeline levels a capture saves, comma-separated: stream (the content→GPU
    /// commands), scene (display lists + resources), frame (primitives, batches, glyph
    /// atlas), pixels (PNGs), or all. Also used by SIGUSR2 captures.
    #[arg(long, value_name = "LEVELS", default_value = "all")]
    pub capture_levels: armature_capture::Levels,

    /// Where SIGUSR2 captures go: each signal captures the next frame into a new numbered
    /// directory DIR/capture-0001, DIR/capture-0002, …
    #[arg(long, value_name = "DIR", default_value = "armature-captures")]
    pub signal_capture_dir: PathBuf,

    /// Frames of each content→GPU stream kept in memory so a crash report carries them as a
    /// STREAM capture (`<id>.stream/`); 0 turns this off.
    #[cfg(feature = "crash")]
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub crash_capture_frames: u32,

    /// Largest stream capture kept per content process, in MiB (older frames go first; the
    /// newest always stays).
    #[cfg(feature = "crash")]
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    pub crash_capture_mib: u64,
}

/// Crash-reporting options.
#[cfg(feature = "crash")]
#[derive(Debug, clap::Args)]
pub struct CrashArgs {
    /// Directory for crash reports (`<id>.dmp` + `<id>.extra`) [default:
    /// $XDG_DATA_HOME/armature/crashes or ~/.local/share/armature/crashes].
    #[arg(long, value_name = "DIR")]
    pub crash_reports: Option<PathBuf>,

    /// Test switch: make a child crash with a real invalid memory write, as
    /// ROLE[:POINT[:TIMES]]: ROLE is gpu or content; POINT is before-connect (no report can
    /// be written yet), startup (default), mid-frame or readback (GPU only); the first TIMES
    /// (default 1) processes of that role crash.
    #[arg(long, value_name = "ROLE[:POINT[:TIMES]]", value_parser = crate::crash::CrashTest::parse)]
    pub crash_test: Option<crate::crash::CrashTest>,
}

/// Tools.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run reftests: render each test and reference page of a manifest (Firefox/wrench
    /// `reftest.list` format) and compare their pixels.
    Reftest {
        /// The manifest.
        #[arg(value_name = "MANIFEST")]
        manifest: PathBuf,

        /// Directory for the test, reference and difference PNGs of failures.
        #[arg(long, value_name = "DIR", default_value = "target/reftests")]
        output: PathBuf,

        /// Viewport of every page, as WIDTHxHEIGHT.
        #[arg(long, value_name = "WxH", default_value = "800x600", value_parser = parse_window_size)]
        window_size: DeviceIntSize,
        /// Draw every test and reference at this device pixel ratio (0.25 to 4), as on a
        /// HiDPI screen.
        #[arg(long, value_name = "RATIO", default_value = "1", value_parser = parse_device_pixel_ratio)]
        device_pixel_ratio: DevicePixelRatio,

        /// Print what each process does.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Replay a capture (`--capture DIR`, a SIGUSR2 capture or a crash report's stream) in a
    /// bare GPU pipeline, with no content process: show it, screenshot it, or compare it.
    #[cfg(feature = "capture")]
    Replay(ReplayArgs),
    /// Crash reports: list them, show one, or read a running child's annotations.
    #[cfg(feature = "crash")]
    Crashes {
        /// What to do.
        #[command(subcommand)]
        action: CrashesAction,

        /// Directory of the reports [default: as for a run's --crash-reports].
        #[arg(long, value_name = "DIR", global = true)]
        crash_reports: Option<PathBuf>,
    },
}

/// `armature replay …`.
#[cfg(feature = "capture")]
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The capture directory (it holds manifest.ron).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Draw only this frame (from 1; `manifest.ron` lists them) [default: every frame,
    /// showing or writing the last].
    #[arg(long, value_name = "N")]
    pub frame: Option<u32>,

    /// Write the frame as PNG (implies --headless).
    #[arg(long, value_name = "PNG")]
    pub screenshot: Option<PathBuf>,

    /// Draw into WIDTHxHEIGHT instead of each frame's captured size. Nothing is laid out
    /// again: the captured display list is cropped, or padded with the page background.
    #[arg(long, value_name = "WxH", value_parser = parse_window_size)]
    pub window_size: Option<DeviceIntSize>,

    /// Compare every frame drawn with the capture's PIXELS; on a mismatch write a diff PNG
    /// beside it and exit 1 (implies --headless).
    #[arg(long)]
    pub compare: bool,

    /// The level to draw from: scene (each frame on its own), stream (every command from
    /// the first frame), or auto (scene where captured, else stream).
    #[arg(long, value_name = "LEVEL", default_value = "auto")]
    pub from: armature_capture::ReplaySource,

    /// Draw without a window.
    #[arg(long)]
    pub headless: bool,

    /// Capture the replay itself into this directory, at --capture-levels (a STREAM replay
    /// captured at scene level reproduces the original SCENE files).
    #[arg(long, value_name = "DIR")]
    pub capture: Option<PathBuf>,

    /// Levels for --capture.
    #[arg(long, value_name = "LEVELS", default_value = "all")]
    pub capture_levels: armature_capture::Levels,

    /// Print what replay does.
    #[arg(long, short)]
    pub verbose: bool,
}

/// `armature crashes …`.
#[cfg(feature = "crash")]
#[derive(Debug, clap::Subcommand)]
pub enum CrashesAction {
    /// One line per report, oldest first.
    List,
    /// A report in full: its annotations and what its minidump says.
    Show {
        /// The report's id (from `armature crashes list`).
        id: String,
    },
    /// The crash annotations a running armature process publishes, read from outside
    /// through its ELF note (needs ptrace rights over it, e.g. being its parent or root).
    Inspect {
        /// The process id.
        pid: u32,
    },
}

/// How `--dump-layout` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DumpFormat {
    /// An indented tree for people.
    Text,
    /// JSON for tools.
    Json,
}

/// Largest viewport side accepted; GPUs commonly cap textures at 8192 or 16384.
const MAX_SIDE: u32 = 16384;

pub fn parse_window_size(text: &str) -> Result<DeviceIntSize, String> {
    let (width, height) =
        text.split_once(['x', 'X']).ok_or_else(|| format!("'{text}' is not WIDTHxHEIGHT (e.g. 1024x768)"))?;
    let side = |value: &str| -> Result<u32, String> {
        let side: u32 =
            value.trim().parse().map_err(|_| format!("'{value}' is not a whole number of pixels"))?;
        if side == 0 || side > MAX_SIDE {
            return Err(format!("{side} is outside 1..={MAX_SIDE} pixels"));
        }
        Ok(side)
    };
    Ok(DeviceIntSize::new(side(width)?, side(height)?))
}

/// Parses `--device-pixel-ratio`.
pub fn parse_device_pixel_ratio(text: &str) -> Result<DevicePixelRatio, String> {
    let ratio: f32 = text.trim().parse().map_err(|_| format!("'{text}' is not a number (e.g. 2 or 1.5)"))?;
    DevicePixelRatio::new(ratio).map_err(|error| error.to_string())
}

/// The viewport of `css` CSS pixels at `ratio`, if its device pixels fit a texture.
pub fn viewport(css: DeviceIntSize, ratio: DevicePixelRatio) -> Result<Viewport, String> {
    let viewport = Viewport::from_css(css, ratio);
    let device = viewport.size;
    if device.width > MAX_SIDE || device.height > MAX_SIDE {
        return Err(format!(
            "--window-size {}x{} at device pixel ratio {ratio} is {}x{} device pixels, more than \
             {MAX_SIDE} per side: use a smaller --window-size or --device-pixel-ratio",
            css.width, css.height, device.width, device.height
        ));
    }
    Ok(viewport)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_or_a_tool() {
        let cli = Cli::try_parse_from(["armature", "page.html", "--headless"]).expect("a page");
        assert_eq!(cli.pages, [PathBuf::from("page.html")]);
        let cli =
            Cli::try_parse_from(["armature", "a.html", "b.html", "--headless", "--screenshot-dir", "out"])
                .expect("several pages");
        assert_eq!(cli.pages.len(), 2);
        assert_eq!(cli.screenshot_dir, Some(PathBuf::from("out")));
        assert!(
            Cli::try_parse_from(["armature", "a.html", "--screenshot-dir", "out"]).is_err(),
            "needs --headless"
        );
        let cli = Cli::try_parse_from(["armature", "reftest", "x/reftest.list"]).expect("a tool");
        assert!(matches!(cli.command, Some(Command::Reftest { .. })));
        assert!(Cli::try_parse_from(["armature"]).is_err(), "a page is required");
    }

    #[test]
    fn window_sizes() {
        assert_eq!(parse_window_size("800x600"), Ok(DeviceIntSize::new(800, 600)));
        assert!(parse_window_size("800").is_err());
        assert!(parse_window_size("0x600").is_err());
        assert!(parse_window_size("99999x1").is_err());
        assert!(parse_window_size("axb").is_err());
    }

    #[test]
    fn device_pixel_ratios_and_the_viewports_they_make() {
        assert_eq!(parse_device_pixel_ratio("1.5").map(DevicePixelRatio::get), Ok(1.5));
        assert_eq!(parse_device_pixel_ratio("two"), Err("'two' is not a number (e.g. 2 or 1.5)".into()));
        assert_eq!(parse_device_pixel_ratio("5"), Err("device pixel ratio 5 is outside 0.25..=4".into()));
        let two = DevicePixelRatio::new(2.0).expect("ratio");
        let viewport = viewport(DeviceIntSize::new(800, 600), two).expect("fits");
        assert_eq!(viewport.size, DeviceIntSize::new(1600, 1200));
        let error = super::viewport(DeviceIntSize::new(10000, 600), two).expect_err("too wide");
        assert!(error.contains("20000x1200 device pixels, more than 16384 per side"), "{error}");
    }
}
