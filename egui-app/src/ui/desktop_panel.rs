//! The "Notifications and start at login" section above the endpoint panel: a check box per
//! kind of notification and one for starting at login.

use super::style::tone_text;
use crate::app::{Command, State};
use codex_router_core::notify::NotificationKind;
use codex_router_core::view::phrases::Tone;
use egui::Ui;

/// Draws the section (folded by default); returns what was clicked.
pub(crate) fn show(ui: &mut Ui, state: &State) -> Vec<Command> {
    let mut commands = Vec::new();
    let desktop = &state.desktop;
    egui::CollapsingHeader::new("Notifications and start at login")
        .id_salt("desktop-settings")
        .show(ui, |ui| {
            ui.label(format!(
                "Tell me when (threshold: {}% of a window):",
                desktop.notifications.threshold_percent
            ));
            for kind in NotificationKind::ALL {
                let mut on = kind.enabled_in(&desktop.notifications);
                if ui.checkbox(&mut on, kind.label()).changed() {
                    commands.push(Command::SetNotification { kind, on });
                }
            }
            ui.add_space(4.0);
            let mut at_login = desktop.starts_at_login();
            let readable = matches!(desktop.autostart, Some(Ok(_)));
            let toggle = ui
                .add_enabled(
                    readable,
                    egui::Checkbox::new(&mut at_login, "Start at login, in the tray"),
                )
                .on_hover_text(&desktop.autostart_words);
            if toggle.changed() {
                commands.push(Command::SetAutostart(at_login));
            }
            if let Some(Err(e)) = &desktop.autostart {
                ui.label(tone_text(ui, e, Tone::Error));
            }
        });
    commands
}
