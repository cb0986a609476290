//! Codex's conversation identity on a request the router translated (Chat Completions,
//! Anthropic's Messages, Ollama) before it goes to the ChatGPT backend: what Codex 0.171
//! sends with every turn (`docs/codex-compat.md`), so that a translated request looks to the
//! backend like one of Codex's.
//!
//! - headers `session-id`, `thread-id` and `x-client-request-id` (the conversation id),
//!   `x-codex-window-id` (`{id}:0`) and `x-codex-turn-metadata` (a small JSON object);
//! - body `prompt_cache_key` (the conversation id) and `client_metadata` with `session_id`,
//!   `thread_id`, `turn_id`, `x-codex-window-id` and `x-codex-turn-metadata`.
//!
//! What the client sent wins: its own session headers and body fields are kept as they are.
//! The conversation id is the client's (`session-id`, `session_id` or `thread-id` header, or
//! `prompt_cache_key`), else a new UUIDv7 for the request.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value, json};

/// Session headers a client may send, in the order their value is taken as the id.
const CLIENT_SESSION_HEADERS: &[&str] = &["session-id", "session_id", "thread-id"];

/// Adds Codex's conversation identity to a translated Responses `body` (in place) and
/// returns `incoming` with Codex's session headers added where the client sent none.
pub fn codex_session(incoming: &HeaderMap, body: &mut Value) -> HeaderMap {
    let from_header = CLIENT_SESSION_HEADERS
        .iter()
        .find_map(|h| incoming.get(*h).and_then(|v| v.to_str().ok()))
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let from_body = body
        .get("prompt_cache_key")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .map(str::to_owned);
    let id = from_header
        .or(from_body)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let turn_id = uuid::Uuid::now_v7().to_string();
    let window_id = format!("{id}:0");
    let metadata = json!({
        "session_id": id,
        "thread_id": id,
        "turn_id": turn_id,
        "window_id": window_id,
        "window_number": 0,
        "request_kind": "turn",
    })
    .to_string();

    let mut headers = incoming.clone();
    for (name, value) in [
        ("session-id", id.as_str()),
        ("thread-id", id.as_str()),
        ("x-client-request-id", id.as_str()),
        ("x-codex-window-id", window_id.as_str()),
        ("x-codex-turn-metadata", metadata.as_str()),
    ] {
        // `session_id` (Codex before 0.1xx) stands for `session-id` too: one id per request.
        let sent = headers.contains_key(name)
            || (name == "session-id" && headers.contains_key("session_id"));
        if !sent && let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }

    if let Some(obj) = body.as_object_mut() {
        obj.entry("prompt_cache_key")
            .or_insert_with(|| Value::String(id.clone()));
        let meta = obj
            .entry("client_metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            for (key, value) in [
                ("session_id", &id),
                ("thread_id", &id),
                ("turn_id", &turn_id),
                ("x-codex-window-id", &window_id),
                ("x-codex-turn-metadata", &metadata),
            ] {
                meta.entry(key)
                    .or_insert_with(|| Value::String(value.clone()));
            }
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_without_a_session_gets_one_id_everywhere() {
        let mut body = json!({"model": "gpt-5.5", "input": []});
        let h = codex_session(&HeaderMap::new(), &mut body);
        let id = h["session-id"].to_str().unwrap().to_owned();
        assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7);
        assert_eq!(h["thread-id"], id.as_str());
        assert_eq!(h["x-client-request-id"], id.as_str());
        assert_eq!(h["x-codex-window-id"], format!("{id}:0").as_str());
        let meta: Value =
            serde_json::from_str(h["x-codex-turn-metadata"].to_str().unwrap()).unwrap();
        assert_eq!(meta["session_id"], id.as_str());
        assert_eq!(meta["request_kind"], "turn");
        assert_eq!(body["prompt_cache_key"], id.as_str());
        let cm = &body["client_metadata"];
        assert_eq!(cm["session_id"], id.as_str());
        assert_eq!(cm["thread_id"], id.as_str());
        assert_eq!(cm["x-codex-window-id"], format!("{id}:0").as_str());
        assert_eq!(cm["turn_id"], meta["turn_id"]);
        assert_eq!(
            cm["x-codex-turn-metadata"],
            h["x-codex-turn-metadata"].to_str().unwrap()
        );
    }

    #[test]
    fn what_the_client_sent_wins() {
        let mut incoming = HeaderMap::new();
        incoming.insert("session_id", HeaderValue::from_static("old-style"));
        incoming.insert("x-codex-window-id", HeaderValue::from_static("w:3"));
        let mut body =
            json!({"prompt_cache_key": "cache-1", "client_metadata": {"thread_id": "t"}});
        let h = codex_session(&incoming, &mut body);
        assert!(h.get("session-id").is_none(), "one id header per request");
        assert_eq!(h["session_id"], "old-style");
        assert_eq!(h["thread-id"], "old-style");
        assert_eq!(h["x-codex-window-id"], "w:3");
        assert_eq!(body["prompt_cache_key"], "cache-1");
        assert_eq!(body["client_metadata"]["thread_id"], "t");
        assert_eq!(body["client_metadata"]["session_id"], "old-style");

        // Without a header, the client's cache key names the conversation.
        let mut body = json!({"prompt_cache_key": "conv-9"});
        let h = codex_session(&HeaderMap::new(), &mut body);
        assert_eq!(h["session-id"], "conv-9");
        assert_eq!(h["x-codex-window-id"], "conv-9:0");
    }
}
