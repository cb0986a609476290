//! The handlers the router table names, one per route: each reads the request
//! ([`super::request`], [`super::body`]), picks the profile, passes an API-key profile's
//! request through unchanged, and hands a ChatGPT profile's to its dialect's route
//! ([`crate::proxy::dialects`]). Also `/health` and the 404 for anything else.

use super::AppState;
use super::body::{decode_body, parse_json, read_body};
use super::guards::has_key;
use super::pass_through::forward_api_key;
use super::request::{Incoming, Params, body_and_profile, get_request, result, served, split};
use super::websocket;
use crate::proxy::accounts::Active;
use crate::proxy::dialects::{anthropic, chat, models, responses};
use crate::proxy::errors::{ProxyError, json_response};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;

/// `GET /health`: liveness and the active profile (never a token). With a local key, a
/// request without it learns only that the endpoint is up.
pub(super) async fn health(State(st): State<Arc<AppState>>, req: Request) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return ProxyError::MethodNotAllowed(req.method().to_string()).into_response();
    }
    if let Some(key) = &st.local_key
        && !has_key(req.headers(), key)
    {
        return json_response(StatusCode::OK, &json!({"status": "ok"}));
    }
    match st.accounts.resolve(None).await {
        Ok(a) => {
            let mode = match a.as_ref() {
                Active::ChatGpt { .. } => "chatgpt",
                Active::ApiKey { .. } => "api_key",
            };
            let body =
                json!({"status": "ok", "profile": a.name(), "auth_mode": mode, "error": null});
            served(json_response(StatusCode::OK, &body), a.name())
        }
        Err(e) => {
            let body =
                json!({"status": "ok", "profile": null, "auth_mode": null, "error": e.to_string()});
            json_response(StatusCode::OK, &body)
        }
    }
}

// ---- Chat Completions and Responses --------------------------------------------------------

/// `POST /v1/chat/completions` ([`chat::via_chatgpt`]).
pub(super) async fn chat_completions(
    State(st): State<Arc<AppState>>,
    params: Params,
    req: Request,
) -> Response {
    let (inc, body) = split(req);
    model_request(st, params, inc, body, Dialect::Chat).await
}

/// `POST /v1/responses` ([`responses::via_chatgpt`]); a WebSocket handshake becomes a socket
/// relayed to the backend's (`websocket.rs`).
pub(super) async fn responses(
    State(st): State<Arc<AppState>>,
    params: Params,
    req: Request,
) -> Response {
    if websocket::is_upgrade(req.headers()) {
        return websocket::responses_socket(st, params, req).await;
    }
    let (inc, body) = split(req);
    model_request(st, params, inc, body, Dialect::Responses).await
}

/// The dialect of a model request, which says whose route serves a ChatGPT profile.
#[derive(Clone, Copy)]
enum Dialect {
    Chat,
    Responses,
    /// Anthropic's Messages: translated for API-key profiles too.
    Messages,
}

/// A model request: read the body, pick the profile (pinned or active), forward an API-key
/// profile's request unchanged, or hand a ChatGPT profile's to the dialect's route (with
/// failover unless the profile was pinned). The uncompressed body keeps its share of the
/// decode budget until the route has answered.
async fn model_request(
    st: Arc<AppState>,
    params: Params,
    inc: Incoming,
    body: Body,
    dialect: Dialect,
) -> Response {
    if inc.method != Method::POST {
        return ProxyError::MethodNotAllowed(inc.method.to_string()).into_response();
    }
    let (body, active) = match body_and_profile(&st, &params, body).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let api_key = match active.as_ref() {
        Active::ApiKey { key, .. } if !matches!(dialect, Dialect::Messages) => {
            let r = forward_api_key(&st, key, Method::POST, &inc, Some(body)).await;
            return result(r, active.name());
        }
        Active::ApiKey { key, .. } => Some(key),
        Active::ChatGpt { .. } => None,
    };
    let mut served_by = active.name().to_owned();
    let failover = params.may_fail_over();
    let decoded = match decode_body(&inc.headers, body, st.body_limit, &st.decode_budget).await {
        Ok(decoded) => decoded,
        Err(e) => return result(Err(e), &served_by),
    };
    let request = match parse_json(&decoded.bytes) {
        Ok(request) => request,
        Err(e) => return result(Err(e), &served_by),
    };
    let (accounts, headers) = (&st.accounts, &inc.headers);
    let r = match (dialect, api_key) {
        (Dialect::Chat, _) => {
            chat::via_chatgpt(accounts, &mut served_by, failover, headers, request).await
        }
        (Dialect::Responses, _) => {
            responses::via_chatgpt(accounts, &mut served_by, failover, headers, request).await
        }
        (Dialect::Messages, Some(key)) => {
            anthropic::via_api_key(accounts, key, headers, request, &st.anthropic).await
        }
        (Dialect::Messages, None) => {
            let settings = &st.anthropic;
            anthropic::via_chatgpt(
                accounts,
                &mut served_by,
                failover,
                headers,
                request,
                settings,
            )
            .await
        }
    };
    drop(decoded);
    result(r, &served_by)
}

// ---- Anthropic's Messages ------------------------------------------------------------------

/// `POST /v1/messages` ([`anthropic::via_chatgpt`], [`anthropic::via_api_key`]).
pub(super) async fn messages(
    State(st): State<Arc<AppState>>,
    params: Params,
    req: Request,
) -> Response {
    let (inc, body) = split(req);
    model_request(st, params, inc, body, Dialect::Messages).await
}

/// `POST /v1/messages/count_tokens` ([`anthropic::count_tokens`]): counted here, nothing
/// goes upstream.
pub(super) async fn count_tokens(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let (inc, body) = split(req);
    if inc.method != Method::POST {
        return ProxyError::MethodNotAllowed(inc.method.to_string()).into_response();
    }
    let counted = async {
        let bytes = read_body(body, st.body_limit).await?;
        let decoded = decode_body(&inc.headers, bytes, st.body_limit, &st.decode_budget).await?;
        let request = parse_json(&decoded.bytes)?;
        Ok::<_, ProxyError>(anthropic::count_tokens(
            &request,
            &inc.headers,
            &st.anthropic,
        )?)
    };
    match counted.await {
        Ok(n) => json_response(StatusCode::OK, &json!({ "input_tokens": n })),
        Err(e) => e.into_response(),
    }
}

// ---- the model list -------------------------------------------------------------------------

/// `GET /v1/models` ([`models::list_via_chatgpt`]).
pub(super) async fn models(
    State(st): State<Arc<AppState>>,
    params: Params,
    req: Request,
) -> Response {
    if req.headers().contains_key("anthropic-version") && req.method() == Method::GET {
        return json_response(StatusCode::OK, &anthropic::model_list(&st.anthropic));
    }
    let (inc, active) = match get_request(&st, &params, req).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let r = match active.as_ref() {
        Active::ApiKey { key, .. } => forward_api_key(&st, key, Method::GET, &inc, None).await,
        Active::ChatGpt { name } => {
            models::list_via_chatgpt(&st.accounts, name, &inc.headers, inc.query.as_deref()).await
        }
    };
    result(r, active.name())
}

/// `GET /v1/models/{id}` ([`models::model_via_chatgpt`]).
pub(super) async fn model(
    State(st): State<Arc<AppState>>,
    params: Params,
    req: Request,
) -> Response {
    let id = params.id.clone().unwrap_or_default();
    let (inc, active) = match get_request(&st, &params, req).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let r = match active.as_ref() {
        Active::ApiKey { key, .. } => forward_api_key(&st, key, Method::GET, &inc, None).await,
        Active::ChatGpt { name } => {
            models::model_via_chatgpt(&st.accounts, name, &inc.headers, &id).await
        }
    };
    result(r, active.name())
}

/// Anything outside `/health` and `/v1`: 404, naming what the endpoint serves.
pub(super) async fn not_found(req: Request) -> Response {
    ProxyError::NotFound(format!(
        "no route for {} {}; this endpoint serves /v1/chat/completions, /v1/responses, /v1/messages, /v1/models, Ollama's /api/… and /health",
        req.method(),
        req.uri().path()
    ))
    .into_response()
}
