//! Device-code sign-in (`shared/protocol.md` §3) for machines without a browser: show a
//! code, poll until the user has entered it, then exchange as the browser flow does.

use super::{LoginError, LoginOutcome, exchange_code, issuer_message, store_tokens};
use crate::http::{self, CLIENT_ID};
use crate::net::Network;
use crate::store::Store;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

/// How long a device code is valid.
pub const CODE_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// A device code waiting to be entered.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    /// The page to open on any device.
    pub verification_url: String,
    /// The code to type there.
    pub user_code: String,
    device_auth_id: String,
    interval: Duration,
    issuer: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct UserCodeResponse {
    device_auth_id: String,
    #[serde(alias = "usercode")]
    user_code: String,
    #[serde(default)]
    interval: Option<Value>,
}

#[derive(Deserialize)]
struct CodeReady {
    authorization_code: String,
    code_verifier: String,
}

/// Asks the issuer for a device code. `name` is checked first, so nobody signs in for a
/// profile that cannot be written.
pub async fn start(
    store: &Store,
    name: &str,
    force: bool,
    issuer: &str,
    network: &Network,
) -> Result<DeviceCode, LoginError> {
    store.ensure_available(name, force)?;
    let issuer = issuer.trim_end_matches('/').to_owned();
    let client = http::client(network, Duration::from_secs(30));
    let response = client
        .post(format!("{issuer}/api/accounts/deviceauth/usercode"))
        .json(&json!({ "client_id": CLIENT_ID }))
        .send()
        .await
        .map_err(|e| {
            LoginError::Exchange(format!(
                "could not reach the issuer ({})",
                http::error_kind(&e)
            ))
        })?;
    if response.status().as_u16() == 404 {
        return Err(LoginError::DeviceNotEnabled);
    }
    if !response.status().is_success() {
        return Err(LoginError::Exchange(format!(
            "device code request: HTTP {}",
            response.status().as_u16()
        )));
    }
    let body: UserCodeResponse = response
        .json()
        .await
        .map_err(|_| LoginError::Exchange("the issuer's device code answer is malformed".into()))?;
    // `interval` is a string of seconds in the real service; accept a number too.
    let secs = match &body.interval {
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(Value::Number(n)) => n.as_f64(),
        _ => None,
    }
    .filter(|s| s.is_finite() && *s >= 0.0)
    .unwrap_or(5.0);
    Ok(DeviceCode {
        verification_url: format!("{issuer}/codex/device"),
        user_code: body.user_code,
        device_auth_id: body.device_auth_id,
        interval: Duration::from_secs_f64(secs.clamp(0.05, 60.0)),
        issuer,
        http: client,
    })
}

/// Polls until the code is entered (at most 15 minutes), then stores profile `name`.
pub async fn finish(
    store: Store,
    name: &str,
    force: bool,
    code: DeviceCode,
) -> Result<LoginOutcome, LoginError> {
    let client = code.http.clone();
    let deadline = Instant::now() + CODE_LIFETIME;
    let poll_url = format!("{}/api/accounts/deviceauth/token", code.issuer);
    let ready: CodeReady = loop {
        if Instant::now() >= deadline {
            return Err(LoginError::TimedOut(CODE_LIFETIME.as_secs()));
        }
        let response = client
            .post(&poll_url)
            .json(&json!({ "device_auth_id": code.device_auth_id, "user_code": code.user_code }))
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => {
                break r.json().await.map_err(|_| {
                    LoginError::Exchange("the issuer's device token answer is malformed".into())
                })?;
            }
            // 403 and 404 mean "not entered yet".
            Ok(r) if matches!(r.status().as_u16(), 403 | 404) => {}
            Ok(r) => {
                let status = r.status().as_u16();
                let text = r.text().await.unwrap_or_default();
                return Err(LoginError::Exchange(format!(
                    "device token poll: HTTP {status}{}",
                    issuer_message(&text)
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )));
            }
            Err(e) => tracing::debug!("device poll failed ({}), retrying", http::error_kind(&e)),
        }
        tokio::time::sleep(code.interval).await;
    };
    let redirect_uri = format!("{}/deviceauth/callback", code.issuer);
    let tokens = exchange_code(
        &client,
        &code.issuer,
        &ready.authorization_code,
        &redirect_uri,
        &ready.code_verifier,
    )
    .await?;
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || store_tokens(&store, &name, force, tokens, None))
        .await
        .unwrap_or_else(|_| Err(LoginError::Io("storing the profile failed".into())))
}

/// A device sign-in in progress: show its code and URL, then [`DeviceLogin::wait`]. The
/// polling runs on its own task from the start.
pub struct DeviceLogin {
    verification_url: String,
    user_code: String,
    result: oneshot::Receiver<Result<LoginOutcome, LoginError>>,
    cancel: DeviceCancel,
}

/// Cancels a waiting device sign-in from anywhere.
#[derive(Clone)]
pub struct DeviceCancel(Arc<Notify>);

impl DeviceCancel {
    /// Ends the sign-in with [`LoginError::Cancelled`] (the polling stops).
    pub fn cancel(&self) {
        self.0.notify_one();
    }
}

impl DeviceLogin {
    /// Asks the issuer for a code for profile `name` ([`start`]), then polls for it in the
    /// background ([`finish`]) until it is entered, cancelled or expired.
    pub async fn start(
        store: Store,
        name: &str,
        force: bool,
        issuer: &str,
        network: &Network,
    ) -> Result<Self, LoginError> {
        let code = start(&store, name, force, issuer, network).await?;
        let (verification_url, user_code) = (code.verification_url.clone(), code.user_code.clone());
        let cancel = DeviceCancel(Arc::new(Notify::new()));
        let (tx, result) = oneshot::channel();
        let (stop, name) = (cancel.0.clone(), name.to_owned());
        tokio::spawn(async move {
            let outcome = tokio::select! {
                r = finish(store, &name, force, code) => r,
                _ = stop.notified() => Err(LoginError::Cancelled),
            };
            let _ = tx.send(outcome);
        });
        Ok(Self {
            verification_url,
            user_code,
            result,
            cancel,
        })
    }

    /// The page to open on any device.
    pub fn verification_url(&self) -> &str {
        &self.verification_url
    }

    /// The code to type there.
    pub fn user_code(&self) -> &str {
        &self.user_code
    }

    /// A handle that cancels this sign-in.
    pub fn cancel_handle(&self) -> DeviceCancel {
        self.cancel.clone()
    }

    /// Waits until the code is entered (the profile is stored), the sign-in fails, is
    /// cancelled or the code expires.
    pub async fn wait(self) -> Result<LoginOutcome, LoginError> {
        self.result.await.unwrap_or(Err(LoginError::Cancelled))
    }
}
