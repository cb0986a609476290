//! The panel at the bottom: the local endpoint (on or off, its address, requests served,
//! its last error), the failover switch, and whether Codex and Claude Code are set up to use
//! the endpoint.

use super::style::{ok_color, tone_text};
use super::widgets::set_label;
use crate::app::{Command, Job, State};
use codex_router_core::claude_config::ClaudeSetupState;
use codex_router_core::codex_config::provider::SetupState;
use codex_router_core::view::messages::{claude_state_words, setup_state_words};
use codex_router_core::view::phrases::Tone;
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
    commands.extend(codex_setup(ui, state));
    commands.extend(claude_setup(ui, state));
    ui.label(RichText::new(format!("Outgoing: {}", state.network)).small())
        .on_hover_text("HTTPS_PROXY, NO_PROXY, CODEX_CA_CERTIFICATE or SSL_CERT_FILE, or the \"network\" section of router/state.json (read at start)");
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

/// Whether Codex sends its requests here (the core's words), with the buttons to set it up
/// and to undo that; why `config.toml` can't be read when it can't.
fn codex_setup(ui: &mut Ui, state: &State) -> Vec<Command> {
    let mut commands = Vec::new();
    let Some(setup) = &state.codex_setup else {
        return commands;
    };
    ui.horizontal_wrapped(|ui| {
        let setup = match setup {
            Ok(setup) => setup,
            Err(e) => {
                ui.add(egui::Label::new(tone_text(ui, e, Tone::Error)).wrap());
                return;
            }
        };
        ui.add(egui::Label::new(tone_text(ui, &setup_state_words(setup), tone(setup))).wrap());
        let path = setup.path.display();
        if state.codex_set_up() != Some(true)
            && ui
                .button("Set up Codex to use the router")
                .on_hover_text(format!(
                    "Adds Codex Router as Codex's model provider in {path}, keeping every other line"
                ))
                .clicked()
        {
            commands.push(Command::SetUpCodex);
        }
        let mut chatgpt = setup.chatgpt;
        if state.codex_set_up() == Some(true)
            && ui
                .checkbox(&mut chatgpt, "Codex's own ChatGPT calls too")
                .on_hover_text(format!(
                    "Points chatgpt_base_url in {path} at the router, so that Codex's usage, plugin and workspace calls go out as the account that serves its requests"
                ))
                .changed()
        {
            commands.push(Command::SetCodexChatgpt(chatgpt));
        }
        if setup.added
            && ui
                .button("Undo set-up")
                .on_hover_text(format!(
                    "Takes Codex Router out of {path} and puts back the provider it replaced"
                ))
                .clicked()
        {
            commands.push(Command::UndoCodexSetup);
        }
    });
    commands
}

/// Whether Claude Code sends its requests here (the core's words), with the buttons to set
/// it up and to undo that; why `settings.json` can't be read when it can't.
fn claude_setup(ui: &mut Ui, state: &State) -> Vec<Command> {
    let mut commands = Vec::new();
    let Some(setup) = &state.claude_setup else {
        return commands;
    };
    ui.horizontal_wrapped(|ui| {
        let setup = match setup {
            Ok(setup) => setup,
            Err(e) => {
                ui.add(egui::Label::new(tone_text(ui, e, Tone::Error)).wrap());
                return;
            }
        };
        let words = claude_state_words(setup);
        ui.add(egui::Label::new(tone_text(ui, &words, claude_tone(setup))).wrap());
        let path = setup.path.display();
        if !setup.current
            && ui
                .button("Set up Claude Code to use the router")
                .on_hover_text(format!(
                    "Sets ANTHROPIC_BASE_URL to this endpoint in {path}, keeping every other setting"
                ))
                .clicked()
        {
            commands.push(Command::SetUpClaude);
        }
        if setup.base_url.is_some()
            && ui
                .button("Undo Claude Code set-up")
                .on_hover_text(format!("Takes the endpoint's address out of {path}"))
                .clicked()
        {
            commands.push(Command::UndoClaudeSetup);
        }
    });
    commands
}

/// How Claude Code's set-up stands out: muted when not set up, plain when it sends here, a
/// warning when it sends to another address on this machine.
fn claude_tone(setup: &ClaudeSetupState) -> Tone {
    match (&setup.base_url, setup.current) {
        (None, _) => Tone::Muted,
        (Some(_), true) => Tone::Normal,
        (Some(_), false) => Tone::Warn,
    }
}

/// How the set-up's words stand out: plain when Codex uses the router as the settings say,
/// muted when it is not set up, a warning when half set up (not the default, another
/// address).
fn tone(setup: &SetupState) -> Tone {
    match (setup.added, setup.default && setup.current) {
        (false, _) => Tone::Muted,
        (true, true) => Tone::Normal,
        (true, false) => Tone::Warn,
    }
}
