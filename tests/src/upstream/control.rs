//! The `/_fake/*` control API, so out-of-process tests (Python, shell) can steer the fake the
//! way Rust tests do through [`super::FakeUpstream`]'s methods. Control requests are not logged.

use super::common::json_response;
use super::state::{Shared, who_key};
use super::types::{RateLimits, Reply, StreamBehaviour, StreamFaults};
use super::{AccountSpec, auth_json};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// `{"key": "...", "resets_at": 123}`; `resets_at: null` lifts the limit.
#[derive(Debug, Deserialize)]
struct UsageLimit {
    key: String,
    resets_at: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Limits {
    key: String,
    limits: RateLimits,
}

#[derive(Debug, Deserialize)]
struct Failure {
    status: u16,
    body: Value,
}

#[derive(Debug, Deserialize)]
struct SocketClose {
    code: u16,
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Deserialize)]
struct LoginError {
    error: String,
    description: String,
}

/// Knobs settable with `POST /_fake/knobs`; every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Knobs {
    access_ttl: Option<i64>,
    stream_behaviour: Option<StreamBehaviour>,
    next_stream_behaviour: Option<StreamBehaviour>,
    stream_faults: Option<StreamFaults>,
    next_response: Option<Reply>,
    next_responses: Option<Vec<Reply>>,
    clear_responses: Option<bool>,
    usage_limited: Option<UsageLimit>,
    rate_limits: Option<Limits>,
    fail_next_refresh: Option<Failure>,
    refresh_delay_ms: Option<u64>,
    revoke_family_on_reuse: Option<bool>,
    login_as: Option<AccountSpec>,
    deny_login: Option<LoginError>,
    device_pending_polls: Option<u32>,
    device_poll_interval: Option<u64>,
    device_auth_enabled: Option<bool>,
    api_keys: Option<Vec<String>>,
    fail_api_key_exchange: Option<bool>,
    refuse_websockets: Option<bool>,
    next_websocket_close: Option<SocketClose>,
}

/// `POST /_fake/knobs`.
pub(crate) async fn knobs(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let k: Knobs = match serde_json::from_slice(&body) {
        Ok(k) => k,
        Err(e) => return json_response(400, json!({"error": e.to_string()})),
    };
    let mut st = shared.lock();
    if let Some(v) = k.access_ttl {
        st.access_ttl = v;
    }
    if let Some(v) = k.stream_behaviour {
        st.stream = v;
    }
    if let Some(v) = k.next_stream_behaviour {
        st.next_stream.push_back(v);
    }
    if let Some(v) = k.stream_faults {
        st.stream_faults = v;
    }
    if k.clear_responses == Some(true) {
        st.replies.clear();
    }
    if let Some(v) = k.next_response {
        st.replies.push_back(v);
    }
    for v in k.next_responses.unwrap_or_default() {
        st.replies.push_back(v);
    }
    if let Some(u) = k.usage_limited {
        match u.resets_at {
            Some(t) => st.usage_limited.insert(u.key, t),
            None => st.usage_limited.remove(&u.key),
        };
    }
    if let Some(l) = k.rate_limits {
        st.rate_limits.insert(l.key, l.limits);
    }
    if let Some(f) = k.fail_next_refresh {
        st.fail_next_refresh.push_back((f.status, f.body));
    }
    if let Some(v) = k.refresh_delay_ms {
        st.refresh_delay_ms = v;
    }
    if let Some(v) = k.revoke_family_on_reuse {
        st.revoke_family_on_reuse = v;
    }
    if let Some(a) = k.login_as {
        let who = a.identity();
        st.register(&who);
        st.login_identity = Some(who);
        st.login_error = None;
    }
    if let Some(e) = k.deny_login {
        st.login_error = Some((e.error, e.description));
    }
    if let Some(v) = k.device_pending_polls {
        st.device_pending_polls = v;
    }
    if let Some(v) = k.device_poll_interval {
        st.device_interval = v;
    }
    if let Some(v) = k.device_auth_enabled {
        st.device_enabled = v;
    }
    for key in k.api_keys.unwrap_or_default() {
        st.api_keys.insert(key);
    }
    if let Some(v) = k.fail_api_key_exchange {
        st.api_key_exchange_fails = v;
    }
    if let Some(v) = k.refuse_websockets {
        st.refuse_websockets = v;
    }
    if let Some(c) = k.next_websocket_close {
        st.next_websocket_close.push_back((c.code, c.reason));
    }
    json_response(200, json!({"ok": true}))
}

/// `POST /_fake/accounts` with an [`AccountSpec`] (plus optional `access_ttl`): registers the
/// account and answers a ready ChatGPT `auth.json` with freshly issued tokens.
pub(crate) async fn accounts(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    #[derive(Deserialize)]
    struct Req {
        #[serde(flatten)]
        spec: AccountSpec,
        access_ttl: Option<i64>,
    }
    let r: Req = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return json_response(400, json!({"error": e.to_string()})),
    };
    let who = r.spec.identity();
    let mut st = shared.lock();
    let ttl = r.access_ttl.unwrap_or(st.access_ttl);
    let set = st.mint(&who, ttl, None);
    json_response(200, auth_json(&who, &set))
}

/// `GET /_fake/requests[?path=/p]`: the request log (bodies as UTF-8 text).
pub(crate) async fn requests(State(shared): State<Arc<Shared>>, RawQuery(q): RawQuery) -> Response {
    let filter: Option<String> = url::form_urlencoded::parse(q.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "path")
        .map(|(_, v)| v.into_owned());
    let st = shared.lock();
    let list: Vec<Value> = st
        .requests
        .iter()
        .filter(|r| {
            filter
                .as_deref()
                .is_none_or(|p| r.path == p || r.path_only() == p)
        })
        .map(|r| {
            json!({
                "method": r.method,
                "path": r.path,
                "headers": r.headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
                "body": r.body_text(),
                "stream": r.stream,
            })
        })
        .collect();
    json_response(200, Value::Array(list))
}

/// `DELETE /_fake/requests`.
pub(crate) async fn clear_requests(State(shared): State<Arc<Shared>>) -> Response {
    shared.lock().clear_requests();
    json_response(200, json!({"ok": true}))
}

/// `GET /_fake/stats`: refresh counts and presented refresh tokens.
pub(crate) async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let st = shared.lock();
    let per: Vec<Value> = st
        .accounts
        .iter()
        .map(|a| {
            json!({
                "email": a.email, "account_id": a.account_id, "user_id": a.user_id,
                "refresh_calls": st.refresh_calls.get(&who_key(a)).copied().unwrap_or(0),
            })
        })
        .collect();
    json_response(
        200,
        json!({
            "accounts": per,
            "connections_accepted": shared.connections.load(std::sync::atomic::Ordering::Relaxed),
            "total_refresh_calls": st.presented.len(),
            "presented_refresh_tokens": st.presented,
            "reused_refresh_tokens": super::reused(&st.presented),
        }),
    )
}
