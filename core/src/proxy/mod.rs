//! The local OpenAI-compatible endpoint, laid out as a pipeline:
//!
//! - `server/`: accept loop, guards (Origin, Host, other users, local key, size), routes, and
//!   which profile serves with which fresh token (failover, usage limits);
//! - [`dialects`]: one folder per client dialect (Chat Completions, Responses), each with its
//!   request translation, stream translation and whole-answer assembly, all over the
//!   backend's Responses API;
//! - [`upstream`]: the transport to the backend (HTTP with server-sent events), the ChatGPT
//!   backend's quirks and error answers, and the relay that streams an answer back;
//! - [`sse`]: the server-sent events codec alone; [`errors`]: the error shapes, a leaf.
//!
//! One chat completion, socket to upstream and back: `server/handlers.rs` takes
//! `POST /v1/chat/completions` and translates its body with
//! [`dialects::chat::chat_to_responses`] and [`upstream::apply_chatgpt_quirks`];
//! `server/accounts.rs` (`send_model`) picks the profile and its token and sends the request
//! with [`upstream::Upstream`]; [`dialects::chat::stream`] relays the answer through
//! [`upstream::stream_translated`], translated chunk by chunk by
//! [`dialects::chat::ChatStreamTranslator`] (or [`dialects::chat::collect`] assembles it
//! whole).

mod accounts;
pub mod dialects;
pub mod errors;
mod fields;
mod file_stamp;
#[cfg(test)]
mod fixtures;
pub mod forward_path;
mod peer;
pub mod server;
pub mod service;
pub mod sse;
pub mod upstream;
