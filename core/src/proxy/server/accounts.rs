//! Which account serves a request and with what: the active or pinned profile (cached on
//! file stamps), its fresh credentials, sending to the ChatGPT backend with them (a 401
//! refreshes once), and failover to the next account on a usage limit.

use super::*;

impl AppState {
    /// The profile for this request: `name` when given (`/p/<name>/v1`), else the active one.
    pub(super) async fn resolve(&self, name: Option<&str>) -> Result<Arc<Active>, ProxyError> {
        if let Some(name) = name {
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

    /// Fresh credentials of ChatGPT profile `name`, from the cache while its files are
    /// unchanged and the token is not about to expire.
    async fn credentials(&self, name: &str) -> Result<Fresh, ProxyError> {
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
        if let Ok(cache) = self.creds.lock()
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
            && let Ok(mut cache) = self.creds.lock()
        {
            cache.insert(name.to_owned(), (key, fresh.clone()));
        }
        Ok(fresh)
    }

    fn forget_credentials(&self, name: &str) {
        if let Ok(mut cache) = self.creds.lock() {
            cache.remove(name);
        }
    }

    /// Sends a request to the ChatGPT backend with `name`'s credentials; on a 401, refreshes
    /// (unless someone already did) and tries once more.
    pub(super) async fn send_chatgpt(
        &self,
        name: &str,
        method: Method,
        url: &str,
        incoming: &HeaderMap,
        body: Option<Bytes>,
        accept: &'static str,
    ) -> Result<reqwest::Response, ProxyError> {
        let fresh = self.credentials(name).await?;
        let headers = self.upstream.chatgpt_headers(
            &fresh.access_token,
            fresh.account_id.as_deref(),
            incoming,
            accept,
        );
        let resp = self
            .upstream
            .send(method.clone(), url, headers, body.clone())
            .await?;
        if resp.status() != reqwest::StatusCode::UNAUTHORIZED {
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
        let headers = self.upstream.chatgpt_headers(
            &fresh.access_token,
            fresh.account_id.as_deref(),
            incoming,
            accept,
        );
        self.upstream.send(method, url, headers, body).await
    }
}

/// What a model request to the ChatGPT backend came back with.
pub(super) enum Answer {
    /// The upstream's answer, to relay (or to read as an error).
    Upstream(reqwest::Response),
    /// A usage-limit answer, already the client's response.
    Limited(Response),
}

/// A 429 `usage_limit_reached`, read.
struct LimitHit {
    failure: UpstreamFailure,
    body: Value,
    resets_at: i64,
}

impl AppState {
    /// Sends a model request (`POST`) with `profile`'s credentials. A 429
    /// `usage_limit_reached` records the limit; with `failover` (and failover on in the
    /// settings) the request then goes to the next eligible profile, `profile` becomes the
    /// one that served it, and reasoning items of the first account are dropped from
    /// `body`. Nothing has reached the client yet at this point: only the status is known.
    /// With failover on, a profile already known to be limited is skipped without a request
    /// while another account can serve.
    pub(super) async fn send_model(
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
        if failover && let Some(until) = failover::known_limit(&self.home, profile) {
            let (next, _) = self
                .next_candidate(&settings, std::slice::from_ref(&first))
                .await;
            if let Some(next) = next {
                tracing::info!(from = %profile, to = %next, resets_at = until, "usage limit known; sending the request to the next account");
                strip_reasoning_items(body);
                tried.push(first.clone());
                resets.push(until);
                first_skipped = true;
                *profile = next;
            }
        }
        let mut bytes = Bytes::from(body.to_string());
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
                    if *profile != first {
                        self.failed_over(&settings, &first, profile, resets.first().copied())
                            .await;
                    }
                    return Ok(Answer::Upstream(resp));
                }
                Ok(resp) => {
                    let hit = match self.read_limit(profile, resp).await {
                        Ok(hit) => hit,
                        Err(other) => return Ok(Answer::Limited(other)),
                    };
                    if !failover {
                        return Ok(Answer::Limited(hit.failure.into_response()));
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
                    return Ok(Answer::Limited(all_limited(hit, earliest)));
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

    /// Reads a 429: a usage limit is recorded for `profile` and returned; any other 429 is
    /// the client's response as it is.
    async fn read_limit(
        &self,
        profile: &str,
        resp: reqwest::Response,
    ) -> Result<LimitHit, Response> {
        let failure = upstream::read_error(resp, self.upstream.idle()).await;
        let now = chrono::Utc::now().timestamp();
        let body: Value = serde_json::from_str(&failure.text).unwrap_or(Value::Null);
        let Some(resets_at) = crate::usage::limit_reset(&body, now) else {
            return Err(failure.into_response());
        };
        if let Ok(name) = ProfileName::new(profile) {
            let store = self.store.clone();
            let written =
                tokio::task::spawn_blocking(move || store.record_limit(&name, resets_at)).await;
            match written {
                Ok(Ok(true)) => {
                    if let Some(bus) = &self.events {
                        bus.emit(RouterEvent::UsageUpdated {
                            profile: profile.to_owned(),
                        });
                    }
                }
                Ok(Ok(false)) => {}
                Ok(Err(e)) => {
                    tracing::debug!(%profile, error = %e, "usage limit not recorded");
                }
                Err(e) => tracing::debug!(%profile, error = %e, "usage limit not recorded"),
            }
        }
        Ok(LimitHit {
            failure,
            body,
            resets_at,
        })
    }

    /// The next profile to fail over to (ChatGPT, usable, not needing sign-in, not known to
    /// be limited, not tried yet; the configured order first, then by name), and the reset
    /// times of the eligible profiles known to be limited.
    async fn next_candidate(
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
    async fn failed_over(
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

/// The client's 429 when every account is limited: the last account's answer, saying so,
/// with the earliest reset time among them.
fn all_limited(hit: LimitHit, earliest: i64) -> Response {
    let LimitHit {
        failure, mut body, ..
    } = hit;
    if let Some(err) = body.get_mut("error").and_then(Value::as_object_mut) {
        let now = chrono::Utc::now().timestamp();
        err.insert(
            "message".into(),
            json!("The usage limit has been reached on every account"),
        );
        err.insert("resets_at".into(), json!(earliest));
        err.insert("resets_in_seconds".into(), json!((earliest - now).max(0)));
    }
    UpstreamFailure {
        status: failure.status,
        headers: failure.headers,
        text: body.to_string(),
    }
    .into_response()
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

fn refresh_error(e: RefreshError) -> ProxyError {
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
