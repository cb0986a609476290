//! The desktop app's integration tests.
//! One test binary for the crate (a binary per file costs a link each); each file below
//! is a module.

#[cfg(target_os = "linux")]
mod common;
mod notifications;
mod tray;
mod ui;
mod usage_chart;
mod xvfb;
