//! The local OpenAI-compatible endpoint.

pub mod chat;
pub mod errors;
mod failover;
mod fields;
mod file_stamp;
mod peer;
pub mod server;
pub mod sse;
pub mod upstream;
