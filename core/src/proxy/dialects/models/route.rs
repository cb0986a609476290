//! The model routes for a ChatGPT profile: the backend's catalog, fetched with the
//! profile's credentials, as OpenAI's list or one model of it.

use super::models_to_openai_list;
use crate::proxy::accounts::Accounts;
use crate::proxy::errors::{ProxyError, json_response};
use crate::proxy::upstream;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use std::time::Duration;

/// `GET /v1/models` for ChatGPT profile `profile`: OpenAI's list; the Codex catalog (with
/// its `ETag`) when `client_version` is in `query` (a custom-provider Codex asks that way).
pub(crate) async fn list_via_chatgpt(
    accounts: &Accounts,
    profile: &str,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Response, ProxyError> {
    let wants_catalog = query.is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "client_version")
    });
    let (catalog, etag) = match chatgpt_catalog(accounts, profile, headers).await? {
        Ok(x) => x,
        Err(resp) => return Ok(resp),
    };
    let mut resp = if wants_catalog {
        json_response(StatusCode::OK, &catalog)
    } else {
        json_response(StatusCode::OK, &models_to_openai_list(&catalog))
    };
    if let (true, Some(etag)) = (wants_catalog, etag) {
        resp.headers_mut().insert(header::ETAG, etag);
    }
    Ok(resp)
}

/// `GET /v1/models/{id}` for ChatGPT profile `profile`: the model `id` of OpenAI's list,
/// or 404.
pub(crate) async fn model_via_chatgpt(
    accounts: &Accounts,
    profile: &str,
    headers: &HeaderMap,
    id: &str,
) -> Result<Response, ProxyError> {
    let (catalog, _) = match chatgpt_catalog(accounts, profile, headers).await? {
        Ok(x) => x,
        Err(resp) => return Ok(resp),
    };
    let list = models_to_openai_list(&catalog);
    let found = list["data"]
        .as_array()
        .and_then(|d| d.iter().find(|m| m["id"] == id))
        .cloned();
    match found {
        Some(m) => Ok(json_response(StatusCode::OK, &m)),
        None => Err(ProxyError::NotFound(format!(
            "The model '{id}' does not exist or is not available to profile '{profile}'"
        ))),
    }
}

/// The ChatGPT backend's catalog `{"models":[…]}` and its `ETag`, or the backend's error
/// answer as the client's.
pub(crate) async fn chatgpt_catalog(
    accounts: &Accounts,
    profile: &str,
    headers: &HeaderMap,
) -> Result<Result<(Value, Option<HeaderValue>), Response>, ProxyError> {
    let url = accounts.upstream().chatgpt_models_url();
    let resp = accounts
        .send_chatgpt(
            profile,
            Method::GET,
            &url,
            headers,
            None,
            "application/json",
        )
        .await?;
    let idle = accounts.upstream().idle();
    if !resp.status().is_success() {
        return Ok(Err(upstream::chatgpt_error(resp, idle).await));
    }
    let etag = resp.headers().get(header::ETAG).cloned();
    let catalog = read_json(resp, idle, "the model catalog").await?;
    Ok(Ok((catalog, etag)))
}

/// A successful upstream answer's JSON body (`what` names it when it is not JSON), read
/// within the idle timeout.
pub(crate) async fn read_json(
    resp: reqwest::Response,
    idle: Duration,
    what: &str,
) -> Result<Value, ProxyError> {
    let bytes = match tokio::time::timeout(idle, resp.bytes()).await {
        Err(_) => return Err(ProxyError::UpstreamIdle(idle.as_secs())),
        Ok(Err(e)) => {
            return Err(ProxyError::UpstreamUnreachable(
                crate::http::error_kind(&e).into(),
            ));
        }
        Ok(Ok(b)) => b,
    };
    serde_json::from_slice(&bytes)
        .map_err(|_| ProxyError::UpstreamUnreachable(format!("{what} was not valid JSON")))
}
