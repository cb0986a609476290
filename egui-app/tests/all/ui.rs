//! The window driven like a person would, headless: egui_kittest clicks the real widgets
//! of [`App`] against a temporary CODEX_HOME, and the files on disk tell what happened.

use codex_router_app::App;
use codex_router_app::app::{Command, TrayAction, TrayMenu};
use codex_router_core::events::RouterEvent;
use codex_router_core::router::Router;
use codex_router_testkit::home::{TempHome, api_key_auth, chatgpt_auth};
use codex_router_testkit::jwt::Identity;
use codex_router_testkit::upstream::FakeUpstream;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The app on `home`, created in the harness's first frame (it needs the harness's egui
/// context to be woken by the core's events).
fn harness(home: &TempHome) -> Harness<'static, Option<App>> {
    // Claude Code's settings of the machine are never read: a test that doesn't pick a folder
    // gets an empty one in its home.
    if std::env::var_os("CLAUDE_CONFIG_DIR").is_none() {
        // SAFETY: set before the app (and any other thread of this test process) exists;
        // nextest runs each test in its own process.
        unsafe { std::env::set_var("CLAUDE_CONFIG_DIR", home.path().join("claude-config")) };
    }
    let router = Router::open(Some(home.path().to_owned())).expect("router opens");
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1000.0, 600.0))
        .build_ui_state(
            move |ui, app: &mut Option<App>| {
                app.get_or_insert_with(|| App::new(router.clone(), ui.ctx()))
                    .ui(ui)
            },
            None,
        );
    harness.run();
    harness
}

fn app<'h>(harness: &'h Harness<'_, Option<App>>) -> &'h App {
    harness.state().as_ref().expect("app built")
}

/// Work (active, alice) and personal (bob), like a user with two accounts.
fn two_accounts() -> TempHome {
    let home = TempHome::new();
    let work = chatgpt_auth(&Identity::new("alice", "team"), 1, 86_400 * 3);
    home.write_profile("work", &work);
    home.write_auth(&work);
    home.write_current("work");
    home.write_profile(
        "personal",
        &chatgpt_auth(&Identity::new("bob", "plus"), 1, 86_400),
    );
    home
}

fn active_account(home: &TempHome) -> String {
    home.read_json(&home.auth_path())["tokens"]["account_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn rows_show_who_what_and_the_token_state() {
    let home = two_accounts();
    home.write_profile("api", &api_key_auth("sk-test-123456"));
    home.write_profile(
        "stale",
        &chatgpt_auth(&Identity::new("dora", "pro"), 1, -3600),
    );
    let harness = harness(&home);
    harness.get_by_label("alice@example.com");
    harness.get_by_label("ChatGPT Team");
    harness.get_by_label("ChatGPT Plus");
    harness.get_by_label("API key");
    harness.get_by_label("API key (does not expire)");
    harness.get_by_label("expired 1 hour ago, renewed at next use");
    harness.get_by_label_contains("expires in 3 days");
    // The active one is marked and has no Switch button; the others have one.
    harness.get_by_label("Active");
    assert!(harness.query_by_label("Switch to work").is_none());
    harness.get_by_label("Switch to personal");
    // No usage is known: no usage column, no made-up figures.
    assert!(harness.query_by_label("Usage").is_none());
    // Never a secret on screen.
    assert!(harness.query_by_label_contains("sk-test").is_none());
    assert!(harness.query_by_label_contains("SECRETREFRESH").is_none());
}

#[test]
fn switch_by_clicking() {
    let home = two_accounts();
    let mut harness = harness(&home);
    assert_eq!(active_account(&home), "acct-alice");
    harness.get_by_label("Switch to personal").click();
    harness.run();
    assert_eq!(active_account(&home), "acct-bob");
    // The row moved, and the note says what to restart.
    harness.get_by_label("Switch to work");
    assert!(harness.query_by_label("Switch to personal").is_none());
    harness.get_by_label_contains("Developer: Reload Window");
    harness.get_by_label_contains("Switched to 'personal'");
}

#[test]
fn remove_asks_first_and_cancel_keeps_the_profile() {
    let home = two_accounts();
    let mut harness = harness(&home);
    let dir = home.path().join("profiles").join("personal");

    harness.get_by_label("More for personal").click();
    harness.run();
    harness.get_by_label("Remove\u{2026}").click();
    harness.run();
    harness.get_by_label("Remove 'personal'?");
    harness.get_by_label_contains("bob@example.com (plus)");
    harness.get_by_label("Cancel").click();
    harness.run();
    assert!(dir.exists(), "cancel keeps the profile");
    assert!(harness.query_by_label("Remove 'personal'?").is_none());

    harness.get_by_label("More for personal").click();
    harness.run();
    harness.get_by_label("Remove\u{2026}").click();
    harness.run();
    harness.get_by_label("Remove").click();
    harness.run();
    assert!(!dir.exists(), "confirmed remove deletes the profile");
    assert!(harness.query_by_label("Switch to personal").is_none());
    assert!(harness.query_by_label("bob@example.com").is_none());
    // auth.json is left alone.
    assert_eq!(active_account(&home), "acct-alice");
}

#[test]
fn a_broken_profile_shows_its_reason_and_cannot_be_switched_to() {
    let home = two_accounts();
    home.write_profile_raw("broken", b"{ not json");
    let harness = harness(&home);
    let reason = harness.get_by_label_contains("INVALID: ");
    let text = reason.value().unwrap_or_default();
    assert!(text.contains("JSON"), "{text}");
    // Listed, never fatal: the others are still there.
    harness.get_by_label("Switch to personal");
    let switch = harness.get_by_label("Switch to broken");
    assert!(switch.accesskit_node().is_disabled());
}

#[test]
fn a_profile_dropped_into_the_folder_shows_up_by_itself() {
    let home = two_accounts();
    let mut harness = harness(&home);
    assert!(harness.query_by_label("carol@example.com").is_none());

    // Wait for the core's event, as the window's own listener does.
    let mut events = app(&harness).router().subscribe();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        while let Some(event) = events.recv_blocking() {
            if event == RouterEvent::ProfilesChanged {
                let _ = tx.send(());
                return;
            }
        }
    });
    home.write_profile(
        "laptop",
        &chatgpt_auth(&Identity::new("carol", "pro"), 1, 86_400),
    );
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the core reports the new profile");

    // The app's listener got the same event; the next frame shows the row.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        harness.run();
        if harness.query_by_label("carol@example.com").is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "the new row never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    harness.get_by_label("Switch to laptop");
}

#[test]
fn first_run_offers_to_save_the_current_login() {
    let home = TempHome::new();
    home.write_auth(&chatgpt_auth(&Identity::new("alice", "plus"), 1, 86_400));
    let mut harness = harness(&home);
    harness.get_by_label("Save your Codex login");
    harness.get_by_label_contains("alice@example.com (plus)");
    let field = harness.get_by_label("Profile name");
    assert_eq!(
        field.value().as_deref(),
        Some("alice"),
        "name from the email"
    );
    harness.get_by_label("Save profile").click();
    harness.run();
    assert!(home.profile_path("alice").exists());
    harness.get_by_label_contains("Saved the current login as 'alice'");
    harness.get_by_label("Active");
    assert!(harness.query_by_label("Save your Codex login").is_none());
}

#[test]
fn nothing_at_all_says_how_to_start() {
    let home = TempHome::new();
    let mut harness = harness(&home);
    harness.get_by_label("No accounts yet");
    harness.get_by_label_contains("codex login");
    // The page's own Add API Key button opens the dialog; the key field is masked.
    harness
        .get_all_by_label("Add API Key")
        .last()
        .unwrap()
        .click();
    harness.run();
    harness.get_by_label("Profile name").type_text("api");
    harness.run();
    harness.get_by_label("API key").focus();
    harness.run();
    harness
        .get_by_label("API key")
        .type_text("sk-typed-0123456789");
    harness.run();
    assert!(harness.query_by_label_contains("sk-typed").is_none());
    assert!(harness.query_by_value("sk-typed-0123456789").is_none());
    harness.get_by_label("Save key").click();
    harness.run();
    let saved = home.read_json(&home.profile_path("api"));
    assert_eq!(saved["OPENAI_API_KEY"], "sk-typed-0123456789");
    harness.get_by_label("Switch to api");
}

#[test]
fn switching_away_from_an_unsaved_login_asks_first() {
    let home = two_accounts();
    home.write_auth(&chatgpt_auth(&Identity::new("eve", "plus"), 1, 86_400));
    let mut harness = harness(&home);
    harness.get_by_label_contains("eve@example.com (plus), which is not saved");
    harness.get_by_label("Switch to personal").click();
    harness.run();
    harness.get_by_label("Save the current login first?");
    assert_eq!(active_account(&home), "acct-eve", "nothing switched yet");
    harness.get_by_label("Switch anyway").click();
    harness.run();
    assert_eq!(active_account(&home), "acct-bob");
    harness.get_by_label_contains("discarded the unsaved login");
}

#[test]
fn rename_through_the_row_menu() {
    let home = two_accounts();
    let mut harness = harness(&home);
    harness.get_by_label("More for personal").click();
    harness.run();
    harness.get_by_label("Rename\u{2026}").click();
    harness.run();
    let field = harness.get_by_label("New name");
    field.focus();
    harness.run();
    harness.key_combination_modifiers(egui::Modifiers::COMMAND, &[egui::Key::A]);
    harness.get_by_label("New name").type_text("home");
    harness.run();
    harness.get_by_label("Rename").click();
    harness.run();
    assert!(home.profile_path("home").exists());
    assert!(!home.profile_path("personal").exists());
    harness.get_by_label("Switch to home");
}

#[test]
fn errors_are_shown_not_swallowed() {
    let home = two_accounts();
    let mut harness = harness(&home);
    // The profile vanishes behind the window's back, then the user clicks Switch.
    std::fs::remove_dir_all(home.path().join("profiles").join("personal")).unwrap();
    harness.get_by_label("Switch to personal").click();
    harness.run();
    harness.get_by_label_contains("Could not switch to 'personal'");
    assert_eq!(active_account(&home), "acct-alice");
}

#[test]
fn the_proxy_panel_starts_and_stops_the_endpoint() {
    let home = two_accounts();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    home.write_state(&serde_json::json!({
        "proxy": {"host": "127.0.0.1", "port": port},
        "upstream": {
            "auth_issuer": "http://127.0.0.1:9",
            "chatgpt_base_url": "http://127.0.0.1:9/backend-api/codex",
            "openai_base_url": "http://127.0.0.1:9/v1",
        },
    }));
    let mut harness = harness(&home);
    harness.get_by_label("off");
    harness.get_by_label("Start").click();
    wait_until(&mut harness, |h| h.query_by_label("Copy address").is_some());
    harness.get_by_label("on");
    harness.get_by_label(&format!("http://127.0.0.1:{port}/v1"));
    harness.get_by_label("0 requests served");
    assert!(app(&harness).tray_menu().proxy_running);
    // A request through the endpoint is counted (the core's event wakes the window).
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        conn,
        "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    wait_until(&mut harness, |h| {
        h.query_by_label("1 request served").is_some()
    });
    harness.get_by_label("Stop").click();
    wait_until(&mut harness, |h| h.query_by_label("Start").is_some());
    assert!(!app(&harness).tray_menu().proxy_running);
}

#[test]
fn the_tray_menu_mirrors_the_profiles_and_its_clicks_map_to_commands() {
    let home = two_accounts();
    home.write_profile_raw("broken", b"[]");
    let mut harness = harness(&home);
    let menu = app(&harness).tray_menu();
    let names: Vec<_> = menu.profiles.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["broken", "personal", "work"]);
    let work = &menu.profiles[2];
    assert!(work.active && work.usable);
    assert_eq!(work.label, "work \u{2014} alice@example.com");
    assert!(!menu.profiles[0].usable);
    assert!(!menu.proxy_running);

    let click = TrayMenu::action(&TrayMenu::profile_id("personal")).unwrap();
    assert_eq!(click, TrayAction::Run(Command::Switch("personal".into())));
    assert_eq!(TrayMenu::action(TrayMenu::QUIT), Some(TrayAction::Quit));
    assert_eq!(
        TrayMenu::action(TrayMenu::OPEN),
        Some(TrayAction::OpenWindow)
    );
    assert_eq!(
        TrayMenu::action(TrayMenu::PROXY),
        Some(TrayAction::Run(Command::ToggleProxy))
    );
    assert_eq!(TrayMenu::action("nonsense"), None);

    // A tray click runs through the same path as the button.
    let before = app(&harness).generation();
    if let TrayAction::Run(command) = click {
        harness.state_mut().as_mut().unwrap().run(command);
    }
    harness.run();
    assert_eq!(active_account(&home), "acct-bob");
    let app = app(&harness);
    assert!(app.generation() > before);
    assert!(app.tray_menu().profiles[1].active);
}

fn wait_until(
    harness: &mut Harness<'_, Option<App>>,
    done: impl Fn(&Harness<'_, Option<App>>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // Background events (the endpoint starting, requests finishing) may keep asking for
        // frames while we wait; that is not a UI that never settles, so don't fail on it.
        let _ = harness.try_run();
        if done(harness) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn add_account_checks_the_name_before_any_sign_in() {
    let home = two_accounts();
    let mut harness = harness(&home);
    harness.get_by_label("Add Account").click();
    harness.run();
    harness.get_by_label("Profile name").type_text("work");
    harness.run();
    harness.get_by_label("Sign in with browser").click();
    harness.run();
    // Taken: said in the dialog, and no sign-in started.
    harness.get_by_label_contains("a profile named 'work' already exists");
    assert!(!app(&harness).is_busy());
    harness.get_by_label("Cancel").click();
    harness.run();
    assert!(harness.query_by_label("Sign in with browser").is_none());
}

#[test]
fn a_profile_that_needs_sign_in_says_so_and_offers_it() {
    use codex_router_core::profile_state::{ProfileState, SignInNeeded, fingerprint};
    use codex_router_core::secret::Secret;
    let home = two_accounts();
    let auth = home.read_json(&home.profile_path("personal"));
    let token = auth["tokens"]["refresh_token"].as_str().unwrap();
    ProfileState {
        needs_sign_in: Some(SignInNeeded {
            code: "refresh_token_reused".into(),
            message: "the refresh token was already used".into(),
            at: "2026-01-01T00:00:00Z".into(),
            token_fingerprint: fingerprint(&Secret::new(token)),
        }),
        usage: None,
        extra: Default::default(),
    }
    .save(&home.path().join("profiles").join("personal"))
    .unwrap();
    let mut harness = harness(&home);
    harness.get_by_label("NEEDS SIGN-IN: the refresh token was already used");
    harness.get_by_label("More for personal").click();
    harness.run();
    harness.get_by_label("Sign in again\u{2026}");
    assert!(
        harness.query_by_label("Refresh tokens now").is_some(),
        "the toolbar's"
    );
    let menu = app(&harness).tray_menu();
    assert_eq!(menu.profiles[0].label, "personal (needs sign-in)");
}

#[test]
fn the_endpoint_starts_with_the_app_when_state_json_says_so() {
    let home = two_accounts();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    home.write_state(&serde_json::json!({
        "proxy": {"host": "127.0.0.1", "port": port, "start_with_app": true},
        "upstream": {
            "auth_issuer": "http://127.0.0.1:9",
            "chatgpt_base_url": "http://127.0.0.1:9/backend-api/codex",
            "openai_base_url": "http://127.0.0.1:9/v1",
        },
    }));
    let mut harness = harness(&home);
    wait_until(&mut harness, |h| h.query_by_label("Copy address").is_some());
    harness.get_by_label(&format!("http://127.0.0.1:{port}/v1"));
    app(&harness).router().stop_proxy();
}

/// Usage figures for profile `name`, as the router records them.
fn write_usage(
    home: &TempHome,
    name: &str,
    primary: f64,
    secondary: f64,
    limited_until: Option<i64>,
) {
    use codex_router_core::profile_state::ProfileState;
    use codex_router_core::usage::{Usage, UsageWindow};
    let now = chrono::Utc::now().timestamp();
    ProfileState {
        needs_sign_in: None,
        usage: Some(Usage {
            plan: Some("team".into()),
            primary: Some(UsageWindow {
                used_percent: primary,
                window_minutes: Some(300),
                resets_at: None,
            }),
            secondary: Some(UsageWindow {
                used_percent: secondary,
                window_minutes: Some(10_080),
                resets_at: None,
            }),
            credits: None,
            limited_until,
            updated_at: now,
        }),
        extra: Default::default(),
    }
    .save(&home.path().join("profiles").join(name))
    .unwrap();
}

#[test]
fn usage_shows_as_a_bar_per_window_and_beside_each_account_in_the_tray() {
    let home = two_accounts();
    write_usage(&home, "work", 42.0, 17.0, None);
    let until = chrono::Utc::now().timestamp() + 3600;
    write_usage(&home, "personal", 100.0, 60.0, Some(until));
    let harness = harness(&home);
    harness.get_by_label("Usage");
    harness.get_by_label("5 h: 42%");
    harness.get_by_label("week: 17%");
    harness.get_by_label_contains("LIMITED until");
    let menu = app(&harness).tray_menu();
    let work = menu.profiles.iter().find(|p| p.name == "work").unwrap();
    assert_eq!(
        work.label,
        "work \u{2014} alice@example.com \u{00b7} 5 h 42% \u{00b7} week 17%"
    );
    let personal = menu.profiles.iter().find(|p| p.name == "personal").unwrap();
    assert!(
        personal
            .label
            .starts_with("personal \u{2014} bob@example.com \u{00b7} LIMITED until "),
        "{}",
        personal.label
    );
}

#[test]
fn failover_is_turned_on_and_off_from_the_window_and_the_tray_and_follows_state_json() {
    let home = two_accounts();
    let mut harness = harness(&home);
    let state = home.path().join("router").join("state.json");
    let failover_in_file = || -> Option<bool> {
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).ok()?).ok()?;
        doc.pointer("/failover/enabled").and_then(|v| v.as_bool())
    };
    assert!(!app(&harness).tray_menu().failover);
    let offline_upstreams = home.read_json(&state)["upstream"].clone();

    // The window's checkbox writes state.json (keeping the rest) and the tray follows.
    harness.get_by_label_contains("Fail over:").click();
    harness.run();
    assert_eq!(failover_in_file(), Some(true));
    assert_eq!(home.read_json(&state)["upstream"], offline_upstreams);
    assert!(app(&harness).tray_menu().failover);

    // The tray's entry goes through the same command.
    assert_eq!(
        TrayMenu::action(TrayMenu::FAILOVER),
        Some(TrayAction::Run(Command::ToggleFailover))
    );
    harness
        .state_mut()
        .as_mut()
        .unwrap()
        .run(Command::ToggleFailover);
    harness.run();
    assert_eq!(failover_in_file(), Some(false));
    assert!(!app(&harness).tray_menu().failover);

    // Turned on elsewhere (`codex-router failover on`): the app follows by itself.
    let home_dir = codex_router_core::home::CodexHome::at(home.path());
    codex_router_core::settings::Settings::set_failover_enabled(&home_dir, true).unwrap();
    wait_until(&mut harness, |h| app(h).tray_menu().failover);
}

#[test]
fn save_it_first_keeps_the_unsaved_login_and_a_taken_name_is_said_in_the_dialog() {
    let home = two_accounts();
    home.write_auth(&chatgpt_auth(&Identity::new("eve", "plus"), 1, 86_400));
    let mut harness = harness(&home);
    harness.get_by_label("Switch to personal").click();
    harness.run();
    harness.get_by_label("Save it first\u{2026}").click();
    harness.run();
    harness.get_by_label("Save current login");
    let field = harness.get_by_label("Profile name");
    assert_eq!(field.value().as_deref(), Some("eve"), "name from the email");

    // A taken name: said in the dialog, which stays open; nothing is written.
    field.focus();
    harness.run();
    harness.key_combination_modifiers(egui::Modifiers::COMMAND, &[egui::Key::A]);
    harness.get_by_label("Profile name").type_text("work");
    harness.run();
    harness.get_by_label("Save").click();
    harness.run();
    harness.get_by_label_contains("a profile named 'work' already exists");
    harness.get_by_label("Save current login");
    assert_eq!(active_account(&home), "acct-eve");

    harness.get_by_label("Profile name").focus();
    harness.run();
    harness.key_combination_modifiers(egui::Modifiers::COMMAND, &[egui::Key::A]);
    harness.get_by_label("Profile name").type_text("eve");
    harness.run();
    harness.get_by_label("Save").click();
    harness.run();
    assert!(home.profile_path("eve").exists());
    assert!(harness.query_by_label("Save current login").is_none());
    harness.get_by_label_contains("Saved the current login as 'eve'");

    // Saved, so the switch no longer asks.
    harness.get_by_label("Switch to personal").click();
    harness.run();
    assert_eq!(active_account(&home), "acct-bob");
    harness.get_by_label("Switch to eve");
}

#[test]
fn a_dismissed_notice_goes_away() {
    let home = two_accounts();
    let mut harness = harness(&home);
    harness.get_by_label("Switch to personal").click();
    harness.run();
    harness.get_by_label_contains("Switched to 'personal'");
    harness.get_by_label("Dismiss").click();
    harness.run();
    assert!(
        harness
            .query_by_label_contains("Switched to 'personal'")
            .is_none()
    );
    assert!(app(&harness).notices().is_empty());
}

#[test]
fn a_command_carrying_an_api_key_never_shows_it() {
    let command = Command::AddApiKey {
        name: "api".into(),
        key: "sk-never-shown-0123".into(),
    };
    let shown = format!("{command:?}");
    assert!(shown.contains("api"), "{shown}");
    assert!(!shown.contains("sk-never"), "{shown}");
}

/// A user's own Codex settings, with a provider of their own selected.
const USER_CONFIG: &str =
    "# mine\nmodel = \"gpt-5.5\"\nmodel_provider = \"ollama\"\n\n[tui]\nnotifications = false\n";

/// A home whose endpoint is configured on `port` (never started here), plus `proxy`'s other
/// keys, and whose Codex has [`USER_CONFIG`].
fn home_with_codex_config(port: u16, proxy: serde_json::Value) -> TempHome {
    let home = two_accounts();
    let mut proxy_settings = serde_json::json!({"host": "127.0.0.1", "port": port});
    proxy_settings
        .as_object_mut()
        .unwrap()
        .extend(proxy.as_object().unwrap().clone());
    home.write_state(&serde_json::json!({
        "proxy": proxy_settings,
        "upstream": {
            "auth_issuer": "http://127.0.0.1:9",
            "chatgpt_base_url": "http://127.0.0.1:9/backend-api/codex",
            "openai_base_url": "http://127.0.0.1:9/v1",
        },
    }));
    std::fs::write(home.path().join("config.toml"), USER_CONFIG).unwrap();
    home
}

fn codex_config(home: &TempHome) -> String {
    std::fs::read_to_string(home.path().join("config.toml")).unwrap()
}

#[test]
fn set_up_codex_from_the_endpoint_panel_then_undo_it() {
    let home = home_with_codex_config(4321, serde_json::json!({}));
    let mut harness = harness(&home);
    harness.get_by_label("Codex is not set up to use Codex Router.");
    assert!(harness.query_by_label("Undo set-up").is_none());
    assert_eq!(app(&harness).tray_menu().codex_set_up, Some(false));

    harness
        .get_by_label("Set up Codex to use the router")
        .click();
    harness.run();
    // config.toml sends Codex to the endpoint, and keeps every line of the user's.
    let config = codex_config(&home);
    assert!(
        config.contains("model_provider = \"codex-router\""),
        "{config}"
    );
    assert!(
        config.contains("[model_providers.codex-router]"),
        "{config}"
    );
    assert!(
        config.contains("base_url = \"http://127.0.0.1:4321/v1\""),
        "{config}"
    );
    assert!(!config.contains("env_key"), "no key required: {config}");
    for line in USER_CONFIG
        .lines()
        .filter(|l| !l.starts_with("model_provider"))
    {
        assert!(config.contains(line), "lost {line:?} in\n{config}");
    }
    // The panel says so in the core's words, and so does the notice (the CLI's lines).
    harness.get_by_label("Codex sends its requests to Codex Router (http://127.0.0.1:4321/v1).");
    harness.get_by_label_contains(
        "Added the model provider 'codex-router' (http://127.0.0.1:4321/v1) to ",
    );
    harness.get_by_label_contains("To undo: `codex-router setup-codex --remove`.");
    assert!(
        harness
            .query_by_label("Set up Codex to use the router")
            .is_none()
    );
    // The tray shows it checked; its click now undoes it.
    let menu = app(&harness).tray_menu();
    assert_eq!(menu.codex_set_up, Some(true));
    assert_eq!(
        TrayMenu::action(menu.codex_setup_id()),
        Some(TrayAction::Run(Command::UndoCodexSetup))
    );

    harness.get_by_label("Undo set-up").click();
    harness.run();
    assert_eq!(codex_config(&home), USER_CONFIG, "the file is given back");
    harness.get_by_label("Codex is not set up to use Codex Router.");
    harness.get_by_label_contains("; Codex uses model_provider \"ollama\" again.");
    let menu = app(&harness).tray_menu();
    assert_eq!(menu.codex_set_up, Some(false));
    assert_eq!(
        TrayMenu::action(menu.codex_setup_id()),
        Some(TrayAction::Run(Command::SetUpCodex))
    );
}

#[test]
fn set_up_claude_code_from_the_endpoint_panel_then_undo_it() {
    let claude = tempfile::tempdir().unwrap();
    // SAFETY: set before the app (and any other thread of this test process) exists;
    // nextest runs each test in its own process.
    unsafe { std::env::set_var("CLAUDE_CONFIG_DIR", claude.path()) };
    let file = claude.path().join("settings.json");
    std::fs::write(&file, r#"{"theme": "dark"}"#).unwrap();
    let read =
        || -> serde_json::Value { serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap() };
    let home = home_with_codex_config(4321, serde_json::json!({}));
    let mut harness = harness(&home);
    harness.get_by_label("Claude Code is not set up to use Codex Router.");
    assert!(harness.query_by_label("Undo Claude Code set-up").is_none());

    harness
        .get_by_label("Set up Claude Code to use the router")
        .click();
    harness.run();
    let doc = read();
    assert_eq!(doc["theme"], "dark", "the user's settings are kept");
    assert_eq!(doc["env"]["ANTHROPIC_BASE_URL"], "http://127.0.0.1:4321");
    // The panel says so in the core's words, and so does the notice (the CLI's line).
    harness.get_by_label("Claude Code sends its requests to Codex Router (http://127.0.0.1:4321).");
    harness.get_by_label_contains("Claude Code now sends to http://127.0.0.1:4321 (");
    assert!(
        harness
            .query_by_label("Set up Claude Code to use the router")
            .is_none()
    );

    harness.get_by_label("Undo Claude Code set-up").click();
    harness.run();
    assert_eq!(read(), serde_json::json!({"theme": "dark"}));
    harness.get_by_label("Claude Code is not set up to use Codex Router.");
    harness.get_by_label_contains("Claude Code no longer uses the router (");
    // Codex's set-up is untouched by all this.
    assert_eq!(codex_config(&home), USER_CONFIG);
}

#[test]
fn the_codex_set_up_check_box_sends_codexs_own_chatgpt_calls_through_the_router() {
    let home = home_with_codex_config(4324, serde_json::json!({}));
    let mut harness = harness(&home);
    assert!(
        harness
            .query_by_label("Codex's own ChatGPT calls too")
            .is_none(),
        "offered once Codex is set up"
    );
    harness
        .get_by_label("Set up Codex to use the router")
        .click();
    harness.run();
    assert!(!codex_config(&home).contains("chatgpt_base_url"));
    harness
        .get_by_label("Codex's own ChatGPT calls too")
        .click();
    harness.run();
    let config = codex_config(&home);
    assert!(
        config.contains("chatgpt_base_url = \"http://127.0.0.1:4324/backend-api/\""),
        "{config}"
    );
    harness.get_by_label(
        "Codex sends its requests and its own ChatGPT calls to Codex Router (http://127.0.0.1:4324/v1).",
    );
    // Unticked: Codex's own value (none here) comes back; the provider stays.
    harness
        .get_by_label("Codex's own ChatGPT calls too")
        .click();
    harness.run();
    let config = codex_config(&home);
    assert!(!config.contains("chatgpt_base_url"), "{config}");
    assert!(
        config.contains("model_provider = \"codex-router\""),
        "{config}"
    );
}

#[test]
fn codex_is_set_up_to_send_the_local_key_when_the_endpoint_requires_one() {
    let home = home_with_codex_config(
        4322,
        serde_json::json!({"require_key": true, "key": "local-key-0123456789"}),
    );
    let mut harness = harness(&home);
    harness
        .get_by_label("Set up Codex to use the router")
        .click();
    harness.run();
    let config = codex_config(&home);
    assert!(
        config.contains("env_key = \"CODEX_ROUTER_KEY\""),
        "{config}"
    );
    assert!(
        !config.contains("local-key"),
        "never the key itself: {config}"
    );
    harness.get_by_label_contains("Codex will send $CODEX_ROUTER_KEY as the key");
    assert!(harness.query_by_label_contains("local-key").is_none());
}

#[test]
fn a_broken_codex_config_is_said_in_the_window_and_left_alone() {
    let home = home_with_codex_config(4323, serde_json::json!({}));
    std::fs::write(home.path().join("config.toml"), "model = [unclosed").unwrap();
    let mut harness = harness(&home);
    harness.get_by_label_contains("is not valid TOML, so it was left alone");
    assert!(
        harness
            .query_by_label("Set up Codex to use the router")
            .is_none()
    );
    assert_eq!(app(&harness).tray_menu().codex_set_up, None);
    // Through the tray, the attempt fails in words and changes nothing.
    harness
        .state_mut()
        .as_mut()
        .unwrap()
        .run(Command::SetUpCodex);
    harness.run();
    harness.get_by_label_contains("Could not set up Codex: ");
    assert_eq!(codex_config(&home), "model = [unclosed");
}

/// An empty home whose issuer is the fake upstream, handing out device codes polled at
/// once; nobody has entered a code until the test signs someone in.
fn device_home(up: &FakeUpstream) -> TempHome {
    let home = TempHome::new();
    home.use_upstream(
        &up.issuer_url(),
        &up.chatgpt_base_url(),
        &up.openai_base_url(),
    );
    up.set_device_poll_interval(0);
    home
}

/// Opens Add Account, types `name` and clicks "Sign in with a code".
fn sign_in_with_a_code(harness: &mut Harness<'_, Option<App>>, name: &str) {
    harness
        .get_all_by_label("Add Account")
        .next()
        .unwrap()
        .click();
    harness.run();
    harness.get_by_label("Profile name").type_text(name);
    harness.run();
    harness.get_by_label("Sign in with a code").click();
    // The sign-in now runs in the background and its progress asks for frames: callers wait
    // for what they expect with `wait_until`, which doesn't fail on that either.
    let _ = harness.try_run();
}

#[test]
fn sign_in_with_a_code_shows_the_code_then_saves_the_profile() {
    let up = FakeUpstream::start();
    let home = device_home(&up);
    let mut harness = harness(&home);
    sign_in_with_a_code(&mut harness, "carol");
    wait_until(&mut harness, |h| h.query_by_label("Copy code").is_some());
    harness.get_by_label("Signing in as 'carol'");

    // The core's sentence, with the page and the code, each also shown to copy.
    let prompt = harness
        .get_by_label_contains("On any device, open ")
        .value()
        .unwrap_or_default();
    let page = format!("{}/codex/device", up.issuer_url());
    let start = format!("On any device, open {page} and enter the code ");
    assert!(prompt.starts_with(&start), "{prompt}");
    assert!(prompt.ends_with(" (valid for 15 minutes)."), "{prompt}");
    let code = prompt[start.len()..].split(' ').next().unwrap().to_owned();
    assert!(!code.is_empty());
    harness.get_by_label(&code);
    harness.get_by_label(&page);
    let copied = |harness: &Harness<'_, Option<App>>| {
        harness
            .output()
            .platform_output
            .commands
            .iter()
            .find_map(|c| match c {
                egui::OutputCommand::CopyText(text) => Some(text.clone()),
                _ => None,
            })
    };
    harness.get_by_label("Copy code").click();
    harness.step();
    assert_eq!(copied(&harness), Some(code.clone()));
    harness.get_by_label("Copy address").click();
    harness.step();
    assert_eq!(copied(&harness), Some(page.clone()));
    assert!(!home.profile_path("carol").exists(), "not entered yet");

    // Someone enters the code on another device: the window finishes by itself.
    up.set_login_identity(&Identity::new("carol", "team"));
    wait_until(&mut harness, |h| {
        h.query_by_label_contains("Signed in as ").is_some()
    });
    harness.get_by_label("Signed in as carol@example.com (team); saved as profile 'carol'.");
    assert!(
        harness.query_by_label("Copy code").is_none(),
        "dialog closed"
    );
    assert_eq!(
        home.read_json(&home.profile_path("carol"))["tokens"]["account_id"],
        "acct-carol"
    );
    harness.get_by_label("Switch to carol");
    assert!(!app(&harness).is_busy());
}

#[test]
fn a_sign_in_with_a_code_can_be_cancelled_and_a_refusal_is_said_in_the_dialog() {
    let up = FakeUpstream::start();
    let home = device_home(&up);
    let mut harness = harness(&home);
    sign_in_with_a_code(&mut harness, "dave");
    wait_until(&mut harness, |h| h.query_by_label("Copy code").is_some());
    assert!(app(&harness).is_busy(), "waiting for the code");

    harness.get_by_label("Cancel").click();
    harness.run();
    assert!(
        harness.query_by_label("Copy code").is_none(),
        "dialog closed"
    );
    // The wait ends (cancelled, so no notice) and nothing is saved.
    wait_until(&mut harness, |h| !app(h).is_busy());
    assert!(
        app(&harness).notices().is_empty(),
        "{:?}",
        app(&harness).notices()
    );
    assert!(!home.profile_path("dave").exists());

    // An issuer without device sign-in: said in the Add Account dialog, which stays open.
    up.set_device_auth_enabled(false);
    sign_in_with_a_code(&mut harness, "dave");
    wait_until(&mut harness, |h| {
        h.query_by_label_contains("device-code login is not enabled")
            .is_some()
    });
    harness.get_by_label("Sign in with a code");
    assert!(!app(&harness).is_busy());
}

#[test]
fn notification_kinds_and_start_at_login_from_the_window_and_the_tray() {
    let config = tempfile::tempdir().unwrap();
    // SAFETY: set before the app (and any other thread of this test process) exists;
    // nextest runs each test in its own process.
    unsafe { std::env::set_var("XDG_CONFIG_HOME", config.path()) };
    let entry = config.path().join("autostart/codex-router.desktop");
    let home = two_accounts();
    let mut harness = harness(&home);
    let menu = app(&harness).tray_menu();
    assert_eq!(menu.starts_at_login, Some(false));
    assert_eq!(
        TrayMenu::action(menu.autostart_id()),
        Some(TrayAction::Run(Command::SetAutostart(true)))
    );

    harness
        .get_by_label("Notifications and start at login")
        .click();
    harness.run();
    // A kind turned off is kept in router/state.json.
    harness
        .get_by_label("A limited account can be used again")
        .click();
    harness.run();
    let state = home.read_json(&home.path().join("router/state.json"));
    assert_eq!(state["notifications"]["available_again"], false, "{state}");

    harness.get_by_label("Start at login, in the tray").click();
    harness.run();
    let text = std::fs::read_to_string(&entry).expect("the autostart entry");
    assert!(text.contains("--hidden"), "{text}");
    let menu = app(&harness).tray_menu();
    assert_eq!(menu.starts_at_login, Some(true));
    assert_eq!(
        TrayMenu::action(menu.autostart_id()),
        Some(TrayAction::Run(Command::SetAutostart(false)))
    );

    harness.get_by_label("Start at login, in the tray").click();
    harness.run();
    assert!(!entry.exists(), "turning it off removes the entry");
    assert_eq!(app(&harness).tray_menu().starts_at_login, Some(false));
}
