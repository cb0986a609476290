//! The core's integration tests.
//! One test binary for the crate (a binary per file costs a link each); each file below
//! is a module.

mod anthropic;
mod attacks;
mod auth;
mod claude_setup;
mod codex_backend;
mod codex_keyring;
mod codex_setup;
mod fuzz_corpora;
mod keyring_watch;
mod network;
mod notify;
mod ollama;
mod proxy;
mod router;
mod store;
mod store_props;
mod usage_history;
mod view;
mod websocket;
