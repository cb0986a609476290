//! The notifier: a task on the router's runtime that watches the event bus (usage figures,
//! failovers, dead logins, profile changes) and a timer (the end of a limit), decides with
//! [`decide`](super::decide) what is new, remembers it per profile, and emits each
//! notification the settings let through as [`RouterEvent::Notify`].

use super::Notification;
use super::decide::{self, Observed};
use super::memory::Memory;
use crate::events::{EventBus, RouterEvent};
use crate::settings::{NotificationSettings, Settings};
use crate::store::Store;
use std::collections::HashMap;
use std::time::Duration;

/// The running notifier; dropping it stops it.
#[derive(Debug)]
pub struct NotifierTask {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for NotifierTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the notifier for `store`'s profiles on the current runtime (call it inside one),
/// emitting on `bus`. It first looks at every profile as it is (what was told before a
/// restart is remembered, so only news is told).
pub fn spawn(store: Store, bus: EventBus) -> NotifierTask {
    let subscription = bus.subscribe();
    let task = tokio::spawn(async move {
        let mut subscription = subscription;
        let mut told = Told {
            store,
            memories: HashMap::new(),
        };
        told = told.off_task(Work::Everyone, &bus).await;
        loop {
            let wake = told.next_wake();
            let work = tokio::select! {
                event = subscription.recv() => match event {
                    None => return,
                    Some(event) => match Work::for_event(event) {
                        Some(work) => work,
                        None => continue,
                    },
                },
                () = sleep_until(wake) => Work::Everyone,
            };
            told = told.off_task(work, &bus).await;
        }
    });
    NotifierTask { task }
}

/// What an event asks the notifier to look at.
enum Work {
    /// Every profile (a change of profiles or settings, the end of a limit).
    Everyone,
    /// One profile's figures or login changed.
    Profile(String),
    /// The endpoint moved requests from one account to another.
    FailedOver {
        from: String,
        to: String,
        resets_at: Option<i64>,
    },
}

impl Work {
    fn for_event(event: RouterEvent) -> Option<Self> {
        Some(match event {
            RouterEvent::UsageUpdated { profile }
            | RouterEvent::NeedsSignIn { profile, .. }
            | RouterEvent::TokensRefreshed { profile } => Self::Profile(profile),
            RouterEvent::ProfilesChanged | RouterEvent::SettingsChanged => Self::Everyone,
            RouterEvent::FailedOver {
                from,
                to,
                resets_at,
            } => Self::FailedOver {
                from,
                to,
                resets_at,
            },
            RouterEvent::Switched { .. }
            | RouterEvent::ProxyStarted { .. }
            | RouterEvent::ProxyStopped
            | RouterEvent::RequestFinished { .. }
            | RouterEvent::Notify(_) => return None,
        })
    }
}

/// What was told, per profile, as last read or written.
struct Told {
    store: Store,
    memories: HashMap<String, Memory>,
}

impl Told {
    /// Does `work` on a blocking thread (it reads and writes files) and emits what came out.
    async fn off_task(self, work: Work, bus: &EventBus) -> Self {
        let joined = tokio::task::spawn_blocking(move || {
            let mut this = self;
            let news = this.work(work, chrono::Utc::now().timestamp());
            (this, news)
        })
        .await;
        let (this, news) = joined.expect("the notifier's work does not panic");
        for notification in news {
            tracing::info!(kind = notification.kind.key(), profile = %notification.profile, "notification");
            bus.emit(RouterEvent::Notify(notification));
        }
        this
    }

    /// What is new after `work` at `now`, as the settings let through.
    fn work(&mut self, work: Work, now: i64) -> Vec<Notification> {
        let settings = Settings::load(self.store.home())
            .map(|s| s.notifications)
            .unwrap_or_default();
        let news = match work {
            Work::Everyone => self.look(None, &settings, now),
            Work::Profile(name) => self.look(Some(&name), &settings, now),
            Work::FailedOver {
                from,
                to,
                resets_at,
            } => self
                .with_memory(&from, |m| decide::failover(m, &from, &to, resets_at))
                .into_iter()
                .collect(),
        };
        news.into_iter()
            .filter(|n| n.kind.enabled_in(&settings))
            .collect()
    }

    /// Looks at profile `only` (every profile when `None`).
    fn look(
        &mut self,
        only: Option<&str>,
        settings: &NotificationSettings,
        now: i64,
    ) -> Vec<Notification> {
        let profiles = match self.store.list() {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(error = %e, "notifier: profiles not readable");
                return Vec::new();
            }
        };
        if only.is_none() {
            // Forget removed and renamed profiles (a renamed one is read again).
            self.memories
                .retain(|name, _| profiles.iter().any(|p| p.name == *name));
        }
        let mut news = Vec::new();
        for p in profiles.iter().filter(|p| only.is_none_or(|n| n == p.name)) {
            let observed = Observed {
                name: &p.name,
                usage: p.usage.as_ref(),
                sign_in: p.needs_sign_in.as_ref(),
            };
            news.extend(self.with_memory(&p.name, |m| {
                decide::news(m, &observed, settings.threshold_percent, now)
            }));
        }
        news
    }

    /// Runs `decide` on the memory of `name`, saving it when it changed.
    fn with_memory<T>(&mut self, name: &str, decide: impl FnOnce(&mut Memory) -> T) -> T {
        let dir = self.store.home().profiles_dir().join(name);
        let memory = self
            .memories
            .entry(name.to_owned())
            .or_insert_with(|| Memory::load(&dir));
        let before = memory.clone();
        let out = decide(memory);
        if *memory != before
            && dir.is_dir()
            && let Err(e) = memory.save(&dir)
        {
            // Still remembered for this run.
            tracing::warn!(profile = %name, error = %e, "notifier: could not remember what was told");
        }
        out
    }

    /// The earliest end of a limit still to be told as over.
    fn next_wake(&self) -> Option<i64> {
        self.memories
            .values()
            .filter_map(Memory::pending_available)
            .min()
    }
}

/// Sleeps until `at` (unix seconds, a second past it), forever when `None`.
async fn sleep_until(at: Option<i64>) {
    match at {
        Some(at) => {
            let secs = (at + 1 - chrono::Utc::now().timestamp()).max(1);
            tokio::time::sleep(Duration::from_secs(secs as u64)).await;
        }
        None => std::future::pending().await,
    }
}
