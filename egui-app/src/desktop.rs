//! The desktop shell around [`App`]: the eframe window, the tray menu, hiding instead of
//! closing while a tray exists (or starting hidden, `--hidden`), posting the core's
//! notifications, quitting on a signal, and a readable screen when the router cannot start
//! at all.

use crate::app::{App, TrayAction};
use crate::notifications::Poster;
use crate::tray::Tray;
use crate::ui::style::apply_style;
use codex_router_core::router::Router;
use egui::ViewportCommand;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What the window shows.
enum Screen {
    /// The app.
    Running(Box<App>),
    /// The router could not open; why, and a button to try again.
    Failed(String),
}

/// The eframe application: [`App`] plus the tray and the window's life cycle.
pub struct Desktop {
    screen: Screen,
    codex_home: Option<PathBuf>,
    tray: Option<Tray>,
    /// A tray action may have flipped a check mark by itself: rebuild the menu.
    tray_dirty: bool,
    /// Set from the signal thread: quit as soon as possible.
    quit: Arc<AtomicBool>,
    quitting: bool,
    /// Whether the first frame with profiles was logged.
    announced: bool,
    /// Posts the core's notifications on the desktop.
    poster: Poster,
    /// Frames left in which to hide the window again (`--hidden`): eframe shows it after
    /// the first frame whatever it was created as.
    hide_frames: u8,
}

impl Desktop {
    /// Builds the shell in eframe's creation callback: opens the router on `codex_home`
    /// (`None`: `CODEX_HOME` or `~/.codex`) with its notifications on, then the tray unless
    /// `with_tray` is false. `hidden`: the window was created invisible (`--hidden`), to be
    /// opened from the tray; without a tray it is shown after all.
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        codex_home: Option<PathBuf>,
        quit: Arc<AtomicBool>,
        with_tray: bool,
        hidden: bool,
    ) -> Self {
        let ctx = &cc.egui_ctx;
        apply_style(ctx);
        follow_system_theme(ctx);
        let screen = open(codex_home.clone(), ctx);
        let tray = match (&screen, with_tray) {
            (Screen::Running(app), true) => match Tray::start(ctx, &app.tray_menu()) {
                Ok(tray) => Some(tray),
                Err(e) => {
                    tracing::warn!(
                        "no tray icon: {e}; the window is the app, and closing it quits"
                    );
                    None
                }
            },
            _ => None,
        };
        if hidden && tray.is_none() {
            tracing::info!("no tray to open the window from: showing it");
            Self::show_window(ctx);
        }
        let hide_frames = if hidden && tray.is_some() { 2 } else { 0 };
        Self {
            screen,
            codex_home,
            tray,
            tray_dirty: false,
            quit,
            quitting: false,
            announced: false,
            poster: Poster::start(),
            hide_frames,
        }
    }

    fn quit_now(&mut self, ctx: &egui::Context) {
        tracing::info!("quitting");
        self.quitting = true;
        ctx.send_viewport_cmd(ViewportCommand::Close);
        ctx.request_repaint();
    }

    fn show_window(ctx: &egui::Context) {
        ctx.send_viewport_cmd(ViewportCommand::Visible(true));
        ctx.send_viewport_cmd(ViewportCommand::Minimized(false));
        ctx.send_viewport_cmd(ViewportCommand::Focus);
        ctx.request_repaint();
    }
}

impl eframe::App for Desktop {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if self.quit.load(Ordering::SeqCst) && !self.quitting {
            self.quit_now(ctx);
        }
        if self.hide_frames > 0 {
            self.hide_frames -= 1;
            ctx.send_viewport_cmd(ViewportCommand::Visible(false));
            ctx.request_repaint();
        }
        let actions = self.tray.as_ref().map(Tray::drain).unwrap_or_default();
        for action in actions {
            self.tray_dirty = true;
            match action {
                TrayAction::Run(command) => {
                    if let Screen::Running(app) = &mut self.screen {
                        app.run(command);
                    }
                }
                TrayAction::OpenWindow => Self::show_window(ctx),
                TrayAction::Quit => self.quit_now(ctx),
            }
        }
        if let Screen::Running(app) = &mut self.screen {
            app.poll();
            for notification in app.take_notifications() {
                self.poster.post(notification);
            }
            if let Some(tray) = &mut self.tray {
                tray.update(&app.tray_menu(), std::mem::take(&mut self.tray_dirty));
            }
        }
        // With a tray, closing the window hides it; Quit is in the tray menu.
        if ctx.input(|i| i.viewport().close_requested()) && !self.quitting && self.tray.is_some() {
            ctx.send_viewport_cmd(ViewportCommand::CancelClose);
            ctx.send_viewport_cmd(ViewportCommand::Visible(false));
            tracing::info!("window hidden; the tray icon keeps running (Quit is in its menu)");
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        match &mut self.screen {
            Screen::Running(app) => {
                app.ui(ui);
                if !self.announced {
                    self.announced = true;
                    let names: Vec<&str> = app
                        .snapshot()
                        .map(|s| s.profiles.iter().map(|p| p.name.as_str()).collect())
                        .unwrap_or_default();
                    tracing::info!(
                        "window shows {} profiles: {}",
                        names.len(),
                        names.join(", ")
                    );
                }
            }
            Screen::Failed(error) => {
                let mut retry = false;
                egui::CentralPanel::default().show(ui, |ui| {
                    ui.add_space(12.0);
                    ui.heading("Codex Router can't start");
                    ui.add_space(6.0);
                    ui.add(
                        egui::Label::new(
                            egui::RichText::new(error.as_str()).color(ui.visuals().error_fg_color),
                        )
                        .wrap(),
                    );
                    ui.add_space(6.0);
                    ui.label("Fix what the message says, then try again.");
                    retry = ui.button("Try again").clicked();
                });
                if retry {
                    self.screen = open(self.codex_home.clone(), ui.ctx());
                }
            }
        }
    }
}

fn open(codex_home: Option<PathBuf>, ctx: &egui::Context) -> Screen {
    match Router::open(codex_home) {
        Ok(router) => {
            router.start_notifications();
            Screen::Running(Box::new(App::new(router, ctx)))
        }
        Err(e) => {
            tracing::error!("cannot open the Codex home: {e}");
            Screen::Failed(e.to_string())
        }
    }
}

/// Light or dark as the desktop says. winit knows on macOS, Windows and some Linux
/// desktops; elsewhere the freedesktop portal's `color-scheme` is asked (off the UI thread)
/// and becomes the fallback. With no answer at all the window is light.
/// `CODEX_ROUTER_THEME=dark|light` overrides all of it.
fn follow_system_theme(ctx: &egui::Context) {
    match std::env::var("CODEX_ROUTER_THEME").as_deref() {
        Ok("dark") => return ctx.set_theme(egui::Theme::Dark),
        Ok("light") => return ctx.set_theme(egui::Theme::Light),
        _ => {}
    }
    ctx.options_mut(|o| o.fallback_theme = egui::Theme::Light);
    #[cfg(target_os = "linux")]
    {
        let ctx = ctx.clone();
        let _ = std::thread::Builder::new()
            .name("theme".into())
            .spawn(move || {
                if let Some(theme) = portal_theme() {
                    ctx.options_mut(|o| o.fallback_theme = theme);
                    ctx.request_repaint();
                }
            });
    }
}

/// The freedesktop portal's colour scheme: 1 prefers dark, 2 prefers light.
#[cfg(target_os = "linux")]
fn portal_theme() -> Option<egui::Theme> {
    let bus = zbus::blocking::Connection::session().ok()?;
    let reply = bus
        .call_method(
            Some("org.freedesktop.portal.Desktop"),
            "/org/freedesktop/portal/desktop",
            Some("org.freedesktop.portal.Settings"),
            "ReadOne",
            &("org.freedesktop.appearance", "color-scheme"),
        )
        .ok()?;
    let value: zbus::zvariant::OwnedValue = reply.body().deserialize().ok()?;
    match u32::try_from(value).ok()? {
        1 => Some(egui::Theme::Dark),
        2 => Some(egui::Theme::Light),
        _ => None,
    }
}
