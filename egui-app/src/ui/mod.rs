//! Drawing the window. Every function here reads the app's [`State`] and returns the
//! [`Command`]s its widgets asked for; none calls the core. The only thing drawing changes
//! is [`Forms`]: the text being typed into a field.
//!
//! The window: `toolbar` at the top, `endpoint_panel` at the bottom (`desktop_panel`, the
//! notification and start-at-login settings, above it), between them the `notices` and
//! either the `profile_table` (with the `usage_chart`s under it) or the `first_run` page;
//! `dialogs` float above.
//! `style` and `widgets` hold what they share.

mod desktop_panel;
mod dialogs;
mod endpoint_panel;
mod first_run;
mod notices;
mod profile_table;
pub(crate) mod style;
mod toolbar;
mod usage_chart;
mod widgets;

use crate::app::{Command, Forms, Prompt, State};
use chrono::{DateTime, Utc};
use codex_router_core::view::phrases::{self, Tone};
use egui::Ui;
use style::tone_text;

/// Draws the whole window into `ui` as of `now`; returns what was asked for, in the order
/// it was drawn.
pub(crate) fn window(
    ui: &mut Ui,
    state: &State,
    forms: &mut Forms,
    now: DateTime<Utc>,
) -> Vec<Command> {
    let mut commands = Vec::new();
    egui::Panel::top("toolbar").show(ui, |ui| commands.extend(toolbar::show(ui, state)));
    egui::Panel::bottom("proxy").show(ui, |ui| commands.extend(endpoint_panel::show(ui, state)));
    egui::Panel::bottom("desktop").show(ui, |ui| commands.extend(desktop_panel::show(ui, state)));
    egui::CentralPanel::default().show(ui, |ui| {
        egui::ScrollArea::both()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                commands.extend(notices::show(ui, &state.notices));
                commands.extend(profiles(ui, state, forms, now));
            });
    });
    commands.extend(dialogs::show(ui.ctx(), state, forms));
    commands
}

/// The profiles: why they can't be read, the first-run page, or the table (under a line
/// about an unsaved login, when there is one).
fn profiles(ui: &mut Ui, state: &State, forms: &mut Forms, now: DateTime<Utc>) -> Vec<Command> {
    if let Some(error) = &state.load_error {
        ui.add_space(8.0);
        ui.label(tone_text(
            ui,
            &format!("The profiles could not be read: {error}"),
            Tone::Error,
        ));
        let retry = ui.button("Try again").clicked();
        return retry
            .then_some(Command::RefreshProfiles)
            .into_iter()
            .collect();
    }
    if state.profiles().is_empty() {
        return first_run::show(ui, state, &mut forms.first_run_name);
    }
    let mut commands = Vec::new();
    if let Some(info) = state.unsaved_login() {
        let who = phrases::who(info);
        ui.horizontal_wrapped(|ui| {
            ui.label(tone_text(
                ui,
                &format!("Codex is signed in as {who}, which is not saved as a profile yet."),
                Tone::Warn,
            ));
            if ui.button("Save it as\u{2026}").clicked() {
                commands.push(Command::Open(Prompt::SaveLogin));
            }
        });
        ui.add_space(6.0);
    }
    commands.extend(profile_table::show(ui, state.profiles(), now));
    usage_chart::show(ui, &state.usage_history, now);
    commands
}
