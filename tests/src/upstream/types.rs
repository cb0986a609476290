//! Plain data types shared by the fake upstream's handlers and its test-facing API.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::{Duration, SystemTime};

/// The OAuth client id Codex uses (`CLIENT_ID` in codex-rs/login).
pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

/// One HTTP request the fake upstream received (control routes under `/_fake` excluded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// Path and query as sent, e.g. `/backend-api/codex/models?client_version=0.125.0`.
    pub path: String,
    /// Headers in arrival order, names lowercased; repeated headers appear repeatedly.
    pub headers: Vec<(String, String)>,
    /// The raw body bytes (empty for GET).
    pub body: Vec<u8>,
    /// How the answer's event stream was delivered, for model requests answered with one
    /// (`None` otherwise, or while the handler has not picked it yet).
    #[serde(default)]
    pub stream: Option<StreamBehaviour>,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path without its query string.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or(&self.path)
    }

    /// The query string (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.path.split_once('?').map(|(_, q)| q)
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body parsed as `application/x-www-form-urlencoded` pairs.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// The body as (lossy) UTF-8 text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The bearer token from `Authorization: Bearer …`, if any.
    pub fn bearer(&self) -> Option<&str> {
        self.header("authorization").and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
    }
}

/// How streamed (SSE) responses are delivered.
///
/// In JSON (control API) form: `{"kind":"normal"}`, `{"kind":"slow","delay_ms":20}`,
/// `{"kind":"stall","after_events":3}`, `{"kind":"drop","after_events":3}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StreamBehaviour {
    /// Every event at once, ending with `response.completed` (or `data: [DONE]`).
    #[default]
    Normal,
    /// Sleep `delay_ms` before each event.
    Slow {
        /// Milliseconds before each event.
        delay_ms: u64,
    },
    /// Send the first `after_events` events, then send nothing more but keep the connection
    /// open (until the client gives up or the fake shuts down).
    Stall {
        /// Events sent before the stall.
        after_events: usize,
    },
    /// Send the first `after_events` events, then abort the connection: the body ends with a
    /// transport error and no `response.completed`.
    Drop {
        /// Events sent before the connection is cut.
        after_events: usize,
    },
}

/// Faults injected at random into a fraction of streamed answers. A behaviour queued with
/// `next_stream_behaviour` goes first; streams not picked get the persistent behaviour.
///
/// In JSON (control API) form: `{"drop": 0.05, "stall": 0.05, "max_after_events": 5}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamFaults {
    /// Fraction (0–1) of streams cut ([`StreamBehaviour::Drop`]).
    #[serde(default)]
    pub drop: f64,
    /// Fraction (0–1) of streams stalled ([`StreamBehaviour::Stall`]).
    #[serde(default)]
    pub stall: f64,
    /// A fault comes after a random number of events in `0..=max_after_events`.
    #[serde(default)]
    pub max_after_events: usize,
}

/// One `grant_type=refresh_token` call that presented a refresh token this issuer handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshCall {
    /// The account the token belongs to.
    pub account_id: String,
    /// Its email.
    pub email: String,
    /// When the call arrived.
    pub at: SystemTime,
    /// Time since the `iat` of the access token issued with the presented refresh token
    /// (`None` for adopted tokens).
    pub token_age: Option<Duration>,
    /// That access token's lifetime, `exp - iat` (`None` for adopted tokens).
    pub access_lifetime: Option<Duration>,
    /// Whether new tokens were issued (false: reused, revoked or failed on purpose).
    pub accepted: bool,
}

/// A function call the fake model makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// The function (tool) name.
    pub name: String,
    /// The arguments as a JSON string, e.g. `{"path":"README.md"}`.
    pub arguments: String,
    /// The call id; `None` mints `call_…`.
    #[serde(default)]
    pub call_id: Option<String>,
}

impl FunctionCall {
    /// A call of `name` with `arguments` (a JSON value serialized into the arguments string).
    pub fn new(name: &str, arguments: &Value) -> Self {
        Self {
            name: name.to_owned(),
            arguments: arguments.to_string(),
            call_id: None,
        }
    }
}

/// What the fake model answers to one model request (Responses or Chat Completions, either
/// upstream). Queue them with [`super::FakeUpstream::set_next_response`]; without a queued reply
/// the default rule applies (see the module docs).
///
/// In JSON (control API) form: `{"text":"hi"}`, `{"function_calls":[{"name":"f","arguments":"{}"}]}`,
/// `{"failed":{"code":"server_is_overloaded","message":"…"}}`,
/// `{"http_error":{"status":500,"body":{…}}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// An assistant message with this text.
    Text(String),
    /// One or more function calls (and no text).
    FunctionCalls(Vec<FunctionCall>),
    /// A stream that ends in `response.failed` with this error (Responses streams only; other
    /// shapes answer HTTP 500 with the same code/message).
    Failed {
        /// e.g. `server_is_overloaded`, `context_length_exceeded`.
        code: String,
        /// The human message.
        message: String,
    },
    /// A plain HTTP error answer instead of a model reply.
    HttpError {
        /// HTTP status, e.g. 500 or 503.
        status: u16,
        /// The JSON body.
        body: Value,
    },
}

impl Reply {
    /// Shorthand for [`Reply::Text`].
    pub fn text(text: &str) -> Self {
        Reply::Text(text.to_owned())
    }

    /// Shorthand for one function call.
    pub fn function_call(name: &str, arguments: &Value) -> Self {
        Reply::FunctionCalls(vec![FunctionCall::new(name, arguments)])
    }
}

/// One rate-limit window as the fake reports it in `x-codex-*` headers and `/wham/usage`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RateWindow {
    /// Percent used, 0–100.
    pub used_percent: f64,
    /// Window length in minutes (300 = 5 h, 10080 = weekly).
    pub window_minutes: u64,
    /// When the window resets, unix seconds.
    pub reset_at: i64,
}

/// The rate-limit snapshot for one account (or API key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimits {
    /// The primary (short) window.
    pub primary: RateWindow,
    /// The secondary (weekly) window, if the plan has one.
    pub secondary: Option<RateWindow>,
    /// `x-codex-credits-has-credits`.
    pub has_credits: bool,
    /// `x-codex-credits-unlimited`.
    pub unlimited: bool,
    /// `x-codex-credits-balance`, when known.
    pub balance: Option<String>,
}

impl RateLimits {
    /// The default snapshot at `now`: primary 300 min at 12 % resetting in 2 h, secondary
    /// 10080 min at 34 % resetting in 3 days, no credits.
    pub fn default_at(now: i64) -> Self {
        Self {
            primary: RateWindow {
                used_percent: 12.0,
                window_minutes: 300,
                reset_at: now + 2 * 3600,
            },
            secondary: Some(RateWindow {
                used_percent: 34.0,
                window_minutes: 10080,
                reset_at: now + 3 * 86400,
            }),
            has_credits: false,
            unlimited: false,
            balance: None,
        }
    }
}

/// What a simulated browser saw in [`super::FakeUpstream::browser_sign_in`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserOutcome {
    /// The URL the issuer redirected to (the app's callback with `code`/`state` or `error`).
    pub callback_url: String,
    /// Status of the last page fetched after following local redirects.
    pub status: u16,
    /// The last page's URL.
    pub final_url: String,
    /// The last page's body.
    pub body: String,
}
