//! Keeping the usage figures every proxied answer carries in its `x-codex-*` headers.

use super::from_headers;
use crate::events::{EventBus, RouterEvent};
use crate::home::ProfileName;
use crate::store::Store;
use chrono::Utc;
use reqwest::header::HeaderMap;

/// After a proxied answer served by `profile`: records the figures of its `x-codex-*`
/// headers off the request's task (call it from inside the runtime), announcing
/// [`RouterEvent::UsageUpdated`] when they changed.
pub fn record_headers(store: &Store, bus: &EventBus, profile: &str, headers: &HeaderMap) {
    if headers.is_empty() {
        return;
    }
    let (store, bus) = (store.clone(), bus.clone());
    let (profile, headers) = (profile.to_owned(), headers.clone());
    tokio::task::spawn_blocking(move || {
        if store_headers(&store, &profile, &headers) {
            bus.emit(RouterEvent::UsageUpdated { profile });
        }
    });
}

/// Records the figures of a proxied answer's `x-codex-*` headers for `profile`. Returns
/// whether the stored figures changed. Blocking file I/O: call it off async tasks.
pub fn store_headers(store: &Store, profile: &str, headers: &HeaderMap) -> bool {
    let (Ok(name), Some(usage)) = (
        ProfileName::new(profile),
        from_headers(headers, Utc::now().timestamp()),
    ) else {
        return false;
    };
    match store.record_usage(&name, &usage) {
        Ok(changed) => changed,
        Err(e) => {
            tracing::debug!(%profile, error = %e, "usage from headers not recorded");
            false
        }
    }
}
