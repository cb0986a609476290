//! Codex's WebSocket mode of `/v1/responses` end to end: a tokio-tungstenite client, the
//! router on 127.0.0.1:0 and the fake upstream's WebSocket route.

use crate::proxy::{Router, api_key_home, chatgpt_home, failed_over, start, start_with};
use codex_router_core::events::EventBus;
use codex_router_core::secret::Secret;
use codex_router_testkit::upstream::{FakeUpstream, StreamBehaviour};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::Response;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Where the fake logs each `response.create` frame.
const RESPONSES: &str = "/backend-api/codex/responses";

/// Opens a socket to `path` of the router with Codex's handshake headers and `extra`.
async fn open(
    r: &Router,
    path: &str,
    extra: &[(&str, &str)],
) -> Result<(Ws, Response<Option<Vec<u8>>>), WsError> {
    let url = format!("{}{path}", r.url.replace("http://", "ws://"));
    let mut req = url.into_client_request().unwrap();
    let h = req.headers_mut();
    h.insert(
        "openai-beta",
        "responses_websockets=2026-02-06".parse().unwrap(),
    );
    h.insert("session-id", "019a-ws-session".parse().unwrap());
    h.insert("originator", "codex_cli_rs".parse().unwrap());
    for (k, v) in extra {
        let name: tokio_tungstenite::tungstenite::http::HeaderName = k.parse().unwrap();
        h.insert(name, v.parse().unwrap());
    }
    tokio_tungstenite::connect_async(req).await
}

/// A socket that opened, with the `101`'s headers.
async fn connect(r: &Router, path: &str) -> (Ws, Response<Option<Vec<u8>>>) {
    open(r, path, &[]).await.expect("a 101")
}

/// A `response.create` as Codex sends it.
fn create(text: &str) -> Value {
    json!({
        "type": "response.create",
        "model": "gpt-5.5",
        "instructions": "You are Codex.",
        "input": [{"type": "message", "role": "user",
                   "content": [{"type": "input_text", "text": text}]}],
        "tools": [], "tool_choice": "auto", "parallel_tool_calls": false,
        "store": false, "stream": true, "include": [],
    })
}

/// The next frame within a few seconds.
async fn next(ws: &mut Ws) -> Message {
    tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("a frame in time")
        .expect("the socket is open")
        .expect("a frame")
}

/// Sends `request` and reads the events up to the end of its response.
async fn turn(ws: &mut Ws, request: &Value) -> Vec<Value> {
    ws.send(Message::Text(request.to_string().into()))
        .await
        .unwrap();
    read_response(ws).await
}

async fn read_response(ws: &mut Ws) -> Vec<Value> {
    let mut events = Vec::new();
    loop {
        let msg = next(ws).await;
        let Message::Text(text) = msg else {
            panic!("a text frame, got {msg:?}");
        };
        let event: Value = serde_json::from_str(text.as_str()).unwrap();
        let kind = event["type"].as_str().unwrap_or_default().to_owned();
        events.push(event);
        if matches!(
            kind.as_str(),
            "response.completed" | "response.failed" | "response.incomplete" | "error"
        ) {
            return events;
        }
    }
}

/// The text the response's deltas spell.
fn text_of(events: &[Value]) -> String {
    events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .filter_map(|e| e["delta"].as_str())
        .collect()
}

/// The close frame that ends the socket now.
async fn closed_with(ws: &mut Ws) -> CloseFrame {
    match next(ws).await {
        Message::Close(Some(frame)) => frame,
        other => panic!("a close frame, got {other:?}"),
    }
}

/// The account of each `response.create` the fake got.
fn accounts_served(up: &FakeUpstream) -> Vec<String> {
    up.requests_to(RESPONSES)
        .iter()
        .filter(|r| r.method == "WEBSOCKET")
        .map(|r| {
            r.header("chatgpt-account-id")
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_of_several_responses_goes_over_one_kept_socket_with_the_backends_headers() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let (mut ws, resp) = connect(&r, "/v1/responses").await;
    // The backend's handshake headers came back with the 101.
    let h = resp.headers();
    assert!(h["x-codex-turn-state"].to_str().unwrap().starts_with("ts_"));
    assert!(h.get("x-models-etag").is_some());
    assert_eq!(h["x-reasoning-included"], "true");
    assert_eq!(h["openai-model"], "gpt-5.5");
    assert_eq!(h["x-codex-primary-used-percent"], "12");
    assert!(
        h.get("sec-websocket-extensions").is_none(),
        "no compression"
    );

    for (i, prompt) in ["first", "second", "third"].iter().enumerate() {
        let events = turn(&mut ws, &create(prompt)).await;
        assert_eq!(events[0]["type"], "codex.rate_limits", "turn {i}");
        assert_eq!(events[1]["type"], "response.created");
        assert_eq!(events.last().unwrap()["type"], "response.completed");
        assert_eq!(text_of(&events), format!("You said: {prompt}"));
    }
    let sent = up.requests_to(RESPONSES);
    assert_eq!(sent.len(), 3, "three frames, no HTTP request");
    for s in &sent {
        assert_eq!(s.method, "WEBSOCKET");
        assert_eq!(s.header("chatgpt-account-id"), Some("acct-alice"));
        assert_eq!(
            s.header("openai-beta"),
            Some("responses_websockets=2026-02-06")
        );
        assert_eq!(s.header("session-id"), Some("019a-ws-session"));
        assert!(s.header("authorization").unwrap().starts_with("Bearer "));
        assert!(s.header("sec-websocket-extensions").is_none());
    }
    assert_eq!(
        sent[2].json().unwrap()["input"][0]["content"][0]["text"],
        "third"
    );
    // The usage figures of the handshake and of codex.rate_limits reached the profile.
    let usage = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let alice = r
                .store()
                .list()
                .unwrap()
                .into_iter()
                .find(|p| p.name == "alice");
            if let Some(u) = alice.and_then(|p| p.usage) {
                return u;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("usage recorded");
    assert_eq!(usage.primary.unwrap().used_percent, 12.0);
    ws.close(None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_upgrade_gives_the_client_the_same_426_at_the_handshake() {
    let up = FakeUpstream::start();
    up.set_refuse_websockets(true);
    let r = start(&up, &["alice"]).await;
    let Err(WsError::Http(resp)) = open(&r, "/v1/responses", &[]).await else {
        panic!("the handshake is refused");
    };
    assert_eq!(resp.status(), 426);
    let body: Value = serde_json::from_slice(resp.body().as_deref().unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "upgrade_required");
    // HTTP still works, as Codex falls back to it.
    let http = r
        .post("/v1/responses")
        .json(&json!({"model": "gpt-5.5", "input": "hi", "instructions": "x", "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(http.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guards_refuse_a_web_page_and_a_wrong_key_at_the_handshake() {
    let up = FakeUpstream::start();
    let r = start_with(&up, chatgpt_home(&up, &["alice"], 3600), |c| {
        c.local_key = Some(Secret::new("local-key-1"));
    })
    .await;
    let refused = |r: Result<_, WsError>| match r {
        Err(WsError::Http(resp)) => resp.status().as_u16(),
        Ok(_) => panic!("the handshake must be refused"),
        Err(e) => panic!("an HTTP refusal, got {e}"),
    };
    let page = [
        ("origin", "https://evil.example"),
        ("authorization", "Bearer local-key-1"),
    ];
    assert_eq!(refused(open(&r, "/v1/responses", &page).await), 403);
    let wrong = [("authorization", "Bearer nope")];
    assert_eq!(refused(open(&r, "/v1/responses", &wrong).await), 401);
    assert_eq!(refused(open(&r, "/v1/responses", &[]).await), 401);
    assert_eq!(up.count(RESPONSES), 0, "nothing reached the backend");
    let right = [("authorization", "Bearer local-key-1")];
    let (mut ws, _) = open(&r, "/v1/responses", &right).await.expect("a 101");
    let events = turn(&mut ws, &create("hi")).await;
    assert_eq!(text_of(&events), "You said: hi");
    // The local key is not the backend's credential.
    let sent = up.last_request(RESPONSES).unwrap();
    assert_ne!(sent.header("authorization"), Some("Bearer local-key-1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switch_closes_the_socket_between_responses_and_the_reconnect_goes_to_the_new_account() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice", "bob"]).await;
    let (mut ws, _) = connect(&r, "/v1/responses").await;
    assert_eq!(
        text_of(&turn(&mut ws, &create("one")).await),
        "You said: one"
    );

    // A switch between responses: the next response.create closes the socket normally.
    r.store().switch("bob", false).unwrap();
    ws.send(Message::Text(create("two").to_string().into()))
        .await
        .unwrap();
    assert_eq!(closed_with(&mut ws).await.code, CloseCode::Normal);
    assert_eq!(
        accounts_served(&up),
        ["acct-alice"],
        "'two' was not sent as alice"
    );

    // Codex reconnects with its full context: bob serves it.
    let (mut ws, _) = connect(&r, "/v1/responses").await;
    assert_eq!(
        text_of(&turn(&mut ws, &create("two")).await),
        "You said: two"
    );
    assert_eq!(accounts_served(&up), ["acct-alice", "acct-bob"]);

    // A switch during a response: it ends as it began, then the socket closes.
    up.set_next_stream_behaviour(StreamBehaviour::Slow { delay_ms: 20 });
    ws.send(Message::Text(create("three").to_string().into()))
        .await
        .unwrap();
    let first = next(&mut ws).await;
    assert!(matches!(first, Message::Text(_)));
    r.store().switch("alice", false).unwrap();
    let events = read_response(&mut ws).await;
    assert_eq!(events.last().unwrap()["type"], "response.completed");
    assert_eq!(text_of(&events), "You said: three");
    assert_eq!(closed_with(&mut ws).await.code, CloseCode::Normal);
    assert_eq!(accounts_served(&up), ["acct-alice", "acct-bob", "acct-bob"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_socket_never_moves() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice", "bob"]).await;
    let (mut ws, _) = connect(&r, "/p/alice/v1/responses").await;
    assert_eq!(
        text_of(&turn(&mut ws, &create("one")).await),
        "You said: one"
    );
    r.store().switch("bob", false).unwrap();
    assert_eq!(
        text_of(&turn(&mut ws, &create("two")).await),
        "You said: two"
    );
    assert_eq!(
        text_of(&turn(&mut ws, &create("three")).await),
        "You said: three"
    );
    assert_eq!(accounts_served(&up), ["acct-alice"; 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_usage_limit_error_frame_fails_over_to_the_next_account_with_the_same_request() {
    let up = FakeUpstream::start();
    let bus = EventBus::new();
    let mut events = bus.subscribe();
    let r = start_with(&up, chatgpt_home(&up, &["alice", "bob"], 3600), |c| {
        c.settings.failover.enabled = true;
        c.events = Some(bus);
    })
    .await;
    let (mut ws, _) = connect(&r, "/v1/responses").await;
    // A first response as alice leaves encrypted reasoning of hers in the history.
    let mut first = create("think");
    first["reasoning"] = json!({"effort": "low", "summary": "auto"});
    first["include"] = json!(["reasoning.encrypted_content"]);
    let answer = turn(&mut ws, &first).await;
    let reasoning = answer
        .iter()
        .find(|e| e["type"] == "response.output_item.done" && e["item"]["type"] == "reasoning")
        .map(|e| e["item"].clone())
        .expect("a reasoning item");
    assert!(reasoning["encrypted_content"].is_string());

    let resets_at = chrono::Utc::now().timestamp() + 3 * 3600;
    up.set_usage_limited("acct-alice", resets_at);
    let mut second = create("again");
    second["input"] = json!([
        first["input"][0],
        reasoning,
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "again"}]},
    ]);
    let events_seen = turn(&mut ws, &second).await;
    assert!(
        events_seen.iter().all(|e| e["type"] != "error"),
        "the limit never reached the client: {events_seen:?}"
    );
    assert_eq!(text_of(&events_seen), "You said: again");
    assert_eq!(
        accounts_served(&up),
        ["acct-alice", "acct-alice", "acct-bob"]
    );
    let sent = up.requests_to(RESPONSES);
    let to_bob = sent.last().unwrap().json().unwrap();
    assert_eq!(
        to_bob["input"].as_array().unwrap().len(),
        2,
        "alice's reasoning dropped"
    );
    // The limit was recorded and the failover announced.
    let failed_over = failed_over(&mut events).await;
    assert_eq!(failed_over, ("alice".into(), "bob".into(), Some(resets_at)));
    let alice = r
        .store()
        .list()
        .unwrap()
        .into_iter()
        .find(|p| p.name == "alice");
    assert_eq!(
        alice.and_then(|p| p.usage).and_then(|u| u.limited_until),
        Some(resets_at)
    );
    // The socket goes on with bob.
    assert_eq!(
        text_of(&turn(&mut ws, &create("more")).await),
        "You said: more"
    );
    assert_eq!(accounts_served(&up).last().unwrap(), "acct-bob");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_failover_a_usage_limit_frame_reaches_the_client_and_is_recorded() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice", "bob"]).await;
    let resets_at = chrono::Utc::now().timestamp() + 600;
    up.set_usage_limited("acct-alice", resets_at);
    let (mut ws, _) = connect(&r, "/v1/responses").await;
    let events = turn(&mut ws, &create("hi")).await;
    let error = events.last().unwrap();
    assert_eq!(error["type"], "error");
    assert_eq!(error["status"], 429);
    assert_eq!(error["error"]["type"], "usage_limit_reached");
    assert_eq!(accounts_served(&up), ["acct-alice"]);
    let alice = r
        .store()
        .list()
        .unwrap()
        .into_iter()
        .find(|p| p.name == "alice");
    assert_eq!(
        alice.and_then(|p| p.usage).and_then(|u| u.limited_until),
        Some(resets_at)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backends_close_code_ends_the_clients_socket_and_the_reconnect_works() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let (mut ws, _) = connect(&r, "/v1/responses").await;
    up.close_next_websocket(4000, "connection limit reached (60 minutes)");
    let events = turn(&mut ws, &create("last")).await;
    assert_eq!(text_of(&events), "You said: last");
    let frame = closed_with(&mut ws).await;
    assert_eq!(u16::from(frame.code), 4000);
    assert_eq!(
        frame.reason.as_str(),
        "connection limit reached (60 minutes)"
    );
    let (mut ws, _) = connect(&r, "/v1/responses").await;
    assert_eq!(
        text_of(&turn(&mut ws, &create("next")).await),
        "You said: next"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_an_error_frame_and_the_socket_keeps_working() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice"]).await;
    let (mut ws, _) = connect(&r, "/v1/responses").await;
    for bad in [
        Message::Text("not json".into()),
        Message::Text("[1, 2]".into()),
        Message::Binary(vec![1, 2, 3].into()),
    ] {
        ws.send(bad).await.unwrap();
        let Message::Text(text) = next(&mut ws).await else {
            panic!("an error frame");
        };
        let e: Value = serde_json::from_str(text.as_str()).unwrap();
        assert_eq!(e["type"], "error");
        assert_eq!(e["status"], 400);
        assert_eq!(e["error"]["code"], "invalid_frame");
    }
    // Pings are answered by the router itself.
    ws.send(Message::Ping(b"still there?".to_vec().into()))
        .await
        .unwrap();
    assert_eq!(
        next(&mut ws).await,
        Message::Pong(b"still there?".to_vec().into())
    );
    assert_eq!(up.count(RESPONSES), 0, "nothing bad went upstream");
    assert_eq!(
        text_of(&turn(&mut ws, &create("fine")).await),
        "You said: fine"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refreshed_before_the_handshake() {
    let up = FakeUpstream::start();
    let r = start_with(&up, chatgpt_home(&up, &["alice"], -60), |_| {}).await;
    let stale = r.home.read_json(&r.home.profile_path("alice"))["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut ws, _) = connect(&r, "/v1/responses").await;
    assert_eq!(text_of(&turn(&mut ws, &create("hi")).await), "You said: hi");
    assert_eq!(up.total_refresh_count(), 1);
    let sent = up.last_request(RESPONSES).unwrap();
    let bearer = sent.header("authorization").unwrap();
    assert_ne!(bearer, format!("Bearer {stale}"));
    assert!(up.is_access_token_live(bearer.trim_start_matches("Bearer ")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_socket_holds_its_connection_and_is_never_closed_to_make_room() {
    use codex_router_core::proxy::server::ConnectionLimits;
    let up = FakeUpstream::start();
    let r = start_with(&up, chatgpt_home(&up, &["alice"], 3600), |c| {
        c.limits = ConnectionLimits {
            max_connections: 1,
            ..ConnectionLimits::default()
        };
    })
    .await;
    let (mut ws, _) = connect(&r, "/v1/responses").await;
    // The endpoint is full and its one connection is busy: a newcomer is closed at once.
    let refused = r.get("/health").send().await;
    assert!(
        refused.is_err(),
        "a second connection was served: {refused:?}"
    );
    assert_eq!(
        text_of(&turn(&mut ws, &create("still here")).await),
        "You said: still here"
    );
    ws.close(None).await.unwrap();
    // Once the socket is closed, its place is free again.
    let ok = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(resp) = r.get("/health").send().await {
                return resp.status();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the place came back");
    assert_eq!(ok, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_socket_is_closed_and_a_stopping_endpoint_says_going_away() {
    let up = FakeUpstream::start();
    let r = start_with(&up, chatgpt_home(&up, &["alice"], 3600), |c| {
        c.idle_timeout = Duration::from_millis(300);
    })
    .await;
    let (mut ws, _) = connect(&r, "/v1/responses").await;
    let frame = closed_with(&mut ws).await;
    assert_eq!(
        (frame.code, frame.reason.as_str()),
        (CloseCode::Normal, "idle")
    );

    let r = start(&up, &["alice"]).await;
    let (mut ws, _) = connect(&r, "/v1/responses").await;
    assert_eq!(
        text_of(&turn(&mut ws, &create("bye")).await),
        "You said: bye"
    );
    drop(r); // stops the endpoint
    assert_eq!(closed_with(&mut ws).await.code, CloseCode::Away);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limited_request_that_continues_a_response_reconnects_to_the_next_account() {
    let up = FakeUpstream::start();
    let r = start_with(&up, chatgpt_home(&up, &["alice", "bob"], 3600), |c| {
        c.settings.failover.enabled = true;
    })
    .await;
    let (mut ws, _) = connect(&r, "/v1/responses").await;
    let first = turn(&mut ws, &create("one")).await;
    let id = first.last().unwrap()["response"]["id"].clone();
    up.set_usage_limited("acct-alice", chrono::Utc::now().timestamp() + 600);
    // Codex's next request on this socket continues alice's response: it can't move to bob
    // as it is, so the socket closes and Codex's retry reconnects with its full context.
    let mut next_one = create("two");
    next_one["previous_response_id"] = id;
    ws.send(Message::Text(next_one.to_string().into()))
        .await
        .unwrap();
    let frame = closed_with(&mut ws).await;
    assert_eq!(frame.code, CloseCode::Normal);
    let (mut ws, _) = connect(&r, "/v1/responses").await;
    assert_eq!(
        text_of(&turn(&mut ws, &create("two")).await),
        "You said: two"
    );
    assert_eq!(
        accounts_served(&up),
        ["acct-alice", "acct-alice", "acct-bob"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_switch_the_old_accounts_reasoning_is_dropped_and_the_turn_goes_on() {
    let up = FakeUpstream::start();
    let r = start(&up, &["alice", "bob"]).await;
    let (mut ws, _) = connect(&r, "/v1/responses").await;
    let mut first = create("think");
    first["reasoning"] = json!({"effort": "medium"});
    first["include"] = json!(["reasoning.encrypted_content"]);
    let events = turn(&mut ws, &first).await;
    let reasoning: Vec<Value> = events
        .iter()
        .filter(|e| e["type"] == "response.output_item.done" && e["item"]["type"] == "reasoning")
        .map(|e| e["item"].clone())
        .collect();
    assert!(!reasoning.is_empty(), "alice's answer carries reasoning");

    // A switch; Codex reconnects and sends its whole context, alice's reasoning included.
    r.store().switch("bob", false).unwrap();
    drop(ws);
    let (mut ws, _) = connect(&r, "/v1/responses").await;
    let mut again = first.clone();
    let input = again["input"].as_array_mut().unwrap();
    input.extend(reasoning);
    input.push(json!({"type": "message", "role": "user",
                      "content": [{"type": "input_text", "text": "go on"}]}));
    let events = turn(&mut ws, &again).await;
    assert_eq!(events.last().unwrap()["type"], "response.completed");
    assert!(text_of(&events).contains("go on"), "{events:?}");
    // Refused once as bob, then sent again without alice's reasoning.
    assert_eq!(accounts_served(&up), ["acct-alice", "acct-bob", "acct-bob"]);
    let last = up.requests_to(RESPONSES).last().unwrap().json().unwrap();
    assert!(
        !last["input"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["type"] == "reasoning")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backends_socket_goes_through_the_company_proxy_trusting_its_root() {
    use crate::network::{CompanyNetwork, start_loaded};
    use codex_router_testkit::connect_proxy::ConnectProxy;
    let net = CompanyNetwork::new(ConnectProxy::with_auth("ws", "pw"));
    let home = chatgpt_home(&net.up, &["alice"], 3600);
    net.write_state(
        &home,
        json!({"https_proxy": net.proxy.url(), "ca_certificate": net.ca_file}),
    );
    let r = start_loaded(&net, home, &[]).await;
    let (mut ws, _) = connect(&r, "/v1/responses").await;
    assert_eq!(
        text_of(&turn(&mut ws, &create("over wss")).await),
        "You said: over wss"
    );
    assert_eq!(accounts_served(&net.up), ["acct-alice"]);
    assert_eq!(net.proxy.targets(), [net.target()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_account_is_limited_the_error_frame_says_so_with_the_earliest_reset() {
    let up = FakeUpstream::start();
    let r = start_with(&up, chatgpt_home(&up, &["alice", "bob"], 3600), |c| {
        c.settings.failover.enabled = true;
    })
    .await;
    let (mut ws, _) = connect(&r, "/v1/responses").await;
    let now = chrono::Utc::now().timestamp();
    up.set_usage_limited("acct-alice", now + 3600);
    up.set_usage_limited("acct-bob", now + 3 * 3600);
    let events = turn(&mut ws, &create("anyone?")).await;
    let error = events.last().unwrap();
    assert_eq!(error["type"], "error", "{events:?}");
    assert_eq!(error["status"], 429);
    assert_eq!(
        error["error"]["message"],
        "The usage limit has been reached on every account"
    );
    assert_eq!(
        error["error"]["resets_at"],
        now + 3600,
        "bob's is the earliest"
    );
    assert_eq!(accounts_served(&up), ["acct-alice", "acct-bob"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_upstream_without_websockets_gives_426_so_codex_uses_http_at_once() {
    let up = FakeUpstream::start();
    let home = api_key_home(&up, "key", "sk-proj-socket-test");
    let r = start_with(&up, home, |_| {}).await;
    // An upstream that speaks HTTP only (its GET is a 405).
    up.set_api_websockets(false);
    let err = open(&r, "/v1/responses", &[]).await.unwrap_err();
    let WsError::Http(resp) = err else {
        panic!("an HTTP answer at the handshake, got {err:?}");
    };
    assert_eq!(resp.status(), 426);
    let body: Value = serde_json::from_slice(resp.body().as_deref().unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "websocket_unsupported");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("405"),
        "{body}"
    );
    // Codex's HTTP fallback then works with the key.
    let resp = r
        .post("/v1/responses")
        .json(&json!({"model": "gpt-4.1-mini", "input": "Hello"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        up.last_request("/v1/responses").unwrap().bearer(),
        Some("sk-proj-socket-test")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_profiles_socket_goes_to_the_openai_api_with_the_key() {
    let up = FakeUpstream::start();
    let home = api_key_home(&up, "key", "sk-proj-socket-relay");
    let r = start_with(&up, home, |_| {}).await;
    let (mut ws, _) = connect(&r, "/v1/responses").await;
    for text in ["one", "two"] {
        assert_eq!(
            text_of(&turn(&mut ws, &create(text)).await),
            format!("You said: {text}")
        );
    }
    let sent = up.requests_to("/v1/responses");
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|s| s.method == "WEBSOCKET"));
    assert_eq!(sent[0].bearer(), Some("sk-proj-socket-relay"));
    assert!(sent[0].header("chatgpt-account-id").is_none());
    assert!(
        up.requests_to(RESPONSES).is_empty(),
        "nothing went to the ChatGPT backend"
    );
}
