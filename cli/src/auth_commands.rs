//! Commands that talk to the issuer: refresh, login (browser and device), add-key.

use codex_router_core::auth_file::AuthFile;
use codex_router_core::login::browser::{BrowserLogin, BrowserLoginConfig};
use codex_router_core::login::{LoginError, LoginOutcome, device};
use codex_router_core::refresh::{RefreshError, Refresher, RetryPolicy};
use codex_router_core::settings::Settings;
use codex_router_core::store::{Store, Stored};
use codex_router_core::timefmt::expiry_phrase;
use std::io::{IsTerminal, Read};

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

fn settings(store: &Store) -> Result<Settings, String> {
    Settings::load(store.home()).map_err(|e| e.to_string())
}

/// `refresh [NAME]`.
pub fn refresh(store: &Store, name: Option<String>) -> Result<(), String> {
    let settings = settings(store)?;
    let refresher = Refresher::new(
        store.clone(),
        &settings.upstream.auth_issuer,
        RetryPolicy::default(),
    );
    let names: Vec<String> = match name {
        Some(n) => vec![n],
        None => {
            let names = store.chatgpt_profiles().map_err(|e| e.to_string())?;
            if names.is_empty() {
                println!("No ChatGPT profiles to refresh.");
                return Ok(());
            }
            names
        }
    };
    let rt = runtime()?;
    let mut failed = 0;
    for name in &names {
        match rt.block_on(refresher.refresh_now(name)) {
            Ok(fresh) => {
                let when = fresh
                    .expires_at
                    .map(|e| format!(", {}", expiry_phrase(e, chrono::Utc::now())))
                    .unwrap_or_default();
                let what = if fresh.refreshed {
                    "refreshed"
                } else {
                    "already refreshed by another process"
                };
                let active = if fresh.updated_active {
                    " (Codex's login updated too)"
                } else {
                    ""
                };
                println!("{name}: {what}{when}{active}");
            }
            Err(e @ RefreshError::NeedsSignIn { .. }) => {
                failed += 1;
                eprintln!("{e}; sign in again with `codex-router login {name} --force`");
            }
            Err(e) => {
                failed += 1;
                eprintln!("{e}");
            }
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(format!(
            "{n} of {} profile(s) could not be refreshed",
            names.len()
        )),
    }
}

/// `login NAME [--no-browser | --device] [--force]`.
pub fn login(
    store: &Store,
    name: &str,
    no_browser: bool,
    use_device: bool,
    force: bool,
    ports: Vec<u16>,
) -> Result<(), String> {
    let settings = settings(store)?;
    let issuer = settings.upstream.auth_issuer.clone();
    let rt = runtime()?;
    let outcome = rt.block_on(async {
        if use_device {
            let code = device::start(store, name, force, &issuer).await?;
            println!(
                "On any device, open\n  {}\nand enter the code  {}",
                code.verification_url, code.user_code
            );
            println!("Waiting for you to finish (up to 15 minutes; Ctrl-C to cancel)...");
            tokio::select! {
                r = device::finish(store.clone(), name, force, code) => r,
                _ = tokio::signal::ctrl_c() => Err(LoginError::Cancelled),
            }
        } else {
            let mut config = BrowserLoginConfig::new(&issuer);
            if !ports.is_empty() {
                config.ports = ports;
            }
            let login = BrowserLogin::start(store.clone(), name, force, &config).await?;
            println!("Sign in at:\n  {}", login.url());
            if !no_browser && webbrowser::open(login.url()).is_err() {
                eprintln!("Could not open a browser; open the link above yourself.");
            }
            println!("Waiting for the browser (Ctrl-C to cancel)...");
            let cancel = login.cancel_handle();
            tokio::select! {
                r = login.wait() => r,
                _ = tokio::signal::ctrl_c() => { cancel.cancel(); Err(LoginError::Cancelled) }
            }
        }
    });
    let outcome = outcome.map_err(|e| e.to_string())?;
    report(&outcome);
    Ok(())
}

fn report(outcome: &LoginOutcome) {
    let who = match (&outcome.email, &outcome.plan) {
        (Some(e), Some(p)) => format!("{e} ({p})"),
        (Some(e), None) => e.clone(),
        _ => "the account".into(),
    };
    match &outcome.stored {
        Stored::Created(n) => {
            println!(
                "Signed in as {who}; saved as profile '{n}'. Use it with `codex-router switch {n}`."
            )
        }
        Stored::UpdatedExisting(n) => {
            println!(
                "Signed in as {who}, which is already saved as profile '{n}'; its tokens were updated."
            )
        }
        Stored::Replaced(n) => println!("Signed in as {who}; profile '{n}' was replaced."),
    }
}

/// `add-key NAME [--force]`: the key comes from stdin, never from the command line.
pub fn add_key(store: &Store, name: &str, force: bool) -> Result<(), String> {
    store
        .ensure_available(name, force)
        .map_err(|e| e.to_string())?;
    let key = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("OpenAI API key (input hidden): ").map_err(|e| e.to_string())?
    } else {
        let mut input = String::new();
        std::io::stdin()
            .take(64 * 1024)
            .read_to_string(&mut input)
            .map_err(|e| format!("cannot read the key from stdin: {e}"))?;
        input
    };
    if key.trim().is_empty() {
        return Err("no API key given on stdin (e.g. `printenv OPENAI_API_KEY | codex-router add-key NAME`)".into());
    }
    let file = AuthFile::api_key(&key)?;
    match store
        .store_login(name, &file, force)
        .map_err(|e| e.to_string())?
    {
        Stored::UpdatedExisting(n) if n != name => {
            println!("This key is already saved as profile '{n}'.")
        }
        Stored::Replaced(n) => println!("Replaced profile '{n}' with the API key."),
        _ => println!("Saved the API key as profile '{name}'."),
    }
    Ok(())
}
