//! Test support for Codex Router: minted unsigned JWTs, realistic `auth.json` files, a
//! temporary `CODEX_HOME`, and a fake upstream (OAuth issuer, ChatGPT backend, OpenAI API)
//! that follows `shared/protocol.md`.

pub mod home;
pub mod jwt;
pub mod secret_service;
pub mod upstream;
