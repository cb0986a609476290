//! A model request sent with failover: on a usage limit, the next eligible account takes it
//! before anything of the answer reached the client, and the switch is announced.

use super::Accounts;
use super::failover_settings::known_limit;
use super::limits::{LimitHit, all_limited};
use crate::auth_file::AuthMode;
use crate::events::RouterEvent;
use crate::proxy::errors::ProxyError;
use crate::proxy::upstream::{read_error, strip_reasoning_items};
use crate::settings::FailoverSettings;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::Value;

/// What a model request to the ChatGPT backend came back with.
pub(crate) enum Answer {
    /// The upstream's successful answer, to relay.
    Upstream(reqwest::Response),
    /// An error answer, already the client's response: a usage limit, or the backend's
    /// refusal in OpenAI's shape with its status.
    Refused(Response),
}

impl Accounts {
    /// Sends a model request (`POST`) with `profile`'s credentials. A 429
    /// `usage_limit_reached` records the limit; with `failover` (and failover on in the
    /// settings) the request then goes to the next eligible profile, `profile` becomes the
    /// one that served it, and reasoning items of the first account are dropped from
    /// `body`. When the backend refuses encrypted reasoning of another account (the history
    /// of a conversation that began before a switch), those items are dropped and the
    /// request sent once more, so a switch never breaks a running session. Nothing has
    /// reached the client yet at this point.
    /// With failover on, a profile already known to be limited is skipped without a request
    /// while another account can serve.
    pub(crate) async fn send_model(
        &self,
        profile: &mut String,
        failover: bool,
        url: &str,
        headers: &HeaderMap,
        body: &mut Value,
        accept: &'static str,
    ) -> Result<Answer, ProxyError> {
        let settings = self.failover.current();
        let failover = failover && settings.enabled;
        let first = profile.clone();
        let mut tried: Vec<String> = Vec::new();
        let mut resets: Vec<i64> = Vec::new();
        let mut last: Option<LimitHit> = None;
        // Whether `first` was passed over unasked (known limited): it gets the request
        // after all when no other account can take it.
        let mut first_skipped = false;
        if failover && let Some((next, until)) = self.instead_of_limited(&settings, profile).await {
            tracing::info!(from = %profile, to = %next, resets_at = until, "usage limit known; sending the request to the next account");
            strip_reasoning_items(body);
            tried.push(first.clone());
            resets.push(until);
            first_skipped = true;
            *profile = next;
        }
        let mut bytes = Bytes::from(body.to_string());
        let mut foreign_reasoning_dropped = false;
        loop {
            let sent = self
                .send_chatgpt(
                    profile,
                    Method::POST,
                    url,
                    headers,
                    Some(bytes.clone()),
                    accept,
                )
                .await;
            match sent {
                Err(e) if *profile == first => return Err(e),
                Err(e) => {
                    tracing::warn!(profile = %profile, error = %e, "failover: this account can't be used; trying the next");
                }
                Ok(resp) if resp.status() != reqwest::StatusCode::TOO_MANY_REQUESTS => {
                    let answer = if resp.status().is_success() {
                        Answer::Upstream(resp)
                    } else {
                        let failure = read_error(resp, self.upstream.idle()).await;
                        if !foreign_reasoning_dropped
                            && failure.is_foreign_reasoning()
                            && strip_reasoning_items(body)
                        {
                            tracing::info!(profile = %profile, "dropped reasoning items of another account from the history");
                            foreign_reasoning_dropped = true;
                            bytes = Bytes::from(body.to_string());
                            continue;
                        }
                        Answer::Refused(failure.into_response())
                    };
                    if *profile != first {
                        self.failed_over(&settings, &first, profile, resets.first().copied())
                            .await;
                    }
                    return Ok(answer);
                }
                Ok(resp) => {
                    let hit = match self.read_limit(profile, resp).await {
                        Ok(hit) => hit,
                        Err(other) => return Ok(Answer::Refused(other)),
                    };
                    if !failover {
                        return Ok(Answer::Refused(hit.failure.into_response()));
                    }
                    resets.push(hit.resets_at);
                    last = Some(hit);
                }
            }
            tried.push(profile.clone());
            let (next, known) = self.next_candidate(&settings, &tried).await;
            match (next, last.take()) {
                (Some(next), hit) => {
                    last = hit;
                    if strip_reasoning_items(body) {
                        bytes = Bytes::from(body.to_string());
                    }
                    tracing::info!(from = %profile, to = %next, "usage limit reached; trying the request on the next account");
                    *profile = next;
                }
                (None, Some(hit)) => {
                    resets.extend(known);
                    let earliest = resets.iter().copied().min().unwrap_or(hit.resets_at);
                    tracing::warn!(
                        accounts = tried.len(),
                        resets_at = earliest,
                        "usage limit reached on every account"
                    );
                    return Ok(Answer::Refused(all_limited(hit, earliest)));
                }
                (None, None) if first_skipped => {
                    tracing::info!(profile = %first, "no other account can serve; trying the limited one");
                    first_skipped = false;
                    *profile = first.clone();
                }
                (None, None) => {
                    return Err(ProxyError::NoActiveProfile(
                        "no account can serve this request".into(),
                    ));
                }
            }
        }
    }

    /// The profile that would serve a model request for `profile` now: with `failover` (and
    /// failover on in the settings), a profile known to be limited gives way to the next
    /// eligible account, as [`Accounts::send_model`] would do; else `profile` itself.
    pub(crate) async fn serving(&self, profile: &str, failover: bool) -> String {
        let settings = self.failover.current();
        if failover
            && settings.enabled
            && let Some((next, _)) = self.instead_of_limited(&settings, profile).await
        {
            return next;
        }
        profile.to_owned()
    }

    /// When `profile` is known to be limited and another account can serve: that account
    /// (the next eligible one), and when `profile`'s limit resets. Callers check that
    /// failover is on.
    pub(super) async fn instead_of_limited(
        &self,
        settings: &FailoverSettings,
        profile: &str,
    ) -> Option<(String, i64)> {
        let until = known_limit(&self.home, profile)?;
        let (next, _) = self.next_candidate(settings, &[profile.to_owned()]).await;
        Some((next?, until))
    }

    /// The next profile to fail over to (ChatGPT, usable, not needing sign-in, not known to
    /// be limited, not tried yet; the configured order first, then by name), and the reset
    /// times of the eligible profiles known to be limited.
    pub(super) async fn next_candidate(
        &self,
        settings: &FailoverSettings,
        tried: &[String],
    ) -> (Option<String>, Vec<i64>) {
        let store = self.store.clone();
        let Ok(Ok(profiles)) = tokio::task::spawn_blocking(move || store.list()).await else {
            return (None, Vec::new());
        };
        let now = chrono::Utc::now().timestamp();
        let mut eligible = Vec::new();
        let mut known = Vec::new();
        for p in profiles {
            let chatgpt = p
                .login
                .as_ref()
                .is_ok_and(|i| i.auth_mode == AuthMode::ChatGpt);
            if !chatgpt || p.needs_sign_in.is_some() || tried.contains(&p.name) {
                continue;
            }
            match p.usage.as_ref().filter(|u| u.is_limited(now)) {
                Some(u) => known.extend(u.limited_until),
                None => eligible.push(p.name),
            }
        }
        let rank = |name: &String| {
            settings
                .order
                .iter()
                .position(|o| o == name)
                .unwrap_or(usize::MAX)
        };
        // `list` is sorted by name and the sort is stable: unlisted profiles stay in name order.
        eligible.sort_by_key(rank);
        (eligible.into_iter().next(), known)
    }

    /// After `to` served a request `from` could not: logs it, announces it and, as the
    /// settings say, makes `to` the active profile (unless someone switched meanwhile).
    pub(super) async fn failed_over(
        &self,
        settings: &FailoverSettings,
        from: &str,
        to: &str,
        resets_at: Option<i64>,
    ) {
        let mut switched = false;
        if settings.follow_active {
            let store = self.store.clone();
            let (from_name, to_name) = (from.to_owned(), to.to_owned());
            let outcome = tokio::task::spawn_blocking(move || {
                if store.current()?.as_deref() != Some(from_name.as_str()) {
                    return Ok(false);
                }
                store.switch(&to_name, false).map(|_| true)
            })
            .await;
            match outcome {
                Ok(Ok(s)) => switched = s,
                Ok(Err(e)) => {
                    tracing::warn!(profile = %to, error = %e, "failover: the active profile stays; only the proxy uses the other account");
                }
                Err(e) => tracing::warn!(error = %e, "failover: switch failed"),
            }
        }
        tracing::info!(
            %from,
            %to,
            resets_at = resets_at.unwrap_or_default(),
            active_switched = switched,
            "failed over: usage limit reached"
        );
        if let Some(bus) = &self.events {
            bus.emit(RouterEvent::FailedOver {
                from: from.to_owned(),
                to: to.to_owned(),
                resets_at,
            });
        }
    }
}
