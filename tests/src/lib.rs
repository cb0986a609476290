//! Test support for Codex Router: minted unsigned JWTs, realistic `auth.json` files, a
//! temporary `CODEX_HOME`, and a fake upstream (OAuth issuer, ChatGPT backend, OpenAI API)
//! that follows `shared/protocol.md`.

pub mod home;
pub mod jwt;
#[cfg(target_os = "linux")]
pub mod notifications;
pub mod secret_service;
pub mod upstream;
