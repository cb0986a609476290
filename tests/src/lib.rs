//! Test support for Codex Router: minted unsigned JWTs, realistic `auth.json` files, a
//! temporary `CODEX_HOME`, and a fake upstream (OAuth issuer, ChatGPT backend, OpenAI API)
//! that follows `shared/protocol.md` (over plain HTTP or TLS with a test CA), and an HTTP
//! `CONNECT` proxy.

pub mod connect_proxy;
pub mod home;
pub mod jwt;
#[cfg(target_os = "linux")]
pub mod notifications;
pub mod secret_service;
pub mod tls;
pub mod upstream;
