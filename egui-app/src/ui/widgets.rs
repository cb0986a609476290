//! Small widgets the dialogs and pages share.

use super::style::tone_text;
use codex_router_core::view::phrases::Tone;
use egui::{Role, Ui, WidgetInfo};

/// A labelled one-line name field; returns whether Enter was pressed in it.
/// `focus` puts the cursor in it (when its dialog has just opened).
pub(crate) fn name_field(
    ui: &mut Ui,
    label: &str,
    value: &mut String,
    hint: &str,
    focus: bool,
) -> bool {
    ui.horizontal(|ui| {
        let label = ui.label(label);
        let edit = ui.add(
            egui::TextEdit::singleline(value)
                .desired_width(220.0)
                .hint_text(hint),
        );
        edit.clone().labelled_by(label.id);
        if focus {
            edit.request_focus();
        }
        submitted(ui, &edit)
    })
    .inner
}

/// Whether Enter was pressed in the text field `edit`.
pub(crate) fn submitted(ui: &Ui, edit: &egui::Response) -> bool {
    edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))
}

/// A dialog's error, in red, when there is one.
pub(crate) fn error_line(ui: &mut Ui, error: &Option<String>) {
    if let Some(e) = error {
        ui.add(egui::Label::new(tone_text(ui, e, Tone::Error)).wrap());
    }
}

/// The OK / Cancel row: `Some(true)` when confirmed (or `submit`), `Some(false)` on
/// cancel, `None` otherwise.
pub(crate) fn buttons(ui: &mut Ui, ok: &str, submit: bool) -> Option<bool> {
    ui.add_space(6.0);
    let mut result = submit.then_some(true);
    ui.horizontal(|ui| {
        if ui.button(ok).clicked() {
            result = Some(true);
        }
        if ui.button("Cancel").clicked() {
            result = Some(false);
        }
    });
    result
}

/// Gives a widget the accessible name `label` (what screen readers and tests find).
pub(crate) fn set_label(response: &egui::Response, kind: Role, label: &str) {
    let enabled = response.enabled();
    response.widget_info(|| WidgetInfo::labeled(kind, enabled, label));
}
