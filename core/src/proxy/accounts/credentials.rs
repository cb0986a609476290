//! A ChatGPT profile's fresh credentials, and sending to the backend with them.

use super::Accounts;
use super::active::Stamps;
use crate::home::ProfileName;
use crate::proxy::errors::ProxyError;
use crate::proxy::file_stamp::stamp;
use crate::refresh::{Fresh, RefreshError};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method};
use std::collections::HashMap;
use std::sync::Mutex;

/// Credentials of one profile, valid while its files are unchanged and the token is fresh.
#[derive(Default)]
pub(super) struct CredsCache(Mutex<HashMap<String, (Stamps, Fresh)>>);

impl Accounts {
    /// Fresh credentials of ChatGPT profile `name`, from the cache while its files are
    /// unchanged and the token is not about to expire.
    pub(super) async fn credentials(&self, name: &str) -> Result<Fresh, ProxyError> {
        let key = match ProfileName::new(name) {
            Ok(p) => (
                stamp(&self.home.auth_file()),
                stamp(&self.home.profile_auth_file(&p)),
            ),
            Err(e) => {
                return Err(ProxyError::ProfileUnusable {
                    name: name.to_owned(),
                    reason: e.to_string(),
                });
            }
        };
        let margin = chrono::TimeDelta::from_std(self.refresh_margin).unwrap_or_default();
        if let Ok(cache) = self.creds.0.lock()
            && let Some((k, fresh)) = cache.get(name)
            && *k == key
            && fresh
                .expires_at
                .is_none_or(|exp| exp > chrono::Utc::now() + margin)
        {
            return Ok(fresh.clone());
        }
        let fresh = self
            .refresher
            .ensure_fresh(name, self.refresh_margin)
            .await
            .map_err(refresh_error)?;
        if !fresh.refreshed
            && let Ok(mut cache) = self.creds.0.lock()
        {
            cache.insert(name.to_owned(), (key, fresh.clone()));
        }
        Ok(fresh)
    }

    pub(super) fn forget_credentials(&self, name: &str) {
        if let Ok(mut cache) = self.creds.0.lock() {
            cache.remove(name);
        }
    }

    /// Sends a request to the ChatGPT backend with `name`'s credentials; on a 401, refreshes
    /// (unless someone already did) and tries once more.
    pub(crate) async fn send_chatgpt(
        &self,
        name: &str,
        method: Method,
        url: &str,
        incoming: &HeaderMap,
        body: Option<Bytes>,
        accept: &'static str,
    ) -> Result<reqwest::Response, ProxyError> {
        self.send_with(name, method, url, body, |fresh| {
            self.upstream.chatgpt_headers(
                &fresh.access_token,
                fresh.account_id.as_deref(),
                incoming,
                accept,
            )
        })
        .await
    }

    /// Sends one of Codex's own backend calls (`/backend-api/…`) with `name`'s credentials
    /// and the client's other headers ([`crate::proxy::upstream::Upstream::backend_headers`]); on a 401, refreshes
    /// once as [`Accounts::send_chatgpt`] does.
    pub(crate) async fn send_backend(
        &self,
        name: &str,
        method: Method,
        url: &str,
        incoming: &HeaderMap,
        body: Option<Bytes>,
    ) -> Result<reqwest::Response, ProxyError> {
        self.send_with(name, method, url, body, |fresh| {
            self.upstream.backend_headers(
                &fresh.access_token,
                fresh.account_id.as_deref(),
                incoming,
            )
        })
        .await
    }

    /// Sends with `name`'s fresh credentials in the headers `headers` builds from them; a
    /// 401 refreshes the token (unless someone already did) and sends once more.
    async fn send_with(
        &self,
        name: &str,
        method: Method,
        url: &str,
        body: Option<Bytes>,
        headers: impl Fn(&Fresh) -> HeaderMap,
    ) -> Result<reqwest::Response, ProxyError> {
        let fresh = self.credentials(name).await?;
        let resp = self
            .upstream
            .send(method.clone(), url, headers(&fresh), body.clone())
            .await?;
        if resp.status() != reqwest::StatusCode::UNAUTHORIZED {
            self.record_usage(name, resp.headers());
            return Ok(resp);
        }
        drop(resp);
        self.forget_credentials(name);
        tracing::info!(profile = %name, "upstream answered 401; refreshing the token once");
        let fresh = self
            .refresher
            .refresh_if_current(name, &fresh.access_token)
            .await
            .map_err(refresh_error)?;
        let resp = self
            .upstream
            .send(method, url, headers(&fresh), body)
            .await?;
        self.record_usage(name, resp.headers());
        Ok(resp)
    }
}

pub(super) fn refresh_error(e: RefreshError) -> ProxyError {
    match e {
        RefreshError::NeedsSignIn { name, message, .. } => {
            ProxyError::NeedsSignIn { name, message }
        }
        RefreshError::Unavailable { name, detail } => {
            ProxyError::RefreshUnavailable { name, detail }
        }
        RefreshError::NotChatGpt(name) => ProxyError::ProfileUnusable {
            name,
            reason: "it is not a ChatGPT login".into(),
        },
        RefreshError::Store(e) => ProxyError::NoActiveProfile(e.to_string()),
    }
}
