//! The client dialects the endpoint speaks, each translating between its clients and the
//! backend's Responses API, both ways, and each with the route that serves a ChatGPT
//! profile (`route.rs`, sending through the account layer):
//!
//! - [`anthropic`]: Anthropic's Messages (Claude Code): request translation, stream
//!   translation, whole-answer assembly, Anthropic's errors, `count_tokens`;
//! - [`chat`]: Chat Completions: request translation, stream translation, whole-answer
//!   assembly;
//! - [`responses`]: Responses, relayed: stream pass-through, whole-answer assembly;
//! - [`models`]: the backend's model catalog as OpenAI's model list;
//! - [`ollama`]: Ollama's API: chat and generate (NDJSON lines or whole), its model list
//!   and model card.
//!
//! `events.rs` reads the backend's Responses events, which every dialect translates from. A
//! new dialect (Anthropic Messages, Ollama) is a folder beside these: its request translated
//! into a Responses body, a [`StreamTranslation`](crate::proxy::upstream::StreamTranslation)
//! for streamed answers, an assembler for whole ones, and a `route.rs`; the server's router
//! table (`server/mod.rs`) gets its paths and `server/handlers.rs` a handler that calls it.

pub mod anthropic;
pub mod chat;
mod events;
pub mod models;
pub mod ollama;
pub mod responses;
