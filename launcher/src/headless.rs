//! Headless mode: render one page in a [`Session`], write it as PNG, report its stats, shut
//! everything down.

use std::path::Path;
use std::time::{Duration, Instant};

use armature_api::Viewport;

use crate::error::LauncherError;
use crate::screenshot::PendingScreenshot;
use crate::session::{PageJob, Session, SessionOptions, check_page};
use crate::stats;

/// What the headless run was asked to do.
pub struct HeadlessRun<'a> {
    /// The page.
    pub page: &'a Path,
    /// Where to write the PNG, if anywhere.
    pub screenshot: Option<&'a Path>,
    /// Where to write the frame's stats as JSON, if anywhere.
    pub stats_json: Option<&'a Path>,
    /// The viewport: device pixels and their ratio to CSS pixels.
    pub viewport: Viewport,
    /// How the session runs its children (`--verbose` among them).
    pub session: SessionOptions,
}

/// Runs one page headless.
pub fn run(request: HeadlessRun<'_>) -> Result<(), LauncherError> {
    check_page(request.page)?;
    let screenshot = request.screenshot.map(PendingScreenshot::prepare).transpose()?;
    let started = Instant::now();
    let verbose = request.session.verbose;
    let debugging = request.session.scripts.debug_port.is_some();
    let mut session = Session::start(request.session)?;
    let rendered = session.render(PageJob { page: request.page.to_owned(), viewport: request.viewport });
    let rendered = match rendered {
        Ok(rendered) => rendered,
        Err(error) => {
            session.shutdown();
            return Err(error);
        }
    };
    if verbose {
        let title = rendered.title.as_deref().unwrap_or("(untitled)");
        eprintln!("armature: loaded '{title}': {} display items", rendered.display_items);
        let size = rendered.frame.size;
        let elapsed = started.elapsed().as_secs_f64() * 1000.0;
        eprintln!("armature: frame {}x{} after {elapsed:.0} ms", size.width, size.height);
        eprint!("{}", stats::table(&rendered));
        #[cfg(feature = "crash")]
        for line in session.child_annotations() {
            eprintln!("armature: {line}");
        }
    }
    if let Some(path) = request.stats_json {
        stats::write_json(path, &rendered)?;
    }
    if let Some(screenshot) = screenshot {
        screenshot.commit(&rendered.frame)?;
    }
    if debugging || std::env::var(TEST_HOLD_ENV).is_ok_and(|point| point == "after-frame") {
        if debugging {
            eprintln!("armature: the page stays up until the debugger disconnects");
        } else {
            eprintln!("armature: holding after the frame ({TEST_HOLD_ENV})");
        }
        // A frame drawn again (after a GPU process relaunch) replaces the screenshot.
        let mut on_frame = |frame: armature_api::messages::FramePixels| {
            if verbose {
                eprintln!("armature: frame of epoch {} redrawn", frame.epoch.0);
            }
            match request.screenshot {
                Some(path) => PendingScreenshot::prepare(path)?.commit(&frame),
                None => Ok(()),
            }
        };
        // A debugging session lasts as long as its user wants (a day at most).
        let limit = if debugging { Duration::from_secs(24 * 3600) } else { Duration::from_secs(60) };
        let held = session.hold(limit, &mut on_frame);
        if let Err(error) = held {
            session.shutdown();
            return Err(error);
        }
    }
    session.shutdown();
    Ok(())
}

/// Runs several pages at once headless, one content process each against one GPU process,
/// writing `DIR/NAME.png` for each. A page that fails is reported (naming it) and the others
/// go on; `Ok(false)` if any failed.
pub fn run_many(
    pages: &[std::path::PathBuf],
    screenshot_dir: Option<&Path>,
    viewport: Viewport,
    options: SessionOptions,
) -> Result<bool, LauncherError> {
    for page in pages {
        check_page(page)?;
    }
    let names = screenshot_names(pages);
    if let Some(dir) = screenshot_dir {
        std::fs::create_dir_all(dir)
            .map_err(|source| LauncherError::ScreenshotUnwritable { path: dir.to_owned(), source })?;
    }
    let verbose = options.verbose;
    let mut session = Session::start(options)?;
    let jobs: Vec<PageJob> = pages.iter().map(|page| PageJob { page: page.clone(), viewport }).collect();
    let results = match session.render_all(&jobs, jobs.len()) {
        Ok(results) => results,
        Err(error) => {
            session.shutdown();
            return Err(error);
        }
    };
    session.shutdown();
    let mut all_good = true;
    for (result, name) in results.into_iter().zip(names) {
        let written = result.and_then(|rendered| {
            if verbose {
                eprintln!(
                    "armature: '{}': {} display items",
                    rendered.page.display(),
                    rendered.display_items
                );
            }
            match screenshot_dir {
                Some(dir) => PendingScreenshot::prepare(&dir.join(&name))?.commit(&rendered.frame),
                None => Ok(()),
            }
        });
        if let Err(error) = written {
            eprintln!("armature: error: {error}");
            all_good = false;
        }
    }
    Ok(all_good)
}

/// `NAME.png` per page; a name used twice gets `-2`, `-3`… after it.
fn screenshot_names(pages: &[std::path::PathBuf]) -> Vec<String> {
    let mut seen = std::collections::HashMap::<String, u32>::new();
    pages
        .iter()
        .map(|page| {
            let stem = page.file_stem().map_or("page".into(), |stem| stem.to_string_lossy().into_owned());
            let count = seen.entry(stem.clone()).or_default();
            *count += 1;
            if *count == 1 { format!("{stem}.png") } else { format!("{stem}-{count}.png") }
        })
        .collect()
}

/// Test switch: `ARMATURE_TEST_HOLD=after-frame` keeps every process up after the frame is
/// written until a content process goes away or a signal ends the launcher, so tests can
/// inspect the process tree, interrupt it, or kill the GPU process and watch the frame
/// come back. Bounded, so a forgotten switch cannot hang forever.
pub const TEST_HOLD_ENV: &str = "ARMATURE_TEST_HOLD";
