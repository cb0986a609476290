//! The window's state and drawing. [`App`] is built from a [`Router`] and an egui context;
//! [`App::ui`] draws everything into any `Ui`, so tests drive it headless with
//! `egui_kittest`, and the desktop shell wraps it in an eframe window.
//!
//! Local file operations (switch, save, rename, remove, add a key) take milliseconds and
//! run on the UI thread; anything that waits on the network or a browser runs on a worker
//! thread and reports back through a channel and a repaint.

use crate::format::{self, Tone};
use chrono::{DateTime, Utc};
use codex_router_core::auth_file::AuthMode;
use codex_router_core::events::RouterEvent;
use codex_router_core::login::LoginOutcome;
use codex_router_core::router::{
    LoginHandle, ProxyState, RefreshReport, Router, RouterError, Snapshot,
};
use codex_router_core::store::{Profile, StoreError, Stored};
use egui::{Color32, RichText, Role, Ui, WidgetInfo};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

/// What to restart after a switch; shown after every switch.
pub const RESTART_NOTE: &str = "Codex apps that are already running keep the old login until they restart: quit and start codex again; in VS Code run \u{201c}Developer: Reload Window\u{201d}.";

/// How many notices stay on screen.
const MAX_NOTICES: usize = 4;

/// Something the window, the tray menu or a test asks the app to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Make this profile active.
    Switch(String),
    /// Re-read `profiles/` and `auth.json`.
    RefreshProfiles,
    /// Refresh tokens now: one profile, or every ChatGPT profile.
    RefreshTokens(Option<String>),
    /// Start the local endpoint when it is off, stop it when it runs.
    ToggleProxy,
    /// Turn failover on when it is off, off when it is on (for every running endpoint).
    ToggleFailover,
}

/// A message shown at the top of the window until dismissed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// How it stands out.
    pub tone: Tone,
    /// What it says.
    pub text: String,
}

/// The tray menu, as data: built from the app's state, turned into a native menu by the
/// desktop shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayMenu {
    /// One entry per profile, in the window's order.
    pub profiles: Vec<TrayProfile>,
    /// Whether the local endpoint runs.
    pub proxy_running: bool,
    /// Whether failover is on.
    pub failover: bool,
}

/// A profile in the tray menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayProfile {
    /// The profile's name (what a click switches to).
    pub name: String,
    /// The menu text, e.g. "work — alice@example.com · 5 h 42% · week 17%".
    pub label: String,
    /// Whether it is active (checked).
    pub active: bool,
    /// Whether it can be switched to.
    pub usable: bool,
}

/// What a tray menu entry does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrayAction {
    /// A command for the app.
    Run(Command),
    /// Show and focus the window.
    OpenWindow,
    /// Quit the app.
    Quit,
}

impl TrayMenu {
    /// Menu id of a profile entry.
    pub fn profile_id(name: &str) -> String {
        format!("profile:{name}")
    }
    /// Menu id of "Refresh Profiles".
    pub const REFRESH: &'static str = "refresh";
    /// Menu id of "Open Window".
    pub const OPEN: &'static str = "open";
    /// Menu id of the proxy on/off entry.
    pub const PROXY: &'static str = "proxy";
    /// Menu id of the failover on/off entry.
    pub const FAILOVER: &'static str = "failover";
    /// Menu id of "Quit".
    pub const QUIT: &'static str = "quit";

    /// What the menu entry `id` does (`None` for an unknown id).
    pub fn action(id: &str) -> Option<TrayAction> {
        if let Some(name) = id.strip_prefix("profile:") {
            return Some(TrayAction::Run(Command::Switch(name.to_owned())));
        }
        match id {
            Self::REFRESH => Some(TrayAction::Run(Command::RefreshProfiles)),
            Self::OPEN => Some(TrayAction::OpenWindow),
            Self::PROXY => Some(TrayAction::Run(Command::ToggleProxy)),
            Self::FAILOVER => Some(TrayAction::Run(Command::ToggleFailover)),
            Self::QUIT => Some(TrayAction::Quit),
            _ => None,
        }
    }
}

/// The result of work done off the UI thread.
enum Done {
    Refreshed(Result<Vec<RefreshReport>, String>),
    LoginStarted {
        name: String,
        force: bool,
        result: Result<Arc<LoginHandle>, String>,
    },
    LoginFinished {
        name: String,
        result: Result<LoginOutcome, RouterError>,
    },
    Proxy(Result<Option<String>, String>),
}

/// An open dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Dialog {
    /// Asking for the new profile's name before a browser sign-in.
    AddAccount {
        name: String,
        error: Option<String>,
    },
    /// A browser sign-in is under way (`url` is `None` until it has started).
    Login {
        name: String,
        url: Option<String>,
    },
    AddKey {
        name: String,
        key: String,
        error: Option<String>,
    },
    Save {
        name: String,
        error: Option<String>,
    },
    Rename {
        old: String,
        new: String,
        error: Option<String>,
    },
    Remove {
        name: String,
        who: Option<String>,
    },
    /// A switch would drop the unsaved login `who`.
    Discard {
        target: String,
        who: String,
    },
}

/// The app: the router, what was last read from it, and the UI state.
pub struct App {
    router: Router,
    ctx: egui::Context,
    snapshot: Option<Snapshot>,
    load_error: Option<String>,
    proxy: ProxyState,
    notices: Vec<Notice>,
    dialog: Option<Dialog>,
    events: Receiver<RouterEvent>,
    done_tx: Sender<Done>,
    done_rx: Receiver<Done>,
    /// What is running in the background, for people ("Refreshing tokens…").
    busy: Vec<&'static str>,
    login: Option<Arc<LoginHandle>>,
    /// Bumped whenever anything the tray shows may have changed.
    generation: u64,
    /// The name field of the first-run "save this login" offer.
    first_run_name: Option<String>,
    /// A dialog just opened: put the cursor in its first field.
    focus_dialog: bool,
    /// Whether failover is on (`state.json`, re-read when it changes).
    failover: bool,
}

impl App {
    /// Builds the app on `router`, reads the profiles, starts listening to the core's
    /// events (each one wakes `ctx`), applies the app's style to `ctx`, and starts the local
    /// endpoint when `state.json` says `proxy.start_with_app`.
    pub fn new(router: Router, ctx: &egui::Context) -> Self {
        apply_style(ctx);
        let (events_tx, events) = channel();
        let mut subscription = router.subscribe();
        let waker = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("router-events".into())
            .spawn(move || {
                // Sleeps in the OS until the core sends something: no polling.
                while let Some(event) = subscription.recv_blocking() {
                    if events_tx.send(event).is_err() {
                        break;
                    }
                    waker.request_repaint();
                }
            });
        let (done_tx, done_rx) = channel();
        let mut app = Self {
            router,
            ctx: ctx.clone(),
            snapshot: None,
            load_error: None,
            proxy: ProxyState::default(),
            notices: Vec::new(),
            dialog: None,
            events,
            done_tx,
            done_rx,
            busy: Vec::new(),
            login: None,
            generation: 0,
            first_run_name: None,
            focus_dialog: false,
            failover: false,
        };
        app.failover = app.router.failover().enabled;
        if let Err(e) = spawned {
            app.notify(
                Tone::Warn,
                format!("changes made outside the app will not show up by themselves ({e})"),
            );
        }
        app.reload();
        if app.router.settings().proxy.start_with_app {
            app.start_proxy();
        }
        app
    }

    /// The router the app drives.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The profiles and active login as last read (`None` when reading failed).
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    /// The notices on screen, oldest first.
    pub fn notices(&self) -> &[Notice] {
        &self.notices
    }

    /// Whether work is running in the background.
    pub fn is_busy(&self) -> bool {
        !self.busy.is_empty() || self.login.is_some()
    }

    /// Changes whenever the tray menu may need rebuilding.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The tray menu for the current state.
    pub fn tray_menu(&self) -> TrayMenu {
        let now = Utc::now();
        let profiles = self
            .snapshot
            .iter()
            .flat_map(|s| &s.profiles)
            .map(|p| TrayProfile {
                name: p.name.clone(),
                label: tray_label(p, now),
                active: p.active,
                usable: p.login.is_ok(),
            })
            .collect();
        TrayMenu {
            profiles,
            proxy_running: self.proxy.running,
            failover: self.failover,
        }
    }

    /// Handles what arrived since the last frame: core events and finished background
    /// work. Called at the start of every frame, and by the shell while the window is
    /// hidden.
    pub fn poll(&mut self) {
        let (mut profiles, mut proxy) = (false, false);
        while let Ok(event) = self.events.try_recv() {
            match event {
                RouterEvent::ProfilesChanged
                | RouterEvent::Switched { .. }
                | RouterEvent::TokensRefreshed { .. }
                | RouterEvent::UsageUpdated { .. } => profiles = true,
                RouterEvent::NeedsSignIn { profile, message } => {
                    profiles = true;
                    self.notify(
                        Tone::Error,
                        format!("'{profile}' needs a new sign-in: {message}"),
                    );
                }
                RouterEvent::FailedOver { from, to, .. } => {
                    profiles = true;
                    self.notify(
                        Tone::Warn,
                        format!("'{from}' reached its usage limit; requests now go to '{to}'"),
                    );
                }
                RouterEvent::ProxyStarted { .. }
                | RouterEvent::ProxyStopped
                | RouterEvent::RequestFinished { .. } => proxy = true,
                RouterEvent::SettingsChanged => self.reload_failover(),
            }
        }
        while let Ok(done) = self.done_rx.try_recv() {
            self.finish(done);
            profiles = true;
            proxy = true;
        }
        if profiles {
            self.reload();
        } else if proxy {
            self.reload_proxy();
        }
    }

    /// Runs a command (from a button, the tray menu or a test).
    pub fn run(&mut self, command: Command) {
        match command {
            Command::Switch(name) => self.switch(&name, false),
            Command::RefreshProfiles => {
                self.reload();
                if let Some(e) = &self.load_error {
                    let e = e.clone();
                    self.notify(Tone::Error, e);
                }
            }
            Command::RefreshTokens(name) => self.refresh_tokens(name),
            Command::ToggleProxy => {
                if self.proxy.running {
                    self.stop_proxy();
                } else {
                    self.start_proxy();
                }
            }
            Command::ToggleFailover => {
                let on = !self.failover;
                match self.router.set_failover_enabled(on) {
                    Ok(()) => {
                        self.failover = on;
                        self.generation += 1;
                    }
                    Err(e) => self.notify(
                        Tone::Error,
                        format!("failover stays {}: {e}", if on { "off" } else { "on" }),
                    ),
                }
            }
        }
    }

    /// Draws the whole window into `ui`.
    pub fn ui(&mut self, ui: &mut Ui) {
        self.poll();
        let now = Utc::now();
        egui::Panel::top("toolbar").show(ui, |ui| self.toolbar(ui));
        egui::Panel::bottom("proxy").show(ui, |ui| self.proxy_panel(ui));
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::both()
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    self.notices_ui(ui);
                    self.body(ui, now);
                });
        });
        self.dialog_ui(ui.ctx());
        // Token phrases ("expires in 4 minutes") age: one cheap frame a minute keeps them
        // true. Nothing else repaints unless an event or input arrives.
        if self.has_expiring_tokens(now) {
            ui.ctx().request_repaint_after(Duration::from_secs(60));
        }
    }

    // ----- reading -----

    fn reload(&mut self) {
        match self.router.snapshot() {
            Ok(snapshot) => {
                self.snapshot = Some(snapshot);
                self.load_error = None;
            }
            Err(e) => self.load_error = Some(e.to_string()),
        }
        self.reload_proxy();
        self.generation += 1;
    }

    fn reload_failover(&mut self) {
        let on = self.router.failover().enabled;
        if on != self.failover {
            self.failover = on;
            self.generation += 1;
        }
    }

    fn reload_proxy(&mut self) {
        let state = self.router.proxy_state();
        if state != self.proxy {
            self.proxy = state;
            self.generation += 1;
        }
    }

    fn profiles(&self) -> &[Profile] {
        self.snapshot.as_ref().map_or(&[], |s| &s.profiles)
    }

    fn has_expiring_tokens(&self, now: DateTime<Utc>) -> bool {
        self.profiles().iter().any(|p| {
            p.login
                .as_ref()
                .is_ok_and(|i| i.expires_at.is_some_and(|e| e > now))
        })
    }

    /// The login in `auth.json` when no profile holds it.
    fn unsaved_login(&self) -> Option<&codex_router_core::auth_file::LoginInfo> {
        let status = &self.snapshot.as_ref()?.status;
        if status.profile.is_some() {
            return None;
        }
        status.login.as_ref()?.as_ref().ok()
    }

    fn suggested_name(&self) -> String {
        let email = self.unsaved_login().and_then(|i| i.email.clone());
        format::suggest_name(
            email.as_deref(),
            self.profiles().iter().map(|p| p.name.as_str()),
        )
    }

    fn open_dialog(&mut self, dialog: Dialog) {
        self.dialog = Some(dialog);
        self.focus_dialog = true;
    }

    fn notify(&mut self, tone: Tone, text: String) {
        self.notices.retain(|n| n.text != text);
        self.notices.push(Notice { tone, text });
        if self.notices.len() > MAX_NOTICES {
            self.notices.remove(0);
        }
    }

    // ----- commands -----

    fn switch(&mut self, name: &str, force: bool) {
        match self.router.switch_profile(name, force) {
            Ok(outcome) => {
                self.notices.retain(|n| n.tone != Tone::Error);
                for synced in &outcome.synced_back {
                    self.notify(
                        Tone::Muted,
                        format!("Kept the newer tokens of '{synced}' before switching."),
                    );
                }
                for warning in outcome.warnings {
                    self.notify(Tone::Warn, warning);
                }
                self.notify(
                    Tone::Normal,
                    format!("Switched to '{}'. {RESTART_NOTE}", outcome.name),
                );
            }
            Err(RouterError::Store(StoreError::UnsavedLogin(who))) => {
                self.open_dialog(Dialog::Discard {
                    target: name.to_owned(),
                    who,
                });
            }
            Err(e) => self.notify(Tone::Error, format!("Could not switch to '{name}': {e}")),
        }
        self.reload();
    }

    fn refresh_tokens(&mut self, name: Option<String>) {
        if self.busy.contains(&"Refreshing tokens\u{2026}") {
            return;
        }
        self.busy.push("Refreshing tokens\u{2026}");
        let router = self.router.clone();
        self.background(move || {
            Done::Refreshed(
                router
                    .refresh_profiles(name.as_deref())
                    .map_err(|e| e.to_string()),
            )
        });
    }

    fn start_proxy(&mut self) {
        if self.busy.contains(&"Starting the endpoint\u{2026}") {
            return;
        }
        self.busy.push("Starting the endpoint\u{2026}");
        let router = self.router.clone();
        self.background(move || {
            let settings = &router.settings().proxy;
            Done::Proxy(
                router
                    .start_proxy(&settings.host, settings.port)
                    .map(Some)
                    .map_err(|e| e.to_string()),
            )
        });
    }

    fn stop_proxy(&mut self) {
        self.busy.push("Stopping the endpoint\u{2026}");
        let router = self.router.clone();
        self.background(move || {
            router.stop_proxy();
            Done::Proxy(Ok(None))
        });
    }

    fn start_login(&mut self, name: String, force: bool) {
        self.open_dialog(Dialog::Login {
            name: name.clone(),
            url: None,
        });
        let router = self.router.clone();
        self.background(move || Done::LoginStarted {
            force,
            result: router
                .start_login(&name, force)
                .map(Arc::new)
                .map_err(|e| e.to_string()),
            name,
        });
    }

    fn cancel_login(&mut self) {
        if let Some(login) = &self.login {
            login.cancel();
        }
        self.dialog = None;
    }

    /// Runs `work` on a worker thread; its result comes back through [`App::poll`].
    fn background(&self, work: impl FnOnce() -> Done + Send + 'static) {
        let tx = self.done_tx.clone();
        let ctx = self.ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("app-worker".into())
            .spawn(move || {
                let _ = tx.send(work());
                ctx.request_repaint();
            });
        if let Err(e) = spawned {
            let _ = self
                .done_tx
                .send(Done::Refreshed(Err(format!("cannot start a thread: {e}"))));
        }
    }

    fn finish(&mut self, done: Done) {
        match done {
            Done::Refreshed(result) => {
                self.busy.retain(|b| *b != "Refreshing tokens\u{2026}");
                match result {
                    Err(e) => self.notify(Tone::Error, format!("Could not refresh tokens: {e}")),
                    Ok(reports) if reports.is_empty() => {
                        self.notify(Tone::Muted, "No ChatGPT profiles to refresh.".into())
                    }
                    Ok(reports) => {
                        let mut fine = Vec::new();
                        for report in reports {
                            match report.result {
                                Ok(_) => fine.push(report.profile),
                                Err(e) => {
                                    self.notify(Tone::Error, format!("'{}': {e}", report.profile))
                                }
                            }
                        }
                        if !fine.is_empty() {
                            self.notify(
                                Tone::Muted,
                                format!("Tokens are fresh: {}.", fine.join(", ")),
                            );
                        }
                    }
                }
            }
            Done::Proxy(result) => {
                self.busy.retain(|b| !b.ends_with("the endpoint\u{2026}"));
                if let Err(e) = result {
                    self.notify(Tone::Error, e);
                }
            }
            Done::LoginStarted {
                name,
                force,
                result,
            } => match result {
                Ok(handle) => {
                    let url = handle.url().to_owned();
                    let still_open =
                        matches!(&self.dialog, Some(Dialog::Login { name: n, .. }) if *n == name);
                    if !still_open {
                        // Closed while starting: give the port back at once.
                        handle.cancel();
                    }
                    self.login = Some(handle.clone());
                    if still_open {
                        self.open_dialog(Dialog::Login {
                            name: name.clone(),
                            url: Some(url.clone()),
                        });
                        self.ctx.open_url(egui::OpenUrl::new_tab(&url));
                    }
                    let router_handle = handle;
                    self.background(move || Done::LoginFinished {
                        result: router_handle.wait(),
                        name,
                    });
                }
                Err(e) if force => {
                    self.dialog = None;
                    self.notify(Tone::Error, format!("Sign-in for '{name}' failed: {e}"));
                }
                Err(e) => {
                    self.open_dialog(Dialog::AddAccount {
                        name,
                        error: Some(e),
                    });
                }
            },
            Done::LoginFinished { name, result } => {
                self.login = None;
                if matches!(&self.dialog, Some(Dialog::Login { .. })) {
                    self.dialog = None;
                }
                match result {
                    Ok(outcome) => {
                        let who = outcome.email.unwrap_or_else(|| "the account".into());
                        let text = match outcome.stored {
                            Stored::Created(n) => format!("Signed in as {who}: saved as '{n}'."),
                            Stored::UpdatedExisting(n) => format!(
                                "Signed in as {who}, which already had profile '{n}': its login was updated."
                            ),
                            Stored::Replaced(n) => {
                                format!("Signed in as {who}: profile '{n}' was replaced.")
                            }
                        };
                        self.notify(Tone::Normal, text);
                    }
                    Err(RouterError::Login(codex_router_core::login::LoginError::Cancelled)) => {}
                    Err(e) => self.notify(Tone::Error, format!("Sign-in for '{name}' failed: {e}")),
                }
            }
        }
    }

    // ----- drawing -----

    fn toolbar(&mut self, ui: &mut Ui) {
        ui.add_space(6.0);
        ui.horizontal_wrapped(|ui| {
            if ui.button("Add Account").clicked() {
                self.open_dialog(Dialog::AddAccount {
                    name: String::new(),
                    error: None,
                });
            }
            if ui.button("Add API Key").clicked() {
                self.open_dialog(Dialog::AddKey {
                    name: String::new(),
                    key: String::new(),
                    error: None,
                });
            }
            let can_save = self.unsaved_login().is_some();
            let save = ui
                .add_enabled(can_save, egui::Button::new("Save current login as\u{2026}"))
                .on_disabled_hover_text(self.save_disabled_reason());
            if save.clicked() {
                self.open_dialog(Dialog::Save {
                    name: self.suggested_name(),
                    error: None,
                });
            }
            ui.separator();
            if ui
                .button("Refresh Profiles")
                .on_hover_text("Read ~/.codex/profiles and auth.json again")
                .clicked()
            {
                self.run(Command::RefreshProfiles);
            }
            let refreshing = self.busy.contains(&"Refreshing tokens\u{2026}");
            if ui
                .add_enabled(!refreshing, egui::Button::new("Refresh tokens now"))
                .on_hover_text("Renew the tokens of every ChatGPT profile now")
                .clicked()
            {
                self.run(Command::RefreshTokens(None));
            }
            for busy in &self.busy {
                ui.label(RichText::new(*busy).weak());
            }
        });
        ui.add_space(4.0);
    }

    fn save_disabled_reason(&self) -> String {
        match self.snapshot.as_ref().map(|s| &s.status) {
            Some(status) => match (&status.profile, &status.login) {
                (Some(p), _) => format!("The current login is already saved as '{p}'."),
                (None, None) => "Codex is not signed in.".into(),
                (None, Some(Err(e))) => format!("Codex's login can't be used: {e}"),
                (None, Some(Ok(_))) => String::new(),
            },
            None => "The profiles could not be read.".into(),
        }
    }

    fn notices_ui(&mut self, ui: &mut Ui) {
        let mut dismiss = None;
        for (i, notice) in self.notices.iter().enumerate() {
            let fill = tone_fill(ui, notice.tone);
            egui::Frame::new()
                .fill(fill)
                .corner_radius(6.0)
                .inner_margin(egui::Margin::symmetric(10, 6))
                .show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    ui.horizontal(|ui| {
                        let close = ui.add(egui::Button::new("\u{00d7}").frame(false));
                        set_label(&close, Role::Button, "Dismiss");
                        if close.clicked() {
                            dismiss = Some(i);
                        }
                        ui.add(egui::Label::new(tone_text(ui, &notice.text, notice.tone)).wrap());
                    });
                });
            ui.add_space(4.0);
        }
        if let Some(i) = dismiss {
            self.notices.remove(i);
        }
    }

    fn body(&mut self, ui: &mut Ui, now: DateTime<Utc>) {
        if let Some(error) = self.load_error.clone() {
            ui.add_space(8.0);
            ui.label(tone_text(
                ui,
                &format!("The profiles could not be read: {error}"),
                Tone::Error,
            ));
            if ui.button("Try again").clicked() {
                self.run(Command::RefreshProfiles);
            }
            return;
        }
        if self.profiles().is_empty() {
            self.first_run(ui);
            return;
        }
        if let Some(info) = self.unsaved_login() {
            let who = format::who(info);
            ui.horizontal_wrapped(|ui| {
                ui.label(tone_text(
                    ui,
                    &format!("Codex is signed in as {who}, which is not saved as a profile yet."),
                    Tone::Warn,
                ));
                if ui.button("Save it as\u{2026}").clicked() {
                    self.open_dialog(Dialog::Save {
                        name: self.suggested_name(),
                        error: None,
                    });
                }
            });
            ui.add_space(6.0);
        }
        self.profile_table(ui, now);
    }

    fn first_run(&mut self, ui: &mut Ui) {
        ui.add_space(12.0);
        let status = self.snapshot.as_ref().map(|s| s.status.clone());
        let login = status.as_ref().and_then(|s| s.login.clone());
        match login {
            Some(Ok(info)) => {
                ui.heading("Save your Codex login");
                ui.add_space(4.0);
                ui.label(format!(
                    "Codex is signed in as {}, but that login is not saved as a profile yet. \
                     Save it, and you can switch back to it after adding other accounts.",
                    format::who(&info)
                ));
                ui.add_space(8.0);
                let mut name = self
                    .first_run_name
                    .take()
                    .unwrap_or_else(|| self.suggested_name());
                let mut save = false;
                ui.horizontal(|ui| {
                    let label = ui.label("Profile name");
                    let edit = ui.add(
                        egui::TextEdit::singleline(&mut name)
                            .desired_width(200.0)
                            .hint_text("e.g. work"),
                    );
                    edit.clone().labelled_by(label.id);
                    save = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    save |= ui.button("Save profile").clicked();
                });
                if save {
                    let trimmed = name.trim().to_owned();
                    match self.router.save_profile(&trimmed) {
                        Ok(()) => {
                            self.notify(
                                Tone::Normal,
                                format!("Saved the current login as '{trimmed}'."),
                            );
                        }
                        Err(e) => {
                            self.notify(Tone::Error, format!("Could not save: {e}"));
                            self.first_run_name = Some(name);
                        }
                    }
                    self.reload();
                } else {
                    self.first_run_name = Some(name);
                }
                ui.add_space(16.0);
                ui.label("Or add another account:");
            }
            other => {
                ui.heading("No accounts yet");
                ui.add_space(4.0);
                if let Some(Err(reason)) = other {
                    ui.label(tone_text(
                        ui,
                        &format!("Codex's login can't be used: {reason}"),
                        Tone::Warn,
                    ));
                }
                ui.label(
                    "Codex Router keeps one saved login per account and switches Codex between them.",
                );
                ui.add_space(6.0);
                ui.label("\u{2022} Add Account: sign in with ChatGPT in your browser; the login is saved as a profile.");
                ui.label("\u{2022} Add API Key: save an OpenAI API key as a profile.");
                ui.label("\u{2022} Already use Codex here? Sign in with `codex login` and the login shows up here, ready to save.");
                ui.add_space(10.0);
            }
        }
        ui.horizontal(|ui| {
            if ui.button("Add Account").clicked() {
                self.open_dialog(Dialog::AddAccount {
                    name: String::new(),
                    error: None,
                });
            }
            if ui.button("Add API Key").clicked() {
                self.open_dialog(Dialog::AddKey {
                    name: String::new(),
                    key: String::new(),
                    error: None,
                });
            }
        });
    }

    fn profile_table(&mut self, ui: &mut Ui, now: DateTime<Utc>) {
        let profiles = self.profiles().to_vec();
        let show_usage = profiles.iter().any(|p| {
            p.usage
                .as_ref()
                .and_then(|u| format::usage_summary(u, now))
                .is_some()
        });
        let mut action = None;
        egui::Grid::new("profiles")
            .num_columns(if show_usage { 8 } else { 7 })
            .striped(true)
            .spacing([16.0, 8.0])
            .show(ui, |ui| {
                let head = |ui: &mut Ui, text: &str| {
                    ui.label(RichText::new(text).small().strong().weak());
                };
                head(ui, "");
                head(ui, "Profile");
                head(ui, "Email");
                head(ui, "Sign-in");
                head(ui, "Token");
                if show_usage {
                    head(ui, "Usage");
                }
                head(ui, "");
                head(ui, "");
                ui.end_row();
                for p in &profiles {
                    active_dot(ui, p.active);
                    let name = RichText::new(&p.name);
                    ui.label(if p.active { name.strong() } else { name });
                    let info = p.login.as_ref().ok();
                    ui.label(
                        info.and_then(|i| i.email.clone())
                            .unwrap_or("\u{2014}".into()),
                    );
                    ui.label(info.map_or("\u{2014}".into(), format::sign_in_label));
                    let (state, tone) = format::token_state(p, now);
                    ui.scope(|ui| {
                        ui.set_max_width(250.0);
                        ui.add(egui::Label::new(tone_text(ui, &state, tone)).wrap());
                    });
                    if show_usage {
                        usage_cell(ui, p.usage.as_ref(), now);
                    }
                    {
                        if p.active {
                            ui.label(RichText::new("Active").strong().color(accent(ui)));
                        } else {
                            let switch = ui
                                .add_enabled(p.login.is_ok(), egui::Button::new("Switch"))
                                .on_hover_text(format!("Make Codex use '{}'", p.name));
                            set_label(&switch, Role::Button, &format!("Switch to {}", p.name));
                            if switch.clicked() {
                                action = Some(RowAction::Switch(p.name.clone()));
                            }
                        }
                    }
                    {
                        let more = ui.menu_button("\u{2026}", |ui| {
                            if ui.button("Rename\u{2026}").clicked() {
                                action = Some(RowAction::Rename(p.name.clone()));
                            }
                            let chatgpt = info.is_some_and(|i| i.auth_mode == AuthMode::ChatGpt);
                            if p.needs_sign_in.is_some() {
                                if ui.button("Sign in again\u{2026}").clicked() {
                                    action = Some(RowAction::SignIn(p.name.clone()));
                                }
                            } else if chatgpt && ui.button("Refresh tokens now").clicked() {
                                action = Some(RowAction::Refresh(p.name.clone()));
                            }
                            if ui.button("Remove\u{2026}").clicked() {
                                action = Some(RowAction::Remove(p.name.clone()));
                            }
                        });
                        set_label(
                            &more.response,
                            Role::Button,
                            &format!("More for {}", p.name),
                        );
                    }
                    ui.end_row();
                }
            });
        match action {
            Some(RowAction::Switch(name)) => self.run(Command::Switch(name)),
            Some(RowAction::Refresh(name)) => self.run(Command::RefreshTokens(Some(name))),
            // A new sign-in of the same account updates the profile; `force` lets a dead
            // login be replaced even when another account signs in under its name.
            Some(RowAction::SignIn(name)) => self.start_login(name, true),
            Some(RowAction::Rename(name)) => self.open_dialog(Dialog::Rename {
                new: name.clone(),
                old: name,
                error: None,
            }),
            Some(RowAction::Remove(name)) => {
                let who = profiles
                    .iter()
                    .find(|p| p.name == name)
                    .and_then(|p| p.login.as_ref().ok())
                    .map(format::who);
                self.open_dialog(Dialog::Remove { name, who });
            }
            None => {}
        }
    }

    fn proxy_panel(&mut self, ui: &mut Ui) {
        ui.add_space(6.0);
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new("Local endpoint").strong());
            let settings = &self.router.settings().proxy;
            let busy = self
                .busy
                .iter()
                .any(|b| b.ends_with("the endpoint\u{2026}"));
            if self.proxy.running {
                ui.label(RichText::new("on").strong().color(ok_color(ui)));
                if let Some(address) = self.proxy.address.clone() {
                    ui.add(egui::Label::new(RichText::new(&address).monospace()).selectable(true));
                    let copy = ui.button("Copy");
                    set_label(&copy, Role::Button, "Copy address");
                    if copy.clicked() {
                        ui.ctx().copy_text(address);
                    }
                }
                let n = self.proxy.requests_served;
                ui.label(format!(
                    "{n} request{} served",
                    if n == 1 { "" } else { "s" }
                ));
                if ui.add_enabled(!busy, egui::Button::new("Stop")).clicked() {
                    self.run(Command::ToggleProxy);
                }
            } else {
                ui.label(RichText::new("off").weak());
                ui.label(
                    RichText::new(format!("http://{}:{}/v1", settings.host, settings.port))
                        .monospace()
                        .weak(),
                );
                if ui.add_enabled(!busy, egui::Button::new("Start")).clicked() {
                    self.run(Command::ToggleProxy);
                }
            }
        });
        let mut failover = self.failover;
        let toggle = ui
            .checkbox(&mut failover, "Fail over: when an account hits its usage limit, send the request to the next account")
            .on_hover_text("Only requests through this endpoint; the next account is the first one not limited and not needing sign-in (router/state.json \"failover\" sets the order).");
        if toggle.changed() {
            self.run(Command::ToggleFailover);
        }
        if let Some(error) = &self.proxy.last_error {
            ui.label(tone_text(ui, &format!("Last error: {error}"), Tone::Error));
        }
        ui.label(
            RichText::new(
                "Point Codex or any OpenAI client at this address: requests go out with the active profile, so a switch takes effect at the next request.",
            )
            .small()
            .weak(),
        );
        ui.add_space(4.0);
    }

    fn dialog_ui(&mut self, ctx: &egui::Context) {
        let Some(mut dialog) = self.dialog.take() else {
            return;
        };
        let mut keep = true;
        let modal = egui::Modal::new(egui::Id::unique("codex-router-dialog")).show(ctx, |ui| {
            ui.set_width(420.0);
            keep = self.dialog_body(ui, &mut dialog);
        });
        if modal.should_close() {
            if matches!(dialog, Dialog::Login { .. }) {
                self.cancel_login();
            }
            keep = false;
        }
        // The body may have opened another dialog; that one wins.
        if keep && self.dialog.is_none() {
            self.dialog = Some(dialog);
        }
    }

    /// Draws one dialog; returns whether it stays open.
    fn dialog_body(&mut self, ui: &mut Ui, dialog: &mut Dialog) -> bool {
        let focus = std::mem::take(&mut self.focus_dialog);
        match dialog {
            Dialog::AddAccount { name, error } => {
                ui.heading("Add Account");
                ui.label("Sign in with ChatGPT in your browser. The login is saved as a new profile and Codex keeps using its current one.");
                ui.add_space(6.0);
                let submit = name_field(ui, "Profile name", name, "e.g. work", focus);
                error_line(ui, error);
                match buttons(ui, "Sign in with browser", submit) {
                    Some(true) => {
                        let name = name.trim().to_owned();
                        match self.router.store().ensure_available(&name, false) {
                            Ok(_) => self.start_login(name, false),
                            Err(e) => *error = Some(e.to_string()),
                        }
                        true
                    }
                    Some(false) => false,
                    None => true,
                }
            }
            Dialog::Login { name, url } => {
                ui.heading(format!("Signing in as '{name}'"));
                match url {
                    None => {
                        ui.label("Starting the sign-in\u{2026}");
                    }
                    Some(url) => {
                        ui.label("Finish the sign-in in your browser; this window updates by itself. If no browser opened, open this address:");
                        ui.add_space(4.0);
                        // Read-only, but selectable and copyable.
                        let field = ui.add(
                            egui::TextEdit::multiline(&mut url.as_str())
                                .font(egui::TextStyle::Monospace)
                                .desired_rows(3)
                                .desired_width(f32::INFINITY),
                        );
                        set_label(&field, Role::MultilineTextInput, "Sign-in address");
                        ui.horizontal(|ui| {
                            if ui.button("Copy address").clicked() {
                                ui.ctx().copy_text(url.clone());
                            }
                            if ui.button("Open browser").clicked() {
                                ui.ctx().open_url(egui::OpenUrl::new_tab(url.as_str()));
                            }
                        });
                        ui.label(RichText::new("Waiting for the browser\u{2026}").weak());
                    }
                }
                ui.add_space(6.0);
                if ui.button("Cancel").clicked() {
                    self.cancel_login();
                    return false;
                }
                true
            }
            Dialog::AddKey { name, key, error } => {
                ui.heading("Add API Key");
                ui.label("Save an OpenAI API key as a profile. The key is stored in the profile's auth.json (mode 0600) and never shown again.");
                ui.add_space(6.0);
                let mut submit = name_field(ui, "Profile name", name, "e.g. api", focus);
                ui.horizontal(|ui| {
                    let label = ui.label("API key");
                    let edit = ui.add(
                        egui::TextEdit::singleline(key)
                            .password(true)
                            .desired_width(260.0)
                            .hint_text("sk-\u{2026}"),
                    );
                    edit.clone().labelled_by(label.id);
                    submit |= edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                });
                error_line(ui, error);
                match buttons(ui, "Save key", submit) {
                    Some(true) => {
                        match self.router.add_api_key(name.trim(), key, false) {
                            Ok(stored) => {
                                key.clear();
                                let text = match stored {
                                    Stored::UpdatedExisting(n) => {
                                        format!("This key was already saved as '{n}'.")
                                    }
                                    Stored::Created(n) | Stored::Replaced(n) => {
                                        format!("Saved the API key as '{n}'.")
                                    }
                                };
                                self.notify(Tone::Normal, text);
                                self.reload();
                                return false;
                            }
                            Err(e) => *error = Some(e.to_string()),
                        }
                        true
                    }
                    Some(false) => {
                        key.clear();
                        false
                    }
                    None => true,
                }
            }
            Dialog::Save { name, error } => {
                ui.heading("Save current login");
                if let Some(info) = self.unsaved_login() {
                    ui.label(format!(
                        "Save the login Codex uses now ({}) as a profile.",
                        format::who(info)
                    ));
                }
                ui.add_space(6.0);
                let submit = name_field(ui, "Profile name", name, "e.g. work", focus);
                error_line(ui, error);
                match buttons(ui, "Save", submit) {
                    Some(true) => {
                        let name = name.trim().to_owned();
                        match self.router.save_profile(&name) {
                            Ok(()) => {
                                self.notify(
                                    Tone::Normal,
                                    format!("Saved the current login as '{name}'."),
                                );
                                self.reload();
                                return false;
                            }
                            Err(e) => *error = Some(e.to_string()),
                        }
                        true
                    }
                    Some(false) => false,
                    None => true,
                }
            }
            Dialog::Rename { old, new, error } => {
                ui.heading(format!("Rename '{old}'"));
                ui.add_space(6.0);
                let submit = name_field(ui, "New name", new, "e.g. personal", focus);
                error_line(ui, error);
                match buttons(ui, "Rename", submit) {
                    Some(true) => {
                        let to = new.trim().to_owned();
                        match self.router.rename_profile(old, &to) {
                            Ok(()) => {
                                self.notify(Tone::Muted, format!("Renamed '{old}' to '{to}'."));
                                self.reload();
                                return false;
                            }
                            Err(e) => *error = Some(e.to_string()),
                        }
                        true
                    }
                    Some(false) => false,
                    None => true,
                }
            }
            Dialog::Remove { name, who } => {
                ui.heading(format!("Remove '{name}'?"));
                let whose = who.as_ref().map(|w| format!(" of {w}")).unwrap_or_default();
                ui.label(format!(
                    "The saved login{whose} is deleted from this computer. auth.json is not touched, so Codex stays signed in with whatever it uses now."
                ));
                ui.add_space(6.0);
                match buttons(ui, "Remove", false) {
                    Some(true) => {
                        match self.router.remove_profile(name) {
                            Ok(()) => self.notify(Tone::Muted, format!("Removed '{name}'.")),
                            Err(e) => {
                                self.notify(Tone::Error, format!("Could not remove '{name}': {e}"))
                            }
                        }
                        self.reload();
                        false
                    }
                    Some(false) => false,
                    None => true,
                }
            }
            Dialog::Discard { target, who } => {
                ui.heading("Save the current login first?");
                ui.label(format!(
                    "Codex is signed in as {who}, which is not saved as a profile. Switching to '{target}' would lose that login."
                ));
                ui.add_space(6.0);
                let mut keep = true;
                ui.horizontal(|ui| {
                    if ui.button("Save it first\u{2026}").clicked() {
                        self.open_dialog(Dialog::Save {
                            name: self.suggested_name(),
                            error: None,
                        });
                    }
                    if ui.button("Switch anyway").clicked() {
                        let target = target.clone();
                        self.switch(&target, true);
                        keep = false;
                    }
                    if ui.button("Cancel").clicked() {
                        keep = false;
                    }
                });
                keep
            }
        }
    }
}

/// What a profile row asked for.
enum RowAction {
    Switch(String),
    Rename(String),
    Refresh(String),
    SignIn(String),
    Remove(String),
}

/// The usage column: "limited until …" while limited, else a bar per window; a dash when
/// nothing is known.
fn usage_cell(ui: &mut Ui, usage: Option<&codex_router_core::usage::Usage>, now: DateTime<Utc>) {
    let Some(usage) = usage else {
        ui.label(RichText::new("\u{2014}").weak());
        return;
    };
    if usage.is_limited(now.timestamp())
        && let Some((text, tone)) = format::usage_summary(usage, now)
    {
        ui.label(tone_text(ui, &text, tone));
        return;
    }
    let bars = format::usage_bars(usage, now);
    if bars.is_empty() {
        ui.label(RichText::new("\u{2014}").weak());
        return;
    }
    ui.vertical(|ui| {
        for bar in bars {
            let mut widget = egui::ProgressBar::new(bar.fraction)
                .desired_width(170.0)
                .desired_height(16.0)
                .text(RichText::new(&bar.text).small());
            if bar.tone == Tone::Warn {
                widget = widget.fill(ui.visuals().warn_fg_color);
            }
            let shown = ui.add(widget);
            set_label(&shown, Role::ProgressIndicator, &bar.text);
        }
    });
}

/// A profile's tray menu text: name, who, and the usage figures when known.
fn tray_label(p: &Profile, now: DateTime<Utc>) -> String {
    let mut label = match &p.login {
        Ok(_) if p.needs_sign_in.is_some() => format!("{} (needs sign-in)", p.name),
        Ok(info) if info.auth_mode == AuthMode::ApiKey => format!("{} \u{2014} API key", p.name),
        Ok(info) => match &info.email {
            Some(email) => format!("{} \u{2014} {email}", p.name),
            None => p.name.clone(),
        },
        Err(_) => format!("{} (can't be used)", p.name),
    };
    if let Some((usage, _)) = p.usage.as_ref().and_then(|u| format::usage_summary(u, now)) {
        label.push_str(" \u{00b7} ");
        label.push_str(&usage);
    }
    label
}

/// A labelled one-line name field; returns whether Enter was pressed in it.
/// `focus` puts the cursor in it (when its dialog has just opened).
fn name_field(ui: &mut Ui, label: &str, value: &mut String, hint: &str, focus: bool) -> bool {
    ui.horizontal(|ui| {
        let label = ui.label(label);
        let edit = ui.add(
            egui::TextEdit::singleline(value)
                .desired_width(220.0)
                .hint_text(hint),
        );
        edit.clone().labelled_by(label.id);
        if focus {
            edit.request_focus();
        }
        edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))
    })
    .inner
}

fn error_line(ui: &mut Ui, error: &Option<String>) {
    if let Some(e) = error {
        ui.add(egui::Label::new(tone_text(ui, e, Tone::Error)).wrap());
    }
}

/// The OK / Cancel row: `Some(true)` when confirmed (or `submit`), `Some(false)` on
/// cancel, `None` otherwise.
fn buttons(ui: &mut Ui, ok: &str, submit: bool) -> Option<bool> {
    ui.add_space(6.0);
    let mut result = submit.then_some(true);
    ui.horizontal(|ui| {
        if ui.button(ok).clicked() {
            result = Some(true);
        }
        if ui.button("Cancel").clicked() {
            result = Some(false);
        }
    });
    result
}

/// Gives a widget the accessible name `label` (what screen readers and tests find).
fn set_label(response: &egui::Response, kind: Role, label: &str) {
    let enabled = response.enabled();
    response.widget_info(|| WidgetInfo::labeled(kind, enabled, label));
}

/// The active row's mark: a filled dot in the accent colour (drawn, so it needs no glyph).
fn active_dot(ui: &mut Ui, active: bool) {
    let size = egui::vec2(10.0, ui.spacing().interact_size.y);
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::hover());
    if active {
        ui.painter().circle_filled(rect.center(), 4.5, accent(ui));
        response.on_hover_text("Active: the login Codex uses now");
    }
}

/// The app's blue (the icon's), a little lighter on dark backgrounds.
fn accent(ui: &Ui) -> Color32 {
    if ui.visuals().dark_mode {
        Color32::from_rgb(96, 150, 255)
    } else {
        Color32::from_rgb(37, 99, 235)
    }
}

fn ok_color(ui: &Ui) -> Color32 {
    if ui.visuals().dark_mode {
        Color32::from_rgb(90, 200, 120)
    } else {
        Color32::from_rgb(20, 130, 60)
    }
}

fn tone_text(ui: &Ui, text: &str, tone: Tone) -> RichText {
    let text = RichText::new(text);
    match tone {
        Tone::Normal => text,
        Tone::Muted => text.weak(),
        Tone::Warn => text.color(ui.visuals().warn_fg_color),
        Tone::Error => text.color(ui.visuals().error_fg_color),
    }
}

fn tone_fill(ui: &Ui, tone: Tone) -> Color32 {
    let base = match tone {
        Tone::Normal => ui.visuals().selection.bg_fill,
        Tone::Muted => ui.visuals().weak_text_color(),
        Tone::Warn => ui.visuals().warn_fg_color,
        Tone::Error => ui.visuals().error_fg_color,
    };
    base.gamma_multiply(0.15)
}

/// Readable type and roomier spacing than egui's defaults, for both themes.
pub fn apply_style(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| {
        use egui::{FontFamily, FontId, TextStyle};
        style.text_styles = [
            (
                TextStyle::Heading,
                FontId::new(19.0, FontFamily::Proportional),
            ),
            (TextStyle::Body, FontId::new(14.0, FontFamily::Proportional)),
            (
                TextStyle::Button,
                FontId::new(14.0, FontFamily::Proportional),
            ),
            (
                TextStyle::Small,
                FontId::new(11.5, FontFamily::Proportional),
            ),
            (
                TextStyle::Monospace,
                FontId::new(13.0, FontFamily::Monospace),
            ),
        ]
        .into();
        style.spacing.item_spacing = egui::vec2(8.0, 6.0);
        style.spacing.button_padding = egui::vec2(8.0, 3.0);
        style.spacing.interact_size.y = 22.0;
    });
    // egui's light theme draws body text in a soft grey; darker reads better at 14 px.
    ctx.style_mut_of(egui::Theme::Light, |style| {
        style.visuals.widgets.noninteractive.fg_stroke.color = Color32::from_gray(35);
        style.visuals.widgets.inactive.fg_stroke.color = Color32::from_gray(25);
    });
}
