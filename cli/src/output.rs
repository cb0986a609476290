//! The readable table of `list`: the core's rows and words, laid out in columns. (The JSON
//! records are the core's view, serialized as they are.)

use codex_router_core::view::ProfileRow;
use codex_router_core::view::phrases::short_id;

/// The readable table of `list`.
pub fn profile_table(rows: &[ProfileRow]) -> String {
    let header = [
        "", "NAME", "EMAIL", "PLAN", "MODE", "ACCOUNT", "USAGE", "TOKEN",
    ]
    .map(String::from);
    let mut table = vec![header];
    for row in rows {
        table.push([
            if row.active { "*" } else { " " }.to_owned(),
            row.name.clone(),
            dash(row.email.as_deref()),
            dash(row.plan.as_deref()),
            dash(row.mode_label.as_deref()),
            dash(row.account_id.as_deref().map(short_id).as_deref()),
            dash(
                row.usage
                    .as_ref()
                    .and_then(|u| u.summary.as_ref())
                    .map(|s| s.text.as_str()),
            ),
            row.token_state.text.clone(),
        ]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|c| {
            table
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &table {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c == 7 {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A sentence from a phrase: "not signed in: …" → "Not signed in: ….".
pub fn sentence(phrase: &str) -> String {
    let mut chars = phrase.chars();
    let first = chars.next().map(|c| c.to_uppercase().to_string());
    format!("{}{}.", first.unwrap_or_default(), chars.as_str())
}

fn dash(v: Option<&str>) -> String {
    v.unwrap_or("-").to_owned()
}
