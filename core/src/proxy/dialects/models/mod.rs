//! OpenAI's model list (`GET /v1/models`, `GET /v1/models/{id}`) over the backend's model
//! catalog:
//!
//! - `list.rs`: the catalog mapped to OpenAI's list ([`models_to_openai_list`]);
//! - `route.rs`: the two routes for a ChatGPT profile (a custom-provider Codex gets the
//!   catalog itself).

mod list;
mod route;

pub use list::models_to_openai_list;
pub(crate) use route::{chatgpt_catalog, list_via_chatgpt, model_via_chatgpt, read_json};
