//! The handlers of Ollama's routes (its own root, not `/v1`; also under `/p/<name>`), with
//! the same guards as every route: each reads the request, picks the profile (pinned or
//! active) and hands it to [`crate::proxy::dialects::ollama`]. Their error answers are put
//! in Ollama's shape by [`ollama_errors`], which the router table runs around every route.

use super::AppState;
use super::body::{Decoded, decode_body, parse_json};
use super::request::{Incoming, Params, body_and_profile, get_request, result, split};
use crate::proxy::accounts::Active;
use crate::proxy::dialects::ollama::{
    self, OllamaKind, Serving, backend_model, is_ollama_path, ollama_error_answer,
};
use crate::proxy::errors::{ProxyError, TranslateError, json_response};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;

/// What `GET /` answers, as Ollama does.
const RUNNING: &str = "Ollama is running";

/// Puts the error answers of Ollama's paths in Ollama's shape (`{"error": "…"}`).
pub(super) async fn ollama_errors(req: Request, next: Next) -> Response {
    let ollama = is_ollama_path(req.uri().path());
    let resp = next.run(req).await;
    if ollama {
        ollama_error_answer(resp).await
    } else {
        resp
    }
}

/// `POST /api/chat`.
pub(super) async fn chat(
    State(st): State<Arc<AppState>>,
    params: Params,
    req: Request,
) -> Response {
    model_request(st, params, req, OllamaKind::Chat).await
}

/// `POST /api/generate`.
pub(super) async fn generate(
    State(st): State<Arc<AppState>>,
    params: Params,
    req: Request,
) -> Response {
    model_request(st, params, req, OllamaKind::Generate).await
}

/// A chat or generate request: read the body, pick the profile, hand it to the dialect's
/// route (a ChatGPT profile with failover unless pinned).
async fn model_request(
    st: Arc<AppState>,
    params: Params,
    req: Request,
    kind: OllamaKind,
) -> Response {
    let started = Instant::now();
    let (inc, active, request, decoded) = match post_json(&st, &params, req).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let mut served_by = active.name().to_owned();
    let serving = match active.as_ref() {
        Active::ApiKey { key, .. } => Serving::ApiKey(key),
        Active::ChatGpt { .. } => Serving::ChatGpt {
            profile: &mut served_by,
            failover: params.may_fail_over(),
        },
    };
    let r = ollama::answer(&st.accounts, serving, &inc.headers, request, kind, started).await;
    drop(decoded);
    result(r, &served_by)
}

/// The start of a `POST` route: anything but `POST` refused, the body read, decoded and
/// parsed, the profile resolved. The decoded body keeps its share of the decode budget for
/// as long as the caller holds it.
async fn post_json(
    st: &AppState,
    params: &Params,
    req: Request,
) -> Result<(Incoming, Arc<Active>, Value, Decoded), Response> {
    let (inc, body) = split(req);
    if inc.method != Method::POST {
        return Err(ProxyError::MethodNotAllowed(inc.method.to_string()).into_response());
    }
    let (body, active) = body_and_profile(st, params, body).await?;
    let decoded = decode_body(&inc.headers, body, st.body_limit, &st.decode_budget)
        .await
        .map_err(|e| result(Err(e), active.name()))?;
    let request = parse_json(&decoded.bytes).map_err(|e| result(Err(e), active.name()))?;
    Ok((inc, active, request, decoded))
}

/// `GET /api/tags`: the profile's models.
pub(super) async fn tags(
    State(st): State<Arc<AppState>>,
    params: Params,
    req: Request,
) -> Response {
    let (inc, active) = match get_request(&st, &params, req).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let mut name = active.name().to_owned();
    let r = match ollama::profile_models(&st.accounts, serving(&active, &mut name), &inc.headers)
        .await
    {
        Ok(Ok(models)) => Ok(json_response(
            StatusCode::OK,
            &ollama::models::tags(&models),
        )),
        Ok(Err(resp)) => Ok(resp),
        Err(e) => Err(e),
    };
    result(r, active.name())
}

/// `POST /api/show` with `{"model": NAME}` (or the older `"name"`): the model's card, or
/// 404 when the profile has no such model.
pub(super) async fn show(
    State(st): State<Arc<AppState>>,
    params: Params,
    req: Request,
) -> Response {
    let (inc, active, request, decoded) = match post_json(&st, &params, req).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    drop(decoded);
    let mut name = active.name().to_owned();
    let wanted = match shown_model(&request) {
        Ok(m) => m,
        Err(e) => return result(Err(e), &name),
    };
    let r = match ollama::profile_models(&st.accounts, serving(&active, &mut name), &inc.headers)
        .await
    {
        Ok(Ok(models)) => match models.iter().find(|m| m.name == backend_model(&wanted)) {
            Some(m) => Ok(json_response(StatusCode::OK, &ollama::models::show(m))),
            None => Err(ProxyError::NotFound(format!("model '{wanted}' not found"))),
        },
        Ok(Err(resp)) => Ok(resp),
        Err(e) => Err(e),
    };
    result(r, active.name())
}

/// The model a show request names.
fn shown_model(body: &Value) -> Result<String, ProxyError> {
    let name = body
        .get("model")
        .filter(|m| !m.is_null())
        .or_else(|| body.get("name"));
    match name {
        Some(Value::String(m)) if !m.is_empty() => Ok(m.clone()),
        Some(Value::String(_)) | None | Some(Value::Null) => Err(TranslateError::Missing {
            field: "model".into(),
        }
        .into()),
        Some(_) => Err(TranslateError::WrongType {
            field: "model".into(),
            expected: "a string",
        }
        .into()),
    }
}

/// Who serves a models request: the profile itself (no failover for a list).
fn serving<'a>(active: &'a Active, name: &'a mut String) -> Serving<'a> {
    match active {
        Active::ApiKey { key, .. } => Serving::ApiKey(key),
        Active::ChatGpt { .. } => Serving::ChatGpt {
            profile: name,
            failover: false,
        },
    }
}

/// `GET /api/ps`: nothing is loaded in memory here.
pub(super) async fn ps(req: Request) -> Response {
    fixed(req, &ollama::models::ps())
}

/// `GET /api/version`.
pub(super) async fn version(req: Request) -> Response {
    fixed(req, &ollama::models::version())
}

/// A `GET` route's fixed JSON answer.
fn fixed(req: Request, body: &Value) -> Response {
    if req.method() != Method::GET {
        return ProxyError::MethodNotAllowed(req.method().to_string()).into_response();
    }
    json_response(StatusCode::OK, body)
}

/// `GET /` and `HEAD /`: "Ollama is running", which tools probe for.
pub(super) async fn root(req: Request) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return ProxyError::MethodNotAllowed(req.method().to_string()).into_response();
    }
    let mut resp = (StatusCode::OK, RUNNING).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}
