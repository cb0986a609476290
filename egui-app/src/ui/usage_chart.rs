//! Usage over time, under the profile table: per account, a chart per window (the used
//! share against time, the limit at 100%, the forecast's path dashed) with the core's
//! forecast line under it.

use super::style::{accent, tone_text};
use super::widgets::set_label;
use chrono::{DateTime, Utc};
use codex_router_core::usage::history::{Sample, Which};
use codex_router_core::usage::pace::{Forecast, pace, runs};
use codex_router_core::view::pace::{chart_span, forecasts};
use codex_router_core::view::phrases::window_label;
use egui::{RichText, Role, Ui};
use egui_plot::{GridInput, GridMark, HLine, Line, LineStyle, Plot, PlotPoints};

/// One chart's size.
const CHART: egui::Vec2 = egui::vec2(400.0, 130.0);

/// Draws the section when some account has a history: each account's name, then its
/// windows side by side.
pub(crate) fn show(ui: &mut Ui, histories: &[(String, Vec<Sample>)], now: DateTime<Utc>) {
    if histories.iter().all(|(_, samples)| samples.is_empty()) {
        return;
    }
    ui.add_space(12.0);
    egui::CollapsingHeader::new("Usage over time")
        .default_open(true)
        .show(ui, |ui| {
            for (name, samples) in histories.iter().filter(|(_, s)| !s.is_empty()) {
                ui.label(RichText::new(name).strong());
                let lines = forecasts(samples, now);
                ui.horizontal_top(|ui| {
                    for which in Which::BOTH {
                        if samples.iter().all(|s| s.window(which).is_none()) {
                            continue;
                        }
                        ui.vertical(|ui| {
                            chart(ui, name, samples, which, now);
                            let key = match which {
                                Which::Primary => "primary",
                                Which::Secondary => "secondary",
                            };
                            if let Some(f) = lines.iter().find(|f| f.window == key) {
                                ui.label(tone_text(ui, &f.text, f.tone));
                            }
                        });
                    }
                });
                ui.add_space(8.0);
            }
        });
}

/// One window's chart: the samples of the core's [`chart_span`], and where the current
/// pace leads.
fn chart(ui: &mut Ui, name: &str, samples: &[Sample], which: Which, now: DateTime<Utc>) {
    let minutes = samples
        .iter()
        .rev()
        .find_map(|s| s.window(which))
        .and_then(|w| w.window_minutes);
    let label = minutes.map(window_label).unwrap_or_else(|| "window".into());
    let span = chart_span(minutes);
    let now_s = now.timestamp();
    // Each window period on its own: a line across a reset would draw use that never was.
    let periods: Vec<Vec<[f64; 2]>> = runs(samples, which)
        .into_iter()
        .map(|run| {
            run.into_iter()
                .filter(|(at, _)| *at >= now_s - span)
                .map(|(at, w)| [at as f64, w.used_percent])
                .collect::<Vec<_>>()
        })
        .filter(|points| !points.is_empty())
        .collect();
    let ahead = projection(samples, which, now_s);
    let end = ahead
        .as_ref()
        .map_or(now_s as f64, |p| p[1][0].max(now_s as f64));
    let short = span <= 2 * 86_400;
    let color = accent(ui);
    let warn = ui.visuals().warn_fg_color;
    let weak = ui.visuals().weak_text_color();
    let id = format!("usage-{name}-{label}");
    let shown = Plot::new(id)
        .width(CHART.x)
        .height(CHART.y)
        .default_x_bounds((now_s - span) as f64, end)
        .default_y_bounds(0.0, 105.0)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .show_x(false)
        .show_y(false)
        .x_grid_spacer(move |input| time_marks(input, short))
        .x_axis_formatter(move |mark, _| {
            let major = if short { 3.0 * 3600.0 } else { 7.0 * 86_400.0 };
            if mark.step_size < major {
                return String::new();
            }
            DateTime::from_timestamp(mark.value as i64, 0)
                .map(|t| {
                    t.with_timezone(&chrono::Local)
                        .format(if short { "%H:%M" } else { "%b %d" })
                        .to_string()
                })
                .unwrap_or_default()
        })
        .y_axis_formatter(|mark, _| format!("{:.0}%", mark.value))
        .show(ui, |plot| {
            plot.hline(
                HLine::new("limit", 100.0)
                    .color(weak)
                    .style(LineStyle::dotted_dense()),
            );
            for points in periods {
                plot.line(
                    Line::new(format!("{label} used"), PlotPoints::from(points))
                        .color(color)
                        .width(2.0),
                );
            }
            if let Some((path, limit)) = ahead.map(|p| (p, p[1][1] >= 100.0)) {
                plot.line(
                    Line::new("at this pace", PlotPoints::from(path.to_vec()))
                        .color(if limit { warn } else { weak })
                        .style(LineStyle::dashed_dense()),
                );
            }
        });
    set_label(
        &shown.response,
        Role::Image,
        &format!("{name}: {label} usage chart"),
    );
}

/// Grid lines at whole hours (labelled every 3 hours) on a short chart, at days (labelled
/// every week) on a long one.
fn time_marks(input: GridInput, short: bool) -> Vec<GridMark> {
    let (minor, major) = if short {
        (3600.0, 3.0 * 3600.0)
    } else {
        (86_400.0, 7.0 * 86_400.0)
    };
    let (low, high) = input.bounds;
    let mut marks = Vec::new();
    let mut value = (low / minor).ceil() * minor;
    while value <= high {
        let step_size = if value % major == 0.0 { major } else { minor };
        marks.push(GridMark { value, step_size });
        value += minor;
    }
    marks
}

/// Where the current pace leads from the last sample: to the limit (when it comes first)
/// or to the reset. `None` without a rate.
fn projection(samples: &[Sample], which: Which, now: i64) -> Option<[[f64; 2]; 2]> {
    let p = pace(samples, which, now)?;
    let rate = p.per_hour?;
    let (at, last) = samples
        .iter()
        .rev()
        .find_map(|s| s.window(which).map(|w| (s.at, w)))?;
    let end = match p.forecast {
        Forecast::LimitAt(t) => t,
        Forecast::LastsUntilReset => last.resets_at?,
        Forecast::UsedUp(_) | Forecast::TooFewSamples => return None,
    };
    let used = (last.used_percent + rate * (end - at) as f64 / 3600.0).min(100.0);
    Some([[at as f64, last.used_percent], [end as f64, used]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_router_core::usage::history::WindowSample;

    #[test]
    fn the_pace_leads_to_the_limit_or_the_reset() {
        let w = |used, reset| {
            Some(WindowSample {
                used_percent: used,
                window_minutes: Some(300),
                resets_at: Some(reset),
            })
        };
        let s = |at, used, reset| Sample {
            at,
            primary: w(used, reset),
            secondary: None,
            limited_until: None,
            credits: None,
        };
        // 20%/h from 60%: the limit in 2 h, before the reset in 5 h.
        let fast = [s(0, 40.0, 5 * 3600), s(3600, 60.0, 5 * 3600)];
        assert_eq!(
            projection(&fast, Which::Primary, 3600),
            Some([[3600.0, 60.0], [3.0 * 3600.0, 100.0]])
        );
        // 5%/h from 15%: the reset in 2 h comes first, at 25%.
        let slow = [s(0, 10.0, 3 * 3600), s(3600, 15.0, 3 * 3600)];
        assert_eq!(
            projection(&slow, Which::Primary, 3600),
            Some([[3600.0, 15.0], [3.0 * 3600.0, 25.0]])
        );
        assert_eq!(projection(&slow[..1], Which::Primary, 3600), None);
    }
}
