//! The window's state and its frame loop. [`App`] is built from a [`Router`] and an egui
//! context; [`App::ui`] draws everything into any `Ui`, so tests drive it headless with
//! `egui_kittest`, and the desktop shell wraps it in an eframe window.
//!
//! One frame: [`App::poll`] takes in the core's events and finished jobs; the drawing code
//! in the `ui` module reads the state and returns [`Command`]s; [`App::run`] runs them (core
//! calls, starting [`Job`]s). Nothing that draws calls the core.
//!
//! - `state`: what the window shows, and the fields being typed in.
//! - `commands`: [`Command`] and its runner.
//! - `jobs`: [`Job`], the work that runs on worker threads, and its results.
//! - `tray_menu`: [`TrayMenu`], the tray's entries as data.
//! - `desktop_settings`: notifications to post, which are on, and start at login.

mod commands;
mod desktop_settings;
mod jobs;
mod state;
mod tray_menu;

pub use commands::{Command, Prompt};
pub use jobs::{Job, SignInMethod};
pub use state::Notice;
pub(crate) use state::{Dialog, Forms, LoginPrompt, State};
pub use tray_menu::{TrayAction, TrayMenu, TrayProfile};

use chrono::Utc;
use codex_router_core::events::RouterEvent;
use codex_router_core::router::{Router, Snapshot};
use codex_router_core::usage::history::Sample;
use codex_router_core::view::NetworkView;
use codex_router_core::view::messages;
use codex_router_core::view::phrases::Tone;
use egui::Ui;
use jobs::{Finished, PendingLogin};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

/// The app: the router, what was last read from it, and the UI state.
pub struct App {
    router: Router,
    ctx: egui::Context,
    state: State,
    forms: Forms,
    events: Receiver<RouterEvent>,
    done_tx: Sender<Finished>,
    done_rx: Receiver<Finished>,
    /// The sign-in waiting for the user, with its job, to cancel it.
    login: Option<(Job, PendingLogin)>,
}

impl App {
    /// Builds the app on `router`, reads the profiles, starts listening to the core's
    /// events (each one wakes `ctx`), applies the app's style to `ctx`, and starts the local
    /// endpoint when `state.json` says `proxy.start_with_app`.
    pub fn new(router: Router, ctx: &egui::Context) -> Self {
        crate::ui::style::apply_style(ctx);
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
        let settings = &router.settings().proxy;
        let state = State {
            endpoint_address: format!("http://{}:{}/v1", settings.host, settings.port),
            network: NetworkView::new(router.network()).line,
            failover: router.failover().enabled,
            ..State::default()
        };
        let mut app = Self {
            router,
            ctx: ctx.clone(),
            state,
            forms: Forms::default(),
            events,
            done_tx,
            done_rx,
            login: None,
        };
        if let Err(e) = spawned {
            app.state.notify(
                Tone::Warn,
                format!("changes made outside the app will not show up by themselves ({e})"),
            );
        }
        app.reload();
        if app.router.settings().proxy.start_with_app {
            app.start_job(Job::StartEndpoint);
        }
        app
    }

    /// The router the app drives.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The profiles and active login as last read (`None` when reading failed).
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.state.snapshot.as_ref()
    }

    /// The notices on screen, oldest first.
    pub fn notices(&self) -> &[Notice] {
        &self.state.notices
    }

    /// Whether work is running in the background.
    pub fn is_busy(&self) -> bool {
        !self.state.jobs.is_empty()
    }

    /// Changes whenever the tray menu may need rebuilding.
    pub fn generation(&self) -> u64 {
        self.state.generation
    }

    /// Handles what arrived since the last frame: core events and finished background
    /// work. Called at the start of every frame, and by the shell while the window is
    /// hidden.
    pub fn poll(&mut self) {
        // `setups`: whether Codex's and Claude Code's set-ups are read again. Only a change of
        // files in the home (or finished work) can change them, not the frequent usage and
        // token events every answer through the endpoint brings.
        // `new_figures`: the profiles whose usage history grew (only theirs is read again).
        let (mut profiles, mut proxy, mut setups) = (false, false, false);
        let mut new_figures = BTreeSet::new();
        while let Ok(event) = self.events.try_recv() {
            match event {
                RouterEvent::ProfilesChanged | RouterEvent::Switched { .. } => {
                    profiles = true;
                    setups = true;
                }
                RouterEvent::TokensRefreshed { .. } => profiles = true,
                RouterEvent::UsageUpdated { profile } => {
                    profiles = true;
                    new_figures.insert(profile);
                }
                RouterEvent::NeedsSignIn { profile, message } => {
                    profiles = true;
                    let text = messages::needs_sign_in(&profile, &message);
                    self.state.notify(Tone::Error, text);
                }
                RouterEvent::FailedOver {
                    from,
                    to,
                    resets_at,
                } => {
                    profiles = true;
                    let text = messages::failed_over(&from, &to, resets_at);
                    self.state.notify(Tone::Warn, text);
                }
                RouterEvent::ProxyStarted { .. }
                | RouterEvent::ProxyStopped
                | RouterEvent::RequestFinished { .. } => proxy = true,
                RouterEvent::SettingsChanged => {
                    self.reload_failover();
                    self.reload_desktop_settings();
                }
                RouterEvent::Notify(notification) => self.deliver(notification),
            }
        }
        while let Ok(done) = self.done_rx.try_recv() {
            self.finish(done);
            (profiles, proxy, setups) = (true, true, true);
        }
        if setups {
            self.reload();
        } else if profiles {
            self.reload_profiles(Histories::Of(&new_figures));
        } else if proxy {
            self.reload_proxy();
        }
    }

    /// Draws the whole window into `ui`, then runs what the drawing asked for.
    pub fn ui(&mut self, ui: &mut Ui) {
        self.poll();
        let now = Utc::now();
        let commands = crate::ui::window(ui, &self.state, &mut self.forms, now);
        if !commands.is_empty() {
            // The next frame shows what the commands changed.
            ui.ctx().request_repaint();
        }
        for command in commands {
            self.run(command);
        }
        // Token phrases ("expires in 4 minutes") age: one cheap frame a minute keeps them
        // true. Nothing else repaints unless an event or input arrives.
        if self.state.has_expiring_tokens(now) {
            ui.ctx().request_repaint_after(Duration::from_secs(60));
        }
    }

    /// Reads the profiles, the active login, the endpoint and Codex's and Claude Code's
    /// set-ups again.
    fn reload(&mut self) {
        self.reload_profiles(Histories::All);
        self.reload_codex_setup();
        self.reload_claude_setup();
        self.reload_desktop_settings();
    }

    /// Reads the profiles, the active login and the endpoint again, and the usage history
    /// of the profiles `histories` names (and of any not read before).
    fn reload_profiles(&mut self, histories: Histories<'_>) {
        match self.router.snapshot() {
            Ok(snapshot) => {
                let mut kept: BTreeMap<String, Vec<Sample>> =
                    std::mem::take(&mut self.state.usage_history)
                        .into_iter()
                        .collect();
                self.state.usage_history = snapshot
                    .profiles
                    .iter()
                    .map(|p| {
                        let again = match histories {
                            Histories::All => true,
                            Histories::Of(names) => names.contains(&p.name),
                        };
                        let samples = match kept.remove(&p.name) {
                            Some(samples) if !again => samples,
                            _ => self.router.usage_history(&p.name).unwrap_or_default(),
                        };
                        (p.name.clone(), samples)
                    })
                    .collect();
                self.state.snapshot = Some(snapshot);
                self.state.load_error = None;
            }
            Err(e) => self.state.load_error = Some(e.to_string()),
        }
        self.reload_proxy();
        self.state.generation += 1;
    }

    /// Reads whether Codex uses the router (its `config.toml`) again.
    fn reload_codex_setup(&mut self) {
        let setup = Some(self.router.codex_setup_state().map_err(|e| e.to_string()));
        if setup != self.state.codex_setup {
            self.state.codex_setup = setup;
            self.state.generation += 1;
        }
    }

    /// Reads whether Claude Code uses the router (its `settings.json`) again.
    fn reload_claude_setup(&mut self) {
        let setup = Some(self.router.claude_setup_state().map_err(|e| e.to_string()));
        if setup != self.state.claude_setup {
            self.state.claude_setup = setup;
            self.state.generation += 1;
        }
    }

    fn reload_failover(&mut self) {
        let on = self.router.failover().enabled;
        if on != self.state.failover {
            self.state.failover = on;
            self.state.generation += 1;
        }
    }

    fn reload_proxy(&mut self) {
        let proxy = self.router.proxy_state();
        if proxy != self.state.proxy {
            self.state.proxy = proxy;
            self.state.generation += 1;
        }
    }
}

/// Whose usage history [`App::reload_profiles`] reads again.
enum Histories<'a> {
    /// Every profile's.
    All,
    /// These profiles' (their figures changed).
    Of(&'a BTreeSet<String>),
}
