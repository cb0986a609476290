//! `codex-router-ffi`: the uniffi surface of Codex Router, the one the Swift app and outside
//! tools (Python, Kotlin, Swift) embed. It is a thin mapping over the core façade
//! ([`codex_router_core::router::Router`]): records for profiles and status, one error enum,
//! async calls for network work, and a listener for events. No token or key ever leaves
//! through it.
//!
//! Generate bindings with the workspace's own generator (`scripts/bindings python DIR`,
//! `scripts/bindings swift DIR`).

mod claude_setup;
mod desktop;
mod error;
mod events;
mod phrases;
mod records;
mod router;
mod usage_history;

pub use claude_setup::{ClaudeSetup, ClaudeSetupChange};
pub use desktop::{
    AutostartStatus, NotificationKind, NotificationSettings, NotificationToggle,
    RouterNotification, autostart_status, set_autostart,
};
pub use error::RouterError;
pub use events::{RouterEvent, RouterListener};
pub use phrases::{plan_label, restart_hint, suggest_profile_name, window_label};
pub use records::{
    CodexSetup, CodexSetupChange, Credits, LoginResult, LoginStored, Phrase, Profile, ProfileState,
    ProxyState, RefreshReport, Status, Tone, Usage, UsageBar, UsageWindow,
};
pub use router::{DeviceLoginHandle, LoginHandle, Router, SwitchResult};
pub use usage_history::{
    SampleWindow, UsageHistory, UsageSample, WindowForecast, usage_chart_span,
};

uniffi::setup_scaffolding!("codex_router");
