//! The `Router` and `LoginHandle` objects: thin wrappers over the core façade that map
//! records and errors and keep network waits off the caller's thread.

use crate::claude_setup::{ClaudeSetup, ClaudeSetupChange};
use crate::error::{RouterError, guard};
use crate::events::{Forwarder, RouterListener, forward};
use crate::records::{
    CodexSetup, CodexSetupChange, LoginResult, Profile, ProxyState, RefreshReport, Status,
};
use codex_router_core::codex_config::provider::SetupOptions;
use codex_router_core::login::LoginOutcome;
use codex_router_core::login::browser::BrowserLoginConfig;
use codex_router_core::login::device::CODE_LIFETIME;
use codex_router_core::router::{
    DeviceLoginHandle as CoreDeviceLogin, LoginHandle as CoreLogin, Router as CoreRouter,
};
use codex_router_core::store::SwitchOutcome;
use codex_router_core::view::messages::{api_key_summary, device_code_prompt, empty_home_hint};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What a switch did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SwitchResult {
    /// The profile active now.
    pub name: String,
    /// The profile active before, if any.
    pub previous: Option<String>,
    /// Profiles whose saved tokens were replaced by newer ones from `auth.json` first.
    pub synced_back: Vec<String>,
    /// Things to tell the user (an unreadable `auth.json` replaced, a login discarded).
    pub warnings: Vec<String>,
}

impl From<SwitchOutcome> for SwitchResult {
    fn from(o: SwitchOutcome) -> Self {
        Self {
            name: o.name,
            previous: o.previous,
            synced_back: o.synced_back,
            warnings: o.warnings,
        }
    }
}

/// The router of one Codex home: profiles, the active login, sign-in, the local endpoint
/// and events. Every call is safe from any thread. Calls that talk to the network
/// (`refresh_profile`, `LoginHandle.wait`) are async and run on their own thread; the
/// others only touch local files and return in milliseconds (`stop_proxy` may wait up to
/// a few seconds for open answers).
#[derive(uniffi::Object)]
pub struct Router {
    pub(crate) core: CoreRouter,
    listeners: Mutex<Vec<Arc<Forwarder>>>,
}

#[uniffi::export]
impl Router {
    /// Opens the router on `codex_home` (`None`: `CODEX_HOME`, else `~/.codex`). Starts
    /// watching the folder for changes made by others, and the proactive token refresh
    /// when the settings ask for it. Everything stops when the router is dropped.
    #[uniffi::constructor(default(codex_home = None))]
    pub fn new(codex_home: Option<String>) -> Result<Arc<Self>, RouterError> {
        guard(|| {
            let core = CoreRouter::open(codex_home.map(PathBuf::from))?;
            Ok(Arc::new(Self {
                core,
                listeners: Mutex::new(Vec::new()),
            }))
        })
    }

    /// The Codex home in use.
    pub fn codex_home(&self) -> String {
        self.core.home().root().display().to_string()
    }

    /// Every profile, sorted by name; broken ones are listed with `state` `Invalid` and
    /// their reason in `error`.
    pub fn list_profiles(&self) -> Result<Vec<Profile>, RouterError> {
        guard(|| {
            Ok(self
                .core
                .profile_rows()?
                .into_iter()
                .map(Into::into)
                .collect())
        })
    }

    /// The active profile's name (`None` when the login in `auth.json` is not a saved
    /// profile, or there is none).
    pub fn current_profile(&self) -> Result<Option<String>, RouterError> {
        guard(|| Ok(self.core.current_profile()?))
    }

    /// The active login.
    pub fn status(&self) -> Result<Status, RouterError> {
        guard(|| Ok(self.core.status_view()?.into()))
    }

    /// Makes `name` the login Codex uses. Newer tokens of the outgoing login are first
    /// copied back into its profile. A login that no profile holds is not dropped unless
    /// `force` (`UnsavedLogin` otherwise). Running Codex sessions keep the old login until
    /// restarted.
    #[uniffi::method(default(force = false))]
    pub fn switch_profile(&self, name: String, force: bool) -> Result<SwitchResult, RouterError> {
        guard(|| Ok(self.core.switch_profile(&name, force)?.into()))
    }

    /// Saves the login in `auth.json` as a new profile `name`.
    pub fn save_profile(&self, name: String) -> Result<(), RouterError> {
        guard(|| Ok(self.core.save_profile(&name)?))
    }

    /// Renames a profile.
    pub fn rename_profile(&self, old: String, new: String) -> Result<(), RouterError> {
        guard(|| Ok(self.core.rename_profile(&old, &new)?))
    }

    /// Deletes a profile (`auth.json` is left alone).
    pub fn remove_profile(&self, name: String) -> Result<(), RouterError> {
        guard(|| Ok(self.core.remove_profile(&name)?))
    }

    /// Refreshes the tokens of `name` now, or of every ChatGPT profile when `None`. With a
    /// name, a failure is thrown (`NeedsSignIn`, `Network`, `NotFound`, …); without one,
    /// each profile's outcome is in its report.
    #[uniffi::method(default(name = None))]
    pub async fn refresh_profile(
        &self,
        name: Option<String>,
    ) -> Result<Vec<RefreshReport>, RouterError> {
        let core = self.core.clone();
        off_thread(move || {
            let reports = core.refresh_profiles(name.as_deref())?;
            if name.is_some()
                && let Some(Err(e)) = reports.first().map(|r| &r.result)
            {
                return Err(e.clone().into());
            }
            Ok(reports.iter().map(Into::into).collect())
        })
        .await
    }

    /// Saves an OpenAI API key as profile `name`. The key goes in; nothing ever gives it
    /// back. A name holding another login is refused (`Exists`) unless `force`.
    #[uniffi::method(default(force = false))]
    pub fn add_api_key(
        &self,
        name: String,
        key: String,
        force: bool,
    ) -> Result<LoginResult, RouterError> {
        guard(|| {
            let stored = self.core.add_api_key(&name, &key, force)?;
            let summary = api_key_summary(&stored, &name);
            let outcome = LoginOutcome {
                stored,
                email: None,
                plan: None,
            };
            Ok(LoginResult {
                summary,
                ..outcome.into()
            })
        })
    }

    /// Starts a browser sign-in that creates profile `name` (an account that already has
    /// a profile updates that one instead). Open `url()` in the browser, then `wait()`.
    /// A name holding another account is refused (`Exists`) unless `force`.
    #[uniffi::method(default(force = false))]
    pub fn start_login(&self, name: String, force: bool) -> Result<Arc<LoginHandle>, RouterError> {
        guard(|| {
            let login = self.core.start_login(&name, force)?;
            Ok(LoginHandle::new(login, self.core.clone()))
        })
    }

    /// Starts a device-code sign-in that creates profile `name` (for machines without a
    /// browser): show `user_code()` and `verification_url()` (or `prompt()`), then `wait()`.
    /// Async: it asks the issuer for the code. A name holding another account is refused
    /// (`Exists`) unless `force`; an issuer without device sign-in gives `Login`.
    #[uniffi::method(default(force = false))]
    pub async fn start_device_login(
        &self,
        name: String,
        force: bool,
    ) -> Result<Arc<DeviceLoginHandle>, RouterError> {
        let core = self.core.clone();
        off_thread(move || {
            let login = core.start_device_login(&name, force)?;
            Ok(Arc::new(DeviceLoginHandle {
                login: Arc::new(login),
                router: core,
            }))
        })
        .await
    }

    /// Adds the router as a model provider to Codex's `config.toml`, keeping every other
    /// line: by default Codex's default provider at the endpoint's address from the
    /// settings. `port` overrides the port, `env_key` has Codex send `$CODEX_ROUTER_KEY`,
    /// `no_default` adds it without selecting it, `profile` pins it to one profile,
    /// `chatgpt` also points Codex's `chatgpt_base_url` at the router (Codex's own ChatGPT
    /// calls go out as the serving account; `false` puts back what it replaced).
    #[uniffi::method(default(
        port = None,
        env_key = false,
        no_default = false,
        profile = None,
        chatgpt = false
    ))]
    pub fn setup_codex(
        &self,
        port: Option<u16>,
        env_key: bool,
        no_default: bool,
        profile: Option<String>,
        chatgpt: bool,
    ) -> Result<CodexSetupChange, RouterError> {
        guard(|| {
            let opts = SetupOptions {
                port,
                env_key,
                no_default,
                profile,
                chatgpt,
            };
            Ok(self.core.setup_codex(&opts)?.into())
        })
    }

    /// Removes what `setup_codex` added (for `profile`, or the provider that follows the
    /// active profile), putting back the `model_provider` and `chatgpt_base_url` it replaced.
    #[uniffi::method(default(profile = None))]
    pub fn remove_codex_setup(
        &self,
        profile: Option<String>,
    ) -> Result<CodexSetupChange, RouterError> {
        guard(|| Ok(self.core.remove_codex_setup(profile.as_deref())?.into()))
    }

    /// Whether Codex sends its requests through the router.
    pub fn codex_setup_state(&self) -> Result<CodexSetup, RouterError> {
        guard(|| Ok(self.core.codex_setup_state()?.into()))
    }

    /// Points Claude Code's `settings.json` (under `CLAUDE_CONFIG_DIR`, else `~/.claude`) at
    /// the endpoint, pinned to `profile` when given, keeping every other key.
    #[uniffi::method(default(profile = None))]
    pub fn setup_claude(&self, profile: Option<String>) -> Result<ClaudeSetupChange, RouterError> {
        guard(|| Ok(self.core.setup_claude(profile.as_deref())?.into()))
    }

    /// Takes what `setup_claude` wrote out of Claude Code's `settings.json`.
    pub fn remove_claude_setup(&self) -> Result<ClaudeSetupChange, RouterError> {
        guard(|| Ok(self.core.remove_claude_setup()?.into()))
    }

    /// Whether Claude Code sends its requests to the endpoint.
    pub fn claude_setup_state(&self) -> Result<ClaudeSetup, RouterError> {
        guard(|| Ok(self.core.claude_setup_state()?.into()))
    }

    /// What to do when there are no profiles yet.
    pub fn empty_home_hint(&self) -> String {
        empty_home_hint(&self.core.home().profiles_dir())
    }

    /// Starts the local OpenAI-compatible endpoint on `host:port` (port 0: any free port)
    /// and returns its base URL, e.g. `http://127.0.0.1:9876/v1`. Starting it while it
    /// runs moves it to the new address.
    pub fn start_proxy(&self, host: String, port: u16) -> Result<String, RouterError> {
        guard(|| Ok(self.core.start_proxy(&host, port)?))
    }

    /// Stops the local endpoint (open answers get a moment to finish); nothing happens
    /// when it is not running.
    pub fn stop_proxy(&self) -> Result<(), RouterError> {
        guard(|| {
            self.core.stop_proxy();
            Ok(())
        })
    }

    /// The local endpoint's state, and the address the settings ask for.
    pub fn proxy_state(&self) -> Result<ProxyState, RouterError> {
        guard(|| {
            Ok(ProxyState::from_core(
                self.core.proxy_state(),
                &self.core.settings().proxy,
            ))
        })
    }

    /// Whether failover is on (`router/state.json` now): a request that hits the active
    /// account's usage limit moves to the next account.
    pub fn failover_enabled(&self) -> bool {
        self.core.failover().enabled
    }

    /// Turns failover on or off for every running endpoint; `SettingsChanged` follows.
    pub fn set_failover_enabled(&self, enabled: bool) -> Result<(), RouterError> {
        guard(|| Ok(self.core.set_failover_enabled(enabled)?))
    }

    /// Sends every event from now on to `listener`, on a background thread, until the
    /// router is dropped or `unsubscribe_all` is called. The thread sleeps while nothing
    /// happens (no polling).
    pub fn subscribe(&self, listener: Box<dyn RouterListener>) -> Result<(), RouterError> {
        guard(|| {
            let forwarder = forward(self.core.subscribe(), listener)
                .map_err(|e| RouterError::Other(format!("cannot start the event thread: {e}")))?;
            let mut listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
            listeners.retain(|f| !f.is_stopped());
            listeners.push(forwarder);
            Ok(())
        })
    }

    /// Stops every listener of this router. When it returns, no listener is being called
    /// and none will be again (an event being delivered is waited for, unless this is
    /// called from a listener). Python embedders: call it before the interpreter exits
    /// (`atexit.register(router.unsubscribe_all)`), as a call arriving while Python shuts
    /// down aborts the process.
    pub fn unsubscribe_all(&self) {
        let listeners =
            std::mem::take(&mut *self.listeners.lock().unwrap_or_else(|e| e.into_inner()));
        for forwarder in listeners {
            forwarder.stop();
        }
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        // The listeners end with this object (even while a sign-in in progress keeps the
        // core alive), and are released here, on the owner's thread.
        self.unsubscribe_all();
    }
}

impl Router {
    /// The core façade (for Rust embedders and tests).
    pub fn core(&self) -> &CoreRouter {
        &self.core
    }

    /// [`Router::start_login`] with explicit callback ports, issuer and timeout (Rust
    /// tests and embedders; not exported).
    pub fn start_login_with(
        &self,
        name: &str,
        force: bool,
        config: &BrowserLoginConfig,
    ) -> Result<Arc<LoginHandle>, RouterError> {
        guard(|| {
            let login = self.core.start_login_with(name, force, config)?;
            Ok(LoginHandle::new(login, self.core.clone()))
        })
    }
}

/// A browser sign-in in progress. Dropping it cancels the sign-in.
#[derive(uniffi::Object)]
pub struct LoginHandle {
    login: Arc<CoreLogin>,
    /// Keeps the router (and its runtime) alive while the sign-in runs.
    router: CoreRouter,
}

impl LoginHandle {
    fn new(login: CoreLogin, router: CoreRouter) -> Arc<Self> {
        Arc::new(Self {
            login: Arc::new(login),
            router,
        })
    }
}

#[uniffi::export]
impl LoginHandle {
    /// The URL to open in the browser.
    pub fn url(&self) -> String {
        self.login.url().to_owned()
    }

    /// Waits until the sign-in finishes (the new profile is saved), fails, is cancelled
    /// (`Cancelled`) or times out (`Login`). Only the first call waits.
    pub async fn wait(&self) -> Result<LoginResult, RouterError> {
        let (login, router) = (self.login.clone(), self.router.clone());
        off_thread(move || {
            let outcome = login.wait()?;
            drop(router);
            Ok(outcome.into())
        })
        .await
    }

    /// Cancels the sign-in: a pending `wait()` fails with `Cancelled`, and the callback
    /// port is freed.
    pub fn cancel(&self) {
        self.login.cancel();
    }
}

impl Drop for LoginHandle {
    fn drop(&mut self) {
        self.login.cancel();
    }
}

/// A device-code sign-in in progress. Dropping it cancels the sign-in.
#[derive(uniffi::Object)]
pub struct DeviceLoginHandle {
    login: Arc<CoreDeviceLogin>,
    /// Keeps the router (and its runtime) alive while the sign-in runs.
    router: CoreRouter,
}

#[uniffi::export]
impl DeviceLoginHandle {
    /// The code to enter.
    pub fn user_code(&self) -> String {
        self.login.user_code().to_owned()
    }

    /// The page to enter it on, from any device.
    pub fn verification_url(&self) -> String {
        self.login.verification_url().to_owned()
    }

    /// Both in a sentence, with how long the code holds.
    pub fn prompt(&self) -> String {
        device_code_prompt(
            self.login.verification_url(),
            self.login.user_code(),
            CODE_LIFETIME,
        )
    }

    /// Waits until the code is entered (the new profile is saved), the sign-in fails, is
    /// cancelled (`Cancelled`) or the code expires (`Login`). Only the first call waits.
    pub async fn wait(&self) -> Result<LoginResult, RouterError> {
        let (login, router) = (self.login.clone(), self.router.clone());
        off_thread(move || {
            let outcome = login.wait()?;
            drop(router);
            Ok(outcome.into())
        })
        .await
    }

    /// Cancels the sign-in: a pending `wait()` fails with `Cancelled`.
    pub fn cancel(&self) {
        self.login.cancel();
    }
}

impl Drop for DeviceLoginHandle {
    fn drop(&mut self) {
        self.login.cancel();
    }
}

/// Runs blocking work on its own thread and awaits it without blocking the caller: the
/// future is runtime-agnostic (Swift's and Python's executors poll it). A panic in `f`
/// becomes [`RouterError::Other`].
async fn off_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, RouterError> + Send + 'static,
) -> Result<T, RouterError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("codex-router-call".into())
        .spawn(move || {
            let _ = tx.send(guard(f));
        })
        .map_err(|e| RouterError::Other(format!("cannot start a background thread: {e}")))?;
    rx.await
        .unwrap_or_else(|_| Err(RouterError::Other("the background call was lost".into())))
}
