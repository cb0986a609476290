//! Codex's own ChatGPT calls, when its `chatgpt_base_url` points at the router
//! (`setup-codex --chatgpt`): `/backend-api/…` and `/p/<name>/backend-api/…`, sent to the
//! backend's root (`chatgpt_base_url` without `/codex`) with one account's credentials, so
//! that everything Codex asks the backend goes out as the account that serves it.
//!
//! - `GET /backend-api/wham/usage` ([`usage`]): the usage of the account that would serve
//!   Codex's next model request (with failover on, the first eligible one when the active
//!   account is known to be limited; a pinned profile always itself), the backend's JSON as
//!   it came, its figures recorded for that account;
//! - anything else ([`pass_through`]): the same path under the backend's root (checked by
//!   [`forward_path`]: nothing outside it), with the active (or pinned) profile's
//!   credentials and the client's other headers.
//!
//! The guards (Origin, Host, other users, the local key, the body limit) apply as to `/v1`.

use super::AppState;
use super::body::decode_body;
use super::request::{Incoming, Params, body_and_profile, result, split, to_pass_through};
use crate::proxy::accounts::Active;
use crate::proxy::errors::ProxyError;
use crate::proxy::forward_path;
use crate::proxy::upstream;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Usage answers are small JSON objects; a bigger one is not read whole.
const USAGE_ANSWER_LIMIT: usize = 1024 * 1024;

/// The methods Codex's backend calls use.
fn forwardable(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// The ChatGPT profile a backend call is for, or why there is none (an API key can't make
/// ChatGPT calls).
fn chatgpt_name(active: &Active) -> Result<&str, ProxyError> {
    match active {
        Active::ChatGpt { name } => Ok(name),
        Active::ApiKey { name, .. } => Err(ProxyError::ProfileUnusable {
            name: name.clone(),
            reason:
                "it holds an API key; Codex's ChatGPT calls (/backend-api/…) need a ChatGPT login"
                    .into(),
        }),
    }
}

/// The backend URL for `inc`'s path (after `/backend-api`), its segments checked.
fn backend_url(st: &AppState, inc: &Incoming) -> Result<String, ProxyError> {
    let base = st.accounts.upstream().chatgpt_backend_base();
    forward_path::upstream_url(base, &inc.path, inc.query.as_deref())
        .map_err(|e| ProxyError::BadPath(e.to_string()))
}

/// `GET /backend-api/wham/usage`: the serving account's usage, as the backend answers it.
pub(super) async fn usage(
    State(st): State<Arc<AppState>>,
    params: Params,
    req: Request,
) -> Response {
    let (inc, body) = split(req);
    if inc.method != Method::GET {
        return ProxyError::MethodNotAllowed(inc.method.to_string()).into_response();
    }
    let (_, active) = match body_and_profile(&st, &params, body).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let name = match chatgpt_name(&active) {
        Ok(name) => name,
        Err(e) => return result(Err(e), active.name()),
    };
    let serving = st.accounts.serving(name, params.may_fail_over()).await;
    let answer = async {
        let url = backend_url(&st, &inc)?;
        let resp = st
            .accounts
            .send_backend(&serving, Method::GET, &url, &inc.headers, None)
            .await?;
        let status = resp.status();
        let content_type = resp.headers().get(header::CONTENT_TYPE).cloned();
        let idle = st.accounts.upstream().idle();
        let bytes = read_small(resp, idle).await?;
        if status.is_success()
            && let Ok(payload) = serde_json::from_slice(&bytes)
        {
            st.accounts.record_usage_payload(&serving, &payload);
        }
        let mut out = Response::new(Body::from(bytes));
        *out.status_mut() = status;
        if let Some(ct) = content_type {
            out.headers_mut().insert(header::CONTENT_TYPE, ct);
        }
        Ok(out)
    };
    result(answer.await, &serving)
}

/// A small answer read whole, within [`USAGE_ANSWER_LIMIT`] and the idle timeout.
async fn read_small(
    mut resp: reqwest::Response,
    idle: std::time::Duration,
) -> Result<Bytes, ProxyError> {
    let mut out = Vec::new();
    loop {
        let chunk = tokio::time::timeout(idle, resp.chunk())
            .await
            .map_err(|_| ProxyError::UpstreamIdle(idle.as_secs()))?
            .map_err(|e| ProxyError::UpstreamUnreachable(crate::http::error_kind(&e).into()))?;
        let Some(chunk) = chunk else { break };
        if out.len() + chunk.len() > USAGE_ANSWER_LIMIT {
            return Err(ProxyError::UpstreamUnreachable(
                "the usage answer is too large".into(),
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

/// Any other `/backend-api/…` call: passed to the same path under the backend's root with
/// the active (or pinned) profile's credentials; the answer relayed as it comes.
pub(super) async fn pass_through(
    State(st): State<Arc<AppState>>,
    params: Params,
    req: Request,
) -> Response {
    let (inc, body, active) = match to_pass_through(&st, &params, req, forwardable).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let answer = async {
        let name = chatgpt_name(&active)?;
        let url = backend_url(&st, &inc)?;
        let decoded = match (!body.is_empty()).then_some(body) {
            Some(b) => Some(decode_body(&inc.headers, b, st.body_limit, &st.decode_budget).await?),
            None => None,
        };
        let mut headers = inc.headers.clone();
        if decoded.is_some() {
            // The body goes out as decoded.
            headers.remove(header::CONTENT_ENCODING);
        }
        let body = decoded.as_ref().map(|d| d.bytes.clone());
        let resp = st
            .accounts
            .send_backend(name, inc.method.clone(), &url, &headers, body)
            .await?;
        Ok(upstream::raw(resp, st.accounts.upstream().idle()))
    };
    result(answer.await, active.name())
}
