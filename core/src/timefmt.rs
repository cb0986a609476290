//! Time and usage phrases, which live in [`crate::view::phrases`] now: this path stays
//! for the desktop app until it imports them from there.

pub use crate::view::phrases::{
    day_time, expiry_phrase, usage_window_name, usage_windows, window_label,
};
