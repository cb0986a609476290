//! The notices at the top of the window, each with its × to dismiss it.

use super::style::{tone_fill, tone_text};
use super::widgets::set_label;
use crate::app::{Command, Notice};
use egui::{Role, Ui};

/// Draws the notices, oldest first; returns the dismissal clicked, if any.
pub(crate) fn show(ui: &mut Ui, notices: &[Notice]) -> Option<Command> {
    let mut dismiss = None;
    for notice in notices {
        egui::Frame::new()
            .fill(tone_fill(ui, notice.tone))
            .corner_radius(6.0)
            .inner_margin(egui::Margin::symmetric(10, 6))
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.horizontal(|ui| {
                    let close = ui.add(egui::Button::new("\u{00d7}").frame(false));
                    set_label(&close, Role::Button, "Dismiss");
                    if close.clicked() {
                        dismiss = Some(Command::Dismiss(notice.text.clone()));
                    }
                    ui.add(egui::Label::new(tone_text(ui, &notice.text, notice.tone)).wrap());
                });
            });
        ui.add_space(4.0);
    }
    dismiss
}
