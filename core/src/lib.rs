//! Codex Router core: everything that touches files, tokens and the network. Frontends
//! (CLI, desktop app, FFI) render what it returns and call its commands.

pub mod auth_file;
pub mod autostart;
pub mod claims;
pub mod claude_config;
pub mod codex_config;
pub mod codex_keyring;
pub mod events;
pub mod files;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod home;
pub mod http;
pub mod login;
pub mod net;
pub mod notify;
pub mod profile_state;
pub mod proxy;
pub mod refresh;
pub mod router;
pub mod secret;
pub mod settings;
pub mod store;
pub mod usage;
pub mod view;
