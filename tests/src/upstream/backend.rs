//! The ChatGPT backend (§5, §6, §9): `/backend-api/codex/{responses,models}`, `/wham/usage`.

use super::common::{
    add_rate_limit_headers, check_access, check_account, check_encoding, detail_error,
    effective_limits, header_str, json_response, openai_error, usage_limit_response,
};
use super::models::{MODELS_ETAG, chatgpt_slugs, codex_catalog};
use super::reply::default_reply;
use super::sse::{ResponseCtx, build_response, reasoning_account, responses_frames, stream_body};
use super::state::{RequestSeq, Shared, random_token};
use super::types::{RateLimits, Reply};
use crate::home::now;
use crate::jwt::Identity;
use axum::body::Bytes;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

/// The backend's body quirks, in the order checked; `Err` is the real 400.
pub(crate) fn check_quirks(body: &Value, instructions_optional: bool) -> Result<(), Response> {
    if body.get("instructions").is_none() && !instructions_optional {
        return Err(detail_error(400, "Instructions are required"));
    }
    match body.get("input") {
        Some(Value::Array(_)) => {}
        _ => return Err(detail_error(400, "Input must be a list")),
    }
    if body.get("max_output_tokens").is_some() {
        return Err(detail_error(
            400,
            "Unsupported parameter: max_output_tokens",
        ));
    }
    if body.get("stream") != Some(&Value::Bool(true)) {
        return Err(detail_error(400, "Stream must be set to true"));
    }
    if body.get("store") != Some(&Value::Bool(false)) {
        return Err(detail_error(400, "Store must be set to false"));
    }
    let items = body["input"].as_array().expect("checked above");
    if items
        .iter()
        .any(|i| i.get("role").and_then(Value::as_str) == Some("system"))
    {
        return Err(detail_error(400, "System messages are not allowed"));
    }
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !chatgpt_slugs().any(|s| s == model) {
        return Err(detail_error(
            400,
            &format!(
                "The '{model}' model is not supported when using Codex with a ChatGPT account."
            ),
        ));
    }
    Ok(())
}

/// Encrypted reasoning replayed from another account fails like the real one.
pub(crate) fn check_reasoning_items(body: &Value, account: &str) -> Result<(), Response> {
    let Some(items) = body.get("input").and_then(Value::as_array) else {
        return Ok(());
    };
    for item in items {
        if item.get("type").and_then(Value::as_str) != Some("reasoning") {
            continue;
        }
        let Some(blob) = item.get("encrypted_content").and_then(Value::as_str) else {
            continue;
        };
        if reasoning_account(blob).as_deref() != Some(account) {
            let id = item
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("rs_unknown");
            return Err(openai_error(
                400,
                &format!(
                    "The encrypted content for item {id} could not be verified. Reason: Encrypted content could not be decrypted or parsed."
                ),
                "invalid_request_error",
                Some("invalid_encrypted_content"),
            ));
        }
    }
    Ok(())
}

/// Auth + account checks common to the backend routes.
pub(crate) fn authorize(
    shared: &Shared,
    headers: &HeaderMap,
) -> Result<(Identity, String), Response> {
    let (who, token) = check_access(shared, headers)?;
    check_account(headers, &who)?;
    Ok((who, token))
}

/// The account's rate limits for its `x-codex-*` headers, or the usage-limit 429 (with those
/// headers) while it is limited.
fn usage_limit(shared: &Shared, who: &Identity, token: &str) -> Result<RateLimits, Response> {
    let keys = [who.account_id.as_str(), token];
    let (limits, limited) = effective_limits(shared, &keys);
    match limited {
        Some(resets_at) => {
            let mut resp = usage_limit_response(&who.plan, resets_at);
            add_rate_limit_headers(resp.headers_mut(), &limits, &who.plan);
            Err(resp)
        }
        None => Ok(limits),
    }
}

/// `POST /backend-api/codex/responses`.
pub(crate) async fn responses(
    State(shared): State<Arc<Shared>>,
    Extension(seq): Extension<RequestSeq>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (who, token) = match authorize(&shared, &headers) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Err(r) = check_encoding(&headers) {
        return r;
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return detail_error(400, "Request body is not valid JSON");
    };
    let instructions_optional = shared.lock().instructions_optional;
    if let Err(r) = check_quirks(&req, instructions_optional)
        .and_then(|_| check_reasoning_items(&req, &who.account_id))
    {
        return r;
    }
    let limits = match usage_limit(&shared, &who, &token) {
        Ok(limits) => limits,
        Err(resp) => return resp,
    };
    let (reply, behaviour) = {
        let mut st = shared.lock();
        let reply = st
            .replies
            .pop_front()
            .unwrap_or_else(|| default_reply(&req));
        (reply, st.take_stream_behaviour())
    };
    if let Reply::HttpError { status, body } = reply {
        return json_response(status, body);
    }
    shared.lock().note_stream(seq, behaviour);
    let ctx = ResponseCtx::new(&req, true, &who.account_id);
    let built = build_response(&ctx, &reply);
    let mut resp = Response::new(stream_body(responses_frames(&built.events), behaviour));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    add_rate_limit_headers(h, &limits, &who.plan);
    let turn_state = header_str(&headers, "x-codex-turn-state")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("ts_{}", random_token(24)));
    if let Ok(v) = HeaderValue::from_str(&turn_state) {
        h.insert("x-codex-turn-state", v);
    }
    h.insert("x-models-etag", HeaderValue::from_static(MODELS_ETAG));
    h.insert("x-reasoning-included", HeaderValue::from_static("true"));
    if let Ok(v) = HeaderValue::from_str(&ctx.model) {
        h.insert("openai-model", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("req_{}", random_token(16))) {
        h.insert("x-request-id", v);
    }
    resp
}

/// `POST /backend-api/codex/responses/compact` → `{output:[…]}` with one compaction item
/// (or the usage-limit 429, like `/responses`).
pub(crate) async fn compact(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (who, token) = match authorize(&shared, &headers) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return detail_error(400, "Request body is not valid JSON");
    };
    if let Err(r) = check_reasoning_items(&req, &who.account_id) {
        return r;
    }
    // Compaction is a model call: it counts against the account's usage limit.
    if let Err(resp) = usage_limit(&shared, &who, &token) {
        return resp;
    }
    let enc = super::sse::encrypt_reasoning(&who.account_id, "cmp");
    json_response(
        200,
        json!({"output": [{"type": "compaction", "encrypted_content": enc}]}),
    )
}

/// `GET /backend-api/codex/models?client_version=…` → the Codex catalog with an ETag.
pub(crate) async fn models(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(r) = check_access(&shared, &headers) {
        return r;
    }
    let mut resp = (StatusCode::OK, axum::Json(codex_catalog())).into_response();
    resp.headers_mut()
        .insert(header::ETAG, HeaderValue::from_static(MODELS_ETAG));
    resp
}

/// `GET /backend-api/wham/usage` (and `/api/codex/usage`) → the §6 payload.
pub(crate) async fn usage(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let (who, token) = match check_access(&shared, &headers) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let account = header_str(&headers, "chatgpt-account-id")
        .unwrap_or(&who.account_id)
        .to_owned();
    if account != who.account_id {
        return detail_error(403, "You do not have access to this workspace.");
    }
    let (limits, limited) = effective_limits(&shared, &[account.as_str(), token.as_str()]);
    let now = now();
    let window = |w: &super::types::RateWindow| {
        json!({
            "used_percent": w.used_percent.round() as i64,
            "limit_window_seconds": w.window_minutes * 60,
            "reset_after_seconds": (w.reset_at - now).max(0),
            "reset_at": w.reset_at,
        })
    };
    json_response(
        200,
        json!({
            "plan_type": who.plan,
            "rate_limit": {
                "allowed": limited.is_none(),
                "limit_reached": limited.is_some(),
                "primary_window": window(&limits.primary),
                "secondary_window": limits.secondary.as_ref().map(window),
            },
            "credits": {
                "has_credits": limits.has_credits,
                "unlimited": limits.unlimited,
                "balance": limits.balance.clone().unwrap_or_else(|| "0".to_owned()),
                "approx_local_messages": [0, 0],
                "approx_cloud_messages": [0, 0],
            },
            "additional_rate_limits": null,
            "rate_limit_reached_type": limited.map(|_| json!({"type": "rate_limit_reached"})),
        }),
    )
}
