//! The app's look: type sizes, spacing, and its colours for both themes.

use codex_router_core::view::phrases::Tone;
use egui::{Color32, RichText, Ui};

/// Readable type and roomier spacing than egui's defaults, for both themes.
pub(crate) fn apply_style(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| {
        use egui::{FontFamily, FontId, TextStyle};
        style.text_styles = [
            (
                TextStyle::Heading,
                FontId::new(19.0, FontFamily::Proportional),
            ),
            (TextStyle::Body, FontId::new(14.0, FontFamily::Proportional)),
            (
                TextStyle::Button,
                FontId::new(14.0, FontFamily::Proportional),
            ),
            (
                TextStyle::Small,
                FontId::new(11.5, FontFamily::Proportional),
            ),
            (
                TextStyle::Monospace,
                FontId::new(13.0, FontFamily::Monospace),
            ),
        ]
        .into();
        style.spacing.item_spacing = egui::vec2(8.0, 6.0);
        style.spacing.button_padding = egui::vec2(8.0, 3.0);
        style.spacing.interact_size.y = 22.0;
    });
    // egui's light theme draws body text in a soft grey; darker reads better at 14 px.
    ctx.style_mut_of(egui::Theme::Light, |style| {
        style.visuals.widgets.noninteractive.fg_stroke.color = Color32::from_gray(35);
        style.visuals.widgets.inactive.fg_stroke.color = Color32::from_gray(25);
    });
}

/// The app's blue (the icon's), a little lighter on dark backgrounds.
pub(crate) fn accent(ui: &Ui) -> Color32 {
    if ui.visuals().dark_mode {
        Color32::from_rgb(96, 150, 255)
    } else {
        Color32::from_rgb(37, 99, 235)
    }
}

/// The green of "on".
pub(crate) fn ok_color(ui: &Ui) -> Color32 {
    if ui.visuals().dark_mode {
        Color32::from_rgb(90, 200, 120)
    } else {
        Color32::from_rgb(20, 130, 60)
    }
}

/// `text` in the colour of `tone`.
pub(crate) fn tone_text(ui: &Ui, text: &str, tone: Tone) -> RichText {
    let text = RichText::new(text);
    match tone {
        Tone::Normal => text,
        Tone::Muted => text.weak(),
        Tone::Warn => text.color(ui.visuals().warn_fg_color),
        Tone::Error => text.color(ui.visuals().error_fg_color),
    }
}

/// A notice's background: the colour of `tone`, faint.
pub(crate) fn tone_fill(ui: &Ui, tone: Tone) -> Color32 {
    let base = match tone {
        Tone::Normal => ui.visuals().selection.bg_fill,
        Tone::Muted => ui.visuals().weak_text_color(),
        Tone::Warn => ui.visuals().warn_fg_color,
        Tone::Error => ui.visuals().error_fg_color,
    };
    base.gamma_multiply(0.15)
}
