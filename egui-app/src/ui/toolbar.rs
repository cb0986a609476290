//! The row of buttons at the top: add an account or a key, save the current login,
//! re-read the folder, refresh tokens, and what runs in the background.

use crate::app::{Command, Job, Prompt, State};
use egui::{RichText, Ui};

/// Draws the toolbar; returns what was clicked.
pub(crate) fn show(ui: &mut Ui, state: &State) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.add_space(6.0);
    ui.horizontal_wrapped(|ui| {
        if ui.button("Add Account").clicked() {
            commands.push(Command::Open(Prompt::AddAccount));
        }
        if ui.button("Add API Key").clicked() {
            commands.push(Command::Open(Prompt::AddApiKey));
        }
        let can_save = state.unsaved_login().is_some();
        let save = ui
            .add_enabled(can_save, egui::Button::new("Save current login as\u{2026}"))
            .on_disabled_hover_text(state.save_disabled_reason());
        if save.clicked() {
            commands.push(Command::Open(Prompt::SaveLogin));
        }
        ui.separator();
        if ui
            .button("Refresh Profiles")
            .on_hover_text("Read ~/.codex/profiles and auth.json again")
            .clicked()
        {
            commands.push(Command::RefreshProfiles);
        }
        let refreshing = state.is_running(&Job::RefreshTokens(None));
        if ui
            .add_enabled(!refreshing, egui::Button::new("Refresh tokens now"))
            .on_hover_text("Renew the tokens of every ChatGPT profile now")
            .clicked()
        {
            commands.push(Command::RefreshTokens(None));
        }
        for status in state.jobs.iter().filter_map(Job::status) {
            ui.label(RichText::new(status).weak());
        }
    });
    ui.add_space(4.0);
    commands
}
