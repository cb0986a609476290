//! An error answer of the backend: read (within the idle timeout), recognised, and turned
//! into OpenAI's error shape with its status kept.

use super::relay::json_answer;
use crate::proxy::errors::error_body;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use std::time::Duration;

/// Turns an error answer of the ChatGPT backend into OpenAI's shape, keeping its status.
/// `{"detail": …}` becomes `{"error":{"message": …}}`; a 429 `usage_limit_reached` keeps all
/// its fields (Codex reads `type`, `plan_type`, `resets_at`) and its message says when the
/// limit resets.
pub async fn chatgpt_error(resp: reqwest::Response, idle: Duration) -> Response {
    read_error(resp, idle).await.into_response()
}

/// An upstream error answer, read.
#[derive(Debug)]
pub struct UpstreamFailure {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: reqwest::header::HeaderMap,
    /// Its body as text (empty when it could not be read in time).
    pub text: String,
}

impl UpstreamFailure {
    /// Whether the backend refused encrypted reasoning issued to another account (after a
    /// switch, a conversation's history holds the previous account's reasoning items).
    pub fn is_foreign_reasoning(&self) -> bool {
        self.status == StatusCode::BAD_REQUEST && self.text.contains("invalid_encrypted_content")
    }

    /// The client's answer: the same status, OpenAI's error shape.
    pub fn into_response(self) -> Response {
        json_answer(
            self.status,
            &openai_error_from(self.status.as_u16(), &self.text),
            &self.headers,
        )
    }
}

/// Reads an upstream error answer (at most the idle timeout).
pub async fn read_error(resp: reqwest::Response, idle: Duration) -> UpstreamFailure {
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let headers = resp.headers().clone();
    let text = match tokio::time::timeout(idle, resp.bytes()).await {
        Ok(Ok(b)) => String::from_utf8_lossy(&b).into_owned(),
        _ => String::new(),
    };
    UpstreamFailure {
        status,
        headers,
        text,
    }
}

/// The OpenAI-shaped body for an upstream error answer.
fn openai_error_from(status: u16, text: &str) -> Value {
    let kind = match status {
        400 | 404 | 413 | 415 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        _ => "server_error",
    };
    let parsed: Option<Value> = serde_json::from_str(text).ok();
    match parsed {
        Some(mut v) if v.get("error").is_some_and(Value::is_object) => {
            let err = &mut v["error"];
            if err.get("type").and_then(Value::as_str) == Some("usage_limit_reached") {
                err["message"] = Value::String(usage_limit_message(err));
                if err.get("code").is_none_or(Value::is_null) {
                    err["code"] = json!("usage_limit_reached");
                }
            }
            if err.get("message").is_none_or(|m| !m.is_string()) {
                err["message"] = json!(format!("the upstream answered HTTP {status}"));
            }
            if err.get("type").is_none_or(Value::is_null) {
                err["type"] = json!(kind);
            }
            if err.get("code").is_none() {
                err["code"] = Value::Null;
            }
            v
        }
        Some(v) if v.get("detail").is_some() => {
            let detail = match &v["detail"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            error_body(&detail, kind, None)
        }
        Some(Value::Object(o)) if o.get("error").and_then(Value::as_str).is_some() => {
            let msg = o.get("error").and_then(Value::as_str).unwrap_or_default();
            error_body(msg, kind, None)
        }
        _ => {
            let snippet: String = text.chars().take(300).collect();
            let message = if snippet.trim().is_empty() {
                format!("the upstream answered HTTP {status}")
            } else {
                format!("the upstream answered HTTP {status}: {}", snippet.trim())
            };
            error_body(&message, kind, Some("upstream_error"))
        }
    }
}

/// "The usage limit has been reached (plus plan); it resets at 2026-05-04 23:16 UTC, in 3 h 51 min."
fn usage_limit_message(err: &Value) -> String {
    let base = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("The usage limit has been reached")
        .trim_end_matches('.')
        .to_owned();
    let plan = err
        .get("plan_type")
        .and_then(Value::as_str)
        .map(|p| format!(" ({p} plan)"))
        .unwrap_or_default();
    let now = chrono::Utc::now().timestamp();
    let resets_at = err.get("resets_at").and_then(Value::as_i64).or_else(|| {
        err.get("resets_in_seconds")
            .and_then(Value::as_i64)
            .map(|s| now + s)
    });
    match resets_at.and_then(|t| chrono::DateTime::from_timestamp(t, 0)) {
        Some(at) => {
            let secs = u64::try_from(at.timestamp() - now).unwrap_or(0);
            let (h, m) = (secs / 3600, (secs % 3600).div_ceil(60).min(59));
            let within = if h > 0 {
                format!("{h} h {m} min")
            } else {
                format!("{} min", secs.div_ceil(60))
            };
            format!(
                "{base}{plan}; it resets at {} UTC, in {within}.",
                at.format("%Y-%m-%d %H:%M")
            )
        }
        None => format!("{base}{plan}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_limit_keeps_its_fields_and_says_when_it_resets() {
        let resets_at = chrono::Utc::now().timestamp() + 3 * 3600 + 600;
        let body = json!({"error": {"type": "usage_limit_reached",
            "message": "The usage limit has been reached", "plan_type": "plus",
            "resets_at": resets_at, "eligible_promo": null, "resets_in_seconds": 11400}});
        let out = openai_error_from(429, &body.to_string());
        let err = &out["error"];
        assert_eq!(err["type"], "usage_limit_reached");
        assert_eq!(err["code"], "usage_limit_reached");
        assert_eq!(err["plan_type"], "plus");
        assert_eq!(err["resets_at"], resets_at);
        let msg = err["message"].as_str().unwrap();
        assert!(msg.contains("resets at") && msg.contains("3 h"), "{msg}");
    }

    #[test]
    fn detail_errors_become_openai_errors() {
        let out = openai_error_from(400, r#"{"detail":"Instructions are required"}"#);
        assert_eq!(out["error"]["message"], "Instructions are required");
        assert_eq!(out["error"]["type"], "invalid_request_error");
        let out = openai_error_from(502, "<html>bad gateway</html>");
        assert_eq!(out["error"]["code"], "upstream_error");
        assert!(out["error"]["message"].as_str().unwrap().contains("502"));
    }
}
