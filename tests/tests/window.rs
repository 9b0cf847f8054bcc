//! Window mode under a private Xvfb: the page's pixels in the window (screenshotted from
//! outside with `xwd`), a relayout after a resize, scrolling by wheel and keys, the shared-
//! memory fallback, a 2× screen, closing the window, and the error without a display.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use armature_tests::xvfb::{Screenshot, X11, Xvfb};
use armature_tests::{armature, children_of, has_feature, page, render_ok};

/// How long a window may take to show the expected pixels (lavapipe in a debug build on two
/// cores is slow to start).
const SHOW_TIMEOUT: Duration = Duration::from_secs(60);

/// X keysym of the End key.
const XK_END: u32 = 0xff57;
/// X keysym of the Right arrow key.
const XK_RIGHT: u32 = 0xff53;
/// X keysym of the Home key.
const XK_HOME: u32 = 0xff50;

/// A window-mode armature on an Xvfb display, killed (and reaped) on drop.
struct WindowRun {
    child: Child,
}

impl WindowRun {
    fn start(xvfb: &Xvfb, page: &Path, extra: &[&str]) -> WindowRun {
        WindowRun::start_with(xvfb, page, extra, &[])
    }

    fn start_with(xvfb: &Xvfb, page: &Path, extra: &[&str], env: &[(&str, &str)]) -> WindowRun {
        let child = armature()
            .arg(page)
            .args(extra)
            .envs(env.iter().copied())
            .env("DISPLAY", &xvfb.display)
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("armature starts");
        WindowRun { child }
    }

    /// Waits for the process to exit; its status and stderr.
    fn wait(mut self, timeout: Duration) -> (std::process::ExitStatus, String) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
                }
                return (status, stderr);
            }
            assert!(
                Instant::now() < deadline,
                "armature did not exit within {timeout:?} after the window closed"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for WindowRun {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Screenshots `window` until `matches` holds, or fails with how far the last shot was off.
fn wait_for_pixels(
    x11: &X11,
    xvfb: &Xvfb,
    window: u32,
    what: &str,
    matches: impl Fn(&Screenshot) -> Result<(), String>,
) -> Screenshot {
    let deadline = Instant::now() + SHOW_TIMEOUT;
    loop {
        let shot = x11.screenshot(&xvfb.display, window);
        match matches(&shot) {
            Ok(()) => return shot,
            Err(why) if Instant::now() > deadline => panic!("the window never showed {what}: {why}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// The window shows exactly `reference` (a headless render) at its size.
fn shows(reference: &image::RgbaImage) -> impl Fn(&Screenshot) -> Result<(), String> + '_ {
    move |shot| {
        if (shot.width, shot.height) != reference.dimensions() {
            return Err(format!(
                "window is {}x{}, expected {:?}",
                shot.width,
                shot.height,
                reference.dimensions()
            ));
        }
        match shot.differs_from_part(reference, (0, 0)) {
            0 => Ok(()),
            differing => Err(format!("{differing} pixels differ from the headless render")),
        }
    }
}

/// The window shows exactly the part of `whole` (a headless render of the whole document)
/// whose top-left is at `at`: the page scrolled there.
fn shows_part(whole: &image::RgbaImage, at: (u32, u32)) -> impl Fn(&Screenshot) -> Result<(), String> + '_ {
    move |shot| match shot.differs_from_part(whole, at) {
        0 => Ok(()),
        differing => Err(format!("{differing} pixels differ from the document at {at:?}")),
    }
}

#[test]
fn the_gpu_process_draws_into_the_window_and_a_resize_lays_the_page_out_again() {
    if !has_feature("window") {
        return no_window_feature();
    }
    let page = page("fluid.html");
    let small = render_ok(&page, &["--window-size", "400x300"]);
    let large = render_ok(&page, &["--window-size", "640x360"]);
    let relaid = (0..300)
        .flat_map(|y| (0..400).map(move |x| (x, y)))
        .filter(|&(x, y)| small.get_pixel(x, y) != large.get_pixel(x, y))
        .count();
    assert!(relaid > 1000, "the text wraps differently at the two widths ({relaid} pixels differ)");

    let xvfb = Xvfb::start();
    let x11 = xvfb.connect();
    let run = WindowRun::start(&xvfb, &page, &["--window-size", "400x300"]);
    let window = x11.window_of(run.child.id(), SHOW_TIMEOUT).expect("armature maps a window");
    wait_for_pixels(&x11, &xvfb, window, "the page at 400x300", shows(&small));

    // The GPU process drew it: the launcher holds no copy of the pixels, and the GPU process
    // is a child of the launcher with a window of its own on no display but ours.
    let children = children_of(run.child.id());
    assert_eq!(children.len(), 2, "a GPU and a content process: {children:?}");

    x11.resize(window, 640, 360);
    wait_for_pixels(&x11, &xvfb, window, "the page laid out again at 640x360", shows(&large));

    x11.close(window);
    let (status, stderr) = run.wait(Duration::from_secs(30));
    assert!(status.success(), "closing the window ends armature cleanly: {status}\n{stderr}");
    for child in children {
        assert!(!Path::new(&format!("/proc/{child}")).exists(), "child {child} outlived the launcher");
    }
}

#[test]
fn a_window_on_a_2x_screen_draws_what_a_2x_screenshot_shows() {
    if !has_feature("window") {
        return no_window_feature();
    }
    let page = page("hello.html");
    let reference = render_ok(&page, &["--window-size", "320x240", "--device-pixel-ratio", "2"]);
    let xvfb = Xvfb::start();
    let x11 = xvfb.connect();
    // winit's scale factor on X11, as a HiDPI desktop sets it: the 320x240 logical window
    // is 640x480 device pixels.
    let run = WindowRun::start_with(
        &xvfb,
        &page,
        &["--window-size", "320x240"],
        &[("WINIT_X11_SCALE_FACTOR", "2")],
    );
    let window = x11.window_of(run.child.id(), SHOW_TIMEOUT).expect("armature maps a window");
    wait_for_pixels(&x11, &xvfb, window, "the page at 2×", shows(&reference));
}

#[test]
fn the_wheel_and_the_end_key_scroll_a_tall_page() {
    if !has_feature("window") {
        return no_window_feature();
    }
    let page = page("tall.html");
    // The whole document in one frame: the window must show slices of it.
    let whole = render_ok(&page, &["--window-size", "400x3000"]);
    let xvfb = Xvfb::start();
    let x11 = xvfb.connect();
    let run = WindowRun::start(&xvfb, &page, &["--window-size", "400x300"]);
    let window = x11.window_of(run.child.id(), SHOW_TIMEOUT).expect("armature maps a window");
    let slice = |first_row: u32| shows_part(&whole, (0, first_row));
    wait_for_pixels(&x11, &xvfb, window, "the top of the page", slice(0));

    // Five notches down. Each is 48 px, but an XTEST wheel click may reach winit twice
    // (as a button and as a smooth-scroll valuator), so any whole number of notches past
    // the first counts; the frame must show exactly that slice of the document.
    x11.wheel(window, 5);
    let scrolled = |shot: &Screenshot| {
        let offsets = (1..=20).map(|notches| notches * 48);
        match offsets.clone().find(|&offset| shot.differs_from_part(&whole, (0, offset)) == 0) {
            Some(offset) if offset >= 5 * 48 => Ok(()),
            Some(offset) => Err(format!("scrolled by only {offset} px")),
            None => Err(format!("not a slice of the document at any of {:?}", offsets.collect::<Vec<_>>())),
        }
    };
    wait_for_pixels(&x11, &xvfb, window, "the page scrolled by whole wheel notches", scrolled);

    // End: the bottom of the 3000 px document, with its text.
    x11.key(window, XK_END);
    wait_for_pixels(&x11, &xvfb, window, "the bottom of the page", slice(2700));

    x11.close(window);
    let (status, stderr) = run.wait(Duration::from_secs(30));
    assert!(status.success(), "{status}\n{stderr}");
}

#[test]
fn shift_wheel_tilt_wheel_and_arrow_keys_scroll_a_wide_page_sideways() {
    if !has_feature("window") {
        return no_window_feature();
    }
    let page = page("wide.html");
    // The whole 1600 px width in one frame: the window must show parts of it.
    let whole = render_ok(&page, &["--window-size", "1600x300"]);
    let xvfb = Xvfb::start();
    let x11 = xvfb.connect();
    let run = WindowRun::start(&xvfb, &page, &["--window-size", "400x300"]);
    let window = x11.window_of(run.child.id(), SHOW_TIMEOUT).expect("armature maps a window");
    let at = |x: u32| shows_part(&whole, (x, 0));
    // The document x the window shows, if it is a whole number of wheel notches (48 px)
    // right of `from`.
    let notches_from = |shot: &Screenshot, from: u32| {
        (0..=25)
            .map(|n| from + n * 48)
            .take_while(|&x| x <= 1200)
            .find(|&x| shot.differs_from_part(&whole, (x, 0)) == 0)
    };
    // Waits for at least `notches` notches right of `from`, and for the window to settle
    // there: an XTEST click may reach winit twice (as a button and as a smooth-scroll
    // valuator), and a late second one must not be taken for the next step's doing.
    let notches_past = |from: u32, notches: u32, what: &str| loop {
        let shot =
            wait_for_pixels(&x11, &xvfb, window, what, |shot: &Screenshot| match notches_from(shot, from) {
                Some(x) if x >= from + notches * 48 => Ok(()),
                Some(x) => Err(format!("scrolled to only x = {x}")),
                None => Err(format!("not {from} + a whole number of notches across")),
            });
        let x = notches_from(&shot, from);
        std::thread::sleep(Duration::from_millis(500));
        if notches_from(&x11.screenshot(&xvfb.display, window), from) == x {
            return x.expect("matched above");
        }
    };
    wait_for_pixels(&x11, &xvfb, window, "the left edge of the page", at(0));

    for _ in 0..3 {
        x11.key(window, XK_RIGHT);
    }
    wait_for_pixels(&x11, &xvfb, window, "the page 3 arrow steps across", at(120));
    x11.wheel_sideways(window, 2);
    let tilted = notches_past(120, 2, "the page scrolled right by a tilt wheel");
    x11.shift_wheel(window, 2);
    notches_past(tilted, 2, "the page scrolled right by Shift+wheel");

    // Both ends: the right edge is the document's width less the window's.
    x11.wheel_sideways(window, 40);
    wait_for_pixels(&x11, &xvfb, window, "the right edge of the page", at(1200));
    x11.shift_wheel(window, -40);
    wait_for_pixels(&x11, &xvfb, window, "the left edge again", at(0));

    x11.close(window);
    let (status, stderr) = run.wait(Duration::from_secs(30));
    assert!(status.success(), "{status}\n{stderr}");
}

#[test]
fn the_wheel_scrolls_the_box_under_the_pointer_then_the_page_and_keys_the_box_last_clicked() {
    if !has_feature("window") {
        return no_window_feature();
    }
    // scroll-boxes.html is 500 px high, in a 400x300 window: the page scrolls by 200. Its
    // inbox (160x200 at 0,40) holds 480 px of mail: it scrolls by 280.
    let page = page("scroll-boxes.html");
    let whole = render_ok(&page, &["--window-size", "400x500"]);
    // The whole page with the inbox at its end: its first mail pulled up by 280 px.
    let html = std::fs::read_to_string(&page).expect("the page");
    let first_mail = "<div class=\"mail\" style=\"background: #8e24aa";
    assert!(html.contains(first_mail), "scroll-boxes.html changed: update this test");
    let scrolled_page =
        std::env::temp_dir().join(format!("armature-scroll-boxes-{}.html", std::process::id()));
    std::fs::write(&scrolled_page, html.replace(first_mail, &format!("{first_mail}; margin-top: -280px")))
        .expect("write the page");
    let inbox_at_end = render_ok(&scrolled_page, &["--window-size", "400x500"]);
    let _ = std::fs::remove_file(&scrolled_page);
    assert!(whole != inbox_at_end, "the scrolled inbox looks different");

    let xvfb = Xvfb::start();
    let x11 = xvfb.connect();
    let run = WindowRun::start(&xvfb, &page, &["--window-size", "400x300"]);
    let window = x11.window_of(run.child.id(), SHOW_TIMEOUT).expect("armature maps a window");
    wait_for_pixels(&x11, &xvfb, window, "the top of the page", shows_part(&whole, (0, 0)));

    // Over the inbox the wheel scrolls it and leaves the page where it is...
    x11.wheel_at(window, (80, 140), 2);
    wait_for_pixels(&x11, &xvfb, window, "the inbox scrolled", |shot: &Screenshot| {
        let first_mail = shot.pixel(150, 45);
        let bar = shot.pixel(300, 20);
        match (first_mail, bar) {
            ([0x8e, 0x24, 0xaa, _], _) => Err("the first mail is still at the inbox's top".into()),
            (_, [0x26, 0x32, 0x38, _]) => Ok(()),
            (_, bar) => Err(format!("the page scrolled too: {bar:?} where its top bar was")),
        }
    });
    // ...until the inbox reaches its end: then the page scrolls, to its own end.
    x11.wheel_at(window, (80, 140), 30);
    wait_for_pixels(
        &x11,
        &xvfb,
        window,
        "the inbox and then the page at their ends",
        shows_part(&inbox_at_end, (0, 200)),
    );

    // Keys scroll the box last clicked: Home takes the inbox (now 0..40 on screen) to its
    // start and leaves the page; pressed again, with the inbox at its start, it takes the page.
    x11.click(window, (80, 20));
    x11.key(window, XK_HOME);
    wait_for_pixels(
        &x11,
        &xvfb,
        window,
        "the inbox at its start, the page at its end",
        shows_part(&whole, (0, 200)),
    );
    x11.key(window, XK_HOME);
    wait_for_pixels(&x11, &xvfb, window, "the top of the page again", shows_part(&whole, (0, 0)));

    x11.close(window);
    let (status, stderr) = run.wait(Duration::from_secs(30));
    assert!(status.success(), "{status}\n{stderr}");
}

#[test]
fn frames_can_come_back_through_shared_memory_instead() {
    if !has_feature("window") {
        return no_window_feature();
    }
    launcher_presents(&["--present", "shared-memory"], &[]);
}

#[test]
fn a_window_the_gpu_process_cannot_open_falls_back_to_shared_memory() {
    if !has_feature("window") {
        return no_window_feature();
    }
    let stderr = launcher_presents(&[], &[("ARMATURE_TEST_BAD_WINDOW", "1")]);
    assert!(stderr.contains("cannot draw into the window") && stderr.contains("shared memory"), "{stderr}");
}

/// Runs borders.html at 320x240 with `extra` arguments and `env`, checks that the window
/// shows exactly the headless pixels (presented by the launcher) and that closing it ends
/// the run cleanly; returns the run's stderr.
fn launcher_presents(extra: &[&str], env: &[(&str, &str)]) -> String {
    let page = page("borders.html");
    let reference = render_ok(&page, &["--window-size", "320x240"]);
    let xvfb = Xvfb::start();
    let x11 = xvfb.connect();
    let args: Vec<&str> = ["--window-size", "320x240"].iter().chain(extra).copied().collect();
    let run = WindowRun::start_with(&xvfb, &page, &args, env);
    let window = x11.window_of(run.child.id(), SHOW_TIMEOUT).expect("armature maps a window");
    wait_for_pixels(&x11, &xvfb, window, "the page presented by the launcher", shows(&reference));
    x11.close(window);
    let (status, stderr) = run.wait(Duration::from_secs(30));
    assert!(status.success(), "{status}\n{stderr}");
    stderr
}

#[test]
fn without_a_display_the_error_suggests_headless() {
    if !has_feature("window") {
        return no_window_feature();
    }
    let output = armature()
        .arg(page("hello.html"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("armature runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot open a window") && stderr.contains("--headless"), "{stderr}");
}

/// Built without `window`: asking for a window is a clear error, and `--present` is gone.
fn no_window_feature() {
    let output = armature().arg(page("hello.html")).output().expect("armature runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("without the `window` feature") && stderr.contains("--headless"), "{stderr}");
    let help = armature().arg("--help").output().expect("armature runs");
    assert!(
        !String::from_utf8_lossy(&help.stdout).contains("--present"),
        "--present is listed without windows"
    );
}

#[test]
fn a_crashed_content_process_leaves_an_error_page_in_the_window() {
    if !has_feature("window") || !has_feature("crash") {
        return;
    }
    let page = page("fluid.html");
    let reference = render_ok(&page, &["--window-size", "400x300"]);
    let reports = tempfile::tempdir().expect("temp dir");
    let xvfb = Xvfb::start();
    let x11 = xvfb.connect();
    let reports_arg = reports.path().to_str().expect("UTF-8 temp path");
    let run = WindowRun::start(&xvfb, &page, &["--window-size", "400x300", "--crash-reports", reports_arg]);
    let window = x11.window_of(run.child.id(), SHOW_TIMEOUT).expect("armature maps a window");
    wait_for_pixels(&x11, &xvfb, window, "the page", shows(&reference));

    // A real crash signal: the content process's handler asks the launcher for a dump.
    let content = children_of(run.child.id())
        .into_iter()
        .find(|&pid| armature_tests::command_line(pid).contains("--role=content"))
        .expect("a content process");
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(content as i32).expect("a pid"),
        rustix::process::Signal::SEGV,
    )
    .expect("signal the content process");

    // The error page: a dark red (#b3261e) heading on light grey (#f2f2f2). Both colours
    // are told apart from the page's own: its first bar is a lighter red (#d32f2f) on
    // #fbfbf7, which a looser test once took for the error page before it was shown.
    let error_page = |shot: &Screenshot| {
        let near = |[r, g, b, _]: [u8; 4], [er, eg, eb]: [u8; 3]| {
            r.abs_diff(er) <= 8 && g.abs_diff(eg) <= 8 && b.abs_diff(eb) <= 8
        };
        if !near(shot.pixel(2, 2), [0xf2, 0xf2, 0xf2]) {
            return Err(format!("background {:?} is not the error page's", shot.pixel(2, 2)));
        }
        let red = (0..shot.height)
            .flat_map(|y| (0..shot.width).map(move |x| (x, y)))
            .filter(|&(x, y)| near(shot.pixel(x, y), [0xb3, 0x26, 0x1e]))
            .count();
        if red > 200 { Ok(()) } else { Err(format!("{red} heading-red pixels")) }
    };
    let before =
        Screenshot { width: reference.width(), height: reference.height(), rgba: reference.to_vec() };
    assert!(error_page(&before).is_err(), "the page itself must not pass for the error page");
    wait_for_pixels(&x11, &xvfb, window, "the error page", error_page);
    let dumps = std::fs::read_dir(reports.path())
        .expect("reports directory")
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|extension| extension == "dmp"))
        .count();
    assert_eq!(dumps, 1, "the crash left one minidump");

    x11.close(window);
    let (status, stderr) = run.wait(Duration::from_secs(30));
    assert!(status.success(), "{status}\n{stderr}");
    assert!(stderr.contains("crashed") && stderr.contains("SIGSEGV"), "{stderr}");
}
