//! What the tests that run the real binary share: child processes that die with the test,
//! a private Xvfb, and a look at the app's window through the X protocol.

#![allow(dead_code)] // each test binary uses its own part

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    AtomEnum, ClientMessageEvent, ConnectionExt, EventMask, MapState, Window,
};

/// A child process killed on drop, so a failing assertion leaves nothing behind.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether `tool` is on PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the tools are there; without them the test is skipped, except under CI.
pub fn tools_present(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !have(t)).collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{missing:?} needed: run scripts/setup"
    );
    eprintln!("skipped: {missing:?} not installed (scripts/setup installs them)");
    false
}

/// Starts Xvfb on a free display number from `base`; returns it and the display name.
pub fn start_xvfb(base: u32) -> (Running, String) {
    for n in base..base + 50 {
        if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            || Path::new(&format!("/tmp/.X{n}-lock")).exists()
        {
            continue;
        }
        let mut xvfb = Running(
            Command::new("Xvfb")
                .args([
                    &format!(":{n}"),
                    "-screen",
                    "0",
                    "1024x640x24",
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("Xvfb starts"),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                return (xvfb, format!(":{n}"));
            }
            if let Ok(Some(_)) = xvfb.0.try_wait() {
                break; // lost a race for this number: try the next
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("could not start Xvfb on any display");
}

/// Polls `done` for up to 30 s.
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A connection to the X server, looking at one top-level window by its title.
pub struct X {
    conn: x11rb::rust_connection::RustConnection,
    root: Window,
}

impl X {
    /// Connects to `display`.
    pub fn connect(display: &str) -> Self {
        let (conn, screen) = x11rb::connect(Some(display)).expect("X connection");
        let root = conn.setup().roots[screen].root;
        Self { conn, root }
    }

    /// The top-level window titled `title`, if there is one.
    pub fn window(&self, title: &str) -> Option<Window> {
        let tree = self.conn.query_tree(self.root).ok()?.reply().ok()?;
        tree.children.into_iter().find(|&w| {
            self.conn
                .get_property(false, w, AtomEnum::WM_NAME, AtomEnum::ANY, 0, 256)
                .ok()
                .and_then(|c| c.reply().ok())
                .is_some_and(|p| p.value == title.as_bytes())
        })
    }

    /// Whether the window titled `title` exists and is shown.
    pub fn shown(&self, title: &str) -> bool {
        self.window(title).is_some_and(|w| {
            self.conn
                .get_window_attributes(w)
                .ok()
                .and_then(|c| c.reply().ok())
                .is_some_and(|a| a.map_state == MapState::VIEWABLE)
        })
    }

    /// Asks the window to close the way a window manager's close button does
    /// (`WM_DELETE_WINDOW`).
    pub fn close(&self, title: &str) {
        let window = self.window(title).expect("the window exists");
        let atom = |name: &str| {
            self.conn
                .intern_atom(false, name.as_bytes())
                .unwrap()
                .reply()
                .unwrap()
                .atom
        };
        let event = ClientMessageEvent::new(
            32,
            window,
            atom("WM_PROTOCOLS"),
            [atom("WM_DELETE_WINDOW"), 0, 0, 0, 0],
        );
        self.conn
            .send_event(false, window, EventMask::NO_EVENT, event)
            .unwrap();
        self.conn.flush().unwrap();
    }
}
