//! The Responses routes for a ChatGPT profile: `POST /v1/responses` relayed through the
//! account layer (with failover), streamed or assembled whole, and `POST
//! /v1/responses/compact` (Codex's history compaction, a model call too).

use super::{collect, stream};
use crate::proxy::accounts::{Accounts, Answer};
use crate::proxy::errors::{ProxyError, TranslateError};
use crate::proxy::upstream::{self, apply_chatgpt_quirks, strip_reasoning_items};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::Value;

/// `POST /v1/responses` for ChatGPT profile `profile` (the one that served it when the
/// request failed over): `request` is the client's JSON body. When the backend refuses
/// reasoning items of another account, they are dropped and the request is sent once more.
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
    let mut resp = match accounts
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
        Answer::Limited(resp) => return Ok(resp),
    };
    if !resp.status().is_success() {
        let failure = upstream::read_error(resp, idle).await;
        // After a switch, the conversation's encrypted reasoning belongs to the previous
        // account and the backend refuses it: drop those items and try once more, so the
        // switch takes effect in a running Codex instead of breaking its session.
        if !(failure.is_foreign_reasoning() && strip_reasoning_items(&mut request)) {
            return Ok(failure.into_response());
        }
        tracing::info!(profile = %profile, "dropped reasoning items of another account from the history");
        resp = accounts
            .send_chatgpt(
                profile.as_str(),
                Method::POST,
                &url,
                headers,
                Some(Bytes::from(request.to_string())),
                "text/event-stream",
            )
            .await?;
        if !resp.status().is_success() {
            return Ok(upstream::chatgpt_error(resp, idle).await);
        }
    }
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
        Answer::Upstream(resp) if resp.status().is_success() => Ok(upstream::raw(resp, idle)),
        Answer::Upstream(resp) => Ok(upstream::chatgpt_error(resp, idle).await),
        Answer::Limited(resp) => Ok(resp),
    }
}
