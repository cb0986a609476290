//! Responses (`POST /v1/responses`) relayed to the backend, which speaks it too:
//!
//! - `stream.rs`: the answer streamed through unchanged ([`stream()`]);
//! - `assemble.rs`: the final Responses object for a non-streaming request
//!   ([`ResponsesAssembler`], [`collect`]);
//! - `route.rs`: the routes for a ChatGPT profile, sent through the account layer
//!   (`via_chatgpt`, and `compact_via_chatgpt` for `/v1/responses/compact`);
//! - `socket.rs`: Codex's WebSocket mode, frames relayed between the client's socket and
//!   the backend's (`relay`), with failover and switches at response boundaries.
//!
//! The request body only needs the backend's quirks
//! ([`apply_chatgpt_quirks`](crate::proxy::upstream::apply_chatgpt_quirks)).

mod assemble;
mod route;
mod socket;
mod stream;

pub use assemble::{ResponsesAssembler, collect};
pub(crate) use route::{compact_via_chatgpt, via_chatgpt};
pub(crate) use socket::{SocketSession, relay};
pub use stream::stream;
