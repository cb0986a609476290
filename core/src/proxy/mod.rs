//! The local OpenAI-compatible endpoint.

pub mod chat;
pub mod errors;
mod failover;
mod file_stamp;
pub mod forward_path;
mod peer;
pub mod server;
pub mod service;
pub mod sse;
pub mod upstream;
