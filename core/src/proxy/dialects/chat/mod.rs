//! Chat Completions (`POST /v1/chat/completions`) over the backend's Responses API:
//!
//! - `request.rs` (with `messages.rs` and `tools.rs`): the chat request translated into a
//!   Responses request ([`chat_to_responses`]);
//! - `stream.rs` (with `chunks.rs` and `items.rs`): the Responses stream translated into
//!   `chat.completion.chunk`s as it comes ([`ChatStreamTranslator`]) and relayed ([`stream()`]);
//! - `assemble.rs`: a whole `chat.completion` for a non-streaming request
//!   ([`ChatCompletionAssembler`], [`collect`]);
//! - `route.rs`: the route for a ChatGPT profile, all three put together and sent through the
//!   account layer (`via_chatgpt`).

mod assemble;
mod chunks;
#[cfg(test)]
mod fixtures;
mod items;
mod messages;
mod request;
mod route;
mod stream;
mod tools;

pub(crate) use assemble::ToolCallDeltas;
pub use assemble::{ChatCompletionAssembler, collect};
pub use request::{ChatTranslation, chat_to_responses};
pub(crate) use route::via_chatgpt;
pub use stream::{ChatStreamOptions, ChatStreamTranslator, stream};
