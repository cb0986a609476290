//! Commands that talk to the issuer: refresh, login (browser and device), add-key. Each is a
//! thin caller of the core's router, which owns the work and the words.

use codex_router_core::auth_file::AuthFile;
use codex_router_core::login::browser::BrowserLoginConfig;
use codex_router_core::login::device::CODE_LIFETIME;
use codex_router_core::refresh::RefreshError;
use codex_router_core::router::{Background, Router};
use codex_router_core::store::{Store, Stored};
use codex_router_core::view::messages::{api_key_summary, device_code_prompt, login_summary};
use codex_router_core::view::phrases::expiry_phrase;
use std::io::{IsTerminal, Read};
use std::sync::Arc;

/// The router for one command: no watcher, no background jobs.
fn router() -> Result<Router, String> {
    Router::open_with(None, Background::Nothing).map_err(|e| e.to_string())
}

/// `refresh [NAME]`.
pub fn refresh(name: Option<String>) -> Result<(), String> {
    let reports = router()?
        .refresh_profiles(name.as_deref())
        .map_err(|e| e.to_string())?;
    if reports.is_empty() {
        println!("No ChatGPT profiles to refresh.");
        return Ok(());
    }
    let mut failed = 0;
    for report in &reports {
        let name = &report.profile;
        match &report.result {
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
            reports.len()
        )),
    }
}

/// `login NAME [--no-browser | --device] [--force]`.
pub fn login(
    name: &str,
    no_browser: bool,
    use_device: bool,
    force: bool,
    ports: Vec<u16>,
) -> Result<(), String> {
    let router = router()?;
    let outcome = if use_device {
        let login = Arc::new(
            router
                .start_device_login(name, force)
                .map_err(|e| e.to_string())?,
        );
        println!(
            "{}",
            device_code_prompt(login.verification_url(), login.user_code(), CODE_LIFETIME)
        );
        println!("Waiting for you to finish (Ctrl-C to cancel)...");
        let cancel = login.clone();
        cancel_on_ctrl_c(&router, move || cancel.cancel());
        login.wait()
    } else {
        let mut config = BrowserLoginConfig::new(&router.settings().upstream.auth_issuer);
        if !ports.is_empty() {
            config.ports = ports;
        }
        let login = Arc::new(
            router
                .start_login_with(name, force, &config)
                .map_err(|e| e.to_string())?,
        );
        println!("Sign in at:\n  {}", login.url());
        if !no_browser && webbrowser::open(login.url()).is_err() {
            eprintln!("Could not open a browser; open the link above yourself.");
        }
        println!("Waiting for the browser (Ctrl-C to cancel)...");
        let cancel = login.clone();
        cancel_on_ctrl_c(&router, move || cancel.cancel());
        login.wait()
    };
    let outcome = outcome.map_err(|e| e.to_string())?;
    println!("{}", login_summary(&outcome));
    if let Stored::Created(n) = &outcome.stored {
        println!("Use it with `codex-router switch {n}`.");
    }
    Ok(())
}

/// Runs `cancel` when the user presses Ctrl-C.
fn cancel_on_ctrl_c(router: &Router, cancel: impl FnOnce() + Send + 'static) {
    router.runtime().spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel();
        }
    });
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
    let stored = store
        .store_login(name, &file, force)
        .map_err(|e| e.to_string())?;
    println!("{}", api_key_summary(&stored, name));
    Ok(())
}
