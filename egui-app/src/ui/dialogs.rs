//! The modal dialogs: add an account or an API key, the sign-in under way, save, rename,
//! remove, and "save the current login first?". Each draws its fields (the only thing it
//! changes) and returns what its buttons ask for.

use super::widgets::{buttons, error_line, name_field, set_label, submitted};
use crate::app::{Command, Dialog, Forms, Prompt, State};
use crate::format;
use codex_router_core::secret::Secret;
use egui::{RichText, Role, Ui};

/// Draws the open dialog, if any; returns what it asks for.
pub(crate) fn show(ctx: &egui::Context, state: &State, forms: &mut Forms) -> Vec<Command> {
    let focus = std::mem::take(&mut forms.focus_dialog);
    let Some(dialog) = &mut forms.dialog else {
        return Vec::new();
    };
    let mut commands = Vec::new();
    let modal = egui::Modal::new(egui::Id::unique("codex-router-dialog")).show(ctx, |ui| {
        ui.set_width(420.0);
        commands.extend(body(ui, state, dialog, focus));
    });
    if modal.should_close() {
        commands.push(match dialog {
            Dialog::Login { .. } => Command::CancelSignIn,
            _ => Command::CloseDialog,
        });
    }
    commands
}

/// Draws one dialog; `focus` puts the cursor in its first field.
fn body(ui: &mut Ui, state: &State, dialog: &mut Dialog, focus: bool) -> Option<Command> {
    match dialog {
        Dialog::AddAccount { name, error } => {
            ui.heading("Add Account");
            ui.label("Sign in with ChatGPT in your browser. The login is saved as a new profile and Codex keeps using its current one.");
            ui.add_space(6.0);
            let submit = name_field(ui, "Profile name", name, "e.g. work", focus);
            error_line(ui, error);
            confirm(buttons(ui, "Sign in with browser", submit), || {
                Command::AddAccount(name.trim().to_owned())
            })
        }
        Dialog::Login { name, url } => login(ui, name, url.as_deref()),
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
                submit |= submitted(ui, &edit);
            });
            error_line(ui, error);
            confirm(buttons(ui, "Save key", submit), || Command::AddApiKey {
                name: name.trim().to_owned(),
                key: Secret::new(key.as_str()),
            })
        }
        Dialog::Save { name, error } => {
            ui.heading("Save current login");
            if let Some(info) = state.unsaved_login() {
                ui.label(format!(
                    "Save the login Codex uses now ({}) as a profile.",
                    format::who(info)
                ));
            }
            ui.add_space(6.0);
            let submit = name_field(ui, "Profile name", name, "e.g. work", focus);
            error_line(ui, error);
            confirm(buttons(ui, "Save", submit), || {
                Command::SaveLogin(name.trim().to_owned())
            })
        }
        Dialog::Rename { old, new, error } => {
            ui.heading(format!("Rename '{old}'"));
            ui.add_space(6.0);
            let submit = name_field(ui, "New name", new, "e.g. personal", focus);
            error_line(ui, error);
            confirm(buttons(ui, "Rename", submit), || Command::Rename {
                from: old.clone(),
                to: new.trim().to_owned(),
            })
        }
        Dialog::Remove { name, who } => {
            ui.heading(format!("Remove '{name}'?"));
            let whose = who.as_ref().map(|w| format!(" of {w}")).unwrap_or_default();
            ui.label(format!(
                "The saved login{whose} is deleted from this computer. auth.json is not touched, so Codex stays signed in with whatever it uses now."
            ));
            ui.add_space(6.0);
            confirm(buttons(ui, "Remove", false), || {
                Command::Remove(name.clone())
            })
        }
        Dialog::Discard { target, who } => {
            ui.heading("Save the current login first?");
            ui.label(format!(
                "Codex is signed in as {who}, which is not saved as a profile. Switching to '{target}' would lose that login."
            ));
            ui.add_space(6.0);
            let mut command = None;
            ui.horizontal(|ui| {
                if ui.button("Save it first\u{2026}").clicked() {
                    command = Some(Command::Open(Prompt::SaveLogin));
                }
                if ui.button("Switch anyway").clicked() {
                    command = Some(Command::SwitchAnyway(target.clone()));
                }
                if ui.button("Cancel").clicked() {
                    command = Some(Command::CloseDialog);
                }
            });
            command
        }
    }
}

/// The command of an OK / Cancel row's answer: `ok` when confirmed, closing the dialog on
/// cancel, nothing while it is open.
fn confirm(answer: Option<bool>, ok: impl FnOnce() -> Command) -> Option<Command> {
    answer.map(|confirmed| {
        if confirmed {
            ok()
        } else {
            Command::CloseDialog
        }
    })
}

/// The sign-in under way: its address once it has started, and Cancel.
fn login(ui: &mut Ui, name: &str, url: Option<&str>) -> Option<Command> {
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
                egui::TextEdit::multiline(&mut { url })
                    .font(egui::TextStyle::Monospace)
                    .desired_rows(3)
                    .desired_width(f32::INFINITY),
            );
            set_label(&field, Role::MultilineTextInput, "Sign-in address");
            ui.horizontal(|ui| {
                if ui.button("Copy address").clicked() {
                    ui.ctx().copy_text(url.to_owned());
                }
                if ui.button("Open browser").clicked() {
                    ui.ctx().open_url(egui::OpenUrl::new_tab(url));
                }
            });
            ui.label(RichText::new("Waiting for the browser\u{2026}").weak());
        }
    }
    ui.add_space(6.0);
    ui.button("Cancel")
        .clicked()
        .then_some(Command::CancelSignIn)
}
