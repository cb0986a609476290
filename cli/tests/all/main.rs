//! The command line's integration tests.
//! One test binary for the crate (a binary per file costs a link each); each file below
//! is a module.

mod auth;
mod cli;
mod desktop;
mod keyring;
mod logs;
mod network;
mod setup_claude;
mod setup_codex;
mod usage;
