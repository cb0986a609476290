//! The Ollama routes for a profile: a chat or generate request translated, sent through the
//! account layer (a ChatGPT profile with failover, an API-key profile to the OpenAI API's
//! Responses endpoint) and answered as NDJSON lines or whole; the profile's models as
//! Ollama's list and model card.

use super::assemble::collect;
use super::models::{ModelInfo, models_of_catalog, models_of_openai_list};
use super::request::{OllamaKind, OllamaTranslation, ollama_to_responses};
use super::stream::{AnswerShape, NDJSON, OllamaStreamTranslator, stream};
use crate::proxy::accounts::{Accounts, Answer};
use crate::proxy::dialects::models::{chatgpt_catalog, read_json};
use crate::proxy::errors::{ProxyError, json_response};
use crate::proxy::upstream::{self, Upstream, apply_chatgpt_quirks, codex_session};
use crate::secret::Secret;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use std::time::Instant;

/// Who serves an Ollama request.
pub(crate) enum Serving<'a> {
    /// A ChatGPT profile (the one that served, once the request failed over), and whether it
    /// may fail over.
    ChatGpt {
        /// The profile.
        profile: &'a mut String,
        /// Whether a usage limit moves the request to the next account.
        failover: bool,
    },
    /// An API-key profile's key.
    ApiKey(&'a Secret),
}

/// `POST /api/chat` or `/api/generate` (`kind`): `request` is the client's JSON body, which
/// arrived at `started`.
pub(crate) async fn answer(
    accounts: &Accounts,
    serving: Serving<'_>,
    headers: &HeaderMap,
    request: Value,
    kind: OllamaKind,
    started: Instant,
) -> Result<Response, ProxyError> {
    let OllamaTranslation {
        mut body,
        model,
        stream: streamed,
        kind,
        load_only,
    } = ollama_to_responses(&request, kind)?;
    let shape = AnswerShape { model, kind };
    if load_only {
        return Ok(whole_or_line(&shape.load_answer(), streamed));
    }
    let idle = accounts.upstream().idle();
    let resp = match serving {
        Serving::ChatGpt { profile, failover } => {
            apply_chatgpt_quirks(&mut body)?;
            let headers = &codex_session(headers, &mut body);
            let url = accounts.upstream().chatgpt_responses_url();
            let sent = accounts
                .send_model(
                    profile,
                    failover,
                    &url,
                    headers,
                    &mut body,
                    "text/event-stream",
                )
                .await?;
            match sent {
                Answer::Upstream(resp) => resp,
                Answer::Refused(resp) => return Ok(resp),
            }
        }
        Serving::ApiKey(key) => {
            let upstream = accounts.upstream();
            upstream
                .send(
                    Method::POST,
                    &upstream.openai_url("/responses"),
                    api_key_headers(key, "text/event-stream"),
                    Some(body.to_string().into()),
                )
                .await?
        }
    };
    if !resp.status().is_success() {
        return Ok(upstream::chatgpt_error(resp, idle).await);
    }
    let lines = OllamaStreamTranslator::new(shape, started);
    if streamed {
        Ok(stream(resp, lines, idle))
    } else {
        collect(resp, lines, kind, idle).await
    }
}

/// An answer made here: one NDJSON line when the client streams, else the JSON object.
fn whole_or_line(value: &Value, streamed: bool) -> Response {
    let mut resp = json_response(StatusCode::OK, value);
    if streamed {
        *resp.body_mut() = format!("{value}\n").into();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
    }
    resp
}

/// The headers of a request the router makes with an API key (nothing of the client's).
fn api_key_headers(key: &Secret, accept: &'static str) -> HeaderMap {
    let mut h = Upstream::api_key_headers(key, &HeaderMap::new());
    h.insert(header::ACCEPT, HeaderValue::from_static(accept));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h
}

/// The models `serving` can use, or the upstream's error answer as the client's.
pub(crate) async fn models(
    accounts: &Accounts,
    serving: Serving<'_>,
    headers: &HeaderMap,
) -> Result<Result<Vec<ModelInfo>, Response>, ProxyError> {
    match serving {
        Serving::ChatGpt { profile, .. } => Ok(chatgpt_catalog(accounts, profile, headers)
            .await?
            .map(|(catalog, _)| models_of_catalog(&catalog))),
        Serving::ApiKey(key) => {
            let upstream = accounts.upstream();
            let idle = upstream.idle();
            let resp = upstream
                .send(
                    Method::GET,
                    &upstream.openai_url("/models"),
                    api_key_headers(key, "application/json"),
                    None,
                )
                .await?;
            if !resp.status().is_success() {
                return Ok(Err(upstream::chatgpt_error(resp, idle).await));
            }
            let list = read_json(resp, idle, "the model list").await?;
            Ok(Ok(models_of_openai_list(&list)))
        }
    }
}
