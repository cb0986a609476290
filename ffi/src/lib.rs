//! `codex-router-ffi`: the uniffi surface of Codex Router, the one the Swift app and outside
//! tools (Python, Kotlin, Swift) embed. It is a thin mapping over the core façade
//! ([`codex_router_core::router::Router`]): records for profiles and status, one error enum,
//! async calls for network work, and a listener for events. No token or key ever leaves
//! through it.
//!
//! Generate bindings with the workspace's own generator (`scripts/bindings python DIR`,
//! `scripts/bindings swift DIR`).

mod error;
mod events;
mod records;
mod router;

pub use error::RouterError;
pub use events::{RouterEvent, RouterListener};
pub use records::{
    LoginResult, LoginStored, Profile, ProfileState, ProxyState, RefreshReport, Status, Usage,
    UsageWindow,
};
pub use router::{LoginHandle, Router, SwitchResult};

uniffi::setup_scaffolding!("codex_router");
