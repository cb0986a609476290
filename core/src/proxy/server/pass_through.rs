//! The pass-through route: any other `/v1/…` request goes unchanged to the profile's
//! upstream, its path checked ([`forward_path`]) so the profile's credentials go only under
//! the base. API-key profiles' model requests are forwarded the same way.

use super::AppState;
use super::body::{decode_body, parse_json};
use super::request::{Incoming, Params, result, to_pass_through};
use crate::proxy::accounts::Active;
use crate::proxy::dialects::responses;
use crate::proxy::errors::ProxyError;
use crate::proxy::forward_path;
use crate::proxy::upstream::{self, Upstream};
use crate::secret::Secret;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::Response;
use std::sync::Arc;

/// The methods passed through to an upstream: the ones OpenAI's API and the backend use.
fn forwardable(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::POST | Method::DELETE)
}

/// The upstream URL for `inc`'s path under `base`, its segments checked ([`forward_path`]).
fn checked_url(base: &str, inc: &Incoming) -> Result<String, ProxyError> {
    forward_path::upstream_url(base, &inc.path, inc.query.as_deref())
        .map_err(|e| ProxyError::BadPath(e.to_string()))
}

/// Forwards a request unchanged to the OpenAI API with the profile's key.
pub(super) async fn forward_api_key(
    st: &AppState,
    key: &Secret,
    method: Method,
    inc: &Incoming,
    body: Option<Bytes>,
) -> Result<Response, ProxyError> {
    let client = st.accounts.upstream();
    let url = checked_url(&client.openai_url(""), inc)?;
    let headers = &inc.headers;
    let resp = client
        .send(method, &url, Upstream::api_key_headers(key, headers), body)
        .await?;
    Ok(upstream::raw(resp, client.idle()))
}

/// Any other `/v1/…` path: forwarded unchanged for API-key profiles; for ChatGPT profiles to
/// the same path under the backend. `POST /responses/compact` (Codex's history compaction,
/// a model call) records usage limits and fails over like `/responses`
/// ([`responses::compact_via_chatgpt`]).
pub(super) async fn pass_through(
    State(st): State<Arc<AppState>>,
    params: Params,
    req: Request,
) -> Response {
    let (inc, body, active) = match to_pass_through(&st, &params, req, forwardable).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let body = (!body.is_empty()).then_some(body);
    let r = match active.as_ref() {
        Active::ApiKey { key, .. } => {
            forward_api_key(&st, key, inc.method.clone(), &inc, body).await
        }
        Active::ChatGpt { name } => {
            let idle = st.accounts.upstream().idle();
            let base = st.accounts.upstream().chatgpt_responses_url();
            let url = match checked_url(base.trim_end_matches("/responses"), &inc) {
                Ok(url) => url,
                Err(e) => return result(Err(e), active.name()),
            };
            let decoded = match body {
                Some(b) => {
                    match decode_body(&inc.headers, b, st.body_limit, &st.decode_budget).await {
                        Ok(b) => Some(b),
                        Err(e) => return result(Err(e), active.name()),
                    }
                }
                None => None,
            };
            let body = decoded.as_ref().map(|d| d.bytes.clone());
            if inc.method == Method::POST
                && inc.path == "/responses/compact"
                && let Some(b) = &body
            {
                let mut served_by = name.clone();
                let failover = params.may_fail_over();
                let r = match parse_json(b) {
                    Ok(request) => {
                        responses::compact_via_chatgpt(
                            &st.accounts,
                            &mut served_by,
                            failover,
                            &url,
                            &inc.headers,
                            request,
                        )
                        .await
                    }
                    Err(e) => Err(e),
                };
                return result(r, &served_by);
            }
            match st
                .accounts
                .send_chatgpt(name, inc.method, &url, &inc.headers, body, "*/*")
                .await
            {
                Ok(resp) if resp.status().is_success() => Ok(upstream::raw(resp, idle)),
                Ok(resp) => Ok(upstream::chatgpt_error(resp, idle).await),
                Err(e) => Err(e),
            }
        }
    };
    result(r, active.name())
}
