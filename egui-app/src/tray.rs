//! The tray icon and its menu (tray-icon). On Linux it speaks the StatusNotifierItem
//! protocol over D-Bus in pure Rust (tray-icon's `ksni` backend: no GTK thread); on macOS
//! and Windows tray-icon uses the native menu bar / notification area.
//!
//! Menu clicks arrive on tray-icon's threads; they are forwarded over a channel and wake
//! the window with `request_repaint`, so the app handles them on its own thread.

use crate::app::{TrayAction, TrayMenu};
use std::sync::mpsc::{Receiver, channel};
use tray_icon::menu::{CheckMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tray_icon::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};

/// A running tray icon.
pub struct Tray {
    icon: TrayIcon,
    actions: Receiver<TrayAction>,
    shown: Option<TrayMenu>,
}

impl Tray {
    /// Shows the tray icon with `menu`. Fails when the desktop has no tray (see
    /// [`host_available`]) or the icon cannot be created.
    pub fn start(ctx: &egui::Context, menu: &TrayMenu) -> Result<Self, String> {
        host_available()?;
        let (tx, actions) = channel();
        let (menu_tx, menu_ctx) = (tx.clone(), ctx.clone());
        MenuEvent::set_event_handler(Some(move |event: MenuEvent| {
            if let Some(action) = TrayMenu::action(event.id.as_ref()) {
                let _ = menu_tx.send(action);
                menu_ctx.request_repaint();
            }
        }));
        let click_ctx = ctx.clone();
        TrayIconEvent::set_event_handler(Some(move |event: TrayIconEvent| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                let _ = tx.send(TrayAction::OpenWindow);
                click_ctx.request_repaint();
            }
        }));
        let size = 32;
        let icon = tray_icon::Icon::from_rgba(crate::icon::rgba(size), size, size)
            .map_err(|e| e.to_string())?;
        let icon = TrayIconBuilder::new()
            .with_id("codex-router")
            .with_title("Codex Router")
            .with_tooltip("Codex Router")
            .with_icon(icon)
            .with_menu(Box::new(build_menu(menu)?))
            .with_menu_on_left_click(false)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            icon,
            actions,
            shown: Some(menu.clone()),
        })
    }

    /// The menu clicks since the last call.
    pub fn drain(&self) -> Vec<TrayAction> {
        self.actions.try_iter().collect()
    }

    /// Shows `menu` unless it is what the tray already shows. `force` rebuilds anyway (a
    /// click on a check item flips its mark by itself; this puts the truth back).
    pub fn update(&mut self, menu: &TrayMenu, force: bool) {
        if !force && self.shown.as_ref() == Some(menu) {
            return;
        }
        match build_menu(menu) {
            Ok(built) => {
                self.icon.set_menu(Some(Box::new(built)));
                let tip = match menu.profiles.iter().find(|p| p.active) {
                    Some(p) => format!("Codex Router: {}", p.name),
                    None => "Codex Router".to_owned(),
                };
                let _ = self.icon.set_tooltip(Some(tip));
                self.shown = Some(menu.clone());
            }
            Err(e) => tracing::warn!(error = %e, "could not update the tray menu"),
        }
    }
}

fn build_menu(model: &TrayMenu) -> Result<Menu, String> {
    let menu = Menu::new();
    let err = |e: tray_icon::menu::Error| e.to_string();
    if model.profiles.is_empty() {
        menu.append(&MenuItem::with_id("none", "No profiles yet", false, None))
            .map_err(err)?;
    }
    for p in &model.profiles {
        let item = CheckMenuItem::with_id(
            TrayMenu::profile_id(&p.name),
            &p.label,
            p.usable,
            p.active,
            None,
        );
        menu.append(&item).map_err(err)?;
    }
    let proxy = CheckMenuItem::with_id(
        TrayMenu::PROXY,
        "Local endpoint (proxy)",
        true,
        model.proxy_running,
        None,
    );
    let failover = CheckMenuItem::with_id(
        TrayMenu::FAILOVER,
        "Fail Over on Usage Limits",
        true,
        model.failover,
        None,
    );
    let codex = CheckMenuItem::with_id(
        model.codex_setup_id(),
        "Set Up Codex to Use the Router",
        model.codex_set_up.is_some(),
        model.codex_set_up == Some(true),
        None,
    );
    let autostart = CheckMenuItem::with_id(
        model.autostart_id(),
        "Start at Login",
        model.starts_at_login.is_some(),
        model.starts_at_login == Some(true),
        None,
    );
    menu.append_items(&[
        &PredefinedMenuItem::separator(),
        &MenuItem::with_id(TrayMenu::REFRESH, "Refresh Profiles", true, None),
        &proxy,
        &failover,
        &codex,
        &autostart,
        &MenuItem::with_id(TrayMenu::OPEN, "Open Window", true, None),
        &PredefinedMenuItem::separator(),
        &MenuItem::with_id(TrayMenu::QUIT, "Quit", true, None),
    ])
    .map_err(err)?;
    Ok(menu)
}

/// Whether the desktop shows tray icons. On Linux: a StatusNotifierWatcher owns its name
/// on the session bus (plain X servers and some Wayland desktops have none).
#[cfg(target_os = "linux")]
pub fn host_available() -> Result<(), String> {
    const WATCHER: &str = "org.kde.StatusNotifierWatcher";
    let bus =
        zbus::blocking::Connection::session().map_err(|e| format!("no D-Bus session bus ({e})"))?;
    let dbus = zbus::blocking::fdo::DBusProxy::new(&bus).map_err(|e| e.to_string())?;
    let name = zbus::names::BusName::try_from(WATCHER).map_err(|e| e.to_string())?;
    match dbus.name_has_owner(name) {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!("no tray host ({WATCHER} is not running)")),
        Err(e) => Err(e.to_string()),
    }
}

/// Whether the desktop shows tray icons (always on macOS and Windows).
#[cfg(not(target_os = "linux"))]
pub fn host_available() -> Result<(), String> {
    Ok(())
}
