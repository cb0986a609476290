//! Anthropic's Messages API (`POST /v1/messages`, what Claude Code and the `anthropic`
//! library speak) over the backend's Responses API:
//!
//! - `request.rs` (with `content.rs` for the messages and `thinking.rs` for thinking
//!   signatures): the Messages request translated into a Responses request
//!   ([`messages_to_responses`]), models mapped by `anthropic.models`;
//! - `stream.rs`: the Responses stream translated into Messages events as it comes
//!   ([`MessagesStreamTranslator`]), stop sequences emulated;
//! - `assemble.rs`: a whole Messages answer for a request without `stream`
//!   ([`MessageAssembler`]);
//! - `errors.rs`: errors in Anthropic's shape and statuses (the [`anthropic_errors`]
//!   middleware);
//! - `tokens.rs`: `count_tokens` with the o200k encoding ([`count_tokens`]);
//! - `models.rs`: the model list in Anthropic's shape ([`model_list`]);
//! - `route.rs`: the routes for ChatGPT and API-key profiles.

mod assemble;
mod content;
mod errors;
mod models;
mod request;
mod route;
mod stream;
mod thinking;
mod tokens;

pub use assemble::MessageAssembler;
pub(crate) use errors::anthropic_errors;
pub use models::model_list;
pub use request::{MessagesTranslation, effort_for_budget, messages_to_responses};
pub(crate) use route::{via_api_key, via_chatgpt};
pub use stream::{MessagesEvent, MessagesStreamOptions, MessagesStreamTranslator};
pub use tokens::{ATTACHMENT_TOKENS, ITEM_OVERHEAD, count_tokens};
