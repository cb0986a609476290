//! Work that waits on the network or a browser: each [`Job`] runs on a worker thread and
//! its result comes back through a channel (and a repaint) to [`App::poll`], which hands it
//! to `App::finish`.

use super::App;
use super::state::Dialog;
use crate::format::Tone;
use codex_router_core::login::{LoginError, LoginOutcome};
use codex_router_core::router::{LoginHandle, RefreshReport, RouterError};
use codex_router_core::store::Stored;
use std::mem::discriminant;
use std::sync::Arc;
use std::sync::mpsc::Sender;

/// Background work the app runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Renewing the tokens of one profile, or of every ChatGPT profile (`None`).
    RefreshTokens(Option<String>),
    /// Starting the local endpoint.
    StartEndpoint,
    /// Stopping the local endpoint.
    StopEndpoint,
    /// A browser sign-in saved as profile `name`; `force` lets it replace the profile of
    /// another account.
    SignIn {
        /// The profile it is saved as.
        name: String,
        /// Whether it may replace a profile of another account.
        force: bool,
    },
}

impl Job {
    /// What the toolbar says while it runs; `None` for a sign-in, which its dialog shows.
    pub fn status(&self) -> Option<&'static str> {
        match self {
            Self::RefreshTokens(_) => Some("Refreshing tokens\u{2026}"),
            Self::StartEndpoint => Some("Starting the endpoint\u{2026}"),
            Self::StopEndpoint => Some("Stopping the endpoint\u{2026}"),
            Self::SignIn { .. } => None,
        }
    }

    /// Whether it starts or stops the endpoint (whose button waits for it).
    pub fn is_endpoint(&self) -> bool {
        matches!(self, Self::StartEndpoint | Self::StopEndpoint)
    }

    /// Whether it must not start while `other` runs: one token refresh at a time, one
    /// endpoint change at a time. Sign-ins never wait (a cancelled one may still be
    /// winding down).
    pub fn conflicts_with(&self, other: &Job) -> bool {
        match (self, other) {
            (Self::SignIn { .. }, _) | (_, Self::SignIn { .. }) => false,
            (a, b) if a.is_endpoint() => b.is_endpoint(),
            (a, b) => discriminant(a) == discriminant(b),
        }
    }
}

/// A job's result, sent back from its worker thread.
pub(super) struct Finished {
    job: Job,
    result: JobResult,
}

enum JobResult {
    Refreshed(Result<Vec<RefreshReport>, String>),
    /// The endpoint started or stopped (or could not start).
    Endpoint(Result<(), String>),
    /// The sign-in's local callback server runs (the job goes on: waiting for the browser).
    SignInStarted(Result<Arc<LoginHandle>, String>),
    SignInEnded(Result<LoginOutcome, RouterError>),
    /// No worker thread could be started.
    NoThread(String),
}

impl App {
    /// Starts `job` unless a conflicting one runs.
    pub(super) fn start_job(&mut self, job: Job) {
        if self.state.is_running(&job) {
            return;
        }
        self.state.jobs.push(job.clone());
        let router = self.router.clone();
        match job.clone() {
            Job::RefreshTokens(name) => self.spawn(job, move || {
                JobResult::Refreshed(
                    router
                        .refresh_profiles(name.as_deref())
                        .map_err(|e| e.to_string()),
                )
            }),
            Job::StartEndpoint => self.spawn(job, move || {
                let settings = &router.settings().proxy;
                JobResult::Endpoint(
                    router
                        .start_proxy(&settings.host, settings.port)
                        .map(drop)
                        .map_err(|e| e.to_string()),
                )
            }),
            Job::StopEndpoint => self.spawn(job, move || {
                router.stop_proxy();
                JobResult::Endpoint(Ok(()))
            }),
            Job::SignIn { name, force } => {
                self.forms.open(Dialog::Login {
                    name: name.clone(),
                    url: None,
                });
                self.spawn(job, move || {
                    JobResult::SignInStarted(
                        router
                            .start_login(&name, force)
                            .map(Arc::new)
                            .map_err(|e| e.to_string()),
                    )
                });
            }
        }
    }

    /// Runs `work` for `job` on a worker thread; its result comes back through
    /// [`App::poll`].
    fn spawn(&self, job: Job, work: impl FnOnce() -> JobResult + Send + 'static) {
        let tx: Sender<Finished> = self.done_tx.clone();
        let ctx = self.ctx.clone();
        let worker_job = job.clone();
        let spawned = std::thread::Builder::new()
            .name("app-worker".into())
            .spawn(move || {
                let result = work();
                let _ = tx.send(Finished {
                    job: worker_job,
                    result,
                });
                ctx.request_repaint();
            });
        if let Err(e) = spawned {
            let _ = self.done_tx.send(Finished {
                job,
                result: JobResult::NoThread(e.to_string()),
            });
        }
    }

    /// Takes in a job's result: updates the state and says how it went.
    pub(super) fn finish(&mut self, Finished { job, result }: Finished) {
        // A started sign-in goes on: waiting for the browser.
        if !matches!(result, JobResult::SignInStarted(Ok(_)))
            && let Some(i) = self.state.jobs.iter().position(|j| *j == job)
        {
            self.state.jobs.remove(i);
        }
        match result {
            JobResult::Refreshed(result) => self.refreshed(result),
            JobResult::Endpoint(result) => {
                if let Err(e) = result {
                    self.state.notify(Tone::Error, e);
                }
            }
            JobResult::SignInStarted(Ok(handle)) => self.sign_in_started(job, handle),
            JobResult::SignInStarted(Err(e)) => self.sign_in_failed_to_start(job, e),
            JobResult::SignInEnded(result) => self.sign_in_ended(job, result),
            JobResult::NoThread(e) => {
                if let Some(login) = self.login.take() {
                    login.cancel();
                }
                self.forms.close_if(|d| matches!(d, Dialog::Login { .. }));
                self.state
                    .notify(Tone::Error, format!("Cannot start a worker thread: {e}"));
            }
        }
    }

    fn refreshed(&mut self, result: Result<Vec<RefreshReport>, String>) {
        let reports = match result {
            Err(e) => {
                let text = format!("Could not refresh tokens: {e}");
                return self.state.notify(Tone::Error, text);
            }
            Ok(reports) if reports.is_empty() => {
                let text = "No ChatGPT profiles to refresh.".into();
                return self.state.notify(Tone::Muted, text);
            }
            Ok(reports) => reports,
        };
        let mut fine = Vec::new();
        for report in reports {
            match report.result {
                Ok(_) => fine.push(report.profile),
                Err(e) => self
                    .state
                    .notify(Tone::Error, format!("'{}': {e}", report.profile)),
            }
        }
        if !fine.is_empty() {
            let text = format!("Tokens are fresh: {}.", fine.join(", "));
            self.state.notify(Tone::Muted, text);
        }
    }

    fn sign_in_started(&mut self, job: Job, handle: Arc<LoginHandle>) {
        let Job::SignIn { name, .. } = &job else {
            return;
        };
        let url = handle.url().to_owned();
        let still_open = matches!(
            &self.forms.dialog,
            Some(Dialog::Login { name: n, .. }) if n == name
        );
        if still_open {
            self.forms.open(Dialog::Login {
                name: name.clone(),
                url: Some(url.clone()),
            });
            self.ctx.open_url(egui::OpenUrl::new_tab(&url));
        } else {
            // Closed while starting: give the port back at once.
            handle.cancel();
        }
        self.login = Some(handle.clone());
        self.spawn(job, move || JobResult::SignInEnded(handle.wait()));
    }

    fn sign_in_failed_to_start(&mut self, job: Job, error: String) {
        let Job::SignIn { name, force } = job else {
            return;
        };
        if force {
            self.forms.close_if(|d| matches!(d, Dialog::Login { .. }));
            let text = format!("Sign-in for '{name}' failed: {error}");
            self.state.notify(Tone::Error, text);
        } else {
            self.forms.open(Dialog::AddAccount {
                name,
                error: Some(error),
            });
        }
    }

    fn sign_in_ended(&mut self, job: Job, result: Result<LoginOutcome, RouterError>) {
        let Job::SignIn { name, .. } = job else {
            return;
        };
        self.login = None;
        self.forms.close_if(|d| matches!(d, Dialog::Login { .. }));
        match result {
            Ok(outcome) => {
                let who = outcome.email.unwrap_or_else(|| "the account".into());
                let text = match outcome.stored {
                    Stored::Created(n) => format!("Signed in as {who}: saved as '{n}'."),
                    Stored::UpdatedExisting(n) => format!(
                        "Signed in as {who}, which already had profile '{n}': its login was updated."
                    ),
                    Stored::Replaced(n) => {
                        format!("Signed in as {who}: profile '{n}' was replaced.")
                    }
                };
                self.state.notify(Tone::Normal, text);
            }
            Err(RouterError::Login(LoginError::Cancelled)) => {}
            Err(e) => {
                let text = format!("Sign-in for '{name}' failed: {e}");
                self.state.notify(Tone::Error, text);
            }
        }
    }
}
