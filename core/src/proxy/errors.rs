//! The one leaf for error shapes: OpenAI's error body
//! `{"error":{"message","type","code","param"}}` ([`error_body`]), why a request body could
//! not be translated ([`TranslateError`]), why an upstream answer stream broke
//! ([`StreamError`]), and the endpoint's own [`ProxyError`], answered with a fitting HTTP
//! status.
//!
//! No variant ever carries a token or key: messages name profiles, paths, fields and upstream
//! failures only. This module imports nothing of the dialects or the transport.

use super::sse::SseError;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// OpenAI's error shape: `{"error":{"message","type","code","param":null}}`.
pub fn error_body(message: &str, kind: &str, code: Option<&str>) -> Value {
    json!({
        "error": {
            "message": message,
            "type": kind,
            "code": code,
            "param": null,
        }
    })
}

/// Why a request body could not be translated. Every variant names the offending field with
/// a JSON-path-like string such as `messages[2].content`; the server answers 400 with
/// [`TranslateError::error_body`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    /// A required field is absent (or null).
    #[error("missing required parameter: '{field}'")]
    Missing {
        /// Path of the missing field.
        field: String,
    },
    /// A field has the wrong JSON type.
    #[error("invalid type for '{field}': expected {expected}")]
    WrongType {
        /// Path of the field.
        field: String,
        /// What was expected, e.g. "an array".
        expected: &'static str,
    },
    /// A field has the right type but a value that cannot be translated.
    #[error("invalid value for '{field}': {message}")]
    InvalidValue {
        /// Path of the field.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

impl TranslateError {
    /// The path of the offending field (OpenAI's `param`).
    pub fn field(&self) -> &str {
        match self {
            Self::Missing { field }
            | Self::WrongType { field, .. }
            | Self::InvalidValue { field, .. } => field,
        }
    }

    /// OpenAI's error body for this error: `invalid_request_error` with `param` set to the field.
    pub fn error_body(&self) -> Value {
        let code = match self {
            Self::Missing { .. } => "missing_required_parameter",
            Self::WrongType { .. } => "invalid_type",
            Self::InvalidValue { .. } => "invalid_value",
        };
        let mut body = error_body(&self.to_string(), "invalid_request_error", Some(code));
        body["error"]["param"] = Value::String(self.field().to_owned());
        body
    }
}

/// Why an upstream Responses stream did not give a usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// The stream ended (or was cut) before `response.completed` or `response.incomplete`.
    #[error("upstream stream closed before response.completed")]
    Truncated,
    /// `response.failed`, or an `error` event.
    #[error("upstream response failed{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Failed {
        /// The upstream error code, e.g. `context_length_exceeded`.
        code: Option<String>,
        /// The upstream message.
        message: String,
    },
    /// An event whose data is not a JSON object.
    #[error("upstream sent an event that is not a JSON object: {0}")]
    BadEvent(String),
    /// The byte stream could not be decoded.
    #[error(transparent)]
    Sse(#[from] SseError),
}

impl StreamError {
    /// OpenAI's error `type` for this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::Failed {
                code: Some(code), ..
            } => match code.as_str() {
                "context_length_exceeded" | "invalid_prompt" | "cyber_policy" => {
                    "invalid_request_error"
                }
                "rate_limit_exceeded"
                | "usage_limit_reached"
                | "usage_not_included"
                | "insufficient_quota" => "rate_limit_error",
                _ => "server_error",
            },
            _ => "server_error",
        }
    }

    /// A fitting HTTP status when the error is known before the client's answer started:
    /// 400 for invalid requests, 429 for limits, 503 when overloaded, 502 for a broken or
    /// truncated upstream stream, 500 for other upstream failures.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::Failed { code, .. } => match code.as_deref() {
                Some("server_is_overloaded" | "slow_down") => 503,
                _ => match self.error_type() {
                    "invalid_request_error" => 400,
                    "rate_limit_error" => 429,
                    _ => 500,
                },
            },
            Self::Truncated | Self::BadEvent(_) | Self::Sse(_) => 502,
        }
    }

    /// OpenAI's error body for this error, also what the server sends as the last event of a
    /// failed client stream (`data: {"error":{…}}`).
    pub fn error_body(&self) -> Value {
        let code = match self {
            Self::Truncated => Some("stream_truncated"),
            Self::Failed { code, .. } => code.as_deref(),
            Self::BadEvent(_) | Self::Sse(_) => Some("bad_upstream_stream"),
        };
        error_body(&self.to_string(), self.error_type(), code)
    }
}

/// Why the endpoint answered with an error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProxyError {
    /// The body is not JSON (or not UTF-8 JSON).
    #[error("We could not parse the JSON body of your request: {0}")]
    BadJson(String),
    /// A field has the wrong type or an unusable value.
    #[error(transparent)]
    Translate(#[from] TranslateError),
    /// The body is over the size limit.
    #[error("Request body too large: the limit is {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be read from the client.
    #[error("could not read the request body: {0}")]
    BodyRead(String),
    /// The request's `Origin` is a web page.
    #[error(
        "Requests from web pages are refused (Origin {0}); only local programs may use this endpoint"
    )]
    OriginRefused(String),
    /// The request's `Host` is not a loopback name (DNS rebinding).
    #[error("Host {0} is refused; use http://127.0.0.1 or http://localhost")]
    HostRefused(String),
    /// The connection belongs to another local user and no local key is configured.
    #[error(
        "This endpoint serves only the user who started it, and this connection belongs to another local user; to share it, start it with a local key (`codex-router serve --require-key`)"
    )]
    OtherUser,
    /// `--require-key` is on and the request has no or the wrong key.
    #[error(
        "Incorrect or missing local key: this endpoint requires `Authorization: Bearer <CODEX_ROUTER_KEY>`"
    )]
    BadLocalKey,
    /// No profile is active.
    #[error("{0}")]
    NoActiveProfile(String),
    /// The active profile cannot be used.
    #[error("profile '{name}' can't be used: {reason}")]
    ProfileUnusable {
        /// The profile.
        name: String,
        /// Why.
        reason: String,
    },
    /// The refresh token was refused for good.
    #[error(
        "profile '{name}' needs a new sign-in ({message}); run `codex-router login {name}` and try again"
    )]
    NeedsSignIn {
        /// The profile.
        name: String,
        /// What the issuer said, for people.
        message: String,
    },
    /// Fresh tokens could not be had right now.
    #[error("could not refresh the tokens of profile '{name}': {detail}")]
    RefreshUnavailable {
        /// The profile.
        name: String,
        /// What went wrong (never a token).
        detail: String,
    },
    /// The upstream could not be reached.
    #[error("the upstream could not be reached ({0})")]
    UpstreamUnreachable(String),
    /// The upstream's answer stream failed before the client's answer started.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// The upstream did not send anything for too long.
    #[error("the upstream sent nothing for {0} seconds")]
    UpstreamIdle(u64),
    /// The route does not exist (or not for this kind of profile).
    #[error("{0}")]
    NotFound(String),
    /// The route exists, not with this method.
    #[error("method {0} is not allowed here")]
    MethodNotAllowed(String),
    /// A WebSocket handshake this endpoint does not speak.
    #[error("Bad WebSocket handshake: {0}")]
    BadHandshake(&'static str),
    /// A pass-through path with a segment that could leave the upstream's base.
    #[error("Invalid path: {0}")]
    BadPath(String),
    /// A header that must appear once (`Host`, `Origin`) appears more than once.
    #[error("The {0} header appears more than once")]
    RepeatedHeader(&'static str),
    /// The request body did not arrive within the time allowed.
    #[error("The request body did not arrive within {0} seconds")]
    BodyTimeout(u64),
    /// Too many compressed bodies are being decoded at once.
    #[error("The endpoint is busy decoding other compressed requests; try again in a moment")]
    DecodeBusy,
    /// A request body in a content encoding the endpoint cannot read.
    #[error("Content-Encoding {0} is not supported; send the body uncompressed")]
    UnsupportedEncoding(String),
}

impl ProxyError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        let code = match self {
            Self::BadJson(_) | Self::Translate(_) | Self::BodyRead(_) => 400,
            Self::BodyTooLarge { .. } => 413,
            Self::OriginRefused(_) | Self::HostRefused(_) | Self::OtherUser => 403,
            Self::BadLocalKey | Self::NeedsSignIn { .. } => 401,
            Self::NoActiveProfile(_) | Self::ProfileUnusable { .. } => 503,
            Self::RefreshUnavailable { .. } => 503,
            Self::UpstreamUnreachable(_) => 502,
            Self::UpstreamIdle(_) => 504,
            Self::Stream(e) => e.status_code(),
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed(_) => 405,
            Self::BadHandshake(_) => 400,
            Self::UnsupportedEncoding(_) => 415,
            Self::BadPath(_) | Self::RepeatedHeader(_) => 400,
            Self::BodyTimeout(_) => 408,
            Self::DecodeBusy => 503,
        };
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// OpenAI's error `type` and `code`.
    fn kind_and_code(&self) -> (&'static str, Option<&'static str>) {
        match self {
            Self::BadJson(_) => ("invalid_request_error", Some("invalid_json")),
            Self::BodyRead(_) => ("invalid_request_error", Some("invalid_body")),
            Self::Translate(_) | Self::Stream(_) => ("server_error", None), // own bodies
            Self::BodyTooLarge { .. } => ("invalid_request_error", Some("request_too_large")),
            Self::OriginRefused(_) => ("permission_error", Some("origin_refused")),
            Self::HostRefused(_) => ("permission_error", Some("host_refused")),
            Self::OtherUser => ("permission_error", Some("other_user")),
            Self::BadLocalKey => ("invalid_request_error", Some("invalid_api_key")),
            Self::NoActiveProfile(_) => ("server_error", Some("no_active_profile")),
            Self::ProfileUnusable { .. } => ("server_error", Some("profile_unusable")),
            Self::NeedsSignIn { .. } => ("authentication_error", Some("needs_sign_in")),
            Self::RefreshUnavailable { .. } => ("server_error", Some("refresh_failed")),
            Self::UpstreamUnreachable(_) => ("server_error", Some("upstream_unreachable")),
            Self::UpstreamIdle(_) => ("server_error", Some("upstream_timeout")),
            Self::NotFound(_) => ("invalid_request_error", Some("not_found")),
            Self::MethodNotAllowed(_) => ("invalid_request_error", Some("method_not_allowed")),
            Self::BadHandshake(_) => ("invalid_request_error", Some("bad_websocket_handshake")),
            Self::UnsupportedEncoding(_) => (
                "invalid_request_error",
                Some("unsupported_content_encoding"),
            ),
            Self::BadPath(_) => ("invalid_request_error", Some("invalid_path")),
            Self::RepeatedHeader(_) => ("invalid_request_error", Some("repeated_header")),
            Self::BodyTimeout(_) => ("invalid_request_error", Some("request_timeout")),
            Self::DecodeBusy => ("server_error", Some("server_busy")),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        match self {
            Self::Translate(e) => e.error_body(),
            Self::Stream(e) => e.error_body(),
            _ => {
                let (kind, code) = self.kind_and_code();
                error_body(&self.to_string(), kind, code)
            }
        }
    }
}

/// A JSON answer with `status` and `body`.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        json_response(self.status(), &self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_shape() {
        assert_eq!(
            error_body(
                "no such profile 'x'",
                "invalid_request_error",
                Some("profile_not_found")
            ),
            json!({"error": {"message": "no such profile 'x'", "type": "invalid_request_error",
                             "code": "profile_not_found", "param": null}})
        );
        assert_eq!(
            error_body("boom", "server_error", None)["error"]["code"],
            Value::Null
        );
    }

    #[test]
    fn every_error_is_openai_shaped() {
        let cases = [
            (ProxyError::BadJson("x".into()), 400, "invalid_json"),
            (
                ProxyError::BodyTooLarge { limit: 5 },
                413,
                "request_too_large",
            ),
            (
                ProxyError::OriginRefused("https://evil.example".into()),
                403,
                "origin_refused",
            ),
            (ProxyError::BadLocalKey, 401, "invalid_api_key"),
            (ProxyError::OtherUser, 403, "other_user"),
            (
                ProxyError::NeedsSignIn {
                    name: "work".into(),
                    message: "the refresh token was revoked".into(),
                },
                401,
                "needs_sign_in",
            ),
            (
                ProxyError::UpstreamUnreachable("could not connect".into()),
                502,
                "upstream_unreachable",
            ),
            (
                ProxyError::BadHandshake("Sec-WebSocket-Key is missing"),
                400,
                "bad_websocket_handshake",
            ),
        ];
        for (e, status, code) in cases {
            assert_eq!(e.status().as_u16(), status, "{e}");
            let body = e.body();
            assert_eq!(body["error"]["code"], code);
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
            );
            assert!(body["error"]["type"].is_string());
        }
        let e = ProxyError::Stream(StreamError::Truncated);
        assert_eq!(e.status().as_u16(), 502);
        assert_eq!(e.body()["error"]["code"], "stream_truncated");
    }
}
