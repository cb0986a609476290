//! Codex Router's desktop app: an eframe/egui window listing the profiles with their
//! actions and the local endpoint, and a tray menu to switch in one click. All work is done
//! by `codex-router-core`; this crate only shows its snapshot and sends its commands.
//!
//! [`app::App`] is the whole window as a plain struct (tests drive it with `egui_kittest`,
//! no display needed): its state, the commands that change it and the background jobs;
//! `ui` draws it. [`desktop::Desktop`] wraps it in the eframe window and the tray.

#![warn(missing_docs)]

pub mod app;
pub mod desktop;
pub mod icon;
pub mod notifications;
pub mod tray;
mod ui;

pub use app::App;
