//! The façade every frontend drives (the desktop app, the FFI for Swift and Python):
//! a snapshot to render, commands, and a subscription to events. It owns the async runtime,
//! the file watcher and the proactive refresher, so frontends never touch a file or socket.

use crate::auth_file::AuthFile;
use crate::claude_config::{self, ClaudeSetup, ClaudeSetupError, ClaudeSetupState};
use crate::codex_config::CredentialStore;
use crate::codex_config::provider::{
    self, Removal, SetupError, SetupOptions, SetupOutcome, SetupState,
};
use crate::events::watcher::HomeWatcher;
use crate::events::{EventBus, RouterEvent, Subscription};
use crate::home::{CodexHome, HomeError};
use crate::login::LoginOutcome;
use crate::login::browser::{BrowserLogin, BrowserLoginConfig, CancelHandle};
use crate::login::device::{DeviceCancel, DeviceLogin};
use crate::net::Network;
use crate::proxy::server::{RequestObserver, RequestRecord};
use crate::proxy::service::{Endpoint, Host as EndpointHost, Overrides, ServiceError};
use crate::refresh::{Fresh, RefreshError, Refresher, RetryPolicy};
use crate::settings::{FailoverSettings, Settings, SettingsError};
use crate::store::{Profile, Status, Store, StoreError, Stored, SwitchOutcome};
use crate::view::{ProfileRow, StatusView};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Why a façade call failed; each variant carries the module's own error.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// No Codex home.
    #[error(transparent)]
    Home(#[from] HomeError),
    /// Broken `router/state.json`.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The network settings can't be used (a bad proxy URL or CA file).
    #[error(transparent)]
    Network(#[from] crate::net::NetError),
    /// A profile operation failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A refresh failed.
    #[error(transparent)]
    Refresh(#[from] RefreshError),
    /// A sign-in failed.
    #[error(transparent)]
    Login(#[from] crate::login::LoginError),
    /// Codex's `config.toml` could not be read or changed.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// Claude Code's `settings.json` could not be read or changed.
    #[error(transparent)]
    Claude(#[from] ClaudeSetupError),
    /// Bad input from the caller.
    #[error("{0}")]
    Invalid(String),
    /// The local endpoint could not start.
    #[error("the local endpoint could not start: {0}")]
    Proxy(String),
    /// The background runtime could not start.
    #[error("cannot start the background runtime: {0}")]
    Runtime(String),
}

/// Everything a frontend shows, read at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Every profile, sorted by name.
    pub profiles: Vec<Profile>,
    /// The active login.
    pub status: Status,
}

/// The local endpoint as the app shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyState {
    /// Whether it is serving.
    pub running: bool,
    /// Its base URL while running, e.g. `http://127.0.0.1:9876/v1`.
    pub address: Option<String>,
    /// Requests answered since it started.
    pub requests_served: u64,
    /// Why it last failed to start or stopped on its own.
    pub last_error: Option<String>,
}

/// The running endpoint's controls.
struct RunningProxy {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

/// The result of refreshing one profile.
#[derive(Debug, Clone)]
pub struct RefreshReport {
    /// The profile.
    pub profile: String,
    /// What happened.
    pub result: Result<Fresh, RefreshError>,
}

/// What a router runs by itself, besides answering calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Background {
    /// The file watcher, and the proactive token refresh and usage poller as the settings
    /// ask: for an app that stays open.
    Full,
    /// Nothing: for one command that exits when done.
    Nothing,
}

/// The router of one Codex home. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Router {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    settings: Settings,
    bus: EventBus,
    refresher: Refresher,
    network: Network,
    runtime: tokio::runtime::Runtime,
    _watcher: Option<HomeWatcher>,
    proxy: Mutex<Option<RunningProxy>>,
    proxy_state: Arc<Mutex<ProxyState>>,
    notifier: Mutex<Option<crate::notify::service::NotifierTask>>,
}

impl Router {
    /// Opens the router on `codex_home` (`None`: `CODEX_HOME`, else `~/.codex`, created
    /// 0700 when missing). Starts the file watcher and, as the settings ask, the proactive
    /// token refresh and the usage poller. A watcher that cannot start is logged, not fatal.
    pub fn open(codex_home: Option<PathBuf>) -> Result<Self, RouterError> {
        Self::open_with(codex_home, Background::Full)
    }

    /// [`Router::open`], running only what `background` says by itself.
    pub fn open_with(
        codex_home: Option<PathBuf>,
        background: Background,
    ) -> Result<Self, RouterError> {
        let home = match codex_home {
            Some(path) => CodexHome::at(path),
            None => CodexHome::from_env()?,
        };
        crate::files::ensure_dir(home.root()).map_err(StoreError::from)?;
        let settings = Settings::load(&home)?;
        let network = Network::new(&settings.network)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("codex-router")
            .enable_all()
            .build()
            .map_err(|e| RouterError::Runtime(e.to_string()))?;
        let store = Store::new(home);
        let bus = EventBus::new();
        let refresher = Refresher::new(
            store.clone(),
            &settings.upstream.auth_issuer,
            &network,
            RetryPolicy::default(),
        );
        refresher.set_events(bus.clone());
        let watcher = match background {
            Background::Nothing => None,
            Background::Full => match HomeWatcher::start(store.clone(), bus.clone()) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "changes made outside the app will not show up by themselves");
                    None
                }
            },
        };
        if background == Background::Full {
            let _guard = runtime.enter();
            if settings.refresh.proactive {
                refresher.spawn_proactive(settings.refresh.clone());
            }
            if settings.usage.refresh_minutes > 0 {
                crate::usage::poller::spawn_poller(
                    store.clone(),
                    settings.clone(),
                    std::time::Duration::from_secs(settings.usage.refresh_minutes * 60),
                    bus.clone(),
                    network.clone(),
                );
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                settings,
                bus,
                refresher,
                network,
                runtime,
                _watcher: watcher,
                proxy: Mutex::new(None),
                proxy_state: Arc::new(Mutex::new(ProxyState::default())),
                notifier: Mutex::new(None),
            }),
        })
    }

    /// The Codex home in use.
    pub fn home(&self) -> &CodexHome {
        self.inner.store.home()
    }

    /// The settings read at start.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The network settings resolved at start: every outgoing call of this router (and of
    /// the endpoint it starts) goes through them.
    pub fn network(&self) -> &Network {
        &self.inner.network
    }

    /// The failover settings as `router/state.json` says now (those read at start when the
    /// file can't be read).
    pub fn failover(&self) -> FailoverSettings {
        Settings::load(self.home())
            .map(|s| s.failover)
            .unwrap_or_else(|_| self.inner.settings.failover.clone())
    }

    /// Turns failover on or off in `router/state.json`; every running endpoint (this
    /// process's and `codex-router serve`) follows at its next request.
    pub fn set_failover_enabled(&self, enabled: bool) -> Result<(), RouterError> {
        Settings::set_failover_enabled(self.home(), enabled)?;
        Ok(())
    }

    /// The profile store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The shared refresher (single flight across the app, the proxy and the FFI).
    pub fn refresher(&self) -> &Refresher {
        &self.inner.refresher
    }

    /// The event bus, for components that emit (the proxy).
    pub fn events(&self) -> &EventBus {
        &self.inner.bus
    }

    /// A handle to the background runtime, for components that run on it (the proxy).
    pub fn runtime(&self) -> tokio::runtime::Handle {
        self.inner.runtime.handle().clone()
    }

    /// Profiles and the active login, read now.
    pub fn snapshot(&self) -> Result<Snapshot, RouterError> {
        Ok(Snapshot {
            profiles: self.inner.store.list()?,
            status: self.inner.store.status()?,
        })
    }

    /// The usage history of profile `name`, oldest first (damaged lines skipped with a
    /// warning; see [`crate::usage::history`]).
    pub fn usage_history(
        &self,
        name: &str,
    ) -> Result<Vec<crate::usage::history::Sample>, RouterError> {
        let name = crate::home::ProfileName::new(name).map_err(StoreError::from)?;
        Ok(self.inner.store.usage_history(&name)?)
    }

    /// Every profile.
    pub fn list_profiles(&self) -> Result<Vec<Profile>, RouterError> {
        Ok(self.inner.store.list()?)
    }

    /// Every profile as frontends show it (`list --json`), judged now.
    pub fn profile_rows(&self) -> Result<Vec<ProfileRow>, RouterError> {
        let now = chrono::Utc::now();
        Ok(self
            .inner
            .store
            .list()?
            .iter()
            .map(|p| ProfileRow::new(p, now))
            .collect())
    }

    /// The active login as frontends show it (`status --json`), judged now.
    pub fn status_view(&self) -> Result<StatusView, RouterError> {
        let status = self.inner.store.status()?;
        let credentials = CredentialStore::of(self.home());
        Ok(StatusView::new(&status, credentials, chrono::Utc::now()).with_network(self.network()))
    }

    /// The active profile's name.
    pub fn current_profile(&self) -> Result<Option<String>, RouterError> {
        Ok(self.inner.store.current()?)
    }

    /// The active login.
    pub fn status(&self) -> Result<Status, RouterError> {
        Ok(self.inner.store.status()?)
    }

    /// Switches to `name` (see [`Store::switch`]).
    pub fn switch_profile(&self, name: &str, force: bool) -> Result<SwitchOutcome, RouterError> {
        Ok(self.inner.store.switch(name, force)?)
    }

    /// Saves the login in `auth.json` as `name`.
    pub fn save_profile(&self, name: &str) -> Result<(), RouterError> {
        Ok(self.inner.store.save(name)?)
    }

    /// Renames a profile.
    pub fn rename_profile(&self, old: &str, new: &str) -> Result<(), RouterError> {
        Ok(self.inner.store.rename(old, new)?)
    }

    /// Removes a profile (`auth.json` is left alone).
    pub fn remove_profile(&self, name: &str) -> Result<(), RouterError> {
        Ok(self.inner.store.remove(name)?)
    }

    /// Refreshes `name` now, or every ChatGPT profile when `None`. Blocks the calling
    /// thread for the network calls: do not call it from an async task.
    pub fn refresh_profiles(&self, name: Option<&str>) -> Result<Vec<RefreshReport>, RouterError> {
        let names = match name {
            Some(n) => vec![n.to_owned()],
            None => self.inner.store.chatgpt_profiles()?,
        };
        let refresher = self.inner.refresher.clone();
        Ok(self.inner.runtime.block_on(async move {
            let mut reports = Vec::new();
            for profile in names {
                let result = refresher.refresh_now(&profile).await;
                reports.push(RefreshReport { profile, result });
            }
            reports
        }))
    }

    /// Stores an API key as profile `name`.
    pub fn add_api_key(&self, name: &str, key: &str, force: bool) -> Result<Stored, RouterError> {
        let file = AuthFile::api_key(key).map_err(RouterError::Invalid)?;
        self.inner.store.ensure_available(name, force)?;
        Ok(self.inner.store.store_login(name, &file, force)?)
    }

    /// Starts a browser sign-in for a new profile `name`; open [`LoginHandle::url`] in a
    /// browser, then [`LoginHandle::wait`].
    pub fn start_login(&self, name: &str, force: bool) -> Result<LoginHandle, RouterError> {
        let config = BrowserLoginConfig::new(&self.inner.settings.upstream.auth_issuer);
        self.start_login_with(name, force, &config)
    }

    /// [`Router::start_login`] with explicit callback ports and timeout (tests, embedders).
    pub fn start_login_with(
        &self,
        name: &str,
        force: bool,
        config: &BrowserLoginConfig,
    ) -> Result<LoginHandle, RouterError> {
        let store = self.inner.store.clone();
        let login = self.inner.runtime.block_on(BrowserLogin::start(
            store,
            name,
            force,
            config,
            &self.inner.network,
        ))?;
        Ok(LoginHandle {
            url: login.url().to_owned(),
            cancel: login.cancel_handle(),
            login: Mutex::new(Some(login)),
            runtime: self.inner.runtime.handle().clone(),
        })
    }

    /// Starts a device-code sign-in for a new profile `name`: show
    /// [`DeviceLoginHandle::user_code`] and [`DeviceLoginHandle::verification_url`], then
    /// [`DeviceLoginHandle::wait`]. Blocks for the issuer's answer with the code.
    pub fn start_device_login(
        &self,
        name: &str,
        force: bool,
    ) -> Result<DeviceLoginHandle, RouterError> {
        let store = self.inner.store.clone();
        let issuer = &self.inner.settings.upstream.auth_issuer;
        let login = self.inner.runtime.block_on(DeviceLogin::start(
            store,
            name,
            force,
            issuer,
            &self.inner.network,
        ))?;
        Ok(DeviceLoginHandle {
            verification_url: login.verification_url().to_owned(),
            user_code: login.user_code().to_owned(),
            cancel: login.cancel_handle(),
            login: Mutex::new(Some(login)),
            runtime: self.inner.runtime.handle().clone(),
        })
    }

    /// Adds the router as a model provider to Codex's `config.toml` (keeping every other
    /// line), by default as Codex's default provider.
    pub fn setup_codex(&self, opts: &SetupOptions) -> Result<SetupOutcome, RouterError> {
        Ok(provider::setup(self.home(), opts)?)
    }

    /// Removes what [`Router::setup_codex`] added for `profile` (`None`: the provider that
    /// follows the active profile), putting back the `model_provider` it replaced.
    pub fn remove_codex_setup(&self, profile: Option<&str>) -> Result<Removal, RouterError> {
        Ok(provider::remove(self.home(), profile)?)
    }

    /// Whether Codex sends its requests through the router (the provider that follows the
    /// active profile).
    pub fn codex_setup_state(&self) -> Result<SetupState, RouterError> {
        Ok(provider::state(self.home(), None)?)
    }

    /// Points Claude Code's `settings.json` (under `CLAUDE_CONFIG_DIR`, else `~/.claude`) at
    /// the endpoint, pinned to `profile` when given, keeping every other key.
    pub fn setup_claude(&self, profile: Option<&str>) -> Result<ClaudeSetup, RouterError> {
        let dir = claude_config::claude_dir()?;
        Ok(claude_config::setup(self.home(), &dir, None, profile)?)
    }

    /// Takes what [`Router::setup_claude`] wrote out of Claude Code's `settings.json`.
    pub fn remove_claude_setup(&self) -> Result<ClaudeSetup, RouterError> {
        Ok(claude_config::remove(&claude_config::claude_dir()?)?)
    }

    /// Whether Claude Code sends its requests to the endpoint.
    pub fn claude_setup_state(&self) -> Result<ClaudeSetupState, RouterError> {
        let dir = claude_config::claude_dir()?;
        Ok(claude_config::state(self.home(), &dir)?)
    }

    /// Starts the local endpoint on `host:port` (port 0: any free port) and returns its
    /// base URL. Starting it while it runs restarts it on the new address. Everything else
    /// (the local key, other users, failover, limits) comes from `state.json` as it is now,
    /// through the same [`Endpoint`] service `codex-router serve` uses.
    pub fn start_proxy(&self, host: &str, port: u16) -> Result<String, RouterError> {
        self.stop_proxy();
        let settings = Settings::load(self.home())?;
        let overrides = Overrides {
            host: Some(host.to_owned()),
            port: Some(port),
            ..Overrides::default()
        };
        // The app runs the proactive refresher and the usage poller itself (`open`).
        let shared = EndpointHost {
            events: Some(self.inner.bus.clone()),
            refresher: Some(self.inner.refresher.clone()),
            network: Some(self.inner.network.clone()),
            runs_background: true,
            observer: Some(self.request_observer()),
        };
        let bound = self.inner.runtime.block_on(Endpoint::bind(
            self.home().clone(),
            settings,
            &overrides,
            shared,
        ));
        let server = match bound {
            Ok(s) => s,
            Err(e) => {
                self.inner
                    .proxy_state
                    .lock()
                    .expect("proxy state")
                    .last_error = Some(e.to_string());
                return Err(match e {
                    ServiceError::Host { .. } => RouterError::Invalid(e.to_string()),
                    e => RouterError::Proxy(e.to_string()),
                });
            }
        };
        let address = server.url();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = self.inner.proxy_state.clone();
        let bus = self.inner.bus.clone();
        let task = self.inner.runtime.spawn(async move {
            let result = server
                .run(async move {
                    let _ = stopped.await;
                })
                .await;
            let mut st = state.lock().expect("proxy state");
            st.running = false;
            st.address = None;
            if let Err(e) = result {
                st.last_error = Some(e.to_string());
            }
            drop(st);
            bus.emit(RouterEvent::ProxyStopped);
        });
        *self.inner.proxy_state.lock().expect("proxy state") = ProxyState {
            running: true,
            address: Some(address.clone()),
            requests_served: 0,
            last_error: None,
        };
        *self.inner.proxy.lock().expect("proxy lock") = Some(RunningProxy { stop, task });
        self.inner.bus.emit(RouterEvent::ProxyStarted {
            address: address.clone(),
        });
        Ok(address)
    }

    /// What the endpoint tells the app after each request: count it and announce it.
    fn request_observer(&self) -> RequestObserver {
        let state = self.inner.proxy_state.clone();
        let bus = self.inner.bus.clone();
        Arc::new(move |record: &RequestRecord| {
            state.lock().expect("proxy state").requests_served += 1;
            bus.emit(RouterEvent::RequestFinished {
                profile: record.profile.clone(),
                method: record.method.clone(),
                path: record.path.clone(),
                status: record.status,
                millis: record.ms.round() as u64,
            });
        })
    }

    /// Stops the local endpoint (letting open answers finish briefly); a no-op when it is
    /// not running.
    pub fn stop_proxy(&self) {
        let running = self.inner.proxy.lock().expect("proxy lock").take();
        if let Some(RunningProxy { stop, task }) = running {
            let _ = stop.send(());
            let _ = self.inner.runtime.block_on(task);
        }
    }

    /// The local endpoint's state.
    pub fn proxy_state(&self) -> ProxyState {
        self.inner.proxy_state.lock().expect("proxy state").clone()
    }

    /// Starts deciding desktop notifications: from now on the bus also carries
    /// [`RouterEvent::Notify`] for each usage limit reached, limited account available
    /// again, usage threshold crossed, failover and dead login, once each (remembered per
    /// profile across restarts), as the `notifications` settings allow. For the app that
    /// shows them; calling it again does nothing.
    pub fn start_notifications(&self) {
        let mut notifier = self.inner.notifier.lock().expect("notifier lock");
        if notifier.is_none() {
            let _guard = self.inner.runtime.enter();
            *notifier = Some(crate::notify::service::spawn(
                self.inner.store.clone(),
                self.inner.bus.clone(),
            ));
        }
    }

    /// The `notifications` settings as `router/state.json` says now (the defaults when it
    /// can't be read).
    pub fn notification_settings(&self) -> crate::settings::NotificationSettings {
        Settings::load(self.home())
            .map(|s| s.notifications)
            .unwrap_or_default()
    }

    /// Turns one kind of notification on or off in `router/state.json`.
    pub fn set_notification_enabled(
        &self,
        kind: crate::notify::NotificationKind,
        enabled: bool,
    ) -> Result<(), RouterError> {
        Settings::set_value(
            self.home(),
            "notifications",
            kind.key(),
            serde_json::Value::Bool(enabled),
        )?;
        Ok(())
    }

    /// A new subscription to the router's events.
    pub fn subscribe(&self) -> Subscription {
        self.inner.bus.subscribe()
    }

    /// Sends an event to every subscriber (used by components built on the router).
    pub fn emit(&self, event: RouterEvent) {
        self.inner.bus.emit(event);
    }
}

/// A browser sign-in in progress, usable from any thread.
pub struct LoginHandle {
    url: String,
    cancel: CancelHandle,
    login: Mutex<Option<BrowserLogin>>,
    runtime: tokio::runtime::Handle,
}

impl LoginHandle {
    /// The URL to open in a browser.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Blocks until the sign-in finishes, fails, is cancelled or times out. Only the first
    /// call waits; later ones fail.
    pub fn wait(&self) -> Result<LoginOutcome, RouterError> {
        let login = self
            .login
            .lock()
            .expect("login lock")
            .take()
            .ok_or_else(|| RouterError::Invalid("this login was already waited for".into()))?;
        Ok(self.runtime.block_on(login.wait())?)
    }

    /// Cancels the sign-in; a waiting [`LoginHandle::wait`] returns `Cancelled`.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }
}

/// A device-code sign-in in progress, usable from any thread. Dropping it cancels it.
pub struct DeviceLoginHandle {
    verification_url: String,
    user_code: String,
    cancel: DeviceCancel,
    login: Mutex<Option<DeviceLogin>>,
    runtime: tokio::runtime::Handle,
}

impl DeviceLoginHandle {
    /// The page to open on any device.
    pub fn verification_url(&self) -> &str {
        &self.verification_url
    }

    /// The code to enter there.
    pub fn user_code(&self) -> &str {
        &self.user_code
    }

    /// Blocks until the code is entered (the profile is stored), the sign-in fails, is
    /// cancelled or the code expires. Only the first call waits; later ones fail.
    pub fn wait(&self) -> Result<LoginOutcome, RouterError> {
        let login = self
            .login
            .lock()
            .expect("login lock")
            .take()
            .ok_or_else(|| RouterError::Invalid("this login was already waited for".into()))?;
        Ok(self.runtime.block_on(login.wait())?)
    }

    /// Cancels the sign-in; a waiting [`DeviceLoginHandle::wait`] returns `Cancelled`.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }
}

impl Drop for DeviceLoginHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
