//! A request as the handlers take it: the route's captures ([`Params`]), its parts
//! ([`Incoming`]), its body read within the limits and the profile it is for; and the tag on
//! the answer naming the profile that served it (for the request log).

use super::AppState;
use super::body::read_body;
use crate::proxy::accounts::Active;
use crate::proxy::errors::ProxyError;
use crate::proxy::forward_path;
use axum::body::{Body, Bytes};
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The captures of the route: the profile of `/p/<name>/v1/…` and a model id.
pub(super) struct Params {
    profile: Option<String>,
    /// The model id of `/v1/models/{id}`.
    pub(super) id: Option<String>,
    invalid: bool,
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = RawPathParams::from_request_parts(parts, state).await;
        let get = |p: &RawPathParams, key: &str| {
            p.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_owned())
        };
        Ok(match raw {
            Ok(p) => Self {
                profile: get(&p, "profile"),
                id: get(&p, "id"),
                invalid: false,
            },
            Err(RawPathParamsRejection::MissingPathParams(_)) => Self {
                profile: None,
                id: None,
                invalid: false,
            },
            Err(_) => Self {
                profile: None,
                id: None,
                invalid: true,
            },
        })
    }
}

impl Params {
    /// The profile to serve with: `Ok(None)` for the active one.
    pub(super) fn profile(&self) -> Result<Option<&str>, ProxyError> {
        if self.invalid {
            return Err(ProxyError::NotFound("no such profile".into()));
        }
        Ok(self.profile.as_deref())
    }

    /// Whether a model request may move to another account on a usage limit: unless the
    /// profile was pinned (`/p/<name>/v1`).
    pub(super) fn may_fail_over(&self) -> bool {
        !matches!(self.profile(), Ok(Some(_)))
    }
}

/// A request split for the handlers.
pub(super) struct Incoming {
    /// The method.
    pub(super) method: Method,
    /// The headers as sent.
    pub(super) headers: HeaderMap,
    /// The path after `/v1` (or `/p/<name>/v1`), as sent (still percent-encoded): inside
    /// the nested router the URI has its prefix stripped already.
    pub(super) path: String,
    /// The query, without `?`.
    pub(super) query: Option<String>,
}

/// The request's parts the handlers use, and its body.
pub(super) fn split(req: Request) -> (Incoming, Body) {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let (parts, body) = req.into_parts();
    let inc = Incoming {
        method: parts.method,
        headers: parts.headers,
        path,
        query,
    };
    (inc, body)
}

/// The profile a request asks for: the pinned one of `/p/<name>/v1`, else the active one.
async fn resolve_params(st: &AppState, params: &Params) -> Result<Arc<Active>, ProxyError> {
    st.accounts.resolve(params.profile()?).await
}

/// A request's body (within the size limit) and the profile it is for.
/// A request to pass through to the same path under an upstream base: its method one that
/// `allowed` accepts (else 405), its path checked against leaving the base before anything
/// else is read (else 400: the profile's credentials go only under the base), then its body
/// and the profile that serves it ([`body_and_profile`]).
pub(super) async fn to_pass_through(
    st: &AppState,
    params: &Params,
    req: Request,
    allowed: fn(&Method) -> bool,
) -> Result<(Incoming, Bytes, Arc<Active>), Response> {
    let (inc, body) = split(req);
    if !allowed(&inc.method) {
        return Err(ProxyError::MethodNotAllowed(inc.method.to_string()).into_response());
    }
    if let Err(e) = forward_path::segments(&inc.path) {
        return Err(ProxyError::BadPath(e.to_string()).into_response());
    }
    let (body, active) = body_and_profile(st, params, body).await?;
    Ok((inc, body, active))
}

pub(super) async fn body_and_profile(
    st: &AppState,
    params: &Params,
    body: Body,
) -> Result<(Bytes, Arc<Active>), Response> {
    let timeout = st.limits.body_timeout;
    let body = match tokio::time::timeout(timeout, read_body(body, st.body_limit)).await {
        Ok(read) => read.map_err(IntoResponse::into_response)?,
        Err(_) => {
            let mut resp = ProxyError::BodyTimeout(timeout.as_secs()).into_response();
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return Err(resp);
        }
    };
    let active = resolve_params(st, params)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((body, active))
}

/// The start of a `GET` route: anything but `GET` refused, the profile resolved.
pub(super) async fn get_request(
    st: &AppState,
    params: &Params,
    req: Request,
) -> Result<(Incoming, Arc<Active>), Response> {
    let (inc, _) = split(req);
    if inc.method != Method::GET {
        return Err(ProxyError::MethodNotAllowed(inc.method.to_string()).into_response());
    }
    let active = resolve_params(st, params)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((inc, active))
}

/// The profile a response was served with (for the request log line).
#[derive(Clone)]
pub(super) struct ServedBy(pub(super) String);

/// Tags a response with the profile that served it.
pub(super) fn served(mut resp: Response, profile: &str) -> Response {
    resp.extensions_mut().insert(ServedBy(profile.to_owned()));
    resp
}

/// A handler's outcome as the client's answer, tagged with the profile that served it.
pub(super) fn result(r: Result<Response, ProxyError>, profile: &str) -> Response {
    served(r.unwrap_or_else(IntoResponse::into_response), profile)
}
