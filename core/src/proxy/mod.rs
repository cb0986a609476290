//! The local OpenAI-compatible endpoint.

pub mod dialects;
pub mod errors;
mod failover;
mod fields;
mod file_stamp;
#[cfg(test)]
mod fixtures;
mod peer;
pub mod server;
pub mod sse;
pub mod upstream;
