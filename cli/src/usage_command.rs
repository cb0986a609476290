//! `usage [NAME] [--history] [--json|--csv]`: each account's figures with the forecast of
//! each window, or (`--history`) the samples recorded in `profiles/<name>/usage-history.jsonl`.

use crate::commands::{explain, to_json, update_usage};
use codex_router_core::home::ProfileName;
use codex_router_core::store::{Profile, Store, StoreError};
use codex_router_core::usage::history::Sample;
use codex_router_core::view::UsageView;
use codex_router_core::view::history::{SampleView, WindowSampleView, credits_words};
use codex_router_core::view::messages::empty_home_hint;
use codex_router_core::view::pace::{WindowForecast, forecasts};
use codex_router_core::view::phrases::{usage_summary, window_label};
use serde::Serialize;

/// How `usage` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Lines (current figures) or a table (history).
    Text,
    /// A JSON array.
    Json,
    /// CSV with a header row (history only).
    Csv,
}

/// One account in `usage --json`.
#[derive(Serialize)]
struct AccountUsage {
    profile: String,
    usage: Option<UsageView>,
    forecasts: Vec<WindowForecast>,
}

/// Runs `usage`.
pub fn run(store: &Store, name: Option<&str>, history: bool, format: Format) -> Result<(), String> {
    update_usage(store);
    let profiles = chosen(store, name)?;
    if profiles.is_empty() {
        println!("{}", empty_home_hint(&store.home().profiles_dir()));
        return Ok(());
    }
    // A folder whose name is not a profile name is listed (as invalid) with no history.
    let all: Vec<(&Profile, Vec<Sample>)> = profiles
        .iter()
        .map(|p| {
            let samples = ProfileName::new(&p.name)
                .ok()
                .and_then(|name| store.usage_history(&name).ok())
                .unwrap_or_default();
            (p, samples)
        })
        .collect();
    if history {
        let rows: Vec<SampleView> = all
            .iter()
            .flat_map(|(p, samples)| samples.iter().map(|s| SampleView::new(&p.name, s)))
            .collect();
        match format {
            Format::Json => println!("{}", to_json(&rows)),
            Format::Csv => print!("{}", csv(&rows)),
            Format::Text if rows.is_empty() => println!(
                "No usage recorded yet: samples are kept as the endpoint serves requests and usage is read."
            ),
            Format::Text => print!("{}", table(&rows)),
        }
        return Ok(());
    }
    let now = chrono::Utc::now();
    let accounts: Vec<AccountUsage> = all
        .iter()
        .map(|(p, samples)| AccountUsage {
            profile: p.name.clone(),
            usage: p.usage.as_ref().map(|u| UsageView::new(u, now)),
            forecasts: forecasts(samples, now),
        })
        .collect();
    if format == Format::Json {
        println!("{}", to_json(&accounts));
        return Ok(());
    }
    for ((p, samples), account) in all.iter().zip(&accounts) {
        print!("{}", account_lines(p, samples, account, now));
    }
    Ok(())
}

/// The profiles asked for: `name` (which must exist), else all.
fn chosen(store: &Store, name: Option<&str>) -> Result<Vec<Profile>, String> {
    let profiles = store.list().map_err(explain)?;
    let Some(name) = name else {
        return Ok(profiles);
    };
    ProfileName::new(name).map_err(|e| explain(e.into()))?;
    let found: Vec<Profile> = profiles.into_iter().filter(|p| p.name == name).collect();
    if found.is_empty() {
        return Err(explain(StoreError::NotFound(name.to_owned())));
    }
    Ok(found)
}

/// An account's figures: its name, then a line per window with the forecast, then credits.
fn account_lines(
    p: &Profile,
    samples: &[Sample],
    account: &AccountUsage,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let mut out = format!("{}{}\n", if p.active { "* " } else { "" }, p.name);
    let Some(view) = &account.usage else {
        out.push_str("  no usage known yet\n");
        return out;
    };
    if let Some(limited) = p
        .usage
        .as_ref()
        .and_then(|u| usage_summary(u, now))
        .filter(|s| s.text.starts_with("LIMITED"))
    {
        out.push_str(&format!("  {}\n", limited.text));
    }
    for (key, window) in [("primary", &view.primary), ("secondary", &view.secondary)] {
        let Some(window) = window else { continue };
        let mut line = format!("  {}", window.bar.text);
        if let Some(f) = account.forecasts.iter().find(|f| f.window == key) {
            if let Some(rate) = f.per_hour {
                line.push_str(&format!(
                    " \u{b7} {}",
                    codex_router_core::view::pace::rate_words(rate)
                ));
            }
            line.push_str(&format!(" \u{b7} {}", f.forecast));
        } else if samples.is_empty() {
            line.push_str(" \u{b7} no history yet for a forecast");
        }
        out.push_str(&line);
        out.push('\n');
    }
    if let Some(credits) = view.credits.as_ref().and_then(credits_words) {
        out.push_str(&format!("  {credits} (the backend gives no expiry)\n"));
    }
    out
}

/// The history as a table, times in local time.
fn table(rows: &[SampleView]) -> String {
    let mut cells = vec![
        [
            "PROFILE",
            "TIME",
            "PRIMARY",
            "SECONDARY",
            "LIMITED UNTIL",
            "CREDITS",
        ]
        .map(String::from),
    ];
    for r in rows {
        cells.push([
            r.profile.clone(),
            local(r.at_unix),
            window_cell(r.primary.as_ref()),
            window_cell(r.secondary.as_ref()),
            r.limited_until
                .as_deref()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| local(t.timestamp()))
                .unwrap_or_else(|| "-".into()),
            r.credits
                .as_ref()
                .and_then(credits_words)
                .map(|w| w.trim_start_matches("credits: ").to_owned())
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &cells {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// "42% of 5 h", "-".
fn window_cell(w: Option<&WindowSampleView>) -> String {
    match w {
        Some(w) => match w.window_minutes {
            Some(m) => format!("{:.0}% of {}", w.used_percent, window_label(m)),
            None => format!("{:.0}%", w.used_percent),
        },
        None => "-".into(),
    }
}

/// The history as CSV: a header row, then a row per sample; times RFC 3339 (UTC).
fn csv(rows: &[SampleView]) -> String {
    let mut out = String::from(
        "profile,time,primary_used_percent,primary_window_minutes,primary_resets_at,\
         secondary_used_percent,secondary_window_minutes,secondary_resets_at,limited_until,\
         credits_has,credits_unlimited,credits_balance\n",
    );
    let opt = |v: Option<String>| v.unwrap_or_default();
    for r in rows {
        let window = |w: Option<&WindowSampleView>| {
            [
                opt(w.map(|w| w.used_percent.to_string())),
                opt(w.and_then(|w| w.window_minutes).map(|m| m.to_string())),
                opt(w.and_then(|w| w.resets_at.clone())),
            ]
        };
        let mut fields = vec![r.profile.clone(), r.at.clone()];
        fields.extend(window(r.primary.as_ref()));
        fields.extend(window(r.secondary.as_ref()));
        fields.push(opt(r.limited_until.clone()));
        fields.push(opt(r.credits.as_ref().map(|c| c.has_credits.to_string())));
        fields.push(opt(r.credits.as_ref().map(|c| c.unlimited.to_string())));
        fields.push(opt(r.credits.as_ref().and_then(|c| c.balance.clone())));
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_owned()
    }
}

/// A moment in local time: "2026-05-04 14:20:05".
fn local(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}
