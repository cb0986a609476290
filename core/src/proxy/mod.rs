//! The local OpenAI-compatible endpoint.

pub mod chat;
pub mod sse;
