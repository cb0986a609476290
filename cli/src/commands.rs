//! The commands: each takes the store, does one thing, and prints what the user needs.

use crate::Command;
use crate::auth_commands;
use crate::output::{self, ProfileJson, StatusJson};
use codex_router_core::codex_config::CredentialStore;
use codex_router_core::home::CodexHome;
use codex_router_core::settings::Settings;
use codex_router_core::store::{Store, StoreError};
use codex_router_core::usage;

/// Usage figures younger than this (seconds) are shown without fetching again.
const USAGE_MAX_AGE: i64 = 60;
use std::io::{BufRead, IsTerminal, Write};

/// What to tell the user after a switch: running Codex apps keep the old login in memory.
const RESTART_REMINDER: &str = "Restart anything that already loaded the old login: quit and start `codex` again; in VS Code run \"Developer: Reload Window\".";

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
            None => Err("no active profile: Codex's login (auth.json or its keyring entry) is not a saved profile".into()),
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
                println!("{RESTART_REMINDER}");
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
        Command::Refresh { name } => auth_commands::refresh(&store, name),
        Command::Login {
            name,
            no_browser,
            device,
            force,
            callback_ports,
        } => auth_commands::login(&store, &name, no_browser, device, force, callback_ports),
        Command::AddKey { name, force } => auth_commands::add_key(&store, &name, force),
        Command::Serve {
            host,
            port,
            require_key,
            idle_timeout,
            max_body_mib,
            failover,
        } => crate::serve::serve(
            store.home().clone(),
            crate::serve::ServeOptions {
                host,
                port,
                require_key,
                idle_timeout,
                max_body_mib,
                failover,
            },
        ),
        Command::Failover { state } => failover(store.home(), state.as_deref()),
        Command::SetupCodex {
            port,
            env_key,
            no_default,
            profile,
        } => crate::setup_codex::setup_codex(
            store.home(),
            &crate::setup_codex::SetupOptions {
                port,
                env_key,
                no_default,
                profile,
            },
        ),
    }
}

/// Brings stale usage figures up to date (a short, concurrent fetch; failures only logged).
fn update_usage(store: &Store) {
    let Ok(settings) = Settings::load(store.home()) else {
        return;
    };
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let (_, failed) = rt.block_on(usage::poller::refresh_stale(
        store,
        &settings.upstream.chatgpt_base_url,
        USAGE_MAX_AGE,
    ));
    for (name, e) in failed {
        tracing::info!(profile = %name, error = %e, "usage not updated");
    }
}

fn list(store: &Store, json: bool) -> Result<(), String> {
    update_usage(store);
    let profiles = store.list().map_err(explain)?;
    if json {
        let records: Vec<ProfileJson> = profiles.iter().map(ProfileJson::from).collect();
        println!("{}", to_json(&records));
    } else if profiles.is_empty() {
        println!(
            "No profiles in {} yet. Sign in with `codex login`, then `codex-router save NAME`.",
            store.home().profiles_dir().display()
        );
    } else {
        print!("{}", output::profile_table(&profiles, chrono::Utc::now()));
    }
    Ok(())
}

fn status(store: &Store, json: bool) -> Result<(), String> {
    update_usage(store);
    let status = store.status().map_err(explain)?;
    if json {
        println!("{}", to_json(&StatusJson::from(&status)));
        return Ok(());
    }
    match &status.login {
        None if CredentialStore::of(store.home()) == CredentialStore::Keyring => {
            println!("Not signed in: Codex's keyring entry holds no login.")
        }
        None => println!(
            "Not signed in: {} does not exist.",
            store.home().auth_file().display()
        ),
        Some(Err(reason)) => println!("Codex's login can't be used: {reason}"),
        Some(Ok(info)) => {
            match &status.profile {
                Some(p) => println!("Profile:  {p}"),
                None => {
                    println!("Profile:  (none: this login is not saved; `codex-router save NAME`)")
                }
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
            println!(
                "Token:    {}",
                output::token_state(info, chrono::Utc::now())
            );
        }
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
fn explain(e: StoreError) -> String {
    match &e {
        StoreError::NotFound(_) => format!("{e} (see `codex-router list`)"),
        StoreError::UnsavedLogin(_) => {
            format!("{e}: run `codex-router save NAME` first, or `switch --force`")
        }
        _ => e.to_string(),
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
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
