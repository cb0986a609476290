//! Keeping the usage figures every proxied answer carries in its `x-codex-*` headers, and
//! those of the `codex.rate_limits` events of a WebSocket.

use super::{Usage, from_headers, from_rate_limits_event};
use crate::events::{EventBus, RouterEvent};
use crate::home::ProfileName;
use crate::store::Store;
use chrono::Utc;
use reqwest::header::HeaderMap;

/// After a proxied answer served by `profile`: reads the figures of its `x-codex-*` headers
/// on the request's task (cheap, no copy) and, when there are any, stores them off it (call
/// it from inside the runtime), announcing [`RouterEvent::UsageUpdated`] when they changed.
/// An answer without figures costs no task.
pub fn record_headers(store: &Store, bus: &EventBus, profile: &str, headers: &HeaderMap) {
    let (Ok(name), Some(usage)) = (
        ProfileName::new(profile),
        from_headers(headers, Utc::now().timestamp()),
    ) else {
        return;
    };
    record(store, bus, name, usage);
}

/// After a `codex.rate_limits` event of a socket served by `profile`: stores its figures as
/// [`record_headers`] does (call it from inside the runtime).
pub fn record_event(store: &Store, bus: &EventBus, profile: &str, event: &serde_json::Value) {
    let (Ok(name), Some(usage)) = (
        ProfileName::new(profile),
        from_rate_limits_event(event, Utc::now().timestamp()),
    ) else {
        return;
    };
    record(store, bus, name, usage);
}

/// Stores `usage` for `name` off the async tasks, announcing a change.
fn record(store: &Store, bus: &EventBus, name: ProfileName, usage: Usage) {
    let (store, bus) = (store.clone(), bus.clone());
    tokio::task::spawn_blocking(move || {
        if store_usage(&store, &name, &usage) {
            bus.emit(RouterEvent::UsageUpdated {
                profile: name.to_string(),
            });
        }
    });
}

/// Records `usage` for `name`. Returns whether the stored figures changed. Blocking file
/// I/O: call it off async tasks.
fn store_usage(store: &Store, name: &ProfileName, usage: &Usage) -> bool {
    match store.record_usage(name, usage) {
        Ok(changed) => changed,
        Err(e) => {
            tracing::debug!(profile = %name, error = %e, "usage from headers not recorded");
            false
        }
    }
}
