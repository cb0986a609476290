//! Adding accounts: browser (PKCE) login, device-code login, and what both share: the code
//! exchange, the optional API-key exchange, and storing the new profile.

pub mod browser;
pub mod device;
pub mod pkce;

use crate::auth_file::{AuthFile, Tokens};
use crate::claims;
use crate::http::CLIENT_ID;
use crate::secret::Secret;
use crate::store::{Store, StoreError, Stored};
use chrono::{SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The profile could not be checked or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Another codex-router login is already waiting for its browser callback.
    #[error(
        "another codex-router login is already waiting at http://localhost:{port} ({who}); finish or cancel it first"
    )]
    AlreadyWaiting {
        /// Its port.
        port: u16,
        /// What it said about itself.
        who: String,
    },
    /// Every callback port is taken by something else.
    #[error(
        "ports {0} are in use (another Codex login may be waiting in a browser); finish it and try again"
    )]
    PortsBusy(String),
    /// The sign-in was refused or abandoned in the browser.
    #[error("sign-in failed: {0}")]
    Denied(String),
    /// The issuer did not give tokens for the code.
    #[error("sign-in failed while exchanging the code: {0}")]
    Exchange(String),
    /// Nobody finished the sign-in in time.
    #[error("sign-in timed out after {0} seconds")]
    TimedOut(u64),
    /// The login was cancelled.
    #[error("sign-in was cancelled")]
    Cancelled,
    /// The issuer does not offer device login.
    #[error("device-code login is not enabled for this issuer")]
    DeviceNotEnabled,
    /// A local I/O error (binding the callback port).
    #[error("{0}")]
    Io(String),
}

/// What a finished login produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginOutcome {
    /// Where it was stored.
    pub stored: Stored,
    /// The signed-in email.
    pub email: Option<String>,
    /// The plan.
    pub plan: Option<String>,
}

/// The issuer's answer to a code exchange.
#[derive(Deserialize)]
struct TokenResponse {
    id_token: String,
    access_token: String,
    refresh_token: String,
}

/// Exchanges an authorization code (form-encoded, with the PKCE verifier) for tokens.
async fn exchange_code(
    http: &reqwest::Client,
    issuer: &str,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<TokenResponse, LoginError> {
    let response = http
        .post(format!("{issuer}/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", CLIENT_ID),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .map_err(|e| {
            LoginError::Exchange(format!(
                "could not reach the issuer ({})",
                crate::http::error_kind(&e)
            ))
        })?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(LoginError::Exchange(format!(
            "HTTP {}{}",
            status.as_u16(),
            issuer_message(&text)
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        )));
    }
    serde_json::from_str(&text)
        .map_err(|_| LoginError::Exchange("the issuer's answer lacks the tokens".into()))
}

/// Trades the id token for an API key (what Codex stores as `OPENAI_API_KEY`); any failure
/// gives `None`, as in Codex.
async fn obtain_api_key(http: &reqwest::Client, issuer: &str, id_token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Exchanged {
        access_token: String,
    }
    let response = http
        .post(format!("{issuer}/oauth/token"))
        .form(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("client_id", CLIENT_ID),
            ("requested_token", "openai-api-key"),
            ("subject_token", id_token),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:id_token",
            ),
        ])
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        tracing::info!(
            status = response.status().as_u16(),
            "API-key exchange refused; continuing without one"
        );
        return None;
    }
    response
        .json::<Exchanged>()
        .await
        .ok()
        .map(|e| e.access_token)
}

/// Stores the tokens of a finished sign-in as profile `name` (never touching `auth.json`).
fn store_tokens(
    store: &Store,
    name: &str,
    force: bool,
    tokens: TokenResponse,
    api_key: Option<String>,
) -> Result<LoginOutcome, LoginError> {
    let id = claims::decode(&tokens.id_token)
        .map_err(|e| LoginError::Exchange(format!("the issuer's id_token is unusable: {e}")))?;
    let file = AuthFile {
        auth_mode: Some("chatgpt".into()),
        openai_api_key: api_key.map(Secret::new),
        tokens: Some(Tokens {
            id_token: Secret::new(tokens.id_token),
            access_token: Secret::new(tokens.access_token),
            refresh_token: Secret::new(tokens.refresh_token),
            account_id: id.account_id.clone(),
            extra: Map::new(),
        }),
        last_refresh: Some(Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)),
        extra: Map::new(),
    };
    let stored = store.store_login(name, &file, force)?;
    Ok(LoginOutcome {
        stored,
        email: id.email,
        plan: id.plan,
    })
}

/// The human part of an issuer error body (`error_description`, `error.message`).
fn issuer_message(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    v.get("error_description")
        .and_then(Value::as_str)
        .or_else(|| {
            v.get("error")
                .and_then(|e| e.get("message"))
                .and_then(Value::as_str)
        })
        .or_else(|| v.get("error").and_then(Value::as_str))
        .map(|s| s.chars().take(300).collect())
}
