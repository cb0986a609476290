//! Codex's WebSocket mode on the account side: the upstream socket opened with the serving
//! profile's fresh credentials (a 401 refreshes once, as for HTTP), the handshake's usage
//! figures recorded, and what failover and a switch of the active profile mean for a socket.

use super::{Accounts, Active};
use crate::proxy::errors::ProxyError;
use crate::proxy::upstream::websocket::{self, Handshake, UpstreamSocket};
use crate::proxy::upstream::{Upstream, UpstreamFailure};
use crate::secret::Secret;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

/// A socket open to the backend, and the headers its handshake answered with.
pub(crate) struct OpenSocket {
    /// The socket.
    pub(crate) socket: Box<UpstreamSocket>,
    /// The handshake's response headers (for the client's `101`).
    pub(crate) headers: HeaderMap,
}

/// How opening a socket for a client ended.
pub(crate) enum Opened {
    /// Open, served by this profile.
    Open(OpenSocket),
    /// The backend refused the handshake: its answer goes to the client.
    Refused(UpstreamFailure),
}

/// Why a socket's response that met a usage limit stays where it is.
pub(crate) enum NoFailover {
    /// Failover is off.
    Off,
    /// Every other account is limited or unusable: the earliest reset known among them
    /// and the limit just met.
    EveryAccountLimited(i64),
}

impl Accounts {
    /// Opens the upstream socket for a client's handshake served by `active`: a ChatGPT
    /// profile's to `{chatgpt_base_url}/responses`, an API-key profile's to
    /// `{openai_base_url}/responses`. With `failover` (and failover on), a ChatGPT profile
    /// known to be limited is passed over for the next eligible one, as for HTTP; `profile`
    /// names the one serving.
    pub(crate) async fn open_socket(
        &self,
        active: &Active,
        profile: &mut String,
        failover: bool,
        incoming: &HeaderMap,
    ) -> Result<Opened, ProxyError> {
        let key = match active {
            Active::ApiKey { key, .. } => key,
            Active::ChatGpt { .. } => {
                let settings = self.failover.current();
                let mut skipped = None;
                if failover
                    && settings.enabled
                    && let Some((next, until)) = self.instead_of_limited(&settings, profile).await
                {
                    tracing::info!(from = %profile, to = %next, resets_at = until, "usage limit known; opening the socket for the next account");
                    skipped = Some((std::mem::replace(profile, next), until));
                }
                let opened = self.open_chatgpt_socket(profile, incoming).await?;
                if let (Some((from, until)), Opened::Open(_)) = (skipped, &opened) {
                    self.failed_over(&settings, &from, profile, Some(until))
                        .await;
                }
                return Ok(opened);
            }
        };
        let url = websocket::websocket_url(&self.upstream.openai_url("/responses"));
        let headers = Upstream::api_key_headers(key, incoming);
        Ok(self.handshake(&url, headers).await?.into())
    }

    /// Opens a socket to the ChatGPT backend with `name`'s fresh credentials; on a 401,
    /// refreshes (unless someone already did) and tries once more. The handshake's usage
    /// figures are recorded for `name`.
    pub(crate) async fn open_chatgpt_socket(
        &self,
        name: &str,
        incoming: &HeaderMap,
    ) -> Result<Opened, ProxyError> {
        let url = websocket::websocket_url(&self.upstream.chatgpt_responses_url());
        let fresh = self.credentials(name).await?;
        let headers =
            self.socket_headers(&fresh.access_token, fresh.account_id.as_deref(), incoming);
        let first = self.handshake(&url, headers).await?;
        let refused_401 =
            matches!(&first, Handshake::Refused(f) if f.status == StatusCode::UNAUTHORIZED);
        if !refused_401 {
            return Ok(self.recorded(name, first));
        }
        self.forget_credentials(name);
        tracing::info!(profile = %name, "upstream refused the socket with 401; refreshing the token once");
        let fresh = self
            .refresher
            .refresh_if_current(name, &fresh.access_token)
            .await
            .map_err(super::credentials::refresh_error)?;
        let headers =
            self.socket_headers(&fresh.access_token, fresh.account_id.as_deref(), incoming);
        let again = self.handshake(&url, headers).await?;
        Ok(self.recorded(name, again))
    }

    fn socket_headers(
        &self,
        token: &Secret,
        account_id: Option<&str>,
        incoming: &HeaderMap,
    ) -> HeaderMap {
        self.upstream
            .chatgpt_socket_headers(token, account_id, incoming)
    }

    async fn handshake(&self, url: &str, headers: HeaderMap) -> Result<Handshake, ProxyError> {
        let (idle, max) = (self.upstream.idle(), self.socket_message_limit);
        websocket::connect(&self.network, url, headers, idle, max).await
    }

    /// Records the usage figures of a handshake's answer for `name`.
    fn recorded(&self, name: &str, handshake: Handshake) -> Opened {
        match &handshake {
            Handshake::Open(_, headers) => self.record_usage(name, headers),
            Handshake::Refused(f) => self.record_usage(name, &f.headers),
        }
        handshake.into()
    }

    /// The figures of a `codex.rate_limits` event of a socket served by `profile`.
    pub(crate) fn record_usage_event(&self, profile: &str, event: &Value) {
        crate::usage::recording::record_event(&self.store, &self.usage_bus, profile, event);
    }

    /// After a socket's response met a usage limit on every profile of `tried` (the last
    /// one serving): the next eligible account's socket, when failover is on and one can
    /// take it; the failover is announced as for HTTP.
    pub(crate) async fn socket_failover(
        &self,
        tried: &[String],
        resets_at: i64,
        incoming: &HeaderMap,
    ) -> Result<(String, OpenSocket), NoFailover> {
        let settings = self.failover.current();
        if !settings.enabled {
            return Err(NoFailover::Off);
        }
        let mut tried = tried.to_vec();
        loop {
            let (next, known) = self.next_candidate(&settings, &tried).await;
            let Some(next) = next else {
                let earliest = known.into_iter().chain([resets_at]).min();
                return Err(NoFailover::EveryAccountLimited(
                    earliest.unwrap_or(resets_at),
                ));
            };
            match self.open_chatgpt_socket(&next, incoming).await {
                Ok(Opened::Open(open)) => {
                    let first = tried.first().map(String::as_str).unwrap_or_default();
                    self.failed_over(&settings, first, &next, Some(resets_at))
                        .await;
                    return Ok((next, open));
                }
                Ok(Opened::Refused(f)) => {
                    tracing::warn!(profile = %next, status = %f.status, "failover: this account's socket was refused; trying the next");
                }
                Err(e) => {
                    tracing::warn!(profile = %next, error = %e, "failover: this account can't be used; trying the next");
                }
            }
            tried.push(next);
        }
    }

    /// The profile a new socket of an unpinned client would be served by now: the active
    /// one or, with failover on, the next eligible account while the active one is known
    /// to be limited. The active profile is taken as it is when it is `serving` and
    /// `serving_limited` is false (the common case, no file read). `None` when there is no
    /// usable active profile.
    pub(crate) async fn would_serve(&self, serving: &str, serving_limited: bool) -> Option<String> {
        let active = self.resolve(None).await.ok()?;
        let name = active.name();
        if name == serving && !serving_limited {
            return Some(name.to_owned());
        }
        let settings = self.failover.current();
        if settings.enabled
            && matches!(active.as_ref(), Active::ChatGpt { .. })
            && let Some((next, _)) = self.instead_of_limited(&settings, name).await
        {
            return Some(next);
        }
        Some(name.to_owned())
    }
}

impl From<Handshake> for Opened {
    fn from(h: Handshake) -> Self {
        match h {
            Handshake::Open(socket, headers) => Self::Open(OpenSocket { socket, headers }),
            Handshake::Refused(f) => Self::Refused(f),
        }
    }
}
