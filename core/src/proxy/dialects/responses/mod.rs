//! Responses (`POST /v1/responses`) relayed to the backend, which speaks it too:
//!
//! - `stream.rs`: the answer streamed through unchanged ([`stream()`]);
//! - `assemble.rs`: the final Responses object for a non-streaming request
//!   ([`ResponsesAssembler`], [`collect`]).
//!
//! The request body only needs the backend's quirks
//! ([`apply_chatgpt_quirks`](crate::proxy::upstream::apply_chatgpt_quirks)).

mod assemble;
mod stream;

pub use assemble::{ResponsesAssembler, collect};
pub use stream::stream;
