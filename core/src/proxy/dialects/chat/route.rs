//! The Chat Completions route for a ChatGPT profile: the chat request translated, sent
//! through the account layer (with failover), and the answer translated back, streamed or
//! whole.

use super::{ChatStreamOptions, chat_to_responses, collect, stream};
use crate::proxy::accounts::{Accounts, Answer};
use crate::proxy::errors::ProxyError;
use crate::proxy::upstream::{apply_chatgpt_quirks, codex_session};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

/// `POST /v1/chat/completions` for ChatGPT profile `profile` (the one that served it when
/// the request failed over): `request` is the client's JSON body.
pub(crate) async fn via_chatgpt(
    accounts: &Accounts,
    profile: &mut String,
    failover: bool,
    headers: &HeaderMap,
    request: Value,
) -> Result<Response, ProxyError> {
    let t = chat_to_responses(&request)?;
    let mut upstream_body = t.body;
    apply_chatgpt_quirks(&mut upstream_body)?;
    let headers = &codex_session(headers, &mut upstream_body);
    let url = accounts.upstream().chatgpt_responses_url();
    let resp = match accounts
        .send_model(
            profile,
            failover,
            &url,
            headers,
            &mut upstream_body,
            "text/event-stream",
        )
        .await?
    {
        Answer::Upstream(resp) => resp,
        Answer::Refused(resp) => return Ok(resp),
    };
    let idle = accounts.upstream().idle();
    if t.stream {
        let opts = ChatStreamOptions {
            model: t.model,
            include_usage: t.include_usage,
            include_reasoning: false,
        };
        Ok(stream(resp, opts, idle))
    } else {
        collect(resp, &t.model, idle).await
    }
}
