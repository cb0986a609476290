//! The Messages routes: `POST /v1/messages` for a ChatGPT profile (translated, sent through
//! the account layer with failover, the answer translated back streamed or whole) and for an
//! API-key profile (the same translation, to the OpenAI API's Responses endpoint).

use super::assemble::collect;
use super::request::{MessagesTranslation, messages_to_responses};
use super::stream::{MessagesStreamOptions, stream};
use crate::proxy::accounts::{Accounts, Answer};
use crate::proxy::errors::ProxyError;
use crate::proxy::upstream::{self, Upstream, apply_chatgpt_quirks, codex_session};
use crate::secret::Secret;
use crate::settings::AnthropicSettings;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::Response;
use serde_json::Value;

/// The request translated and made acceptable to the backend, with the answer's options.
fn translate(
    request: &Value,
    headers: &HeaderMap,
    settings: &AnthropicSettings,
) -> Result<(Value, bool, MessagesStreamOptions), ProxyError> {
    let MessagesTranslation {
        mut body,
        model,
        stream,
        thinking,
        stop_sequences,
    } = messages_to_responses(request, headers, settings)?;
    apply_chatgpt_quirks(&mut body)?;
    let opts = MessagesStreamOptions {
        model,
        thinking,
        stop_sequences,
    };
    Ok((body, stream, opts))
}

/// The answer of a successful upstream response, streamed or whole.
async fn answer(
    resp: reqwest::Response,
    streamed: bool,
    opts: MessagesStreamOptions,
    accounts: &Accounts,
) -> Result<Response, ProxyError> {
    let idle = accounts.upstream().idle();
    if streamed {
        Ok(stream(resp, opts, idle))
    } else {
        collect(resp, opts, idle).await
    }
}

/// `POST /v1/messages` for ChatGPT profile `profile` (the one that served it when the
/// request failed over): `request` is the client's JSON body (thinking of another account
/// the backend refuses is dropped by [`Accounts::send_model`]).
pub(crate) async fn via_chatgpt(
    accounts: &Accounts,
    profile: &mut String,
    failover: bool,
    headers: &HeaderMap,
    request: Value,
    settings: &AnthropicSettings,
) -> Result<Response, ProxyError> {
    let (mut body, streamed, opts) = translate(&request, headers, settings)?;
    let headers = &codex_session(headers, &mut body);
    let url = accounts.upstream().chatgpt_responses_url();
    let resp = match accounts
        .send_model(
            profile,
            failover,
            &url,
            headers,
            &mut body,
            "text/event-stream",
        )
        .await?
    {
        Answer::Upstream(resp) => resp,
        Answer::Refused(resp) => return Ok(resp),
    };
    answer(resp, streamed, opts, accounts).await
}

/// `POST /v1/messages` for an API-key profile: translated the same way and sent to the
/// OpenAI API's `/responses` with the profile's key (none of the client's headers go along:
/// they are Anthropic's).
pub(crate) async fn via_api_key(
    accounts: &Accounts,
    key: &Secret,
    headers: &HeaderMap,
    request: Value,
    settings: &AnthropicSettings,
) -> Result<Response, ProxyError> {
    let (body, streamed, opts) = translate(&request, headers, settings)?;
    let client = accounts.upstream();
    let mut out = Upstream::api_key_headers(key, &HeaderMap::new());
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out.insert(
        header::ACCEPT,
        HeaderValue::from_static("text/event-stream"),
    );
    let resp = client
        .send(
            Method::POST,
            &client.openai_url("/responses"),
            out,
            Some(Bytes::from(body.to_string())),
        )
        .await?;
    if !resp.status().is_success() {
        return Ok(upstream::chatgpt_error(resp, client.idle()).await);
    }
    answer(resp, streamed, opts, accounts).await
}
