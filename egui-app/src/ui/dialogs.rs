//! The modal dialogs: add an account or an API key, the sign-in under way (in the browser,
//! or with a code entered on any device), save, rename,
//! remove, and "save the current login first?". Each draws its fields (the only thing it
//! changes) and returns what its buttons ask for.

use super::widgets::{buttons, error_line, name_field, set_label, submitted};
use crate::app::{Command, Dialog, Forms, LoginPrompt, Prompt, SignInMethod, State};
use codex_router_core::login::device::CODE_LIFETIME;
use codex_router_core::secret::Secret;
use codex_router_core::view::messages::device_code_prompt;
use codex_router_core::view::phrases;
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
            ui.label("Sign in with ChatGPT. The login is saved as a new profile and Codex keeps using its current one.");
            ui.add_space(6.0);
            let submit = name_field(ui, "Profile name", name, "e.g. work", focus);
            error_line(ui, error);
            add_account_buttons(ui, submit).map(|answer| match answer {
                Some(method) => Command::AddAccount {
                    name: name.trim().to_owned(),
                    method,
                },
                None => Command::CloseDialog,
            })
        }
        Dialog::Login {
            name,
            method,
            prompt,
        } => login(ui, name, *method, prompt.as_ref()),
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
                    phrases::who(info)
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

/// The Add Account dialog's buttons: `Some(Some(method))` to sign in (Enter: in the
/// browser), `Some(None)` on cancel, `None` otherwise.
fn add_account_buttons(ui: &mut Ui, submit: bool) -> Option<Option<SignInMethod>> {
    ui.add_space(6.0);
    let mut answer = submit.then_some(Some(SignInMethod::Browser));
    ui.horizontal(|ui| {
        if ui.button("Sign in with browser").clicked() {
            answer = Some(Some(SignInMethod::Browser));
        }
        if ui
            .button("Sign in with a code")
            .on_hover_text("For when the browser is on another device: shows a code to enter there")
            .clicked()
        {
            answer = Some(Some(SignInMethod::Code));
        }
        if ui.button("Cancel").clicked() {
            answer = Some(None);
        }
    });
    ui.label(
        RichText::new("No browser on this computer? Sign in with a code: open the page it shows on any device and enter the code there.")
            .small()
            .weak(),
    );
    answer
}

/// The sign-in under way: what to do once it has started (open the address in a browser,
/// or enter the code on any device), and Cancel.
fn login(
    ui: &mut Ui,
    name: &str,
    method: SignInMethod,
    prompt: Option<&LoginPrompt>,
) -> Option<Command> {
    ui.heading(format!("Signing in as '{name}'"));
    match prompt {
        None => {
            ui.label(match method {
                SignInMethod::Browser => "Starting the sign-in\u{2026}",
                SignInMethod::Code => "Asking for a code\u{2026}",
            });
        }
        Some(LoginPrompt::Browser { url }) => browser_prompt(ui, url),
        Some(LoginPrompt::Code { url, code }) => code_prompt(ui, url, code),
    }
    ui.add_space(6.0);
    ui.button("Cancel")
        .clicked()
        .then_some(Command::CancelSignIn)
}

/// A browser sign-in: its address, to copy or open when no browser opened by itself.
fn browser_prompt(ui: &mut Ui, url: &str) {
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

/// A device-code sign-in: the core's sentence, then the page and the code, each with its
/// copy button.
fn code_prompt(ui: &mut Ui, url: &str, code: &str) {
    ui.add(egui::Label::new(device_code_prompt(url, code, CODE_LIFETIME)).wrap());
    ui.add_space(6.0);
    egui::Grid::new("device-code")
        .num_columns(3)
        .spacing([10.0, 8.0])
        .show(ui, |ui| {
            ui.label("Page");
            ui.add(egui::Label::new(RichText::new(url).monospace()).selectable(true));
            if ui.button("Copy address").clicked() {
                ui.ctx().copy_text(url.to_owned());
            }
            ui.end_row();
            ui.label("Code");
            ui.add(
                egui::Label::new(RichText::new(code).monospace().size(22.0).strong())
                    .selectable(true),
            );
            if ui.button("Copy code").clicked() {
                ui.ctx().copy_text(code.to_owned());
            }
            ui.end_row();
        });
    ui.add_space(4.0);
    ui.label(
        RichText::new("Waiting for the code to be entered; this window updates by itself\u{2026}")
            .weak(),
    );
}
