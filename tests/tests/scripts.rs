//! Page scripts end to end: worker VMs drawing canvases, a canvas drawn into another, bad
//! scripts reported by name while the page renders, and a Debug Adapter Protocol session over
//! TCP with the real binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use armature_tests::{
    armature, assert_pixel, has_feature, page, render, render_ok, sigkill_gpu_child, stderr, wait_until,
};
use serde_json::{Value, json};

#[test]
fn without_the_feature_there_is_no_debug_port() {
    if has_feature("vm") {
        return;
    }
    let help = armature().arg("--help").output().expect("help");
    assert!(!String::from_utf8_lossy(&help.stdout).contains("--debug-port"));
}

#[test]
fn two_worker_vms_draw_their_canvases_into_the_first_frame() {
    if !has_feature("vm") {
        return;
    }
    let image = render_ok(&page("workers.html"), &["--window-size", "500x300"]);
    // Canvas 0 (worker 1): a blue square at (10, 30) inside the canvas at about (26, 146).
    assert_pixel(&image, 26 + 10 + 30, 146 + 30 + 30, [0x20, 0x60, 0xc0, 255], 2);
    // Canvas 1 (worker 2): a red bar at (70, 10).
    assert_pixel(&image, 252 + 70 + 30, 146 + 10 + 20, [0xd0, 0x40, 0x20, 255], 2);
}

#[test]
fn a_script_draws_one_canvas_into_another() {
    if !has_feature("vm") {
        return;
    }
    let image = render_ok(&page("magnifier.html"), &["--window-size", "400x300"]);
    let (sand, teal) = ([0xf0, 0xe0, 0xa0, 255], [0x20, 0x60, 0x80, 255]);
    // The small canvas at (0, 0): a teal bar at (5, 10), 10x20, on sand.
    assert_pixel(&image, 10, 20, teal, 2);
    assert_pixel(&image, 40, 20, sand, 2);
    // The large canvas at (0, 40): the small one four times as large, the bar at (20, 40).
    assert_pixel(&image, 40, 40 + 80, teal, 2);
    assert_pixel(&image, 200, 40 + 20, sand, 2);
    assert_pixel(&image, 100, 40 + 80, sand, 2);

    // A source that is not one of the page's canvases traps, named.
    let dir = tempfile::tempdir().expect("temp dir");
    let html = r#"<html><body><canvas width="50" height="50"></canvas>
      <script type="text/wat">(module
        (import "armature" "draw_canvas" (func $draw_canvas (param i32 i32 f32 f32 f32 f32)))
        (func (export "main")
          (call $draw_canvas (i32.const 0) (i32.const 7) (f32.const 0) (f32.const 0) (f32.const 9) (f32.const 9))))</script>
      </body></html>"#;
    let path = dir.path().join("bad-source.html");
    std::fs::write(&path, html).expect("write");
    let (output, _) = render(&path, &["--window-size", "200x100"]);
    let log = stderr(&output);
    assert!(output.status.success(), "{log}");
    assert!(log.contains("there is no canvas 7 on the page (it has 1)"), "{log}");
}

#[test]
fn scripts_draw_offscreen_canvases_and_page_images() {
    if !has_feature("vm") {
        return;
    }
    let image = render_ok(&page("sprites.html"), &["--window-size", "400x300"]);
    let (red, blue, yellow) = ([255, 0, 0, 255], [0, 0, 255, 255], [0xf0, 0xd0, 0x20, 255]);
    let (teal, sand, background) =
        ([0x20, 0x60, 0x80, 255], [0xf0, 0xe0, 0xa0, 255], [0xf4, 0xf4, 0xf0, 255]);
    // The hidden <img> (64x32, red then blue), drawn twice as large at (0, 0).
    assert_pixel(&image, 32, 32, red, 2);
    assert_pixel(&image, 96, 32, blue, 2);
    // The tile, an offscreen canvas holding the image and the dropped scratch canvas's
    // yellow square at (28, 12), drawn twice as large at (0, 80).
    assert_pixel(&image, 16, 96, red, 2);
    assert_pixel(&image, 112, 96, blue, 2);
    assert_pixel(&image, 64, 112, yellow, 2);
    // The sprite (16x16, teal with a sand centre) stamped at 32x32 from (160, 20), (200, 40).
    assert_pixel(&image, 163, 23, teal, 2);
    assert_pixel(&image, 176, 36, sand, 2);
    assert_pixel(&image, 216, 56, sand, 2);
    // Offscreen canvases are not on the page by themselves.
    assert_pixel(&image, 300, 120, background, 2);
}

#[test]
fn offscreen_canvas_and_image_misuse_traps_named_and_later_scripts_still_draw() {
    if !has_feature("vm") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let script = |body: &str| {
        format!(
            r#"<script type="text/wat">(module
              (import "armature" "create_canvas" (func $create (param i32 i32) (result i32)))
              (import "armature" "drop_canvas" (func $drop (param i32)))
              (import "armature" "draw_image" (func $draw_image (param i32 i32 f32 f32 f32 f32)))
              (import "armature" "draw_canvas" (func $draw_canvas (param i32 i32 f32 f32 f32 f32)))
              (import "armature" "fill_color" (func $fill (param i32 i32)))
              (import "armature" "fill_rect" (func $rect (param i32 f32 f32 f32 f32)))
              (func (export "main") (local $c i32) {body}))</script>"#
        )
    };
    let scripts = [
        // 1: a dropped canvas's index names nothing any more.
        "(local.set $c (call $create (i32.const 4) (i32.const 4))) (call $drop (local.get $c))
         (call $rect (local.get $c) (f32.const 0) (f32.const 0) (f32.const 1) (f32.const 1))",
        // 2, 3: an empty canvas, and more pixels than a page's offscreen canvases may hold.
        "(drop (call $create (i32.const 0) (i32.const 5)))",
        "(drop (call $create (i32.const 8192) (i32.const 8192)))",
        // 4, 5: a broken image, and an image the page does not have.
        "(call $draw_image (i32.const 0) (i32.const 0) (f32.const 0) (f32.const 0) (f32.const 9) (f32.const 9))",
        "(call $draw_image (i32.const 0) (i32.const 3) (f32.const 0) (f32.const 0) (f32.const 9) (f32.const 9))",
        // 6: the page's own canvas cannot be dropped.
        "(call $drop (i32.const 0))",
        // 7: with one offscreen canvas live, a canvas that never was.
        "(drop (call $create (i32.const 4) (i32.const 4)))
         (call $rect (i32.const 9) (f32.const 0) (f32.const 0) (f32.const 1) (f32.const 1))",
        // 8: a good script after them: green from an offscreen canvas.
        "(local.set $c (call $create (i32.const 10) (i32.const 10)))
         (call $fill (local.get $c) (i32.const 0x00ff00ff))
         (call $rect (local.get $c) (f32.const 0) (f32.const 0) (f32.const 10) (f32.const 10))
         (call $draw_canvas (i32.const 0) (local.get $c) (f32.const 0) (f32.const 0) (f32.const 50) (f32.const 50))",
    ];
    let html = format!(
        r#"<html><body style="margin: 0"><canvas width="50" height="50" style="display: block"></canvas>
        <img src="missing.png">{}</body></html>"#,
        scripts.map(script).concat()
    );
    let path = dir.path().join("misuse.html");
    std::fs::write(&path, html).expect("write");
    let (output, image) = render(&path, &["--window-size", "200x100"]);
    let log = stderr(&output);
    assert!(output.status.success(), "{log}");
    for (script, message) in [
        (1, "canvas 1 was dropped (drop_canvas); it cannot be used again"),
        (2, "create_canvas(0, 5): a canvas is 1 to 8192 pixels wide and high"),
        (
            3,
            "create_canvas(8192, 8192): the page's offscreen canvases would hold 67108864 pixels, more than the 16777216 allowed (drop_canvas the ones no longer needed)",
        ),
        (4, "image 0 is broken and cannot be drawn: cannot read"),
        (5, "there is no image 3 on the page (it has 1)"),
        (6, "drop_canvas(0): canvas 0 is a <canvas> on the page; only offscreen canvases can be dropped"),
        (7, "there is no canvas 9 on the page (it has 1, and 1 offscreen)"),
    ] {
        // Each report runs from its "[content …]" line to the next (the cause is below it).
        let trapped = format!("script 'inline script {script}' trapped in main");
        let report = log.split("[content").find(|report| report.contains(&trapped));
        let report = report.unwrap_or_else(|| panic!("{trapped}: {log}"));
        assert!(report.contains(message), "script {script}: {report}");
    }
    assert!(!log.contains("inline script 8"), "{log}");
    assert_pixel(&image.expect("png"), 25, 25, [0, 255, 0, 255], 0);
}

/// Starts `page` headless at `size`, held after each frame (`ARMATURE_TEST_HOLD`), writing
/// every frame to `png`; its stderr is piped for [`stop`].
fn start_held(page: &Path, png: &Path, size: &str) -> Child {
    armature()
        .arg(page)
        .args(["--headless", "--window-size", size, "--screenshot"])
        .arg(png)
        .env("ARMATURE_TEST_HOLD", "after-frame")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("armature starts")
}

/// Kills a held run and returns what it printed on stderr.
fn stop(mut launcher: Child) -> String {
    let _ = launcher.kill();
    stderr(&launcher.wait_with_output().expect("launcher exits"))
}

#[test]
fn offscreen_canvases_are_made_again_in_a_relaunched_gpu_process() {
    if !has_feature("vm") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let png = dir.path().join("out.png");
    // One offscreen canvas lives all along; every frame makes another, draws both and drops
    // the new one. After the relaunch the kept one must exist in the new GPU process, and
    // the new ones must not take its id.
    let html = r#"<html><body><canvas width="50" height="50"></canvas>
      <script type="text/wat">(module
        (import "armature" "create_canvas" (func $create (param i32 i32) (result i32)))
        (import "armature" "drop_canvas" (func $drop (param i32)))
        (import "armature" "draw_canvas" (func $draw_canvas (param i32 i32 f32 f32 f32 f32)))
        (import "armature" "fill_rect" (func $rect (param i32 f32 f32 f32 f32)))
        (import "armature" "request_animation_frame" (func $raf))
        (global $kept (mut i32) (i32.const 0))
        (func (export "main")
          (global.set $kept (call $create (i32.const 8) (i32.const 8)))
          (call $raf))
        (func (export "on_frame") (param $time f64) (local $new i32)
          (local.set $new (call $create (i32.const 4) (i32.const 4)))
          (call $rect (local.get $new) (f32.const 0) (f32.const 0) (f32.const 4) (f32.const 4))
          (call $rect (global.get $kept) (f32.const 0) (f32.const 0) (f32.const 4) (f32.const 4))
          (call $draw_canvas (i32.const 0) (global.get $kept) (f32.const 0) (f32.const 0) (f32.const 8) (f32.const 8))
          (call $draw_canvas (i32.const 0) (local.get $new) (f32.const 8) (f32.const 0) (f32.const 4) (f32.const 4))
          (call $drop (local.get $new))
          (call $raf)))</script></body></html>"#;
    let path = dir.path().join("offscreen.html");
    std::fs::write(&path, html).expect("write");
    let mut launcher = start_held(&path, &png, "400x300");
    if !wait_until(Duration::from_secs(60), || png.exists()) {
        panic!("the frame never arrived: {}", stop(launcher));
    }
    let modified = std::fs::metadata(&png).and_then(|m| m.modified()).expect("mtime");
    sigkill_gpu_child(launcher.id());
    let redrawn = wait_until(Duration::from_secs(60), || {
        std::fs::metadata(&png).and_then(|m| m.modified()).is_ok_and(|time| time != modified)
    });
    // A second of animation frames: the new GPU process must know the kept canvas and see
    // each new one under a new id, or it ends the page's stream.
    std::thread::sleep(Duration::from_secs(1));
    let running = launcher.try_wait().expect("launcher status").is_none();
    let message = stop(launcher);
    assert!(redrawn && running, "the page went on after the relaunch: {message}");
    assert!(message.contains("relaunching it"), "{message}");
    assert!(!message.contains("terminate content process"), "{message}");
}

#[test]
fn scripts_redraw_their_canvases_in_a_relaunched_gpu_process_on_context_restored() {
    if !has_feature("vm") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let png = dir.path().join("out.png");
    // Each canvas is drawn once, green, by `main` (the main VM's, and a worker's), and blue by
    // `on_context_restored`: after the relaunch only that call can put anything on them.
    let script = |canvas: u32| {
        format!(
            r#"(module
        (import "armature" "fill_color" (func $fill (param i32 i32)))
        (import "armature" "fill_rect" (func $rect (param i32 f32 f32 f32 f32)))
        (func $paint (param $rgba i32)
          (call $fill (i32.const {canvas}) (local.get $rgba))
          (call $rect (i32.const {canvas}) (f32.const 0) (f32.const 0) (f32.const 50) (f32.const 50)))
        (func (export "main") (call $paint (i32.const 0x00ff00ff)))
        (func (export "on_context_restored") (call $paint (i32.const 0x0000ffff))))"#
        )
    };
    let html = format!(
        r#"<html><head><style>body {{ margin: 0 }} canvas {{ display: block }}</style></head><body>
      <canvas width="50" height="50"></canvas><canvas width="50" height="50"></canvas>
      <script type="text/wat">{}</script><script type="text/wat" worker>{}</script></body></html>"#,
        script(0),
        script(1)
    );
    let path = dir.path().join("restored.html");
    std::fs::write(&path, html).expect("write");
    let launcher = start_held(&path, &png, "200x150");
    // The screenshot is renamed into place whole, so each read sees one frame.
    let canvases = || {
        image::open(&png).ok().map(|image| {
            let image = image.to_rgba8();
            [image.get_pixel(25, 25).0, image.get_pixel(25, 75).0]
        })
    };
    let (green, blue) = ([0, 255, 0, 255], [0, 0, 255, 255]);
    if !wait_until(Duration::from_secs(60), || canvases() == Some([green, green])) {
        panic!("the first frame never showed both canvases green ({:?}): {}", canvases(), stop(launcher));
    }
    sigkill_gpu_child(launcher.id());
    let restored = wait_until(Duration::from_secs(60), || canvases() == Some([blue, blue]));
    let seen = canvases();
    let message = stop(launcher);
    assert!(restored, "both VMs' on_context_restored redrew their canvas, blue: {seen:?}\n{message}");
    assert!(message.contains("relaunching it"), "{message}");
}

#[test]
fn a_canvas_with_a_side_of_zero_has_no_bitmap_drawing_on_it_does_nothing_and_drawing_it_traps() {
    if !has_feature("vm") {
        return;
    }
    // Canvas 0 is 0x10: no bitmap (the GPU process refuses a 0-pixel buffer, and ended the
    // page when it was sent one). It keeps its index: the script's canvas 1 is the second.
    // Drawing on it does nothing; drawing it into another is Canvas 2D's InvalidStateError,
    // a trap here, after which canvas 1 stays as the script left it.
    let html = r#"<html><head><style>body { margin: 0 } canvas { display: block }</style></head><body>
      <canvas width="0" height="10"></canvas><canvas width="50" height="50"></canvas>
      <script type="text/wat">(module
        (import "armature" "canvas_count" (func $count (result i32)))
        (import "armature" "fill_color" (func $fill (param i32 i32)))
        (import "armature" "fill_rect" (func $rect (param i32 f32 f32 f32 f32)))
        (import "armature" "draw_canvas" (func $draw_canvas (param i32 i32 f32 f32 f32 f32)))
        (func (export "main")
          (if (i32.ne (call $count) (i32.const 2)) (then unreachable))
          (call $fill (i32.const 0) (i32.const 0xff0000ff))
          (call $rect (i32.const 0) (f32.const 0) (f32.const 0) (f32.const 50) (f32.const 50))
          (call $fill (i32.const 1) (i32.const 0x00ff00ff))
          (call $rect (i32.const 1) (f32.const 0) (f32.const 0) (f32.const 50) (f32.const 50))
          (call $draw_canvas (i32.const 1) (i32.const 0) (f32.const 0) (f32.const 0) (f32.const 25) (f32.const 25))
          (call $fill (i32.const 1) (i32.const 0xff0000ff))
          (call $rect (i32.const 1) (f32.const 0) (f32.const 0) (f32.const 50) (f32.const 50))))</script>
      </body></html>"#;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("zero.html");
    std::fs::write(&path, html).expect("write");
    let (output, image) = render(&path, &["--window-size", "200x100"]);
    let log = stderr(&output);
    assert!(output.status.success(), "{log}");
    assert!(log.contains("canvas 0 is 0x10 pixels: a canvas with no pixels cannot be drawn"), "{log}");
    let image = image.expect("screenshot");
    assert_pixel(&image, 10, 10, [0, 255, 0, 255], 1);
    assert_pixel(&image, 40, 40, [0, 255, 0, 255], 1);
}

#[test]
fn scripts_read_the_device_pixel_ratio_and_a_canvas_sized_by_it_is_drawn_crisp() {
    if !has_feature("vm") {
        return;
    }
    // The HiDPI canvas recipe: a bitmap of the CSS size times the ratio, so each bitmap
    // pixel is one device pixel. The script paints green at ratio 2 (red otherwise) and a
    // stripe one bitmap pixel wide, which must stay one device pixel wide.
    let html = r#"<html><head><style>body { margin: 0 } canvas { display: block; width: 50px; height: 50px }</style></head>
      <body><canvas width="100" height="100"></canvas>
      <script type="text/wat">(module
        (import "armature" "device_pixel_ratio" (func $ratio (result f32)))
        (import "armature" "fill_color" (func $fill (param i32 i32)))
        (import "armature" "fill_rect" (func $rect (param i32 f32 f32 f32 f32)))
        (func (export "main")
          (call $fill (i32.const 0) (select (i32.const 0x00ff00ff) (i32.const 0xff0000ff)
            (f32.eq (call $ratio) (f32.const 2))))
          (call $rect (i32.const 0) (f32.const 0) (f32.const 0) (f32.const 100) (f32.const 100))
          (call $fill (i32.const 0) (i32.const 0x0000ffff))
          (call $rect (i32.const 0) (f32.const 50) (f32.const 0) (f32.const 1) (f32.const 100))))</script>
      </body></html>"#;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("hidpi-canvas.html");
    std::fs::write(&path, html).expect("write");
    let (output, image) = render(&path, &["--window-size", "100x60", "--device-pixel-ratio", "2"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let image = image.expect("screenshot");
    assert_pixel(&image, 10, 10, [0, 255, 0, 255], 0);
    assert_pixel(&image, 49, 10, [0, 255, 0, 255], 0);
    assert_pixel(&image, 50, 10, [0, 0, 255, 255], 0);
    assert_pixel(&image, 51, 10, [0, 255, 0, 255], 0);
    assert_pixel(&image, 99, 99, [0, 255, 0, 255], 0);
    assert_pixel(&image, 101, 10, [255, 255, 255, 255], 0);
    let (output, image) = render(&path, &["--window-size", "100x60"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_pixel(&image.expect("screenshot"), 10, 10, [255, 0, 0, 255], 0);
}

#[test]
fn bad_scripts_are_reported_by_name_and_the_page_still_renders() {
    if !has_feature("vm") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("garbage.wasm"), b"\0asm\x01\0\0\0\x99").expect("write");
    let html = r#"<html><body><canvas width="50" height="50"></canvas>
      <script type="text/wat">(module (func (export "main") (i32.add)))</script>
      <script type="application/wasm" src="garbage.wasm"></script>
      <script type="application/wasm" src="missing.wasm"></script>
      <script type="text/wat" worker>(module (func $boom (export "main") unreachable))</script>
      <script type="text/wat" worker>(module (func (export "main") (loop $l (br $l))))</script>
      <script type="text/wat">(module
        (import "armature" "fill_color" (func $fill (param i32 i32)))
        (import "armature" "fill_rect" (func $rect (param i32 f32 f32 f32 f32)))
        (func (export "main") (call $fill (i32.const 0) (i32.const 0x00ff00ff))
          (call $rect (i32.const 0) (f32.const 0) (f32.const 0) (f32.const 50) (f32.const 50))))</script>
      </body></html>"#;
    let path = dir.path().join("bad-scripts.html");
    std::fs::write(&path, html).expect("write");
    let (output, image) = render(&path, &["--script-timeout", "0.5", "--window-size", "200x100"]);
    let log = stderr(&output);
    assert!(output.status.success(), "{log}");
    assert!(log.contains("script 'inline script 1' does not compile"), "{log}");
    assert!(log.contains("script 'garbage.wasm' does not compile"), "{log}");
    assert!(log.contains("cannot read script 'missing.wasm'"), "{log}");
    assert!(log.contains("script 'inline script 2' trapped in main") && log.contains("unreachable"), "{log}");
    assert!(log.contains("script 'inline script 3' ran main for more than 0.5 s"), "{log}");
    // The good script after them still drew.
    assert_pixel(&image.expect("png"), 20, 20, [0, 255, 0, 255], 0);
}

#[test]
fn the_debugger_listens_on_loopback_only() {
    if !has_feature("vm") {
        return;
    }
    let output = armature()
        .args(["--headless", "--debug-port", "0.0.0.0:9229"])
        .arg(page("workers.html"))
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("127.0.0.1 only"), "{}", stderr(&output));
}

/// A DAP client over TCP, reading events and responses in order.
struct Dap {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    seq: i64,
    /// Messages read while looking for another (an event may overtake a response).
    backlog: Vec<Value>,
}

impl Dap {
    fn request(&mut self, command: &str, arguments: Value) -> Value {
        self.seq += 1;
        let body = json!({ "seq": self.seq, "type": "request", "command": command, "arguments": arguments })
            .to_string();
        write!(self.writer, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("send");
        let seq = self.seq;
        let response = self.next(|message| message["type"] == "response" && message["request_seq"] == seq);
        assert_eq!(response["success"], true, "{command}: {response}");
        response
    }

    fn event(&mut self, name: &str) -> Value {
        self.next(|message| message["type"] == "event" && message["event"] == name)
    }

    fn next(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(index) = self.backlog.iter().position(&wanted) {
            return self.backlog.remove(index);
        }
        loop {
            let mut length = 0;
            loop {
                let mut line = String::new();
                assert!(self.reader.read_line(&mut line).expect("read") > 0, "the server closed");
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(value) = line.strip_prefix("Content-Length: ") {
                    length = value.parse().expect("length");
                }
            }
            let mut body = vec![0; length];
            self.reader.read_exact(&mut body).expect("body");
            let message: Value = serde_json::from_slice(&body).expect("json");
            if wanted(&message) {
                return message;
            }
            self.backlog.push(message);
        }
    }
}

/// Starts a page with two spinning workers and an idle main VM under `--debug-port 0`;
/// returns the child and the port it printed.
fn debugged_page(dir: &std::path::Path) -> (Child, u16) {
    let spin = r#"<script type="text/wat" worker>(module
        (func $spin (export "main") (local $i i32)
          (loop $again (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $again))))</script>"#;
    let html = format!(
        "<html><body><p>debug me</p>{spin}{spin}<script type=\"text/wat\">(module)</script></body></html>"
    );
    let path = dir.join("debug.html");
    std::fs::write(&path, html).expect("write");
    let mut child = armature()
        .args(["--headless", "--debug-port", "0", "--script-timeout", "600", "--screenshot"])
        .arg(dir.join("out.png"))
        .arg(&path)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let port = loop {
        let line = lines.next().expect("the debugger's address").expect("line");
        if let Some(rest) = line.split("listening on 127.0.0.1:").nth(1) {
            break rest.split(|c: char| !c.is_ascii_digit()).next().expect("port").parse().expect("port");
        }
    };
    // Keep draining stderr so the child never blocks on it.
    std::thread::spawn(move || lines.for_each(drop));
    (child, port)
}

#[test]
fn a_dap_client_pauses_inspects_steps_and_resumes_the_real_binary() {
    if !has_feature("vm") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, port) = debugged_page(dir.path());
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let mut dap = Dap {
        reader: BufReader::new(stream.try_clone().expect("clone")),
        writer: stream,
        seq: 0,
        backlog: Vec::new(),
    };

    let capabilities = dap.request("initialize", json!({ "adapterID": "armature" }));
    assert_eq!(capabilities["body"]["supportsInstructionBreakpoints"], true);
    dap.event("initialized");
    dap.request("attach", json!({}));
    dap.request("configurationDone", json!({}));

    let threads = dap.request("threads", json!({}));
    let names: Vec<&str> = threads["body"]["threads"]
        .as_array()
        .expect("threads")
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["main", "worker 1 (inline script 1)", "worker 2 (inline script 2)"]);

    dap.request("pause", json!({ "threadId": 2 }));
    let stopped = dap.event("stopped");
    assert_eq!(stopped["body"]["allThreadsStopped"], true, "{stopped}");
    assert_eq!(stopped["body"]["reason"], "pause");

    // Worker 1 is inside `spin`; the idle main VM has no frames.
    let trace = dap.request("stackTrace", json!({ "threadId": 2 }));
    let frame = &trace["body"]["stackFrames"][0];
    assert_eq!(frame["name"], "spin", "{trace}");
    assert!(frame["instructionPointerReference"].as_str().is_some_and(|ip| ip.starts_with("0x")), "{trace}");
    let main = dap.request("stackTrace", json!({ "threadId": 1 }));
    assert_eq!(main["body"]["totalFrames"], 0, "{main}");

    let scopes = dap.request("scopes", json!({ "frameId": frame["id"] }));
    let reference = &scopes["body"]["scopes"][0]["variablesReference"];
    let variables = dap.request("variables", json!({ "variablesReference": reference }));
    let local = &variables["body"]["variables"][0];
    assert_eq!(
        (local["name"].as_str(), local["type"].as_str()),
        (Some("local0"), Some("i32")),
        "{variables}"
    );
    let before: i64 = local["value"].as_str().expect("value").parse().expect("i32");

    // A step moves worker 1 only; worker 2 stays where it was.
    let other_before = dap.request("stackTrace", json!({ "threadId": 3 }))["body"]["stackFrames"][0].clone();
    dap.request("next", json!({ "threadId": 2 }));
    let stepped = dap.event("stopped");
    assert_eq!(
        (stepped["body"]["reason"].as_str(), stepped["body"]["threadId"].as_i64()),
        (Some("step"), Some(2))
    );
    assert_eq!(stepped["body"]["allThreadsStopped"], true);
    let other_after = dap.request("stackTrace", json!({ "threadId": 3 }))["body"]["stackFrames"][0].clone();
    assert_eq!(other_before, other_after, "the other worker did not move");
    let after = dap.request("stackTrace", json!({ "threadId": 2 }));
    let moved = after["body"]["stackFrames"][0]["instructionPointerReference"]
        != frame["instructionPointerReference"];
    let variables = dap.request("variables", json!({ "variablesReference": reference }));
    let now: i64 = variables["body"]["variables"][0]["value"].as_str().expect("value").parse().expect("i32");
    assert!(moved || now != before, "one instruction advanced: {after} {variables}");

    dap.request("continue", json!({ "threadId": 2 }));
    let continued = dap.event("continued");
    assert_eq!(continued["body"]["allThreadsContinued"], true);
    dap.request("disconnect", json!({}));
    let status = wait_exit(&mut child, Duration::from_secs(30));
    assert_eq!(status, Some(0), "the run ends when the debugger disconnects");
    assert!(dir.path().join("out.png").exists());
}

fn wait_exit(child: &mut Child, timeout: Duration) -> Option<i32> {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}
