//! The page shown while there are no profiles: offers to save the login Codex uses now, or
//! says how to add the first account.

use super::style::tone_text;
use super::widgets::submitted;
use crate::app::{Command, Prompt, State};
use codex_router_core::view::phrases::{self, Tone};
use egui::Ui;

/// Draws the first-run page; `name` is its profile-name field. Returns what was clicked.
pub(crate) fn show(ui: &mut Ui, state: &State, name: &mut Option<String>) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.add_space(12.0);
    let login = state
        .snapshot
        .as_ref()
        .and_then(|s| s.status.login.as_ref());
    match login {
        Some(Ok(info)) => {
            ui.heading("Save your Codex login");
            ui.add_space(4.0);
            ui.label(format!(
                "Codex is signed in as {}, but that login is not saved as a profile yet. \
                 Save it, and you can switch back to it after adding other accounts.",
                phrases::who(info)
            ));
            ui.add_space(8.0);
            let name = name.get_or_insert_with(|| state.suggested_name());
            ui.horizontal(|ui| {
                let label = ui.label("Profile name");
                let edit = ui.add(
                    egui::TextEdit::singleline(name)
                        .desired_width(200.0)
                        .hint_text("e.g. work"),
                );
                edit.clone().labelled_by(label.id);
                let enter = submitted(ui, &edit);
                if ui.button("Save profile").clicked() || enter {
                    commands.push(Command::SaveLogin(name.trim().to_owned()));
                }
            });
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
            commands.push(Command::Open(Prompt::AddAccount));
        }
        if ui.button("Add API Key").clicked() {
            commands.push(Command::Open(Prompt::AddApiKey));
        }
    });
    commands
}
