//! Test support for Codex Router: minted unsigned JWTs, realistic `auth.json` files and a
//! temporary `CODEX_HOME`. Later issues grow a fake upstream here (OAuth issuer, ChatGPT
//! backend, OpenAI API) that follows `shared/protocol.md`.

pub mod home;
pub mod jwt;
