//! Ollama's error shape: every error answer on an Ollama path, the endpoint's own (guards,
//! bad bodies, profiles) and the backend's alike, goes out as `{"error": "…"}` with its
//! status kept, as Ollama and its libraries expect.

use axum::body::{Body, to_bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde_json::{Value, json};

/// Error bodies longer than this are left as they are (ours are a few hundred bytes).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Whether `path` is one of Ollama's: `/`, `/api/…`, and the same under `/p/NAME`.
pub fn is_ollama_path(path: &str) -> bool {
    let rest = match path.strip_prefix("/p/") {
        Some(pinned) => match pinned.split_once('/') {
            Some((_, rest)) => rest,
            None => return true,
        },
        None => path.trim_start_matches('/'),
    };
    rest.is_empty() || rest == "api" || rest.starts_with("api/")
}

/// An error answer (4xx or 5xx with a JSON body in OpenAI's shape) as Ollama's
/// `{"error": "message"}`; any other answer unchanged.
pub async fn ollama_error_answer(resp: Response) -> Response {
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(resp.status().is_client_error() || resp.status().is_server_error()) || !json {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::empty());
    };
    let message = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| {
        let err = v.get("error")?;
        err.get("message")
            .and_then(Value::as_str)
            .or_else(|| err.as_str())
            .map(str::to_owned)
    });
    let Some(message) = message else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let body = json!({ "error": message }).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::errors::ProxyError;
    use axum::response::IntoResponse;

    #[test]
    fn ollama_paths() {
        for p in [
            "/",
            "/api/chat",
            "/api/tags",
            "/p/work",
            "/p/work/",
            "/p/work/api/show",
        ] {
            assert!(is_ollama_path(p), "{p}");
        }
        for p in [
            "/v1/chat/completions",
            "/health",
            "/p/work/v1/models",
            "/apis",
        ] {
            assert!(!is_ollama_path(p), "{p}");
        }
    }

    #[tokio::test]
    async fn openai_errors_become_ollama_errors() {
        let resp = ollama_error_answer(ProxyError::BadJson("eof".into()).into_response()).await;
        assert_eq!(resp.status(), 400);
        let body = to_bytes(resp.into_body(), 1024).await.unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v,
            json!({"error": "We could not parse the JSON body of your request: eof"})
        );
    }
}
