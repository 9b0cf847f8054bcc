//! A private X server (Xvfb) for window-mode tests, and what a user does to a window there:
//! find it, screenshot it with `xwd` (from outside, as a user would), resize it, turn the
//! mouse wheel and press keys (XTEST, so winit sees real input), and close it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    self, AtomEnum, ClientMessageEvent, ConfigureWindowAux, ConnectionExt as _, EventMask,
};
use x11rb::protocol::xtest::ConnectionExt as _;
use x11rb::rust_connection::RustConnection;

/// X keysym of the left Shift key.
const XK_SHIFT_L: u32 = 0xffe1;

/// An Xvfb server on a free display, killed on drop.
pub struct Xvfb {
    child: Child,
    /// The display name, e.g. ":99".
    pub display: String,
}

impl Xvfb {
    /// Starts Xvfb with a 1280x1024 24-bit screen. Panics naming the package if Xvfb is
    /// not installed (CI installs it; a silent skip would hide a broken setup).
    pub fn start() -> Xvfb {
        // -displayfd: Xvfb picks a free display and writes its number to stdout. -r: no key
        // autorepeat, so a test descheduled between an XTEST press and its release does not
        // press the key again.
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1280x1024x24", "-nolisten", "tcp", "-r"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb runs (apt-get install xvfb)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("Xvfb reports its display");
        let number: u32 =
            line.trim().parse().unwrap_or_else(|_| panic!("Xvfb said '{line}', not a display number"));
        Xvfb { child, display: format!(":{number}") }
    }

    /// A connection to the server.
    pub fn connect(&self) -> X11 {
        let (connection, screen) = x11rb::connect(Some(&self.display)).expect("connect to Xvfb");
        let root = connection.setup().roots[screen].root;
        X11 { connection, root }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client connection to the test's X server.
pub struct X11 {
    connection: RustConnection,
    root: xproto::Window,
}

/// A screenshot: tightly packed RGBA8 rows.
pub struct Screenshot {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// RGBA8, alpha always 255.
    pub rgba: Vec<u8>,
}

impl Screenshot {
    /// The pixel at (x, y).
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let offset = ((y * self.width + x) * 4) as usize;
        [self.rgba[offset], self.rgba[offset + 1], self.rgba[offset + 2], self.rgba[offset + 3]]
    }

    /// How many pixels of the whole shot differ from the same-sized part of `other` whose
    /// top-left is `at` (by more than 2 per channel); pixels past `other`'s edges differ.
    pub fn differs_from_part(&self, other: &image::RgbaImage, at: (u32, u32)) -> usize {
        let mut differing = 0;
        for y in 0..self.height {
            for x in 0..self.width {
                let theirs = other.get_pixel_checked(x + at.0, y + at.1);
                let ours = self.pixel(x, y);
                if theirs
                    .is_none_or(|theirs| ours.iter().zip(theirs.0).take(3).any(|(a, b)| a.abs_diff(b) > 2))
                {
                    differing += 1;
                }
            }
        }
        differing
    }
}

impl X11 {
    /// The top-level window whose `_NET_WM_PID` is `pid`, waiting up to `timeout` for it to be
    /// mapped.
    pub fn window_of(&self, pid: u32, timeout: Duration) -> Option<xproto::Window> {
        let deadline = Instant::now() + timeout;
        let pid_atom = self.atom("_NET_WM_PID");
        while Instant::now() < deadline {
            let tree = self.connection.query_tree(self.root).ok()?.reply().ok()?;
            for window in tree.children {
                let Ok(Ok(property)) = self
                    .connection
                    .get_property(false, window, pid_atom, AtomEnum::CARDINAL, 0, 1)
                    .map(|cookie| cookie.reply())
                else {
                    continue;
                };
                let mapped = self
                    .connection
                    .get_window_attributes(window)
                    .ok()
                    .and_then(|cookie| cookie.reply().ok())
                    .is_some_and(|attributes| attributes.map_state == xproto::MapState::VIEWABLE);
                if mapped && property.value32().and_then(|mut values| values.next()) == Some(pid) {
                    return Some(window);
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn atom(&self, name: &str) -> xproto::Atom {
        self.connection.intern_atom(false, name.as_bytes()).expect("intern_atom").reply().expect("atom").atom
    }

    /// Screenshots a window with `xwd` and decodes the XWD file.
    pub fn screenshot(&self, display: &str, window: xproto::Window) -> Screenshot {
        let output = Command::new("xwd")
            .args(["-silent", "-id", &window.to_string(), "-display", display])
            .output()
            .expect("xwd runs (apt-get install x11-apps)");
        assert!(output.status.success(), "xwd failed: {}", String::from_utf8_lossy(&output.stderr));
        decode_xwd(&output.stdout).unwrap_or_else(|error| panic!("xwd wrote a bad file: {error}"))
    }

    /// Resizes a window as a window manager would.
    pub fn resize(&self, window: xproto::Window, width: u32, height: u32) {
        let change = ConfigureWindowAux::new().width(width).height(height);
        self.connection.configure_window(window, &change).expect("configure_window");
        self.connection.flush().expect("flush");
    }

    /// Turns the mouse wheel by `notches` (positive: down) over the window, through XTEST.
    pub fn wheel(&self, window: xproto::Window, notches: i32) {
        self.wheel_at(window, (20, 20), notches);
    }

    /// Turns the mouse wheel by `notches` with the pointer at `at` in the window.
    pub fn wheel_at(&self, window: xproto::Window, at: (i16, i16), notches: i32) {
        self.click_wheel(window, at, if notches > 0 { 5 } else { 4 }, notches);
    }

    /// Clicks the left button at `at` in the window.
    pub fn click(&self, window: xproto::Window, at: (i16, i16)) {
        self.connection.warp_pointer(x11rb::NONE, window, 0, 0, 0, 0, at.0, at.1).expect("warp_pointer");
        self.fake(xproto::BUTTON_PRESS_EVENT, 1);
        self.fake(xproto::BUTTON_RELEASE_EVENT, 1);
        self.connection.flush().expect("flush");
    }

    /// Tilts the wheel sideways by `notches` (positive: right) over the window: buttons 6
    /// and 7, as a tilt wheel or a touchpad's horizontal scroll sends them.
    pub fn wheel_sideways(&self, window: xproto::Window, notches: i32) {
        self.click_wheel(window, (20, 20), if notches > 0 { 7 } else { 6 }, notches);
    }

    /// Turns the wheel by `notches` (positive: down) with Shift held down.
    pub fn shift_wheel(&self, window: xproto::Window, notches: i32) {
        self.focus(window);
        let shift = self.keycode(XK_SHIFT_L);
        self.fake(xproto::KEY_PRESS_EVENT, shift);
        self.wheel(window, notches);
        self.fake(xproto::KEY_RELEASE_EVENT, shift);
        self.connection.flush().expect("flush");
    }

    fn click_wheel(&self, window: xproto::Window, at: (i16, i16), button: u8, notches: i32) {
        self.connection.warp_pointer(x11rb::NONE, window, 0, 0, 0, 0, at.0, at.1).expect("warp_pointer");
        for _ in 0..notches.unsigned_abs() {
            self.fake(xproto::BUTTON_PRESS_EVENT, button);
            self.fake(xproto::BUTTON_RELEASE_EVENT, button);
        }
        self.connection.flush().expect("flush");
    }

    /// Presses and releases the key that types `keysym` (e.g. 0xff57, End), through XTEST.
    pub fn key(&self, window: xproto::Window, keysym: u32) {
        self.focus(window);
        let keycode = self.keycode(keysym);
        self.fake(xproto::KEY_PRESS_EVENT, keycode);
        self.fake(xproto::KEY_RELEASE_EVENT, keycode);
        self.connection.flush().expect("flush");
    }

    /// Puts the pointer over the window and gives it the keyboard.
    fn focus(&self, window: xproto::Window) {
        self.connection.warp_pointer(x11rb::NONE, window, 0, 0, 0, 0, 20, 20).expect("warp_pointer");
        self.connection
            .set_input_focus(xproto::InputFocus::POINTER_ROOT, window, x11rb::CURRENT_TIME)
            .expect("focus");
    }

    /// The keycode that types `keysym` on the server's keyboard.
    fn keycode(&self, keysym: u32) -> u8 {
        let setup = self.connection.setup();
        let (first, last) = (setup.min_keycode, setup.max_keycode);
        let mapping = self
            .connection
            .get_keyboard_mapping(first, last - first + 1)
            .expect("get_keyboard_mapping")
            .reply()
            .expect("keyboard mapping");
        let per = usize::from(mapping.keysyms_per_keycode);
        let index =
            mapping.keysyms.iter().position(|&sym| sym == keysym).expect("the keysym is on the keyboard");
        first + (index / per) as u8
    }

    fn fake(&self, kind: u8, detail: u8) {
        self.connection
            .xtest_fake_input(kind, detail, x11rb::CURRENT_TIME, self.root, 0, 0, 0)
            .expect("xtest_fake_input")
            .check()
            .expect("XTEST accepted the event");
    }

    /// Asks the window to close, as a window manager's close button does
    /// (`WM_DELETE_WINDOW`).
    pub fn close(&self, window: xproto::Window) {
        let protocols = self.atom("WM_PROTOCOLS");
        let delete = self.atom("WM_DELETE_WINDOW");
        let event = ClientMessageEvent::new(32, window, protocols, [delete, x11rb::CURRENT_TIME, 0, 0, 0]);
        self.connection.send_event(false, window, EventMask::NO_EVENT, event).expect("send_event");
        self.connection.flush().expect("flush");
    }
}

/// Decodes an XWD file (X11's window dump: a big-endian header, a colour map, then
/// Z-pixmap rows) of a 24/32-bit TrueColor window.
pub fn decode_xwd(bytes: &[u8]) -> Result<Screenshot, String> {
    let field = |index: usize| -> Result<u32, String> {
        bytes
            .get(index * 4..index * 4 + 4)
            .map(|word| u32::from_be_bytes([word[0], word[1], word[2], word[3]]))
            .ok_or_else(|| "truncated header".to_owned())
    };
    let header_size = field(0)? as usize;
    let (format, width, height) = (field(2)?, field(4)?, field(5)?);
    let (byte_order, bits_per_pixel, bytes_per_line) = (field(7)?, field(11)?, field(12)? as usize);
    let (red_mask, green_mask, blue_mask) = (field(14)?, field(15)?, field(16)?);
    let colors = field(19)? as usize;
    if format != 2 || bits_per_pixel != 32 {
        return Err(format!(
            "pixmap format {format} with {bits_per_pixel} bits per pixel; expected ZPixmap, 32"
        ));
    }
    let data = header_size + colors * 12;
    let channel = |value: u32, mask: u32| ((value & mask) >> mask.trailing_zeros()) as u8;
    let mut rgba = Vec::with_capacity(width as usize * height as usize * 4);
    for y in 0..height as usize {
        for x in 0..width as usize {
            let offset = data + y * bytes_per_line + x * 4;
            let word = bytes.get(offset..offset + 4).ok_or("truncated pixels")?;
            let word = [word[0], word[1], word[2], word[3]];
            let value = if byte_order == 0 { u32::from_le_bytes(word) } else { u32::from_be_bytes(word) };
            rgba.extend([
                channel(value, red_mask),
                channel(value, green_mask),
                channel(value, blue_mask),
                255,
            ]);
        }
    }
    Ok(Screenshot { width, height, rgba })
}
