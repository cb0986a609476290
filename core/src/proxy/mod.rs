//! The local OpenAI-compatible endpoint.

pub mod chat;
pub mod errors;
pub mod server;
pub mod sse;
pub mod upstream;
