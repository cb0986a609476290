//! Which profile a request is served with: the one pinned by `/p/<name>/v1`, or the active
//! one, cached until `auth.json` or `.current_profile` changes on disk.

use super::Accounts;
use crate::auth_file::{AuthFile, AuthMode};
use crate::home::{CodexHome, ProfileName};
use crate::proxy::errors::ProxyError;
use crate::proxy::file_stamp::{Stamp, stamp};
use crate::secret::Secret;
use crate::store::{Store, StoreError};
use std::sync::{Arc, Mutex};

/// The profile a request is served with.
#[derive(Debug, Clone)]
pub(crate) enum Active {
    /// A ChatGPT login: requests go to the ChatGPT backend with its fresh token.
    ChatGpt {
        /// The profile's name.
        name: String,
    },
    /// An API key: requests go to the OpenAI API as they came, with the key.
    ApiKey {
        /// The profile's name.
        name: String,
        /// Its key.
        key: Secret,
    },
}

impl Active {
    /// The profile's name.
    pub(crate) fn name(&self) -> &str {
        match self {
            Self::ChatGpt { name } | Self::ApiKey { name, .. } => name,
        }
    }
}

/// Stamps of the two files a cached value was read from.
pub(super) type Stamps = (Stamp, Stamp);

/// The active profile, re-resolved only when `auth.json` or `.current_profile` changed.
#[derive(Default)]
pub(super) struct ActiveCache {
    entry: Mutex<Option<(Stamps, Arc<Active>)>>,
}

impl Accounts {
    /// The profile for a request: `pinned` when given (`/p/<name>/v1`), else the active one.
    pub(crate) async fn resolve(&self, pinned: Option<&str>) -> Result<Arc<Active>, ProxyError> {
        if let Some(name) = pinned {
            return self.resolve_named(name).await;
        }
        let key = (
            stamp(&self.home.auth_file()),
            stamp(&self.home.current_file()),
        );
        if let Ok(guard) = self.active.entry.lock()
            && let Some((k, active)) = guard.as_ref()
            && *k == key
        {
            return Ok(active.clone());
        }
        let store = self.store.clone();
        let home = self.home.clone();
        let active = tokio::task::spawn_blocking(move || resolve_active(&store, &home))
            .await
            .map_err(|e| ProxyError::NoActiveProfile(format!("internal error: {e}")))??;
        let active = Arc::new(active);
        if let Ok(mut guard) = self.active.entry.lock() {
            *guard = Some((key, active.clone()));
        }
        Ok(active)
    }

    async fn resolve_named(&self, name: &str) -> Result<Arc<Active>, ProxyError> {
        let profile = ProfileName::new(name)
            .map_err(|_| ProxyError::NotFound(format!("no profile named '{name}'")))?;
        let path = self.home.profile_auth_file(&profile);
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || {
            let file = match AuthFile::load(&path) {
                Ok(f) => f,
                Err(e) if e.is_not_found() => {
                    return Err(ProxyError::NotFound(format!("no profile named '{name}'")));
                }
                Err(e) => {
                    return Err(ProxyError::ProfileUnusable {
                        name,
                        reason: e.to_string(),
                    });
                }
            };
            active_from(name, &file)
        })
        .await
        .map_err(|e| ProxyError::NoActiveProfile(format!("internal error: {e}")))?
        .map(Arc::new)
    }
}

/// Which profile holds Codex's active login, and how to use it.
fn resolve_active(store: &Store, home: &CodexHome) -> Result<Active, ProxyError> {
    let status = store
        .status()
        .map_err(|e| ProxyError::NoActiveProfile(format!("cannot read the profiles: {e}")))?;
    let auth = home.auth_file();
    match (&status.profile, &status.login) {
        (_, None) => Err(ProxyError::NoActiveProfile(format!(
            "no active profile: {} does not exist; sign in with `codex-router login NAME` or switch to a profile with `codex-router switch NAME`",
            auth.display()
        ))),
        (None, Some(Err(reason))) => Err(ProxyError::NoActiveProfile(format!(
            "no active profile: {} can't be used ({reason}); run `codex-router switch NAME`",
            auth.display()
        ))),
        (None, Some(Ok(_))) => Err(ProxyError::NoActiveProfile(
            "no active profile: the login in auth.json is not saved as a profile; run `codex-router save NAME` (or `codex-router switch NAME`)".into(),
        )),
        (Some(name), Some(Err(reason))) => Err(ProxyError::ProfileUnusable {
            name: name.clone(),
            reason: reason.clone(),
        }),
        // The profile holds the same login (same identity), wherever Codex keeps its copy
        // (`auth.json` or the OS keyring).
        (Some(name), Some(Ok(_))) => {
            let file = ProfileName::new(name)
                .map_err(StoreError::from)
                .and_then(|p| store.load_profile(&p))
                .map_err(|e| ProxyError::ProfileUnusable {
                    name: name.clone(),
                    reason: e.to_string(),
                })?;
            active_from(name.clone(), &file)
        }
    }
}

fn active_from(name: String, file: &AuthFile) -> Result<Active, ProxyError> {
    match file.mode() {
        AuthMode::ChatGpt => Ok(Active::ChatGpt { name }),
        AuthMode::ApiKey => match &file.openai_api_key {
            Some(key) if !key.is_empty() => Ok(Active::ApiKey {
                name,
                key: key.clone(),
            }),
            _ => Err(ProxyError::ProfileUnusable {
                name,
                reason: "it holds no API key".into(),
            }),
        },
        #[allow(unreachable_patterns)]
        _ => Err(ProxyError::ProfileUnusable {
            name,
            reason: "its auth mode is not supported".into(),
        }),
    }
}
