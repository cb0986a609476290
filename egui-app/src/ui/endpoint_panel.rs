//! The panel at the bottom: the local endpoint (on or off, its address, requests served,
//! its last error) and the failover switch.

use super::style::{ok_color, tone_text};
use super::widgets::set_label;
use crate::app::{Command, Job, State};
use crate::format::Tone;
use egui::{RichText, Role, Ui};

/// Draws the endpoint panel; returns what was clicked.
pub(crate) fn show(ui: &mut Ui, state: &State) -> Vec<Command> {
    let mut commands = Vec::new();
    ui.add_space(6.0);
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Local endpoint").strong());
        let busy = state.jobs.iter().any(Job::is_endpoint);
        let proxy = &state.proxy;
        if proxy.running {
            ui.label(RichText::new("on").strong().color(ok_color(ui)));
            if let Some(address) = &proxy.address {
                ui.add(egui::Label::new(RichText::new(address).monospace()).selectable(true));
                let copy = ui.button("Copy");
                set_label(&copy, Role::Button, "Copy address");
                if copy.clicked() {
                    ui.ctx().copy_text(address.clone());
                }
            }
            let n = proxy.requests_served;
            ui.label(format!(
                "{n} request{} served",
                if n == 1 { "" } else { "s" }
            ));
            if ui.add_enabled(!busy, egui::Button::new("Stop")).clicked() {
                commands.push(Command::ToggleProxy);
            }
        } else {
            ui.label(RichText::new("off").weak());
            ui.label(RichText::new(&state.endpoint_address).monospace().weak());
            if ui.add_enabled(!busy, egui::Button::new("Start")).clicked() {
                commands.push(Command::ToggleProxy);
            }
        }
    });
    let mut failover = state.failover;
    let toggle = ui
        .checkbox(&mut failover, "Fail over: when an account hits its usage limit, send the request to the next account")
        .on_hover_text("Only requests through this endpoint; the next account is the first one not limited and not needing sign-in (router/state.json \"failover\" sets the order).");
    if toggle.changed() {
        commands.push(Command::ToggleFailover);
    }
    if let Some(error) = &state.proxy.last_error {
        ui.label(tone_text(ui, &format!("Last error: {error}"), Tone::Error));
    }
    ui.label(
        RichText::new(
            "Point Codex or any OpenAI client at this address: requests go out with the active profile, so a switch takes effect at the next request.",
        )
        .small()
        .weak(),
    );
    ui.add_space(4.0);
    commands
}
