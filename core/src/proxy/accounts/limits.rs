//! Usage limits met on the way: a 429 `usage_limit_reached` read and recorded for its
//! account, and the client's answer when every account is limited.

use super::Accounts;
use crate::events::RouterEvent;
use crate::home::ProfileName;
use crate::proxy::upstream::{self, UpstreamFailure};
use axum::response::Response;
use serde_json::{Value, json};

/// A 429 `usage_limit_reached`, read.
pub(super) struct LimitHit {
    /// The answer as it came.
    pub(super) failure: UpstreamFailure,
    /// Its body, parsed.
    body: Value,
    /// When the limit resets (Unix seconds).
    pub(super) resets_at: i64,
}

impl Accounts {
    /// Reads a 429: a usage limit is recorded for `profile` and returned; any other 429 is
    /// the client's response as it is.
    pub(super) async fn read_limit(
        &self,
        profile: &str,
        resp: reqwest::Response,
    ) -> Result<LimitHit, Response> {
        let failure = upstream::read_error(resp, self.upstream.idle()).await;
        let body: Value = serde_json::from_str(&failure.text).unwrap_or(Value::Null);
        let Some(resets_at) = self.record_limit_of(profile, &body).await else {
            return Err(failure.into_response());
        };
        Ok(LimitHit {
            failure,
            body,
            resets_at,
        })
    }

    /// Reads an error body (an HTTP answer's, or an `error` frame of a socket, which has
    /// the same `error` object): a usage limit is recorded for `profile` and its reset time
    /// returned; anything else is `None`.
    pub(crate) async fn record_limit_of(&self, profile: &str, body: &Value) -> Option<i64> {
        let resets_at = crate::usage::limit_reset(body, chrono::Utc::now().timestamp())?;
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
        Some(resets_at)
    }
}

/// Rewrites a usage-limit error (an HTTP body or a WebSocket `error` frame: its `error`
/// object) to say that every account is limited, with the `earliest` reset among them.
pub(crate) fn say_every_account(body: &mut Value, earliest: i64) {
    if let Some(err) = body.get_mut("error").and_then(Value::as_object_mut) {
        let now = chrono::Utc::now().timestamp();
        err.insert(
            "message".into(),
            json!("The usage limit has been reached on every account"),
        );
        err.insert("resets_at".into(), json!(earliest));
        err.insert("resets_in_seconds".into(), json!((earliest - now).max(0)));
    }
}

/// The client's 429 when every account is limited: the last account's answer, saying so,
/// with the earliest reset time among them.
pub(super) fn all_limited(hit: LimitHit, earliest: i64) -> Response {
    let LimitHit {
        failure, mut body, ..
    } = hit;
    say_every_account(&mut body, earliest);
    UpstreamFailure {
        status: failure.status,
        headers: failure.headers,
        text: body.to_string(),
    }
    .into_response()
}
