//! The routes: reading and checking the request, and each endpoint's handler (Chat
//! Completions, Responses, compaction, models, health, and the rest passed through).

use super::*;

/// The captures of the route: the profile of `/p/<name>/v1/…` and a model id.
pub(super) struct Params {
    profile: Option<String>,
    id: Option<String>,
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
}

/// Reads the body, refusing it past the limit without reading the rest.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, ProxyError> {
    let mut stream = body.into_data_stream();
    let mut first: Option<Bytes> = None;
    let mut buf: Vec<u8> = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ProxyError::BodyRead(e.to_string()))?;
        total = total.saturating_add(chunk.len());
        if total > limit {
            return Err(ProxyError::BodyTooLarge { limit });
        }
        match first.take() {
            None if buf.is_empty() => first = Some(chunk),
            None => buf.extend_from_slice(&chunk),
            Some(f) => {
                buf.extend_from_slice(&f);
                buf.extend_from_slice(&chunk);
            }
        }
    }
    Ok(match first {
        Some(f) => f,
        None => Bytes::from(buf),
    })
}

fn parse_json(bytes: &[u8]) -> Result<Value, ProxyError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ProxyError::BadJson(e.to_string()))?;
    if !value.is_object() {
        return Err(ProxyError::BadJson("the body must be a JSON object".into()));
    }
    Ok(value)
}

/// A request body as the handlers read it, uncompressed; while it lives it holds its share
/// of the decode budget.
pub(super) struct Decoded {
    pub(super) bytes: Bytes,
    _budget: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// How much is decoded between two claims on the budget.
const DECODE_CHUNK: usize = 64 * 1024;
/// How long a decode waits for budget held by others before it gives up (503).
const DECODE_WAIT: Duration = Duration::from_secs(2);

/// The body uncompressed: Codex's built-in provider (`openai_base_url`) sends zstd bodies
/// with ChatGPT logins. The result is bounded by the body limit, and the decoded bytes of
/// all requests together by the decode budget (claimed as they are produced), so a crowd
/// of small compression bombs can't take the memory a single one can't.
async fn decode_body(
    st: &AppState,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Decoded, ProxyError> {
    let encoding = headers.get(header::CONTENT_ENCODING).map(|v| {
        String::from_utf8_lossy(v.as_bytes())
            .trim()
            .to_ascii_lowercase()
    });
    match encoding.as_deref() {
        None | Some("identity") => Ok(Decoded {
            bytes: body,
            _budget: None,
        }),
        Some("zstd") => {
            let (limit, budget) = (st.body_limit, st.decode_budget.clone());
            let runtime = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || {
                use std::io::Read;
                let bad = |e: std::io::Error| ProxyError::BodyRead(format!("bad zstd body: {e}"));
                let mut decoder = ruzstd::decoding::StreamingDecoder::new(body.as_ref())
                    .map_err(|e| ProxyError::BodyRead(format!("bad zstd body: {e}")))?;
                let mut out: Vec<u8> = Vec::new();
                let mut held: Option<tokio::sync::OwnedSemaphorePermit> = None;
                let mut claimed_kib = 0usize;
                let mut chunk = vec![0u8; DECODE_CHUNK];
                loop {
                    let n = decoder.read(&mut chunk).map_err(bad)?;
                    if n == 0 {
                        break;
                    }
                    let need = out.len() + n;
                    if need > limit {
                        return Err(ProxyError::BodyTooLarge { limit });
                    }
                    if need > out.capacity() {
                        // Grown by doubling as a Vec would, but claimed before it is.
                        let cap = (out.capacity() * 2).min(limit + DECODE_CHUNK).max(need);
                        let cap_kib = cap.div_ceil(1024);
                        let more = u32::try_from(cap_kib - claimed_kib)
                            .map_err(|_| ProxyError::DecodeBusy)?;
                        let claim = runtime.block_on(tokio::time::timeout(
                            DECODE_WAIT,
                            budget.clone().acquire_many_owned(more),
                        ));
                        match (claim, &mut held) {
                            (Ok(Ok(permit)), Some(h)) => h.merge(permit),
                            (Ok(Ok(permit)), None) => held = Some(permit),
                            _ => return Err(ProxyError::DecodeBusy),
                        }
                        claimed_kib = cap_kib;
                        out.reserve_exact(cap - out.len());
                    }
                    out.extend_from_slice(&chunk[..n]);
                }
                Ok(Decoded {
                    bytes: Bytes::from(out),
                    _budget: held,
                })
            })
            .await
            .map_err(|e| ProxyError::BodyRead(e.to_string()))?
        }
        Some(other) => Err(ProxyError::UnsupportedEncoding(other.to_owned())),
    }
}

/// Tags a response with the profile that served it.
pub(super) fn served(mut resp: Response, profile: &str) -> Response {
    resp.extensions_mut().insert(ServedBy(profile.to_owned()));
    resp
}

fn result(r: Result<Response, ProxyError>, profile: &str) -> Response {
    served(r.unwrap_or_else(IntoResponse::into_response), profile)
}

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
async fn forward_api_key(
    st: &AppState,
    key: &Secret,
    method: Method,
    inc: &Incoming,
    body: Option<Bytes>,
) -> Result<Response, ProxyError> {
    let url = checked_url(&st.upstream.openai_url(""), inc)?;
    let headers = &inc.headers;
    let resp = st
        .upstream
        .send(method, &url, Upstream::api_key_headers(key, headers), body)
        .await?;
    Ok(upstream::raw(resp, st.upstream.idle()))
}

/// A request split for the handlers.
pub(super) struct Incoming {
    method: Method,
    headers: HeaderMap,
    /// The path after `/v1` (or `/p/<name>/v1`), as sent (still percent-encoded): inside
    /// the nested router the URI has its prefix stripped already.
    path: String,
    query: Option<String>,
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

// ---- handlers -----------------------------------------------------------------------------

/// `GET /health`: liveness and the active profile (never a token). With a local key, a
/// request without it learns only that the endpoint is up.
pub(super) async fn health(State(st): State<Arc<AppState>>, req: Request) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return ProxyError::MethodNotAllowed(req.method().to_string()).into_response();
    }
    if let Some(key) = &st.local_key
        && !has_key(req.headers(), key)
    {
        return json_response(StatusCode::OK, &json!({"status": "ok"}));
    }
    match st.resolve(None).await {
        Ok(a) => {
            let mode = match a.as_ref() {
                Active::ChatGpt { .. } => "chatgpt",
                Active::ApiKey { .. } => "api_key",
            };
            let body =
                json!({"status": "ok", "profile": a.name(), "auth_mode": mode, "error": null});
            served(json_response(StatusCode::OK, &body), a.name())
        }
        Err(e) => {
            let body =
                json!({"status": "ok", "profile": null, "auth_mode": null, "error": e.to_string()});
            json_response(StatusCode::OK, &body)
        }
    }
}

/// `POST /v1/chat/completions`.
pub(super) async fn chat_completions(
    State(st): State<Arc<AppState>>,
    params: Params,
    req: Request,
) -> Response {
    let (inc, body) = split(req);
    model_request(st, params, inc, body, ModelRoute::Chat).await
}

/// The two model routes, which differ only in how a ChatGPT profile's request is made.
#[derive(Clone, Copy)]
enum ModelRoute {
    Chat,
    Responses,
}

/// A model request: read the body, pick the profile (pinned or active), forward an API-key
/// profile's request unchanged, or send a ChatGPT profile's through the backend (with
/// failover unless the profile was pinned).
async fn model_request(
    st: Arc<AppState>,
    params: Params,
    inc: Incoming,
    body: Body,
    route: ModelRoute,
) -> Response {
    if inc.method != Method::POST {
        return ProxyError::MethodNotAllowed(inc.method.to_string()).into_response();
    }
    let (body, active) = match body_and_profile(&st, &params, body).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let r = match active.as_ref() {
        Active::ApiKey { key, .. } => {
            forward_api_key(&st, key, Method::POST, &inc, Some(body)).await
        }
        Active::ChatGpt { name } => {
            let mut served_by = name.clone();
            let failover = !matches!(params.profile(), Ok(Some(_)));
            let r = match decode_body(&st, &inc.headers, body).await {
                Ok(body) => match route {
                    ModelRoute::Chat => {
                        let body = &body.bytes;
                        chat_via_chatgpt(&st, &mut served_by, failover, &inc.headers, body).await
                    }
                    ModelRoute::Responses => {
                        let body = &body.bytes;
                        responses_via_chatgpt(&st, &mut served_by, failover, &inc.headers, body)
                            .await
                    }
                },
                Err(e) => Err(e),
            };
            return result(r, &served_by);
        }
    };
    result(r, active.name())
}

async fn chat_via_chatgpt(
    st: &AppState,
    name: &mut String,
    failover: bool,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ProxyError> {
    let request = parse_json(body)?;
    let t = chat_to_responses(&request)?;
    let mut upstream_body = t.body;
    apply_chatgpt_quirks(&mut upstream_body)?;
    let url = st.upstream.chatgpt_responses_url();
    let resp = match st
        .send_model(
            name,
            failover,
            &url,
            headers,
            &mut upstream_body,
            "text/event-stream",
        )
        .await?
    {
        Answer::Upstream(resp) => resp,
        Answer::Limited(resp) => return Ok(resp),
    };
    let idle = st.upstream.idle();
    if !resp.status().is_success() {
        return Ok(upstream::chatgpt_error(resp, idle).await);
    }
    if t.stream {
        let opts = ChatStreamOptions {
            model: t.model,
            include_usage: t.include_usage,
            include_reasoning: false,
        };
        Ok(chat::stream(resp, opts, idle))
    } else {
        chat::collect(resp, &t.model, idle).await
    }
}

/// `POST /v1/responses`; a WebSocket upgrade is answered 426 so Codex falls back to SSE.
pub(super) async fn responses(
    State(st): State<Arc<AppState>>,
    params: Params,
    req: Request,
) -> Response {
    let (inc, body) = split(req);
    let upgrade = inc
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if upgrade {
        return ProxyError::WebSocketUnsupported.into_response();
    }
    model_request(st, params, inc, body, ModelRoute::Responses).await
}

async fn responses_via_chatgpt(
    st: &AppState,
    name: &mut String,
    failover: bool,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ProxyError> {
    let mut request = parse_json(body)?;
    let stream = match request.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(crate::proxy::errors::TranslateError::WrongType {
                field: "stream".into(),
                expected: "a boolean",
            }
            .into());
        }
    };
    apply_chatgpt_quirks(&mut request)?;
    let url = st.upstream.chatgpt_responses_url();
    let idle = st.upstream.idle();
    let mut resp = match st
        .send_model(
            name,
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
        tracing::info!(profile = %name, "dropped reasoning items of another account from the history");
        resp = st
            .send_chatgpt(
                name.as_str(),
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
    if stream {
        Ok(responses::stream(resp, idle))
    } else {
        responses::collect(resp, idle).await
    }
}

/// `POST /responses/compact` to the backend through [`AppState::send_model`]; the answer
/// (JSON) is relayed as it comes.
async fn compact_via_chatgpt(
    st: &AppState,
    name: &mut String,
    failover: bool,
    url: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ProxyError> {
    let mut request = parse_json(body)?;
    let idle = st.upstream.idle();
    match st
        .send_model(name, failover, url, headers, &mut request, "*/*")
        .await?
    {
        Answer::Upstream(resp) if resp.status().is_success() => Ok(upstream::raw(resp, idle)),
        Answer::Upstream(resp) => Ok(upstream::chatgpt_error(resp, idle).await),
        Answer::Limited(resp) => Ok(resp),
    }
}

/// Removes `reasoning` items from a Responses request's `input`; whether there were any.
pub(super) fn strip_reasoning_items(request: &mut Value) -> bool {
    let Some(items) = request.get_mut("input").and_then(Value::as_array_mut) else {
        return false;
    };
    let before = items.len();
    items.retain(|i| i.get("type").and_then(Value::as_str) != Some("reasoning"));
    items.len() != before
}

/// The ChatGPT backend's catalog `{"models":[…]}` and its `ETag`.
async fn chatgpt_catalog(
    st: &AppState,
    name: &str,
    headers: &HeaderMap,
) -> Result<Result<(Value, Option<axum::http::HeaderValue>), Response>, ProxyError> {
    let url = st.upstream.chatgpt_models_url();
    let resp = st
        .send_chatgpt(name, Method::GET, &url, headers, None, "application/json")
        .await?;
    let idle = st.upstream.idle();
    if !resp.status().is_success() {
        return Ok(Err(upstream::chatgpt_error(resp, idle).await));
    }
    let etag = resp.headers().get(header::ETAG).cloned();
    let bytes = match tokio::time::timeout(idle, resp.bytes()).await {
        Err(_) => return Err(ProxyError::UpstreamIdle(idle.as_secs())),
        Ok(Err(e)) => {
            return Err(ProxyError::UpstreamUnreachable(
                crate::http::error_kind(&e).into(),
            ));
        }
        Ok(Ok(b)) => b,
    };
    let catalog: Value = serde_json::from_slice(&bytes).map_err(|_| {
        ProxyError::UpstreamUnreachable("the model catalog was not valid JSON".into())
    })?;
    Ok(Ok((catalog, etag)))
}

/// `GET /v1/models`: OpenAI's list; the Codex catalog when `client_version` is asked (a
/// custom-provider Codex does that).
pub(super) async fn models(
    State(st): State<Arc<AppState>>,
    params: Params,
    req: Request,
) -> Response {
    let (inc, active) = match get_request(&st, &params, req).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let r = match active.as_ref() {
        Active::ApiKey { key, .. } => forward_api_key(&st, key, Method::GET, &inc, None).await,
        Active::ChatGpt { name } => {
            let wants_catalog = inc.query.as_deref().is_some_and(|q| {
                url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "client_version")
            });
            match chatgpt_catalog(&st, name, &inc.headers).await {
                Err(e) => Err(e),
                Ok(Err(resp)) => Ok(resp),
                Ok(Ok((catalog, etag))) => {
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
            }
        }
    };
    result(r, active.name())
}

/// The profile a request asks for: the pinned one of `/p/<name>/v1`, else the active one.
async fn resolve_params(st: &AppState, params: &Params) -> Result<Arc<Active>, ProxyError> {
    st.resolve(params.profile()?).await
}

/// A request's body (within the size limit) and the profile it is for.
async fn body_and_profile(
    st: &AppState,
    params: &Params,
    body: Body,
) -> Result<(Bytes, Arc<Active>), Response> {
    let timeout = st.limits.body_timeout;
    let body = match tokio::time::timeout(timeout, read_body(body, st.body_limit)).await {
        Ok(read) => read.map_err(IntoResponse::into_response)?,
        Err(_) => {
            let mut resp = ProxyError::BodyTimeout(timeout.as_secs()).into_response();
            resp.headers_mut().insert(
                header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            return Err(resp);
        }
    };
    let active = resolve_params(st, params)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((body, active))
}

/// The start of a `GET` route: anything but `GET` refused, the profile resolved.
async fn get_request(
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

/// `GET /v1/models/{id}`.
pub(super) async fn model(
    State(st): State<Arc<AppState>>,
    params: Params,
    req: Request,
) -> Response {
    let id = params.id.clone().unwrap_or_default();
    let (inc, active) = match get_request(&st, &params, req).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let r = match active.as_ref() {
        Active::ApiKey { key, .. } => forward_api_key(&st, key, Method::GET, &inc, None).await,
        Active::ChatGpt { name } => match chatgpt_catalog(&st, name, &inc.headers).await {
            Err(e) => Err(e),
            Ok(Err(resp)) => Ok(resp),
            Ok(Ok((catalog, _))) => {
                let list = models_to_openai_list(&catalog);
                let found = list["data"]
                    .as_array()
                    .and_then(|d| d.iter().find(|m| m["id"] == id.as_str()))
                    .cloned();
                match found {
                    Some(m) => Ok(json_response(StatusCode::OK, &m)),
                    None => Err(ProxyError::NotFound(format!(
                        "The model '{id}' does not exist or is not available to profile '{name}'"
                    ))),
                }
            }
        },
    };
    result(r, active.name())
}

/// Any other `/v1/…` path: forwarded unchanged for API-key profiles; for ChatGPT profiles to
/// the same path under the backend. `POST /responses/compact` (Codex's history compaction,
/// a model call) records usage limits and fails over like `/responses`.
pub(super) async fn v1_fallback(
    State(st): State<Arc<AppState>>,
    params: Params,
    req: Request,
) -> Response {
    let (inc, body) = split(req);
    if !forwardable(&inc.method) {
        return ProxyError::MethodNotAllowed(inc.method.to_string()).into_response();
    }
    // Checked before anything else: the profile's credentials go only under the base.
    if let Err(e) = forward_path::segments(&inc.path) {
        return ProxyError::BadPath(e.to_string()).into_response();
    }
    let (body, active) = match body_and_profile(&st, &params, body).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let body = (!body.is_empty()).then_some(body);
    let r = match active.as_ref() {
        Active::ApiKey { key, .. } => {
            forward_api_key(&st, key, inc.method.clone(), &inc, body).await
        }
        Active::ChatGpt { name } => {
            let base = st.upstream.chatgpt_responses_url();
            let url = match checked_url(base.trim_end_matches("/responses"), &inc) {
                Ok(url) => url,
                Err(e) => return result(Err(e), active.name()),
            };
            let decoded = match body {
                Some(b) => match decode_body(&st, &inc.headers, b).await {
                    Ok(b) => Some(b),
                    Err(e) => return result(Err(e), active.name()),
                },
                None => None,
            };
            let body = decoded.as_ref().map(|d| d.bytes.clone());
            if inc.method == Method::POST
                && inc.path == "/responses/compact"
                && let Some(b) = &body
            {
                let mut served_by = name.clone();
                let failover = !matches!(params.profile(), Ok(Some(_)));
                let r =
                    compact_via_chatgpt(&st, &mut served_by, failover, &url, &inc.headers, b).await;
                return result(r, &served_by);
            }
            match st
                .send_chatgpt(name, inc.method, &url, &inc.headers, body, "*/*")
                .await
            {
                Ok(resp) if resp.status().is_success() => {
                    Ok(upstream::raw(resp, st.upstream.idle()))
                }
                Ok(resp) => Ok(upstream::chatgpt_error(resp, st.upstream.idle()).await),
                Err(e) => Err(e),
            }
        }
    };
    result(r, active.name())
}

pub(super) async fn not_found(req: Request) -> Response {
    ProxyError::NotFound(format!(
        "no route for {} {}; this endpoint serves /v1/chat/completions, /v1/responses, /v1/models and /health",
        req.method(),
        req.uri().path()
    ))
    .into_response()
}
