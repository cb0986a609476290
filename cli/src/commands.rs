//! The commands: each takes the store, does one thing, and prints what the user needs.

use crate::Command;
use crate::auth_commands;
use crate::output;
use codex_router_core::claude_config;
use codex_router_core::codex_config::CredentialStore;
use codex_router_core::codex_config::provider::{self, SetupOptions};
use codex_router_core::home::CodexHome;
use codex_router_core::net::Network;
use codex_router_core::settings::Settings;
use codex_router_core::store::{Store, StoreError};
use codex_router_core::usage;
use codex_router_core::view::messages::{
    RESTART_HINT, UNSAVED_LOGIN, claude_setup_summary, empty_home_hint, removal_summary,
    setup_summary,
};
use codex_router_core::view::{ProfileRow, StatusView};
use std::io::{BufRead, IsTerminal, Write};

/// Usage figures younger than this (seconds) are shown without fetching again.
const USAGE_MAX_AGE: i64 = 60;

/// Runs one command; the error is the one-line message for stderr.
pub fn run(command: Command) -> Result<(), String> {
    let home = CodexHome::from_env().map_err(|e| e.to_string())?;
    let store = Store::new(home);
    match command {
        Command::List { json } => list(&store, json),
        Command::Current => match store.current().map_err(explain)? {
            Some(name) => {
                println!("{name}");
                Ok(())
            }
            None => Err(format!("no active profile: {UNSAVED_LOGIN}")),
        },
        Command::Switch { name, force } => {
            let outcome = store.switch(&name, force).map_err(explain)?;
            for w in &outcome.warnings {
                eprintln!("warning: {w}");
            }
            for p in &outcome.synced_back {
                println!("Saved the newer tokens of '{p}' from auth.json into its profile.");
            }
            if outcome.previous.as_deref() == Some(outcome.name.as_str()) {
                println!("'{}' is already active.", outcome.name);
            } else {
                println!("Switched to '{}'.", outcome.name);
                println!("{RESTART_HINT}");
            }
            Ok(())
        }
        Command::Save { name } => {
            store.save(&name).map_err(explain)?;
            println!("Saved the current login as '{name}'.");
            Ok(())
        }
        Command::Rename { old, new } => {
            store.rename(&old, &new).map_err(explain)?;
            println!("Renamed '{old}' to '{new}'.");
            Ok(())
        }
        Command::Remove { name, yes } => remove(&store, &name, yes),
        Command::Status { json } => status(&store, json),
        Command::Usage {
            name,
            history,
            json,
            csv,
        } => crate::usage_command::run(
            &store,
            name.as_deref(),
            history,
            match (json, csv) {
                (true, _) => crate::usage_command::Format::Json,
                (_, true) => crate::usage_command::Format::Csv,
                _ => crate::usage_command::Format::Text,
            },
        ),
        Command::Refresh { name } => auth_commands::refresh(name),
        Command::Login {
            name,
            no_browser,
            device,
            force,
            callback_ports,
        } => auth_commands::login(&name, no_browser, device, force, callback_ports),
        Command::AddKey { name, force } => auth_commands::add_key(&store, &name, force),
        Command::Serve {
            host,
            port,
            ollama_port,
            require_key,
            idle_timeout,
            max_body_mib,
            failover,
        } => crate::serve::serve(
            store.home().clone(),
            crate::serve::ServeOptions {
                host,
                port,
                ollama_port,
                require_key,
                idle_timeout,
                max_body_mib,
                failover,
            },
        ),
        Command::Failover { state } => failover(store.home(), state.as_deref()),
        Command::Desktop(command) => crate::desktop_commands::run(command),
        Command::SetupCodex {
            port,
            env_key,
            no_default,
            profile,
            chatgpt,
            remove,
        } => {
            if remove {
                let removal = provider::remove(store.home(), profile.as_deref())
                    .map_err(|e| e.to_string())?;
                println!("{}", removal_summary(&removal));
            } else {
                let opts = SetupOptions {
                    port,
                    env_key,
                    no_default,
                    profile,
                    chatgpt,
                };
                let outcome = provider::setup(store.home(), &opts).map_err(|e| e.to_string())?;
                for line in setup_summary(&outcome) {
                    println!("{line}");
                }
            }
            Ok(())
        }
        Command::SetupClaude {
            port,
            profile,
            remove,
        } => setup_claude(store.home(), port, profile.as_deref(), remove),
    }
}

/// `setup-claude`: Claude Code's settings.json pointed at the endpoint, or (`remove`) not.
fn setup_claude(
    home: &CodexHome,
    port: Option<u16>,
    profile: Option<&str>,
    remove: bool,
) -> Result<(), String> {
    let dir = claude_config::claude_dir().map_err(|e| e.to_string())?;
    let done = if remove {
        claude_config::remove(&dir)
    } else {
        claude_config::setup(home, &dir, port, profile)
    }
    .map_err(|e| e.to_string())?;
    for line in claude_setup_summary(&done) {
        println!("{line}");
    }
    Ok(())
}

/// Brings stale usage figures up to date (a short, concurrent fetch; failures only logged).
pub(crate) fn update_usage(store: &Store) {
    let Ok(settings) = Settings::load(store.home()) else {
        return;
    };
    let network = match Network::new(&settings.network) {
        Ok(n) => n,
        Err(e) => {
            tracing::info!(error = %e, "usage not updated");
            return;
        }
    };
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let (_, failed) = rt.block_on(usage::poller::refresh_stale(
        store,
        &settings,
        USAGE_MAX_AGE,
        &network,
    ));
    for (name, e) in failed {
        tracing::info!(profile = %name, error = %e, "usage not updated");
    }
}

fn list(store: &Store, json: bool) -> Result<(), String> {
    update_usage(store);
    let now = chrono::Utc::now();
    let rows: Vec<ProfileRow> = store
        .list()
        .map_err(explain)?
        .iter()
        .map(|p| ProfileRow::new(p, now))
        .collect();
    if json {
        println!("{}", to_json(&rows));
    } else if rows.is_empty() {
        println!("{}", empty_home_hint(&store.home().profiles_dir()));
    } else {
        print!("{}", output::profile_table(&rows));
    }
    Ok(())
}

fn status(store: &Store, json: bool) -> Result<(), String> {
    update_usage(store);
    let status = store.status().map_err(explain)?;
    let settings = Settings::load(store.home()).map_err(|e| e.to_string())?;
    let network = Network::new(&settings.network).map_err(|e| e.to_string())?;
    let view = StatusView::new(
        &status,
        CredentialStore::of(store.home()),
        chrono::Utc::now(),
    )
    .with_network(&network);
    if json {
        println!("{}", to_json(&view));
        return Ok(());
    }
    match &status.login {
        None => println!(
            "{}",
            output::sentence(view.error.as_deref().unwrap_or_default())
        ),
        Some(Err(reason)) => println!("Codex's login can't be used: {reason}"),
        Some(Ok(info)) => {
            match &status.profile {
                Some(p) => println!("Profile:  {p}"),
                None => println!("Profile:  (none: {UNSAVED_LOGIN}; `codex-router save NAME`)"),
            }
            println!("Mode:     {}", info.auth_mode.label());
            if let Some(email) = &info.email {
                println!("Email:    {email}");
            }
            if let Some(plan) = &info.plan {
                println!("Plan:     {plan}");
            }
            if let Some(acct) = &info.account_id {
                println!("Account:  {acct}");
            }
            if let Some(token) = &view.token_state {
                println!("Token:    {}", token.text);
            }
            if let Some(usage) = view.usage.as_ref().and_then(|u| u.summary.as_ref()) {
                println!("Usage:    {}", usage.text);
            }
        }
    }
    if let Some(network) = &view.network {
        println!("Network:  {}", network.line);
    }
    Ok(())
}

fn remove(store: &Store, name: &str, yes: bool) -> Result<(), String> {
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(format!(
                "refusing to remove '{name}' without confirmation: pass --yes"
            ));
        }
        print!("Remove profile '{name}'? Its saved login is deleted. [y/N] ");
        std::io::stdout().flush().map_err(|e| e.to_string())?;
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| e.to_string())?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err("not removed".into());
        }
    }
    let was_active = store.current().ok().flatten().as_deref() == Some(name);
    store.remove(name).map_err(explain)?;
    println!("Removed '{name}'.");
    if was_active {
        println!(
            "It was the active login: Codex stays signed in with it until you switch; `codex-router save {name}` keeps it."
        );
    }
    Ok(())
}

/// A store error as one line, with the hint a CLI user needs.
pub(crate) fn explain(e: StoreError) -> String {
    match &e {
        StoreError::NotFound(_) => format!("{e} (see `codex-router list`)"),
        StoreError::UnsavedLogin(_) => {
            format!("{e}: run `codex-router save NAME` first, or `switch --force`")
        }
        _ => e.to_string(),
    }
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).expect("records always serialize")
}

/// `failover [on|off]`.
fn failover(home: &CodexHome, state: Option<&str>) -> Result<(), String> {
    if let Some(state) = state {
        Settings::set_failover_enabled(home, state == "on").map_err(|e| e.to_string())?;
    }
    let f = Settings::load(home).map_err(|e| e.to_string())?.failover;
    let mut out = std::io::stdout().lock();
    if f.enabled {
        let follows = if f.follow_active {
            "the active profile follows"
        } else {
            "auth.json is left alone"
        };
        let order = if f.order.is_empty() {
            String::new()
        } else {
            format!("; tried first: {}", f.order.join(", "))
        };
        let _ = writeln!(
            out,
            "Failover is on: a request that hits an account's usage limit moves to the next account ({follows}{order})."
        );
    } else {
        let _ = writeln!(
            out,
            "Failover is off: a usage limit reaches the client as a 429. `codex-router failover on` turns it on."
        );
    }
    Ok(())
}
