//! The table of profiles: who each one is, how it signs in, its token and usage, and its
//! Switch button and "…" menu.

use super::style::{accent, tone_text};
use super::widgets::set_label;
use crate::app::{Command, Prompt};
use chrono::{DateTime, Utc};
use codex_router_core::auth_file::AuthMode;
use codex_router_core::store::Profile;
use codex_router_core::usage::Usage;
use codex_router_core::view::phrases::{self, Tone};
use egui::{RichText, Role, Ui};

/// Draws a row per profile (a usage column only when some usage is known); returns what
/// was clicked.
pub(crate) fn show(ui: &mut Ui, profiles: &[Profile], now: DateTime<Utc>) -> Vec<Command> {
    let show_usage = profiles.iter().any(|p| {
        p.usage
            .as_ref()
            .and_then(|u| phrases::usage_summary(u, now))
            .is_some()
    });
    let mut commands = Vec::new();
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
            for p in profiles {
                row(ui, p, show_usage, now, &mut commands);
                ui.end_row();
            }
        });
    commands
}

fn row(
    ui: &mut Ui,
    p: &Profile,
    show_usage: bool,
    now: DateTime<Utc>,
    commands: &mut Vec<Command>,
) {
    active_dot(ui, p.active);
    let name = RichText::new(&p.name);
    ui.label(if p.active { name.strong() } else { name });
    let info = p.login.as_ref().ok();
    ui.label(
        info.and_then(|i| i.email.clone())
            .unwrap_or("\u{2014}".into()),
    );
    ui.label(info.map_or("\u{2014}".into(), phrases::sign_in_label));
    let state = phrases::token_state(p, now);
    ui.scope(|ui| {
        ui.set_max_width(250.0);
        ui.add(egui::Label::new(tone_text(ui, &state.text, state.tone)).wrap());
    });
    if show_usage {
        usage_cell(ui, p.usage.as_ref(), now);
    }
    if p.active {
        ui.label(RichText::new("Active").strong().color(accent(ui)));
    } else {
        let switch = ui
            .add_enabled(p.login.is_ok(), egui::Button::new("Switch"))
            .on_hover_text(format!("Make Codex use '{}'", p.name));
        set_label(&switch, Role::Button, &format!("Switch to {}", p.name));
        if switch.clicked() {
            commands.push(Command::Switch(p.name.clone()));
        }
    }
    let more = ui.menu_button("\u{2026}", |ui| {
        if ui.button("Rename\u{2026}").clicked() {
            commands.push(Command::Open(Prompt::Rename(p.name.clone())));
        }
        let chatgpt = info.is_some_and(|i| i.auth_mode == AuthMode::ChatGpt);
        if p.needs_sign_in.is_some() {
            if ui.button("Sign in again\u{2026}").clicked() {
                commands.push(Command::SignInAgain(p.name.clone()));
            }
        } else if chatgpt && ui.button("Refresh tokens now").clicked() {
            commands.push(Command::RefreshTokens(Some(p.name.clone())));
        }
        if ui.button("Remove\u{2026}").clicked() {
            commands.push(Command::Open(Prompt::Remove(p.name.clone())));
        }
    });
    set_label(
        &more.response,
        Role::Button,
        &format!("More for {}", p.name),
    );
}

/// The usage column: "LIMITED until …" while limited, else a bar per window; a dash when
/// nothing is known.
fn usage_cell(ui: &mut Ui, usage: Option<&Usage>, now: DateTime<Utc>) {
    let Some(usage) = usage else {
        ui.label(RichText::new("\u{2014}").weak());
        return;
    };
    if usage.is_limited(now.timestamp())
        && let Some(limited) = phrases::usage_summary(usage, now)
    {
        ui.label(tone_text(ui, &limited.text, limited.tone));
        return;
    }
    let bars = phrases::usage_bars(usage, now);
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

/// The active row's mark: a filled dot in the accent colour (drawn, so it needs no glyph).
fn active_dot(ui: &mut Ui, active: bool) {
    let size = egui::vec2(10.0, ui.spacing().interact_size.y);
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::hover());
    if active {
        ui.painter().circle_filled(rect.center(), 4.5, accent(ui));
        response.on_hover_text("Active: the login Codex uses now");
    }
}
