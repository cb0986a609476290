//! Ollama's API (`/api/chat`, `/api/generate`, `/api/tags`, `/api/show`, `/api/ps`,
//! `/api/version`, `GET /`) over the backend's Responses API, for the tools that only speak
//! Ollama:
//!
//! - `request.rs` (with `messages.rs`): a chat or generate body translated into a Responses
//!   body by way of the Chat Completions request it means ([`ollama_to_responses`]);
//! - `stream.rs`: the Responses stream as Ollama's NDJSON answer lines
//!   ([`OllamaStreamTranslator`], over the chat dialect's translator), relayed ([`stream()`]);
//! - `assemble.rs`: the lines folded into one answer for `"stream": false`
//!   ([`OllamaAssembler`]);
//! - `models.rs`: the profile's models as Ollama's list and model card;
//! - `errors.rs`: any error answer of the Ollama routes as Ollama's `{"error": "…"}`;
//! - `route.rs`: the routes for a ChatGPT profile (with failover) or an API-key profile
//!   (the OpenAI API's Responses endpoint).

mod assemble;
mod errors;
mod messages;
pub mod models;
mod request;
mod route;
mod stream;

pub use assemble::{OllamaAssembler, collect};
pub use errors::{is_ollama_path, ollama_error_answer};
pub use request::{OllamaKind, OllamaTranslation, backend_model, ollama_to_responses};
pub(crate) use route::{Serving, answer, models as profile_models};
pub use stream::{AnswerShape, NDJSON, OllamaStreamTranslator, stream};
