//! The real binary on a real (virtual) X server: the window appears with the profiles, a
//! desktop without a tray gets the window as the app plus a warning, SIGTERM makes it exit
//! cleanly, and so does closing the window. Needs `Xvfb` (scripts/setup installs it);
//! without it the test says so and passes, except under CI where it fails.

#![cfg(target_os = "linux")]

use crate::common::{Running, X, start_xvfb, tools_present, wait_for};
use codex_router_testkit::home::{TempHome, api_key_auth, chatgpt_auth};
use codex_router_testkit::jwt::Identity;
use std::process::{Command, Stdio};

const TITLE: &str = "Codex Router";

fn start_app(home: &TempHome, display: &str, log: &tempfile::NamedTempFile) -> Running {
    Running(
        Command::new(env!("CARGO_BIN_EXE_codex-router-app"))
            .env("DISPLAY", display)
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
            .expect("the app starts"),
    )
}

fn exit_status(app: &mut Running) -> std::process::ExitStatus {
    let mut status = None;
    wait_for("the app to exit", || {
        status = app.0.try_wait().unwrap();
        status.is_some()
    });
    status.unwrap()
}

#[test]
fn the_window_shows_the_profiles_and_quits_cleanly() {
    if !tools_present(&["Xvfb"]) {
        return;
    }
    let home = TempHome::new();
    let work = chatgpt_auth(&Identity::new("alice", "team"), 1, 86_400);
    home.write_profile("work", &work);
    home.write_auth(&work);
    home.write_profile("api", &api_key_auth("sk-xvfb-1234567890"));
    home.write_profile_raw("broken", b"not json");
    let (_xvfb, display) = start_xvfb(200 + std::process::id() % 300);
    let x = X::connect(&display);

    // SIGTERM.
    let log = tempfile::NamedTempFile::new().unwrap();
    let read_log = || std::fs::read_to_string(log.path()).unwrap_or_default();
    let mut app = start_app(&home, &display, &log);
    wait_for("the first frame", || read_log().contains("window shows"));
    let text = read_log();
    assert!(
        text.contains("window shows 3 profiles: api, broken, work"),
        "{text}"
    );
    assert!(
        text.contains("no tray icon"),
        "a warning, not a failure: {text}"
    );
    wait_for("the window", || x.shown(TITLE));
    // SAFETY: signalling our own child by its pid.
    unsafe { libc::kill(app.0.id() as i32, libc::SIGTERM) };
    let status = exit_status(&mut app);
    let text = read_log();
    assert!(status.success(), "exit status {status:?}: {text}");
    assert!(text.contains("quitting"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    assert!(!text.contains("sk-xvfb"), "no secret in the log");

    // Without a tray, the window's close button quits.
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut app = start_app(&home, &display, &log);
    wait_for("the window again", || x.shown(TITLE));
    x.close(TITLE);
    let status = exit_status(&mut app);
    assert!(
        status.success(),
        "{status:?}: {}",
        std::fs::read_to_string(log.path()).unwrap_or_default()
    );
}
