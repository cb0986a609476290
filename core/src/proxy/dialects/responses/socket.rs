//! Codex's WebSocket mode relayed (`docs/codex-websocket.md`): frames go both ways as they
//! arrive, unchanged. What the relay itself reads of them:
//!
//! - the client's text frames must be JSON (anything else, and binary frames, are answered
//!   with an `error` frame and the socket goes on); a `response.create` starts a response;
//! - the backend's `codex.rate_limits` events update the serving account's usage figures;
//! - an `error` frame of a usage limit before any event of its response is recorded and,
//!   unless the socket is pinned, the same `response.create` goes to the next eligible
//!   account over a new socket (its reasoning items of the first account dropped);
//! - at the end of a response (`response.completed`, `.failed`, `.incomplete`, `error`) and
//!   when the next `response.create` arrives, an unpinned socket whose account is no longer
//!   the one a new socket would get (a switch) is closed normally (that request is not sent),
//!   so Codex reconnects and sends its full context to the new account.
//!
//! Pings are answered on each hop, close frames are passed through with their code, and a
//! socket with no frame for the idle time is closed.

use crate::proxy::accounts::{Accounts, NoFailover, say_every_account};
use crate::proxy::upstream::strip_reasoning_items;
use crate::proxy::upstream::websocket::UpstreamSocket;
use axum::http::HeaderMap;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};

/// A socket's relay as the handshake left it.
pub(crate) struct SocketSession {
    /// The profile serving it.
    pub(crate) serving: String,
    /// Pinned (`/p/<name>/v1`): it never moves to another account.
    pub(crate) pinned: bool,
    /// Served by a ChatGPT profile (failover and switches apply), not an API key.
    pub(crate) chatgpt: bool,
    /// The client's handshake headers, for a socket opened for another account.
    pub(crate) incoming: HeaderMap,
    /// The backend's socket.
    pub(crate) upstream: Box<UpstreamSocket>,
    /// A socket with no frame either way for this long is closed.
    pub(crate) idle: Duration,
}

/// Where a response of the socket stands.
#[derive(Default)]
struct Turn {
    /// The `response.create` frame of the response in progress, as sent (parsed only for a
    /// failover).
    create: Option<Utf8Bytes>,
    /// Whether an event of that response came back.
    answered: bool,
    /// The accounts that met a usage limit with it, and their reset times.
    limited: Vec<(String, i64)>,
    /// Whether its reasoning items of another account were already dropped once.
    stripped: bool,
}

/// What the relay reads of a frame of the backend.
enum Event {
    /// `codex.rate_limits`.
    RateLimits(Value),
    /// `error`: ends the response.
    Error(Value),
    /// `response.completed`, `.failed`, `.incomplete`.
    End,
    /// Anything else.
    Other,
}

/// What a socket's relay ended with.
enum Outcome {
    /// Go on.
    Continue,
    /// Done: both sockets are closed.
    Closed,
}

/// Relays frames between Codex (`client`) and the backend until either closes, the socket
/// idles, a switch closes it at a response boundary, or `stop` says the endpoint stops.
pub(crate) async fn relay<S>(
    accounts: &Accounts,
    mut client: WebSocketStream<S>,
    mut session: SocketSession,
    mut stop: tokio::sync::watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut turn = Turn::default();
    let idle = tokio::time::sleep(session.idle);
    tokio::pin!(idle);
    let stopping = async {
        let _ = stop.wait_for(|s| *s).await;
    };
    tokio::pin!(stopping);
    loop {
        let outcome = tokio::select! {
            () = &mut stopping => {
                close_both(&mut client, &mut session, CloseCode::Away, "the endpoint is stopping").await;
                Outcome::Closed
            }
            () = &mut idle => {
                let secs = session.idle.as_secs();
                if turn.create.is_some() {
                    let frame = error_frame(504, "server_error", "upstream_timeout",
                        &format!("the upstream sent nothing for {secs} seconds"));
                    let _ = client.send(frame).await;
                }
                close_both(&mut client, &mut session, CloseCode::Normal, "idle").await;
                Outcome::Closed
            }
            msg = client.next() => {
                from_client(accounts, &mut client, &mut session, &mut turn, msg).await
            }
            msg = session.upstream.next() => {
                from_upstream(accounts, &mut client, &mut session, &mut turn, msg).await
            }
        };
        match outcome {
            Outcome::Continue => idle
                .as_mut()
                .reset(tokio::time::Instant::now() + session.idle),
            Outcome::Closed => return,
        }
    }
}

/// A frame of the client.
async fn from_client<S>(
    accounts: &Accounts,
    client: &mut WebSocketStream<S>,
    session: &mut SocketSession,
    turn: &mut Turn,
    msg: Option<Result<Message, WsError>>,
) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let msg = match msg {
        Some(Ok(msg)) => msg,
        Some(Err(WsError::Capacity(e))) => {
            let reason = format!("{e}");
            close_both(client, session, CloseCode::Size, &reason).await;
            return Outcome::Closed;
        }
        None | Some(Err(_)) => {
            let _ = (*session.upstream).close(None).await;
            return Outcome::Closed;
        }
    };
    match msg {
        Message::Text(text) => {
            let Some(kind) = frame_type(text.as_str()) else {
                let frame = error_frame(
                    400,
                    "invalid_request_error",
                    "invalid_frame",
                    "a text frame must be a JSON object with a `type`, such as `response.create`",
                );
                return sent(client.send(frame).await);
            };
            if kind == "response.create" {
                // A switch since the last response: this request is the new account's.
                if let Outcome::Closed = switched(accounts, client, session).await {
                    return Outcome::Closed;
                }
                *turn = Turn {
                    create: Some(text.clone()),
                    ..Turn::default()
                };
            }
            sent(session.upstream.send(Message::Text(text)).await)
        }
        Message::Binary(_) => {
            let frame = error_frame(
                400,
                "invalid_request_error",
                "invalid_frame",
                "binary frames are not supported; send JSON text frames",
            );
            sent(client.send(frame).await)
        }
        // Answered by the socket itself; the answer goes out with the next write.
        Message::Ping(_) => sent(client.flush().await),
        Message::Pong(_) | Message::Frame(_) => Outcome::Continue,
        Message::Close(frame) => {
            let _ = (*session.upstream).close(frame).await;
            let _ = client.close(None).await;
            Outcome::Closed
        }
    }
}

/// A frame of the backend.
async fn from_upstream<S>(
    accounts: &Accounts,
    client: &mut WebSocketStream<S>,
    session: &mut SocketSession,
    turn: &mut Turn,
    msg: Option<Result<Message, WsError>>,
) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let msg = match msg {
        Some(Ok(msg)) => msg,
        None | Some(Err(_)) => {
            let reason = "the upstream connection was lost";
            if turn.create.is_some() {
                let frame = error_frame(502, "server_error", "upstream_error", reason);
                let _ = client.send(frame).await;
            }
            close_client(client, CloseCode::Error, reason).await;
            return Outcome::Closed;
        }
    };
    let text = match msg {
        Message::Text(text) => text,
        Message::Ping(_) => return sent(session.upstream.flush().await),
        Message::Pong(_) | Message::Frame(_) => return Outcome::Continue,
        Message::Binary(b) => return sent(client.send(Message::Binary(b)).await),
        Message::Close(frame) => {
            let _ = client.close(frame).await;
            return Outcome::Closed;
        }
    };
    match classify(text.as_str()) {
        Event::RateLimits(event) => {
            accounts.record_usage_event(&session.serving, &event);
            sent(client.send(Message::Text(text)).await)
        }
        Event::Other => {
            turn.answered = true;
            sent(client.send(Message::Text(text)).await)
        }
        Event::End => {
            if let Outcome::Closed = sent(client.send(Message::Text(text)).await) {
                return Outcome::Closed;
            }
            boundary(accounts, client, session, turn).await
        }
        Event::Error(event) => {
            if !turn.answered
                && !turn.stripped
                && is_foreign_reasoning(&event)
                && let Some(outcome) = resend_without_reasoning(session, turn).await
            {
                return outcome;
            }
            if !turn.answered
                && session.chatgpt
                && let Some(resets_at) = accounts.record_limit_of(&session.serving, &event).await
                && !session.pinned
            {
                match fail_over(accounts, client, session, turn, resets_at).await {
                    Moved::InPlace => return Outcome::Continue,
                    Moved::ByReconnect => return Outcome::Closed,
                    Moved::Nowhere(earliest) => {
                        let mut event = event;
                        say_every_account(&mut event, earliest);
                        let text = Message::Text(event.to_string().into());
                        if let Outcome::Closed = sent(client.send(text).await) {
                            return Outcome::Closed;
                        }
                        return boundary(accounts, client, session, turn).await;
                    }
                    Moved::No => {}
                }
            }
            if let Outcome::Closed = sent(client.send(Message::Text(text)).await) {
                return Outcome::Closed;
            }
            boundary(accounts, client, session, turn).await
        }
    }
}

/// Whether an `error` frame is the backend refusing encrypted reasoning it can't verify:
/// that of another account, after a switch or a failover.
fn is_foreign_reasoning(event: &Value) -> bool {
    event.pointer("/error/code").and_then(Value::as_str) == Some("invalid_encrypted_content")
}

/// After a switch, the conversation Codex sends again holds the previous account's encrypted
/// reasoning, which the backend refuses: the same `response.create` without those items,
/// once, on the same socket (as the HTTP route does). `None` when there was nothing to drop.
async fn resend_without_reasoning(session: &mut SocketSession, turn: &mut Turn) -> Option<Outcome> {
    let mut create = turn
        .create
        .as_ref()
        .and_then(|t| serde_json::from_str::<Value>(t.as_str()).ok())?;
    if !strip_reasoning_items(&mut create) {
        return None;
    }
    turn.stripped = true;
    let frame: Utf8Bytes = create.to_string().into();
    turn.create = Some(frame.clone());
    tracing::info!(profile = %session.serving, "dropped reasoning items of another account from the socket's request");
    Some(sent(session.upstream.send(Message::Text(frame)).await))
}

/// How a response that met a usage limit moved to another account.
enum Moved {
    /// Its `response.create` went to the next account's socket; relaying goes on.
    InPlace,
    /// The socket was closed for Codex to reconnect to the next account.
    ByReconnect,
    /// It did not move: the error goes to the client.
    No,
    /// Every account is limited: the error goes to the client saying so, with the earliest
    /// reset among them (as over HTTP).
    Nowhere(i64),
}

/// After a usage limit met by the response in progress: the same `response.create` over a
/// socket of the next eligible account, when there is one. A request that continues an
/// earlier response of this socket (`previous_response_id`) can't move: the socket is
/// closed normally instead, and Codex's retry reconnects with its full context to the
/// account a new socket gets.
async fn fail_over<S>(
    accounts: &Accounts,
    client: &mut WebSocketStream<S>,
    session: &mut SocketSession,
    turn: &mut Turn,
    resets_at: i64,
) -> Moved
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Some(mut create) = turn
        .create
        .as_ref()
        .and_then(|t| serde_json::from_str::<Value>(t.as_str()).ok())
    else {
        return Moved::No;
    };
    if create
        .get("previous_response_id")
        .is_some_and(|v| !v.is_null())
    {
        let next = accounts.would_serve(&session.serving, true).await;
        if next.is_some_and(|n| n != session.serving) {
            let reason = "usage limit reached; reconnect for the next account";
            close_both(client, session, CloseCode::Normal, reason).await;
            return Moved::ByReconnect;
        }
        return Moved::No;
    }
    turn.limited.push((session.serving.clone(), resets_at));
    let tried: Vec<String> = turn.limited.iter().map(|(name, _)| name.clone()).collect();
    let (next, open) = match accounts
        .socket_failover(&tried, resets_at, &session.incoming)
        .await
    {
        Ok(moved) => moved,
        Err(NoFailover::Off) => return Moved::No,
        Err(NoFailover::EveryAccountLimited(others)) => {
            let earliest = turn
                .limited
                .iter()
                .map(|(_, at)| *at)
                .fold(others, i64::min);
            return Moved::Nowhere(earliest);
        }
    };
    strip_reasoning_items(&mut create);
    let mut upstream = open.socket;
    let frame: Utf8Bytes = create.to_string().into();
    if upstream.send(Message::Text(frame.clone())).await.is_err() {
        return Moved::No;
    }
    turn.create = Some(frame);
    let old = std::mem::replace(&mut session.upstream, upstream);
    close_quietly(old);
    tracing::info!(from = %session.serving, to = %next, "usage limit reached; the socket's response goes to the next account");
    session.serving = next;
    Moved::InPlace
}

/// The end of a response: an unpinned socket that a new one would no longer serve with the
/// same account (a switch, a failover of the active profile) is closed normally.
async fn boundary<S>(
    accounts: &Accounts,
    client: &mut WebSocketStream<S>,
    session: &mut SocketSession,
    turn: &mut Turn,
) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    *turn = Turn::default();
    switched(accounts, client, session).await
}

/// Closes an unpinned socket normally when a new socket would be served by another
/// account (a switch, a failover of the active profile): Codex reconnects and sends its
/// full context to that account.
async fn switched<S>(
    accounts: &Accounts,
    client: &mut WebSocketStream<S>,
    session: &mut SocketSession,
) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if session.pinned {
        return Outcome::Continue;
    }
    match accounts.would_serve(&session.serving, false).await {
        Some(next) if next != session.serving => {
            tracing::info!(from = %session.serving, to = %next, "the active profile changed: closing the socket between responses");
            close_both(
                client,
                session,
                CloseCode::Normal,
                "the active profile changed",
            )
            .await;
            Outcome::Closed
        }
        _ => Outcome::Continue,
    }
}

/// `Continue` when a frame went out, `Closed` when its socket is gone.
fn sent(r: Result<(), WsError>) -> Outcome {
    match r {
        Ok(()) => Outcome::Continue,
        Err(_) => Outcome::Closed,
    }
}

/// Closes the client's socket with `code` and the backend's normally.
async fn close_both<S>(
    client: &mut WebSocketStream<S>,
    session: &mut SocketSession,
    code: CloseCode,
    reason: &str,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    close_client(client, code, reason).await;
    let _ = (*session.upstream)
        .close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        }))
        .await;
}

async fn close_client<S>(client: &mut WebSocketStream<S>, code: CloseCode, reason: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = CloseFrame {
        code,
        reason: reason.to_owned().into(),
    };
    let _ = client.close(Some(frame)).await;
}

/// Closes a socket no longer used, off the relay's path.
fn close_quietly(mut socket: Box<UpstreamSocket>) {
    tokio::spawn(async move {
        let _ = (*socket).close(None).await;
    });
}

/// The `type` of a client's text frame, when it is a JSON object with one.
fn frame_type(text: &str) -> Option<Cow<'_, str>> {
    #[derive(Deserialize)]
    struct Head<'a> {
        #[serde(rename = "type", borrow)]
        kind: Cow<'a, str>,
    }
    serde_json::from_str::<Head>(text).ok().map(|h| h.kind)
}

/// What the relay reads of a backend frame (only its `type`, unless it is one the relay
/// acts on).
fn classify(text: &str) -> Event {
    let Some(kind) = frame_type(text) else {
        return Event::Other;
    };
    let parsed = || serde_json::from_str::<Value>(text).ok();
    match kind.as_ref() {
        "codex.rate_limits" => parsed().map_or(Event::Other, Event::RateLimits),
        "error" => Event::Error(parsed().unwrap_or(Value::Null)),
        "response.completed" | "response.failed" | "response.incomplete" => Event::End,
        _ => Event::Other,
    }
}

/// An `error` frame in the backend's shape (Codex reads `status` and `error`).
fn error_frame(status: u16, kind: &str, code: &str, message: &str) -> Message {
    let frame = json!({
        "type": "error",
        "status": status,
        "error": {"type": kind, "code": code, "message": message, "param": null},
    });
    Message::Text(frame.to_string().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_read_by_type_only() {
        assert_eq!(
            frame_type(r#"{"type":"response.create","input":[]}"#).as_deref(),
            Some("response.create")
        );
        assert!(frame_type("not json").is_none());
        assert!(frame_type("[1,2]").is_none());
        assert!(frame_type(r#"{"input":[]}"#).is_none());
        assert!(matches!(
            classify(r#"{"type":"response.completed","response":{}}"#),
            Event::End
        ));
        assert!(matches!(
            classify(r#"{"type":"response.output_text.delta","delta":"hi"}"#),
            Event::Other
        ));
        assert!(matches!(
            classify(r#"{"type":"codex.rate_limits","rate_limits":{}}"#),
            Event::RateLimits(_)
        ));
        let Event::Error(e) =
            classify(r#"{"type":"error","status":429,"error":{"type":"usage_limit_reached"}}"#)
        else {
            panic!("an error frame");
        };
        assert_eq!(e["status"], 429);
    }
}
