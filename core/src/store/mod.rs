//! The profile store over `CODEX_HOME`: list, current, switch (with token sync-back),
//! save, rename, remove. Mutations hold an advisory lock under `router/` so two router
//! processes never interleave, and every write is atomic.
//!
//! Codex's active login lives where its `config.toml` says ([`CredentialStore`]):
//! `auth.json`, or its OS keyring entry ([`crate::codex_keyring::CodexKeyring`]), found by
//! Codex's own rule.

use crate::auth_file::{AuthFile, Identity, LoginInfo};
use crate::codex_config::CredentialStore;
use crate::codex_keyring::KeyringError;
use crate::files::{self, FileError, FileLock, TEMP_PREFIX};
use crate::home::{CodexHome, NameError, ProfileName};
use crate::profile_state::{ProfileState, SignInNeeded};
use crate::usage::Usage;
use crate::usage::history::{self, Sample};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

mod codex_login;
use codex_login::{ActiveFile, Place};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The name is not a valid profile name.
    #[error(transparent)]
    Name(#[from] NameError),
    /// No such profile.
    #[error("no profile named '{0}'")]
    NotFound(String),
    /// The name is taken.
    #[error("a profile named '{0}' already exists")]
    Exists(String),
    /// The profile exists but cannot be used.
    #[error("profile '{name}' can't be used: {reason}")]
    Unusable {
        /// The profile.
        name: String,
        /// Why.
        reason: String,
    },
    /// Codex's login (`auth.json` or its keyring entry) holds no usable login.
    #[error("there is no login to save: {0}")]
    NoLogin(String),
    /// Codex's login already has a profile.
    #[error("this login is already saved as profile '{0}'")]
    AlreadySaved(String),
    /// Switching would drop a login that is saved nowhere.
    #[error(
        "the current login ({0}) is not saved as a profile and would be lost; save it first, or force the switch to discard it"
    )]
    UnsavedLogin(String),
    /// Codex keeps its login in the OS keyring only, and the keyring can't be used.
    #[error(
        "Codex keeps its login in the OS keyring (cli_auth_credentials_store = \"keyring\" in config.toml) and {0}. \
         Unlock the keyring (on Linux: run a Secret Service such as gnome-keyring on the session D-Bus), \
         or set cli_auth_credentials_store = \"file\" in config.toml and sign in to Codex again"
    )]
    Keyring(KeyringError),
    /// A file operation failed.
    #[error(transparent)]
    File(#[from] FileError),
}

/// One entry of `profiles/`.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The folder name.
    pub name: String,
    /// What the login is, or why it cannot be used.
    pub login: Result<LoginInfo, String>,
    /// Set when a refresh failed for good: the account must be signed in again.
    pub needs_sign_in: Option<SignInNeeded>,
    /// The latest usage figures seen for this account, if any.
    pub usage: Option<Usage>,
    /// Whether it is the active login.
    pub active: bool,
}

/// Whether a profile can be used right now (`state` in `list --json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Usable.
    Ok,
    /// The access token has expired; the next refresh renews it.
    Expired,
    /// The refresh token was refused for good: sign in again.
    NeedsSignIn,
    /// The profile's file is broken.
    Invalid,
}

impl Health {
    /// `ok`, `expired`, `needs_sign_in`, `invalid`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Expired => "expired",
            Self::NeedsSignIn => "needs_sign_in",
            Self::Invalid => "invalid",
        }
    }
}

impl Profile {
    /// Its health at `now`.
    pub fn health(&self, now: chrono::DateTime<chrono::Utc>) -> Health {
        match (&self.login, &self.needs_sign_in) {
            (Err(_), _) => Health::Invalid,
            (Ok(_), Some(_)) => Health::NeedsSignIn,
            (Ok(info), None) if info.expires_at.is_some_and(|e| e <= now) => Health::Expired,
            (Ok(_), None) => Health::Ok,
        }
    }

    /// Why it can't be used, for people: the file's problem, or "needs sign-in: …".
    pub fn problem(&self) -> Option<String> {
        match (&self.login, &self.needs_sign_in) {
            (Err(reason), _) => Some(reason.clone()),
            (Ok(_), Some(mark)) => Some(format!("needs sign-in: {}", mark.message)),
            (Ok(_), None) => None,
        }
    }
}

/// Where a new login (browser, device, API key) was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// A new profile.
    Created(String),
    /// The login's identity already had this profile; its credentials were updated
    /// instead of creating a twin.
    UpdatedExisting(String),
    /// A different login under the asked name was replaced (`force`).
    Replaced(String),
}

/// The active login.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// The profile Codex's login (`auth.json` or its keyring entry) belongs to, if any.
    pub profile: Option<String>,
    /// What Codex's login is: `None` when there is none, else the login or why it is unusable.
    pub login: Option<Result<LoginInfo, String>>,
    /// Set when the active login's refresh token was refused for good.
    pub needs_sign_in: Option<SignInNeeded>,
    /// The active profile's latest usage figures, if known.
    pub usage: Option<Usage>,
}

/// What a switch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchOutcome {
    /// The profile now active.
    pub name: String,
    /// The profile active before, if any.
    pub previous: Option<String>,
    /// Profiles whose stored tokens were replaced by newer ones from Codex's login.
    pub synced_back: Vec<String>,
    /// Things the user should know (an unreadable `auth.json` replaced, a login discarded,
    /// the keyring passed over in `auto` mode).
    pub warnings: Vec<String>,
}

/// A profile read from disk.
struct Loaded {
    name: String,
    path: PathBuf,
    file: Result<(AuthFile, Vec<u8>, LoginInfo), String>,
}

impl Loaded {
    fn identity(&self) -> Option<Identity> {
        self.file.as_ref().ok().and_then(|(f, _, _)| f.identity())
    }

    /// The sign-in mark (when it is about the current refresh token) and the usage.
    fn state(&self) -> (Option<SignInNeeded>, Option<Usage>) {
        let Some(dir) = self.path.parent() else {
            return (None, None);
        };
        let state = ProfileState::load(dir);
        let mark = self
            .file
            .as_ref()
            .ok()
            .and_then(|(f, _, _)| f.tokens.as_ref())
            .and_then(|t| state.needs_sign_in_for(&t.refresh_token).cloned());
        (mark, state.usage)
    }
}

/// The profile store of one `CODEX_HOME`.
#[derive(Debug, Clone)]
pub struct Store {
    home: CodexHome,
}

impl Store {
    /// A store over `home`.
    pub fn new(home: CodexHome) -> Self {
        Self { home }
    }

    /// The home it works on.
    pub fn home(&self) -> &CodexHome {
        &self.home
    }

    /// Every profile, sorted by name. A broken profile is listed with its reason; only a
    /// `profiles/` folder that exists but cannot be read at all is an error.
    pub fn list(&self) -> Result<Vec<Profile>, StoreError> {
        let loaded = self.scan()?;
        let active = self.active_name(&loaded, &self.read_active());
        Ok(loaded
            .into_iter()
            .map(|l| {
                let (needs_sign_in, usage) = l.state();
                Profile {
                    active: active.as_deref() == Some(l.name.as_str()),
                    needs_sign_in,
                    usage,
                    login: l.file.map(|(_, _, info)| info),
                    name: l.name,
                }
            })
            .collect())
    }

    /// Names of the usable ChatGPT profiles (the ones that have tokens to refresh).
    pub fn chatgpt_profiles(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|p| {
                p.login
                    .as_ref()
                    .is_ok_and(|i| i.auth_mode == crate::auth_file::AuthMode::ChatGpt)
            })
            .map(|p| p.name)
            .collect())
    }

    /// The active profile's name: the profile whose identity (account id and user) is the
    /// one of Codex's login, preferring `.current_profile` when several match.
    pub fn current(&self) -> Result<Option<String>, StoreError> {
        Ok(self.status()?.profile)
    }

    /// The active login and its profile.
    pub fn status(&self) -> Result<Status, StoreError> {
        let loaded = self.scan()?;
        let active = self.read_active();
        let profile = self.active_name(&loaded, &active);
        let state = profile
            .as_ref()
            .map(|name| ProfileState::load(&self.home.profiles_dir().join(name)))
            .unwrap_or_default();
        let needs_sign_in = match &active {
            ActiveFile::Login { file, .. } => file
                .tokens
                .as_ref()
                .and_then(|t| state.needs_sign_in_for(&t.refresh_token).cloned()),
            _ => None,
        };
        let login = match active {
            ActiveFile::Missing => None,
            ActiveFile::Unreadable(reason) | ActiveFile::Unusable(reason) => Some(Err(reason)),
            ActiveFile::Login { info, .. } => Some(Ok(info)),
        };
        Ok(Status {
            profile,
            login,
            needs_sign_in,
            usage: state.usage,
        })
    }

    /// Makes `name` active: first copies newer tokens from Codex's login (`auth.json` or its
    /// keyring entry, wherever a copy is kept) back into the profile(s) of the outgoing login
    /// (refresh tokens rotate, so a stale copy is a dead login), then writes the profile
    /// where Codex reads it, then `.current_profile`.
    ///
    /// A login that no profile holds is not discarded unless `force`. When Codex keeps its
    /// login in the keyring only and the keyring can't be used, nothing is switched.
    pub fn switch(&self, name: &str, force: bool) -> Result<SwitchOutcome, StoreError> {
        let name = ProfileName::new(name)?;
        let _lock = self.lock()?;
        let target_identity = {
            let (file, _, _) = self.load_usable(&name)?;
            file.identity()
        };
        let loaded = self.scan()?;
        let live = self.live().map_err(StoreError::Keyring)?;
        let previous = self.active_name(&loaded, live.active());
        let mut outcome = SwitchOutcome {
            name: name.to_string(),
            previous,
            synced_back: Vec::new(),
            warnings: Vec::new(),
        };
        // Per profile, the newest copy of its login among the places Codex keeps it (two
        // places can hold different generations: Codex once fell back to auth.json, then
        // rotated in the keyring). On equal age, the place Codex reads first wins.
        let mut newest: Vec<(&Loaded, &AuthFile, &[u8], Place)> = Vec::new();
        for held in &live.held {
            match &held.login {
                ActiveFile::Login { file, bytes, info } => {
                    let identity = file.identity();
                    let owners: Vec<&Loaded> = loaded
                        .iter()
                        .filter(|l| identity.is_some() && l.identity() == identity)
                        .collect();
                    if owners.is_empty() && identity != target_identity {
                        let who = describe(info);
                        if !force {
                            return Err(StoreError::UnsavedLogin(who));
                        }
                        outcome
                            .warnings
                            .push(format!("discarded the unsaved login {who}"));
                    }
                    for owner in owners {
                        match newest.iter_mut().find(|(o, ..)| o.name == owner.name) {
                            Some(best) if is_older(best.1, file) => {
                                *best = (owner, file, bytes, held.place);
                            }
                            Some(_) => {}
                            None => newest.push((owner, file, bytes, held.place)),
                        }
                    }
                }
                ActiveFile::Unreadable(reason) if held.write => outcome.warnings.push(format!(
                    "replaced {}, which could not be read ({reason})",
                    held.place.label()
                )),
                _ => {}
            }
        }
        for (owner, file, bytes, place) in newest {
            let Ok((stored, _, _)) = &owner.file else {
                continue;
            };
            if !stored.same_credentials(file) && !is_older(file, stored) {
                files::write_atomic(&owner.path, bytes)?;
                tracing::info!(profile = %owner.name, from = place.label(), "synced newer tokens back");
                outcome.synced_back.push(owner.name.clone());
            }
        }
        // Re-read the target: the sync-back may just have given it newer tokens.
        let (target, target_bytes, _) = self.load_usable(&name)?;
        if let Some(mark) = target.tokens.as_ref().and_then(|t| {
            ProfileState::load(&self.home.profile_dir(&name))
                .needs_sign_in_for(&t.refresh_token)
                .cloned()
        }) {
            outcome.warnings.push(format!(
                "'{name}' needs a new sign-in ({}); Codex will ask you to log in",
                mark.message
            ));
        }
        let places: Vec<Place> = live
            .held
            .iter()
            .filter(|h| h.write)
            .map(|h| h.place)
            .collect();
        self.write_live(
            &live,
            &places,
            &target,
            &target_bytes,
            &mut outcome.warnings,
        )?;
        self.write_current(Some(&name))?;
        if let Some(caveat) = live.mode.switch_caveat() {
            outcome.warnings.push(caveat);
        }
        Ok(outcome)
    }

    /// Saves Codex's login (`auth.json` or its keyring entry) as a new profile `name` and
    /// marks it active.
    pub fn save(&self, name: &str) -> Result<(), StoreError> {
        let name = ProfileName::new(name)?;
        let _lock = self.lock()?;
        let dir = self.home.profile_dir(&name);
        if dir.symlink_metadata().is_ok() {
            return Err(StoreError::Exists(name.to_string()));
        }
        let mut live = self.live().map_err(StoreError::Keyring)?;
        let (file, bytes) = match live.held.swap_remove(0).login {
            ActiveFile::Login { file, bytes, .. } => (file, bytes),
            ActiveFile::Missing if live.mode == CredentialStore::Keyring => {
                return Err(StoreError::NoLogin(
                    "Codex's keyring entry holds no login (sign in to Codex first)".into(),
                ));
            }
            ActiveFile::Missing => {
                return Err(StoreError::NoLogin(format!(
                    "{} does not exist (sign in first)",
                    self.home.auth_file().display()
                )));
            }
            ActiveFile::Unreadable(r) | ActiveFile::Unusable(r) => {
                return Err(StoreError::NoLogin(r));
            }
        };
        let identity = file.identity();
        if let Some(owner) = self
            .scan()?
            .into_iter()
            .find(|l| identity.is_some() && l.identity() == identity)
        {
            return Err(StoreError::AlreadySaved(owner.name));
        }
        self.create_profile(&name, &bytes)?;
        self.write_current(Some(&name))
    }

    /// Renames a profile (broken ones too, so they can be fixed).
    pub fn rename(&self, old: &str, new: &str) -> Result<(), StoreError> {
        let old = ProfileName::new(old)?;
        let new = ProfileName::new(new)?;
        let _lock = self.lock()?;
        let from = self.home.profile_dir(&old);
        let to = self.home.profile_dir(&new);
        if from.symlink_metadata().is_err() {
            return Err(StoreError::NotFound(old.to_string()));
        }
        if to.symlink_metadata().is_ok() {
            return Err(StoreError::Exists(new.to_string()));
        }
        fs::rename(&from, &to).map_err(|e| FileError::io(&from, e))?;
        files::sync_dir(&self.home.profiles_dir())?;
        if self.read_current_file().as_deref() == Some(old.as_str()) {
            self.write_current(Some(&new))?;
        }
        Ok(())
    }

    /// Removes a profile. `auth.json` is left alone, so removing the active profile keeps
    /// Codex signed in.
    pub fn remove(&self, name: &str) -> Result<(), StoreError> {
        let name = ProfileName::new(name)?;
        let _lock = self.lock()?;
        let dir = self.home.profile_dir(&name);
        if dir.symlink_metadata().is_err() {
            return Err(StoreError::NotFound(name.to_string()));
        }
        // Move it out of sight first, so a crash never leaves a half-deleted profile.
        let graveyard = self.home.profiles_dir().join(format!(
            "{TEMP_PREFIX}removed-{name}-{}",
            std::process::id()
        ));
        fs::rename(&dir, &graveyard).map_err(|e| FileError::io(&dir, e))?;
        files::sync_dir(&self.home.profiles_dir())?;
        if self.read_current_file().as_deref() == Some(name.as_str()) {
            self.write_current(None)?;
        }
        let removed = if graveyard.is_symlink() {
            fs::remove_file(&graveyard)
        } else {
            fs::remove_dir_all(&graveyard)
        };
        removed.map_err(|e| FileError::io(&graveyard, e))?;
        Ok(())
    }

    /// Checks that a new login may be stored as `name`: a valid name, and free unless `force`.
    /// Call it before a sign-in starts, so nobody signs in for nothing.
    pub fn ensure_available(&self, name: &str, force: bool) -> Result<ProfileName, StoreError> {
        let name = ProfileName::new(name)?;
        if !force && self.home.profile_dir(&name).symlink_metadata().is_ok() {
            return Err(StoreError::Exists(name.to_string()));
        }
        Ok(name)
    }

    /// Stores a new login as profile `name`, never touching `auth.json`. When a profile
    /// already holds the same identity (account id and user), that profile's credentials
    /// are updated instead of creating a twin. An existing different profile `name` is only
    /// replaced with `force`.
    pub fn store_login(
        &self,
        name: &str,
        file: &AuthFile,
        force: bool,
    ) -> Result<Stored, StoreError> {
        let name = ProfileName::new(name)?;
        let _lock = self.lock()?;
        let bytes = file.to_bytes();
        let identity = file.identity();
        if let Some(owner) = self
            .scan()?
            .into_iter()
            .find(|l| identity.is_some() && l.identity() == identity)
        {
            files::write_atomic(&owner.path, &bytes)?;
            return Ok(Stored::UpdatedExisting(owner.name));
        }
        if self.home.profile_dir(&name).symlink_metadata().is_ok() {
            if !force {
                return Err(StoreError::Exists(name.to_string()));
            }
            files::write_atomic(&self.home.profile_auth_file(&name), &bytes)?;
            return Ok(Stored::Replaced(name.to_string()));
        }
        self.create_profile(&name, &bytes)?;
        Ok(Stored::Created(name.to_string()))
    }

    /// Reads a usable profile's file (what a caller needs to use its credentials).
    pub fn load_profile(&self, name: &ProfileName) -> Result<AuthFile, StoreError> {
        self.load_usable(name).map(|(file, _, _)| file)
    }

    /// Reads a usable profile, first adopting Codex's login (`auth.json` or its keyring
    /// entry) when it is the same login with newer tokens (Codex may have refreshed it); the
    /// profile file is updated to match. When Codex's login can't be read (its keyring is
    /// unavailable) and `name` is the active profile, this fails rather than risk using a
    /// refresh token Codex has already rotated.
    pub fn adopt_newer(&self, name: &ProfileName) -> Result<AuthFile, StoreError> {
        let _lock = self.lock()?;
        let (stored, _, _) = self.load_usable(name)?;
        let live = match self.live() {
            Ok(live) => live,
            Err(e) if self.read_current_file().as_deref() == Some(name.as_str()) => {
                return Err(StoreError::Keyring(e));
            }
            Err(_) => return Ok(stored),
        };
        let mut newest: Option<(&AuthFile, &[u8], Place)> = None;
        for held in &live.held {
            if let ActiveFile::Login { file, bytes, .. } = &held.login
                && file.identity().is_some()
                && file.identity() == stored.identity()
                && !file.same_credentials(&stored)
                && !is_older(file, &stored)
                && newest.is_none_or(|(best, _, _)| !is_older(file, best))
            {
                newest = Some((file, bytes, held.place));
            }
        }
        if let Some((file, bytes, place)) = newest {
            files::write_atomic(&self.home.profile_auth_file(name), bytes)?;
            tracing::info!(profile = %name, from = place.label(), "adopted newer tokens");
            return Ok(file.clone());
        }
        Ok(stored)
    }

    /// Writes refreshed credentials of profile `name`: the profile file first, then every
    /// place of Codex's login (`auth.json`, its keyring entry) that holds the same login.
    /// Returns whether Codex's login was updated. The store lock is waited for, but the
    /// profile is written even if it cannot be had: a rotated refresh token must never be
    /// dropped.
    pub fn persist_refreshed(
        &self,
        name: &ProfileName,
        file: &AuthFile,
    ) -> Result<bool, StoreError> {
        let lock = self.lock();
        let bytes = file.to_bytes();
        files::write_atomic(&self.home.profile_auth_file(name), &bytes)?;
        let _guard = lock?;
        let live = self.live().map_err(StoreError::Keyring)?;
        let places: Vec<Place> = live
            .held
            .iter()
            .filter(|h| {
                h.login.file().is_some_and(|live| {
                    live.identity().is_some() && live.identity() == file.identity()
                })
            })
            .map(|h| h.place)
            .collect();
        let mut warnings = Vec::new();
        self.write_live(&live, &places, file, &bytes, &mut warnings)?;
        for warning in warnings {
            tracing::warn!("{warning}");
        }
        Ok(!places.is_empty())
    }

    /// Records usage figures of profile `name`. The file is only rewritten when the figures
    /// changed or the stored ones are over a minute old, so a busy proxy does not write on
    /// every answer. Returns whether anything was written.
    pub fn record_usage(&self, name: &ProfileName, usage: &Usage) -> Result<bool, StoreError> {
        let dir = self.home.profile_dir(name);
        if dir.symlink_metadata().is_err() {
            return Err(StoreError::NotFound(name.to_string()));
        }
        let _lock = self.lock()?;
        let mut state = ProfileState::load(&dir);
        let mut usage = usage.clone();
        if let Some(old) = &state.usage {
            if old.same_figures(&usage) && usage.updated_at - old.updated_at < 60 {
                return Ok(false);
            }
            // Headers carry no limit; keep a known limit until it has passed.
            if usage.limited_until.is_none() && old.is_limited(usage.updated_at) {
                usage.limited_until = old.limited_until;
            }
        }
        let at = usage.updated_at;
        state.usage = Some(usage);
        state.save(&dir)?;
        keep_in_history(&dir, state.usage.as_ref(), at);
        Ok(true)
    }

    /// Records that profile `name` is usage-limited until `until` (unix seconds, from a 429
    /// `usage_limit_reached`), keeping its other figures. Returns whether anything was
    /// written.
    pub fn record_limit(&self, name: &ProfileName, until: i64) -> Result<bool, StoreError> {
        let dir = self.home.profile_dir(name);
        if dir.symlink_metadata().is_err() {
            return Err(StoreError::NotFound(name.to_string()));
        }
        let _lock = self.lock()?;
        let mut state = ProfileState::load(&dir);
        let usage = state.usage.get_or_insert_with(|| Usage {
            plan: None,
            primary: None,
            secondary: None,
            credits: None,
            limited_until: None,
            updated_at: chrono::Utc::now().timestamp(),
        });
        if usage.limited_until == Some(until) {
            return Ok(false);
        }
        usage.limited_until = Some(until);
        state.save(&dir)?;
        keep_in_history(&dir, state.usage.as_ref(), chrono::Utc::now().timestamp());
        Ok(true)
    }

    /// The usage history of profile `name`, oldest first ([`history::read`]: damaged lines
    /// skipped with a warning).
    pub fn usage_history(&self, name: &ProfileName) -> Result<Vec<Sample>, StoreError> {
        let dir = self.home.profile_dir(name);
        if dir.symlink_metadata().is_err() {
            return Err(StoreError::NotFound(name.to_string()));
        }
        Ok(history::read(&dir))
    }

    /// Records (or clears, with `None`) that profile `name` needs a new sign-in.
    pub fn set_needs_sign_in(
        &self,
        name: &ProfileName,
        mark: Option<SignInNeeded>,
    ) -> Result<(), StoreError> {
        let _lock = self.lock()?;
        let dir = self.home.profile_dir(name);
        let mut state = ProfileState::load(&dir);
        if state.needs_sign_in != mark {
            state.needs_sign_in = mark;
            state.save(&dir)?;
        }
        Ok(())
    }

    /// Takes the store lock and clears temp files a killed router process left behind.
    fn lock(&self) -> Result<FileLock, StoreError> {
        let lock = FileLock::exclusive(&self.home.store_lock())?;
        files::sweep_stale_temps(self.home.root());
        files::sweep_stale_temps(&self.home.profiles_dir());
        Ok(lock)
    }

    /// Creates `profiles/<name>/auth.json` in one step: the folder is built under a temp
    /// name and renamed into place, so no half-made profile is ever visible.
    fn create_profile(&self, name: &ProfileName, bytes: &[u8]) -> Result<(), StoreError> {
        let profiles = self.home.profiles_dir();
        files::ensure_dir(&profiles)?;
        let staging = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir_in(&profiles)
            .map_err(|e| FileError::io(&profiles, e))?;
        files::write_atomic(&staging.path().join("auth.json"), bytes)?;
        let target = self.home.profile_dir(name);
        fs::rename(staging.path(), &target).map_err(|e| FileError::io(&target, e))?;
        // The staging folder is now the profile; nothing is left for the guard to delete.
        let _ = staging.keep();
        files::sync_dir(&profiles)?;
        Ok(())
    }

    /// Reads every folder of `profiles/` (temp entries skipped), sorted by name.
    fn scan(&self) -> Result<Vec<Loaded>, StoreError> {
        let dir = self.home.profiles_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(FileError::io(&dir, e).into()),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| FileError::io(&dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            // Plain files in profiles/ are not profiles; folders and symlinks are.
            let is_candidate = entry
                .file_type()
                .is_ok_and(|t| t.is_dir() || t.is_symlink());
            if !is_candidate {
                continue;
            }
            let file = match ProfileName::new(&name) {
                Ok(valid) => self.load_entry(&valid),
                Err(e) => Err(e.to_string()),
            };
            out.push(Loaded {
                path: path.join("auth.json"),
                name,
                file,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Reads one profile, refusing a folder or file that leads out of `profiles/`.
    fn load_entry(&self, name: &ProfileName) -> Result<(AuthFile, Vec<u8>, LoginInfo), String> {
        let profiles = self.home.profiles_dir();
        let path = self.home.profile_auth_file(name);
        let root = profiles.canonicalize().map_err(|e| e.to_string())?;
        for p in [self.home.profile_dir(name), path.clone()] {
            match p.canonicalize() {
                Ok(real) if !real.starts_with(&root) => {
                    return Err(format!(
                        "{} is a symlink out of profiles/; refusing to use it",
                        p.display()
                    ));
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(if p == path {
                        "no auth.json in this profile".into()
                    } else {
                        "broken symlink".into()
                    });
                }
                Err(e) => return Err(format!("{}: {e}", p.display())),
            }
        }
        let (file, bytes) = AuthFile::load_raw(&path).map_err(|e| e.to_string())?;
        let info = file.inspect()?;
        Ok((file, bytes, info))
    }

    /// Reads a profile that must exist and be usable.
    fn load_usable(
        &self,
        name: &ProfileName,
    ) -> Result<(AuthFile, Vec<u8>, LoginInfo), StoreError> {
        if self.home.profile_dir(name).symlink_metadata().is_err() {
            return Err(StoreError::NotFound(name.to_string()));
        }
        self.load_entry(name)
            .map_err(|reason| StoreError::Unusable {
                name: name.to_string(),
                reason,
            })
    }

    /// Which profile Codex's login belongs to.
    fn active_name(&self, loaded: &[Loaded], active: &ActiveFile) -> Option<String> {
        let recorded = self.read_current_file();
        match active {
            ActiveFile::Login { file, .. } => {
                let identity = file.identity()?;
                let owners: Vec<&str> = loaded
                    .iter()
                    .filter(|l| l.identity().as_ref() == Some(&identity))
                    .map(|l| l.name.as_str())
                    .collect();
                recorded
                    .filter(|r| owners.contains(&r.as_str()))
                    .or_else(|| owners.first().map(|s| s.to_string()))
            }
            // Codex may be half-way through rewriting auth.json, or its keyring is locked:
            // trust the record.
            ActiveFile::Unreadable(_) => recorded.filter(|r| loaded.iter().any(|l| &l.name == r)),
            ActiveFile::Missing | ActiveFile::Unusable(_) => None,
        }
    }

    fn read_current_file(&self) -> Option<String> {
        let bytes = files::read_bounded(&self.home.current_file()).ok()?;
        let name = String::from_utf8(bytes).ok()?;
        ProfileName::new(name.trim()).ok().map(|n| n.to_string())
    }

    fn write_current(&self, name: Option<&ProfileName>) -> Result<(), StoreError> {
        let path = self.home.current_file();
        match name {
            Some(name) => files::write_atomic(&path, format!("{name}\n").as_bytes())?,
            None => match fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(FileError::io(&path, e).into());
                }
                _ => {}
            },
        }
        Ok(())
    }
}

/// Appends the figures just recorded in the profile folder `dir` to its usage history, as
/// known at `at` (unix seconds). The history is a record beside the figures: a failure to
/// write it is logged, not returned.
fn keep_in_history(dir: &std::path::Path, usage: Option<&Usage>, at: i64) {
    let Some(usage) = usage else { return };
    let sample = Sample {
        at,
        ..Sample::of(usage)
    };
    if let Err(e) = history::append(dir, &sample) {
        tracing::warn!(error = %e, "usage history not written");
    }
}

/// Whether `live` is strictly older than `stored` (then it must not overwrite it).
fn is_older(live: &AuthFile, stored: &AuthFile) -> bool {
    matches!((live.freshness(), stored.freshness()), (Some(l), Some(s)) if l < s)
}

/// "alice@example.com", else the account id, else the mode.
fn describe(info: &LoginInfo) -> String {
    info.email
        .clone()
        .or_else(|| info.account_id.clone())
        .unwrap_or_else(|| info.auth_mode.label().to_owned())
}
