//! Errors in Anthropic's shape, `{"type":"error","error":{"type","message"}}`, with
//! Anthropic's statuses: `invalid_request_error` 400, `authentication_error` 401,
//! `permission_error` 403, `not_found_error` 404, `request_too_large` 413,
//! `rate_limit_error` 429 (with `retry-after` from the usage limit's reset), `api_error` 500
//! and 502 (and other 5xx), `overloaded_error` 529 when the backend is overloaded.
//!
//! The endpoint's own errors are made in OpenAI's shape; [`anthropic_errors`] reshapes every
//! error answer of an Anthropic request (the Messages routes, and any request carrying
//! `anthropic-version`), the guards' included.

use crate::proxy::errors::StreamError;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Value, json};

/// The largest error body reshaped (error bodies are small; a larger one is left as it is).
const MAX_ERROR_BODY: usize = 256 * 1024;

/// Our own 503 codes that are not the backend being overloaded.
const NOT_OVERLOADED: &[&str] = &["no_active_profile", "profile_unusable", "refresh_failed"];

/// Anthropic's error type and status for an answer of `status` with OpenAI error `code` and
/// `kind` (`type`).
fn kind_and_status(
    status: Option<u16>,
    code: Option<&str>,
    kind: Option<&str>,
) -> (&'static str, u16) {
    let overloaded = matches!(code, Some("server_is_overloaded" | "slow_down"));
    let status = match status {
        Some(s) => s,
        None if overloaded => 529,
        None => match kind {
            Some("invalid_request_error") => 400,
            Some("authentication_error") => 401,
            Some("permission_error") => 403,
            Some("rate_limit_error") => 429,
            _ => 500,
        },
    };
    match status {
        401 => ("authentication_error", 401),
        403 => ("permission_error", 403),
        404 => ("not_found_error", 404),
        413 => ("request_too_large", 413),
        429 => ("rate_limit_error", 429),
        503 if !code.is_some_and(|c| NOT_OVERLOADED.contains(&c)) => ("overloaded_error", 529),
        529 => ("overloaded_error", 529),
        s if (400..500).contains(&s) => ("invalid_request_error", s),
        s => ("api_error", s.max(500)),
    }
}

/// An error body of OpenAI's shape (or the backend's) in Anthropic's; `status` is the
/// answer's when there is one.
pub(super) fn from_openai_body(status: Option<u16>, body: &Value) -> Value {
    reshape(status, body).1
}

fn reshape(status: Option<u16>, body: &Value) -> (u16, Value) {
    let err = body.get("error").filter(|e| e.is_object()).unwrap_or(body);
    let s = |k: &str| err.get(k).and_then(Value::as_str);
    let message = s("message")
        .or_else(|| body.get("detail").and_then(Value::as_str))
        .unwrap_or("the request failed");
    let (kind, status) = kind_and_status(status, s("code"), s("type"));
    (
        status,
        json!({"type": "error", "error": {"type": kind, "message": message}}),
    )
}

/// The `error` event that ends a failed stream.
pub(super) fn error_event(e: &StreamError) -> (&'static str, Value) {
    (
        "error",
        from_openai_body(Some(e.status_code()), &e.error_body()),
    )
}

/// Whether a request speaks Anthropic's dialect: a Messages path, or `anthropic-version`.
fn is_anthropic(req: &Request) -> bool {
    let path = req.uri().path();
    path.ends_with("/v1/messages")
        || path.ends_with("/v1/messages/count_tokens")
        || req.headers().contains_key("anthropic-version")
}

/// Middleware: an Anthropic request's error answers (JSON) reshaped into Anthropic's errors
/// and statuses; a 429 from a usage limit gets `retry-after` (seconds until its reset).
pub(crate) async fn anthropic_errors(req: Request, next: Next) -> Response {
    if !is_anthropic(&req) {
        return next.run(req).await;
    }
    let resp = next.run(req).await;
    let status = resp.status();
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.is_success() || !json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        // The body is gone: its length must go with it, or the client waits for bytes.
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let (code, out) = reshape(Some(status.as_u16()), &value);
    parts.status = StatusCode::from_u16(code).unwrap_or(status);
    parts.headers.remove(header::CONTENT_LENGTH);
    if code == 429
        && !parts.headers.contains_key(header::RETRY_AFTER)
        && let Some(secs) = retry_after(&value)
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        parts.headers.insert(header::RETRY_AFTER, v);
    }
    Response::from_parts(parts, Body::from(out.to_string()))
}

/// Seconds until a usage limit resets: `error.resets_in_seconds`, else `error.resets_at`
/// (Unix seconds) from now.
fn retry_after(body: &Value) -> Option<u64> {
    let err = body.get("error")?;
    if let Some(s) = err.get("resets_in_seconds").and_then(Value::as_u64) {
        return Some(s);
    }
    let at = err.get("resets_at").and_then(Value::as_i64)?;
    Some(at.saturating_sub(chrono::Utc::now().timestamp()).max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::errors::{ProxyError, TranslateError};

    fn shape(e: &ProxyError) -> (u16, Value) {
        reshape(Some(e.status().as_u16()), &e.body())
    }

    #[test]
    fn statuses_and_types_are_anthropics() {
        let cases = [
            (
                ProxyError::BadJson("x".into()),
                400,
                "invalid_request_error",
            ),
            (ProxyError::BadLocalKey, 401, "authentication_error"),
            (ProxyError::OtherUser, 403, "permission_error"),
            (ProxyError::NotFound("no".into()), 404, "not_found_error"),
            (
                ProxyError::BodyTooLarge { limit: 1 },
                413,
                "request_too_large",
            ),
            (
                ProxyError::UpstreamUnreachable("x".into()),
                502,
                "api_error",
            ),
            (ProxyError::NoActiveProfile("none".into()), 503, "api_error"),
            (
                ProxyError::Stream(StreamError::Failed {
                    code: Some("server_is_overloaded".into()),
                    message: "busy".into(),
                }),
                529,
                "overloaded_error",
            ),
            (
                ProxyError::Translate(TranslateError::Missing {
                    field: "messages".into(),
                }),
                400,
                "invalid_request_error",
            ),
        ];
        for (e, status, kind) in cases {
            let (s, body) = shape(&e);
            assert_eq!(
                (s, body["error"]["type"].as_str()),
                (status, Some(kind)),
                "{e}"
            );
            assert_eq!(body["type"], "error");
            assert_eq!(body["error"]["message"], e.to_string());
        }
    }

    #[test]
    fn stream_errors_become_error_events() {
        let (name, data) = error_event(&StreamError::Truncated);
        assert_eq!(name, "error");
        assert_eq!(data["error"]["type"], "api_error");
        let e = StreamError::Failed {
            code: Some("rate_limit_exceeded".into()),
            message: "slow down".into(),
        };
        assert_eq!(error_event(&e).1["error"]["type"], "rate_limit_error");
        let overloaded = json!({"error": {"type": "server_error", "code": "server_is_overloaded", "message": "busy"}});
        assert_eq!(
            from_openai_body(None, &overloaded)["error"]["type"],
            "overloaded_error"
        );
    }

    #[test]
    fn usage_limit_resets_give_retry_after() {
        let now = chrono::Utc::now().timestamp();
        let body = json!({"error": {"type": "usage_limit_reached", "resets_at": now + 120}});
        let secs = retry_after(&body).unwrap();
        assert!((100..=120).contains(&secs), "{secs}");
        assert_eq!(
            retry_after(&json!({"error": {"resets_in_seconds": 7}})),
            Some(7)
        );
        assert_eq!(retry_after(&json!({"error": {}})), None);
    }
}
