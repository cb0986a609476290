//! The transport to the backend:
//!
//! - `http.rs`: the HTTP client ([`Upstream`]): URLs, the headers each kind of profile sends
//!   and gets back, sending with an idle timeout;
//! - `chatgpt.rs`: the ChatGPT backend's quirks on a Responses body ([`apply_chatgpt_quirks`],
//!   [`strip_reasoning_items`] for a conversation that moves to another account);
//! - `failure.rs`: the backend's error answers, read and put in OpenAI's shape
//!   ([`UpstreamFailure`]);
//! - `session.rs`: Codex's conversation identity on a request the router translated
//!   ([`codex_session`]);
//! - `relay.rs`: the answer relayed to the client chunk by chunk with an idle timeout per
//!   chunk, or read whole.
//!
//! - `websocket.rs`: the WebSocket transport ([`websocket::connect`]), for Codex's
//!   WebSocket mode of the Responses API.

mod chatgpt;
mod failure;
mod http;
mod relay;
mod session;
pub mod websocket;

pub use chatgpt::{REASONING_ENCRYPTED_CONTENT, apply_chatgpt_quirks, strip_reasoning_items};
pub use failure::{UpstreamFailure, chatgpt_error, read_error};
pub use http::{Upstream, UpstreamError};
pub use relay::{
    AnswerState, StreamTranslation, Translated, json_answer, raw, read_events, stream_translated,
    stream_translated_as,
};
pub use session::codex_session;
