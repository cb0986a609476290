//! The Responses routes for a ChatGPT profile: `POST /v1/responses` relayed through the
//! account layer (with failover), streamed or assembled whole, and `POST
//! /v1/responses/compact` (Codex's history compaction, a model call too).

use super::{collect, stream};
use crate::proxy::accounts::{Accounts, Answer};
use crate::proxy::errors::{ProxyError, TranslateError};
use crate::proxy::upstream::{self, apply_chatgpt_quirks};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

/// `POST /v1/responses` for ChatGPT profile `profile` (the one that served it when the
/// request failed over): `request` is the client's JSON body (reasoning items of another
/// account the backend refuses are dropped by [`Accounts::send_model`]).
pub(crate) async fn via_chatgpt(
    accounts: &Accounts,
    profile: &mut String,
    failover: bool,
    headers: &HeaderMap,
    mut request: Value,
) -> Result<Response, ProxyError> {
    let streamed = match request.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(TranslateError::WrongType {
                field: "stream".into(),
                expected: "a boolean",
            }
            .into());
        }
    };
    apply_chatgpt_quirks(&mut request)?;
    let url = accounts.upstream().chatgpt_responses_url();
    let idle = accounts.upstream().idle();
    let resp = match accounts
        .send_model(
            profile,
            failover,
            &url,
            headers,
            &mut request,
            "text/event-stream",
        )
        .await?
    {
        Answer::Upstream(resp) => resp,
        Answer::Refused(resp) => return Ok(resp),
    };
    if streamed {
        Ok(stream(resp, idle))
    } else {
        collect(resp, idle).await
    }
}

/// `POST /v1/responses/compact` to `url` (the backend's `/responses/compact`) for ChatGPT
/// profile `profile`, through [`Accounts::send_model`]; the answer (JSON) is relayed as it
/// comes.
pub(crate) async fn compact_via_chatgpt(
    accounts: &Accounts,
    profile: &mut String,
    failover: bool,
    url: &str,
    headers: &HeaderMap,
    mut request: Value,
) -> Result<Response, ProxyError> {
    let idle = accounts.upstream().idle();
    match accounts
        .send_model(profile, failover, url, headers, &mut request, "*/*")
        .await?
    {
        Answer::Upstream(resp) => Ok(upstream::raw(resp, idle)),
        Answer::Refused(resp) => Ok(resp),
    }
}
