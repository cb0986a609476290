//! Work that waits on the network or a browser: each [`Job`] runs on a worker thread and
//! its result comes back through a channel (and a repaint) to [`App::poll`], which hands it
//! to `App::finish`.

use super::App;
use super::state::{Dialog, LoginPrompt};
use codex_router_core::login::{LoginError, LoginOutcome};
use codex_router_core::router::{DeviceLoginHandle, LoginHandle, RefreshReport, RouterError};
use codex_router_core::view::messages::login_summary;
use codex_router_core::view::phrases::Tone;
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
    /// A sign-in saved as profile `name`; `force` lets it replace the profile of another
    /// account.
    SignIn {
        /// The profile it is saved as.
        name: String,
        /// Whether it may replace a profile of another account.
        force: bool,
        /// In the browser, or with a code entered on any device.
        method: SignInMethod,
    },
}

/// How a sign-in reaches ChatGPT's sign-in page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMethod {
    /// A browser on this computer, which comes back to a local callback server.
    Browser,
    /// A code entered on any device (device-code sign-in): for machines where the browser
    /// is elsewhere.
    Code,
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

/// A sign-in that has started and waits for the user, to cancel it.
#[derive(Clone)]
pub(super) enum PendingLogin {
    /// Waiting for the browser to come back.
    Browser(Arc<LoginHandle>),
    /// Waiting for the code to be entered.
    Code(Arc<DeviceLoginHandle>),
}

impl PendingLogin {
    /// Stops it: its `wait` ends with `Cancelled`.
    pub(super) fn cancel(&self) {
        match self {
            Self::Browser(h) => h.cancel(),
            Self::Code(h) => h.cancel(),
        }
    }

    /// Blocks until it ends (on a worker thread).
    fn wait(&self) -> Result<LoginOutcome, RouterError> {
        match self {
            Self::Browser(h) => h.wait(),
            Self::Code(h) => h.wait(),
        }
    }

    /// What its dialog shows.
    fn prompt(&self) -> LoginPrompt {
        match self {
            Self::Browser(h) => LoginPrompt::Browser {
                url: h.url().to_owned(),
            },
            Self::Code(h) => LoginPrompt::Code {
                url: h.verification_url().to_owned(),
                code: h.user_code().to_owned(),
            },
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
    /// The sign-in has started: its callback server runs, or its code was handed out (the
    /// job goes on: waiting for the user).
    SignInStarted(Result<PendingLogin, String>),
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
            Job::SignIn {
                name,
                force,
                method,
            } => {
                self.forms.open(Dialog::Login {
                    name: name.clone(),
                    method,
                    prompt: None,
                });
                self.spawn(job, move || {
                    let started = match method {
                        SignInMethod::Browser => router
                            .start_login(&name, force)
                            .map(|h| PendingLogin::Browser(Arc::new(h))),
                        SignInMethod::Code => router
                            .start_device_login(&name, force)
                            .map(|h| PendingLogin::Code(Arc::new(h))),
                    };
                    JobResult::SignInStarted(started.map_err(|e| e.to_string()))
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
            JobResult::SignInStarted(Ok(login)) => self.sign_in_started(job, login),
            JobResult::SignInStarted(Err(e)) => self.sign_in_failed_to_start(job, e),
            JobResult::SignInEnded(result) => self.sign_in_ended(job, result),
            JobResult::NoThread(e) => {
                if let Some((_, login)) = self.login.take() {
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

    fn sign_in_started(&mut self, job: Job, login: PendingLogin) {
        let Job::SignIn { name, method, .. } = &job else {
            return;
        };
        if self.forms.is_signing_in(name, *method) {
            let prompt = login.prompt();
            if let LoginPrompt::Browser { url } = &prompt {
                self.ctx.open_url(egui::OpenUrl::new_tab(url));
            }
            self.forms.open(Dialog::Login {
                name: name.clone(),
                method: *method,
                prompt: Some(prompt),
            });
        } else {
            // Closed while starting: give the port (or the code) back at once.
            login.cancel();
        }
        self.login = Some((job.clone(), login.clone()));
        self.spawn(job, move || JobResult::SignInEnded(login.wait()));
    }

    fn sign_in_failed_to_start(&mut self, job: Job, error: String) {
        let Job::SignIn {
            name,
            force,
            method,
        } = job
        else {
            return;
        };
        if force {
            if self.forms.is_signing_in(&name, method) {
                self.forms.dialog = None;
            }
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
        let Job::SignIn { name, method, .. } = &job else {
            return;
        };
        // Another sign-in may have started since this one was cancelled: leave it be.
        if self.login.as_ref().is_some_and(|(j, _)| *j == job) {
            self.login = None;
            if self.forms.is_signing_in(name, *method) {
                self.forms.dialog = None;
            }
        }
        match result {
            Ok(outcome) => self.state.notify(Tone::Normal, login_summary(&outcome)),
            Err(RouterError::Login(LoginError::Cancelled)) => {}
            Err(e) => {
                let text = format!("Sign-in for '{name}' failed: {e}");
                self.state.notify(Tone::Error, text);
            }
        }
    }
}
