//! The OpenAI API under `/v1`: responses, chat completions, models (API-key auth).

use super::common::{check_api_key, check_encoding, effective_limits, json_response, openai_error};
use super::models::{api_models, openai_list, openai_model};
use super::reply::default_reply;
use super::sse::{
    ResponseCtx, build_response, chat_completion, chat_frames, input_tokens, responses_frames,
    stream_body,
};
use super::state::{RequestSeq, Shared, random_token};
use super::types::{Reply, StreamBehaviour};
use crate::home::now;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use serde_json::{Value, json};
use std::sync::Arc;

/// Common front half: key, encoding, JSON, model, rate limit, reply (and, for a streamed
/// answer, its delivery, noted on request `seq`).
fn prepare(
    shared: &Shared,
    seq: RequestSeq,
    headers: &HeaderMap,
    body: &[u8],
    list_key: &str,
) -> Result<(String, Value, Reply, StreamBehaviour), Response> {
    let key = check_api_key(shared, headers)?;
    check_encoding(headers)?;
    let req: Value = serde_json::from_slice(body).map_err(|e| {
        openai_error(
            400,
            &format!("We could not parse the JSON body of your request. ({e})"),
            "invalid_request_error",
            None,
        )
    })?;
    let Some(model) = req.get("model").and_then(Value::as_str) else {
        return Err(openai_error(
            400,
            "Missing required parameter: 'model'.",
            "invalid_request_error",
            Some("missing_required_parameter"),
        ));
    };
    if !api_models().contains(&model) {
        return Err(openai_error(
            404,
            &format!("The model `{model}` does not exist or you do not have access to it."),
            "invalid_request_error",
            Some("model_not_found"),
        ));
    }
    if req.get(list_key).is_none() {
        return Err(openai_error(
            400,
            &format!("Missing required parameter: '{list_key}'."),
            "invalid_request_error",
            Some("missing_required_parameter"),
        ));
    }
    let (_, limited) = effective_limits(shared, &[key.as_str()]);
    if let Some(resets_at) = limited {
        let secs = (resets_at - now()).max(1);
        let mut resp = openai_error(
            429,
            &format!("Rate limit reached for {model}. Please try again in {secs}s."),
            "requests",
            Some("rate_limit_exceeded"),
        );
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Err(resp);
    }
    let mut st = shared.lock();
    let reply = st
        .replies
        .pop_front()
        .unwrap_or_else(|| default_reply(&req));
    let behaviour = st.take_stream_behaviour();
    if req.get("stream") == Some(&Value::Bool(true)) {
        st.note_stream(seq, behaviour);
    }
    drop(st);
    match reply {
        Reply::HttpError { status, body } => Err(json_response(status, body)),
        reply => Ok((key, req, reply, behaviour)),
    }
}

fn sse_response(body: axum::body::Body) -> Response {
    let mut resp = Response::new(body);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    add_request_id(&mut resp);
    resp
}

fn add_request_id(resp: &mut Response) {
    if let Ok(v) = HeaderValue::from_str(&format!("req_{}", random_token(16))) {
        resp.headers_mut().insert("x-request-id", v);
    }
}

/// `POST /v1/responses`.
pub(crate) async fn responses(
    State(shared): State<Arc<Shared>>,
    Extension(seq): Extension<RequestSeq>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (key, req, reply, behaviour) = match prepare(&shared, seq, &headers, &body, "input") {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Err(r) = super::backend::check_reasoning_items(&req, &key) {
        return r;
    }
    let ctx = ResponseCtx::new(&req, false, &key);
    let built = build_response(&ctx, &reply);
    if req.get("stream") == Some(&Value::Bool(true)) {
        return sse_response(stream_body(responses_frames(&built.events), behaviour));
    }
    if let Some((code, message)) = built.failed {
        return openai_error(500, &message, "server_error", Some(&code));
    }
    let mut resp = json_response(200, ctx.object("completed", built.output, built.usage));
    add_request_id(&mut resp);
    resp
}

/// `POST /v1/chat/completions`.
pub(crate) async fn chat_completions(
    State(shared): State<Arc<Shared>>,
    Extension(seq): Extension<RequestSeq>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (_key, req, reply, behaviour) = match prepare(&shared, seq, &headers, &body, "messages") {
        Ok(x) => x,
        Err(r) => return r,
    };
    if let Reply::Failed { code, message } = &reply {
        return openai_error(500, message, "server_error", Some(code));
    }
    let model = req["model"].as_str().unwrap_or_default();
    let prompt = input_tokens(&req);
    if req.get("stream") == Some(&Value::Bool(true)) {
        let include_usage = req
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let frames = chat_frames(model, &reply, prompt, include_usage);
        return sse_response(stream_body(frames, behaviour));
    }
    let mut resp = json_response(200, chat_completion(model, &reply, prompt));
    add_request_id(&mut resp);
    resp
}

/// `GET /v1/models`.
pub(crate) async fn models(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(r) = check_api_key(&shared, &headers) {
        return r;
    }
    json_response(200, openai_list())
}

/// `GET /v1/models/{id}`.
pub(crate) async fn model(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = check_api_key(&shared, &headers) {
        return r;
    }
    if api_models().contains(&id.as_str()) {
        json_response(200, openai_model(&id))
    } else {
        json_response(
            404,
            json!({"error": {"message": format!("The model '{id}' does not exist"),
                             "type": "invalid_request_error", "param": "model", "code": "model_not_found"}}),
        )
    }
}
