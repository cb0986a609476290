//! The tray menu over real D-Bus: a private session bus with a stand-in tray host (a
//! StatusNotifierWatcher), the real binary on Xvfb. The app registers its item; its menu
//! (read the way a panel reads it, `com.canonical.dbusmenu.GetLayout`) lists the profiles
//! with the active one checked; a click switches; Quit quits. Needs `Xvfb` and
//! `dbus-daemon` (scripts/setup installs them); without them the test says so and passes,
//! except under CI where it fails.

#![cfg(target_os = "linux")]

use crate::common::{Running, X, start_xvfb, tools_present, wait_for};
use codex_router_testkit::home::{TempHome, chatgpt_auth};
use codex_router_testkit::jwt::Identity;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use zbus::zvariant::{OwnedValue, Value};

/// A tray host as far as an item can tell: owns `org.kde.StatusNotifierWatcher` and
/// reports each registration.
pub(crate) struct Watcher {
    pub(crate) registered: mpsc::Sender<String>,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    fn register_status_notifier_item(&self, service: &str) {
        let _ = self.registered.send(service.to_owned());
    }

    fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        Vec::new()
    }
}

pub(crate) fn start_bus(dir: &Path) -> (Running, String) {
    let mut child = Command::new("dbus-daemon")
        .args([
            "--session",
            "--nofork",
            "--print-address=1",
            &format!("--address=unix:path={}", dir.join("bus").display()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dbus-daemon starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (Running(child), line.trim().to_owned())
}

/// One menu entry as a panel sees it.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) id: i32,
    label: String,
    checked: bool,
    enabled: bool,
}

type RawLayout = (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>);

pub(crate) fn menu(bus: &zbus::blocking::Connection, item: &str) -> Vec<Entry> {
    let reply = bus
        .call_method(
            Some(item),
            "/MenuBar",
            Some("com.canonical.dbusmenu"),
            "GetLayout",
            &(0i32, -1i32, Vec::<String>::new()),
        )
        .expect("GetLayout");
    let (_revision, (_, _, children)): (u32, RawLayout) = reply.body().deserialize().unwrap();
    children
        .into_iter()
        .map(|child| {
            let (id, props, _): RawLayout = child.try_into().expect("a layout node");
            let text = |key: &str| {
                props
                    .get(key)
                    .and_then(|v| String::try_from(v.try_clone().unwrap()).ok())
                    .unwrap_or_default()
            };
            Entry {
                id,
                label: text("label"),
                checked: props
                    .get("toggle-state")
                    .and_then(|v| i32::try_from(v.try_clone().unwrap()).ok())
                    == Some(1),
                enabled: props
                    .get("enabled")
                    .and_then(|v| bool::try_from(v.try_clone().unwrap()).ok())
                    .unwrap_or(true),
            }
        })
        .collect()
}

pub(crate) fn click(bus: &zbus::blocking::Connection, item: &str, id: i32) {
    bus.call_method(
        Some(item),
        "/MenuBar",
        Some("com.canonical.dbusmenu"),
        "Event",
        &(id, "clicked", Value::from(0i32), 0u32),
    )
    .expect("Event clicked");
}

pub(crate) fn find<'m>(entries: &'m [Entry], label: &str) -> &'m Entry {
    entries
        .iter()
        .find(|e| e.label == label)
        .unwrap_or_else(|| panic!("no menu entry {label:?} in {entries:#?}"))
}

#[test]
fn the_tray_menu_lists_switches_and_quits() {
    if !tools_present(&["Xvfb", "dbus-daemon"]) {
        return;
    }
    let home = TempHome::new();
    let work = chatgpt_auth(&Identity::new("alice", "team"), 1, 86_400);
    home.write_profile("work", &work);
    home.write_auth(&work);
    home.write_profile(
        "personal",
        &chatgpt_auth(&Identity::new("bob", "plus"), 1, 86_400),
    );
    home.write_profile_raw("broken", b"not json");
    let runtime = tempfile::tempdir().unwrap();
    let (_bus_daemon, address) = start_bus(runtime.path());
    let (tx, registered) = mpsc::channel();
    let host = zbus::blocking::connection::Builder::address(address.as_str())
        .unwrap()
        .name("org.kde.StatusNotifierWatcher")
        .unwrap()
        .serve_at("/StatusNotifierWatcher", Watcher { registered: tx })
        .unwrap()
        .build()
        .expect("the stand-in tray host is on the bus");

    let (_xvfb, display) = start_xvfb(600 + std::process::id() % 300);
    let x = X::connect(&display);
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut app = Running(
        Command::new(env!("CARGO_BIN_EXE_codex-router-app"))
            .env("DISPLAY", &display)
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("XDG_RUNTIME_DIR", runtime.path())
            .env("CODEX_HOME", home.path())
            .env("RUST_LOG", "codex_router_app=info,warn")
            .env("NO_COLOR", "1")
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("the app starts"),
    );
    let read_log = || std::fs::read_to_string(log.path()).unwrap_or_default();

    let item = registered
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("the app never registered a tray item: {}", read_log()));
    assert!(!read_log().contains("no tray icon"), "{}", read_log());

    let entries = menu(&host, &item);
    let work = find(&entries, "work \u{2014} alice@example.com");
    assert!(work.checked && work.enabled);
    let personal = find(&entries, "personal \u{2014} bob@example.com");
    assert!(!personal.checked && personal.enabled);
    let broken = find(&entries, "broken (can't be used)");
    assert!(!broken.enabled, "a broken profile can't be clicked");
    for label in [
        "Refresh Profiles",
        "Local endpoint (proxy)",
        "Open Window",
        "Quit",
    ] {
        find(&entries, label);
    }

    // Failover from the tray: written to state.json, and the check mark follows.
    let failover = find(&entries, "Fail Over on Usage Limits");
    assert!(!failover.checked);
    click(&host, &item, failover.id);
    let state = home.path().join("router").join("state.json");
    wait_for("failover in state.json", || {
        std::fs::read(&state)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|v| v["failover"]["enabled"] == true)
    });
    wait_for("the failover check mark", || {
        find(&menu(&host, &item), "Fail Over on Usage Limits").checked
    });

    // Codex set-up from the tray: config.toml gains the provider and the mark follows; a
    // second click takes it out again.
    let setup_label = "Set Up Codex to Use the Router";
    let setup = find(&entries, setup_label);
    assert!(!setup.checked && setup.enabled);
    click(&host, &item, setup.id);
    let config = home.path().join("config.toml");
    let config_text = || std::fs::read_to_string(&config).unwrap_or_default();
    wait_for("the set-up in config.toml", || {
        config_text().contains("model_provider = \"codex-router\"")
    });
    wait_for("the set-up check mark", || {
        find(&menu(&host, &item), setup_label).checked
    });
    click(&host, &item, find(&menu(&host, &item), setup_label).id);
    wait_for("the set-up to go", || {
        !config_text().contains("codex-router")
    });
    wait_for("the set-up check mark to go", || {
        !find(&menu(&host, &item), setup_label).checked
    });

    // A click switches, and the menu follows.
    click(&host, &item, personal.id);
    wait_for("the switch", || {
        home.read_json(&home.auth_path())["tokens"]["account_id"] == "acct-bob"
    });
    wait_for("the check mark to move", || {
        let entries = menu(&host, &item);
        find(&entries, "personal \u{2014} bob@example.com").checked
            && !find(&entries, "work \u{2014} alice@example.com").checked
    });

    // Closing the window hides it; the tray keeps running and Open Window brings it back.
    wait_for("the window", || x.shown("Codex Router"));
    x.close("Codex Router");
    wait_for("the window to hide", || !x.shown("Codex Router"));
    std::thread::sleep(Duration::from_millis(300));
    assert!(app.0.try_wait().unwrap().is_none(), "still running");
    let open = find(&menu(&host, &item), "Open Window").id;
    click(&host, &item, open);
    wait_for("the window to come back", || x.shown("Codex Router"));

    // A click while hidden still switches (the app runs its logic without drawing).
    x.close("Codex Router");
    wait_for("the window to hide again", || !x.shown("Codex Router"));
    let work = find(&menu(&host, &item), "work \u{2014} alice@example.com").id;
    click(&host, &item, work);
    wait_for("the switch back", || {
        home.read_json(&home.auth_path())["tokens"]["account_id"] == "acct-alice"
    });

    // Quit from the tray ends the app cleanly.
    let quit = find(&menu(&host, &item), "Quit").id;
    click(&host, &item, quit);
    let mut status = None;
    wait_for("the app to exit", || {
        status = app.0.try_wait().unwrap();
        status.is_some()
    });
    assert!(status.unwrap().success(), "{status:?}: {}", read_log());
}
