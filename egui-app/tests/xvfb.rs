//! The real binary on a real (virtual) X server: the window appears with the profiles, a
//! desktop without a tray gets the window as the app plus a warning, and SIGTERM makes it
//! exit cleanly. Needs `Xvfb` and `xdotool` (scripts/setup installs them); without them the
//! test says so and passes, except under CI where it fails.

#![cfg(target_os = "linux")]

use codex_router_testkit::home::{TempHome, api_key_auth, chatgpt_auth};
use codex_router_testkit::jwt::Identity;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the child on drop, so a failing assertion never leaves an X server behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts Xvfb on a free display number; returns it with the display name.
fn start_xvfb() -> (Running, String) {
    let base = 200 + std::process::id() % 500;
    for n in base..base + 50 {
        if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            || Path::new(&format!("/tmp/.X{n}-lock")).exists()
        {
            continue;
        }
        let child = Command::new("Xvfb")
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
            .expect("Xvfb starts");
        let mut xvfb = Running(child);
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

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_window_shows_the_profiles_and_quits_cleanly_on_sigterm() {
    if !have("Xvfb") || !have("xdotool") {
        assert!(
            std::env::var_os("CI").is_none(),
            "Xvfb and xdotool are needed: run scripts/setup"
        );
        eprintln!("skipped: Xvfb or xdotool is not installed (scripts/setup installs them)");
        return;
    }
    let home = TempHome::new();
    let work = chatgpt_auth(&Identity::new("alice", "team"), 1, 86_400);
    home.write_profile("work", &work);
    home.write_auth(&work);
    home.write_profile("api", &api_key_auth("sk-xvfb-1234567890"));
    home.write_profile_raw("broken", b"not json");
    let log = tempfile::NamedTempFile::new().unwrap();

    let (_xvfb, display) = start_xvfb();
    let app = Command::new(env!("CARGO_BIN_EXE_codex-router-app"))
        .env("DISPLAY", &display)
        .env("CODEX_HOME", home.path())
        .env("RUST_LOG", "codex_router_app=info,warn")
        .env("NO_COLOR", "1")
        // No session bus: no tray host, so the window is the app.
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("WAYLAND_DISPLAY")
        .env("XDG_RUNTIME_DIR", home.path())
        .stdout(Stdio::null())
        .stderr(log.reopen().unwrap())
        .spawn()
        .expect("the app starts");
    let mut app = Running(app);
    let read_log = || std::fs::read_to_string(log.path()).unwrap_or_default();

    wait_for("the first frame", Duration::from_secs(60), || {
        read_log().contains("window shows")
    });
    let text = read_log();
    assert!(
        text.contains("window shows 3 profiles: api, broken, work"),
        "{text}"
    );
    assert!(
        text.contains("no tray icon"),
        "a warning, not a failure: {text}"
    );
    assert!(!text.contains("panicked"), "{text}");

    // The window is on the X server under its title.
    let found = Command::new("xdotool")
        .args(["search", "--name", "^Codex Router$"])
        .env("DISPLAY", &display)
        .output()
        .expect("xdotool runs");
    assert!(
        found.status.success() && !found.stdout.is_empty(),
        "no window titled Codex Router"
    );

    // SAFETY: signalling our own child by its pid.
    unsafe { libc::kill(app.0.id() as i32, libc::SIGTERM) };
    let mut status = None;
    wait_for("the app to exit", Duration::from_secs(20), || {
        status = app.0.try_wait().unwrap();
        status.is_some()
    });
    let text = read_log();
    assert!(status.unwrap().success(), "exit status {status:?}: {text}");
    assert!(text.contains("quitting"), "{text}");
    assert!(!text.contains("sk-xvfb"), "no secret in the log");
}
