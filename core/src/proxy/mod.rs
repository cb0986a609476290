//! The local OpenAI-compatible endpoint, laid out as a pipeline:
//!
//! - [`service`]: starts an endpoint from `Settings` plus overrides, the one path for
//!   `serve` and the apps;
//! - [`server`]: the accept loop, connection limits, guards (Origin, Host, other users, local
//!   key, size), the router table (routes per dialect), reading bodies, the pass-through;
//! - `accounts/`: which profile serves (pinned or active), its fresh credentials, sending to
//!   the backend with them, failover and usage-limit recording (`Accounts`, which the server
//!   holds and the routes send through);
//! - [`dialects`]: one folder per client dialect (Chat Completions, Responses, the model
//!   list), each with its request translation, stream translation, whole-answer assembly and
//!   the route that serves a ChatGPT profile, all over the backend's Responses API;
//! - [`upstream`]: the transport to the backend (HTTP with server-sent events), the ChatGPT
//!   backend's quirks and error answers, and the relay that streams an answer back;
//! - [`sse`]: the server-sent events codec alone; [`errors`]: the error shapes, a leaf.
//!
//! One chat completion, socket to upstream and back, in three files:
//!
//! 1. `server/handlers.rs`: the router table in `server/mod.rs` sends
//!    `POST /v1/chat/completions` to `chat_completions`, whose `model_request` reads and
//!    decodes the body, asks `Accounts::resolve` for the profile, and hands a ChatGPT
//!    profile's JSON to the dialect's route;
//! 2. `dialects/chat/route.rs`: `via_chatgpt` translates it with
//!    [`dialects::chat::chat_to_responses`] and [`upstream::apply_chatgpt_quirks`] and sends
//!    it through the account layer;
//! 3. `accounts/failover.rs`: `Accounts::send_model` sends it with the profile's fresh token
//!    (`Accounts::send_chatgpt` in `accounts/credentials.rs`, over [`upstream::Upstream`]),
//!    moving to the next account on a usage limit;
//!
//! and back in `via_chatgpt`: [`dialects::chat::stream`] relays the answer through
//! [`upstream::stream_translated`], translated chunk by chunk by
//! [`dialects::chat::ChatStreamTranslator`] (or [`dialects::chat::collect`] assembles it
//! whole).
//!
//! Codex's WebSocket mode of `/v1/responses` takes the same three steps: `server/websocket.rs`
//! answers the handshake, `accounts/socket.rs` opens the backend's socket with the serving
//! profile's credentials ([`upstream::websocket::connect`]), and `dialects/responses/socket.rs`
//! relays the frames on the connection's task (`docs/codex-websocket.md`).

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
