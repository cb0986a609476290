//! The usage charts under the profile table: a chart per account and window, drawn from
//! the history the store keeps, with the core's forecast line under each.

use codex_router_app::App;
use codex_router_core::events::RouterEvent;
use codex_router_core::home::{CodexHome, ProfileName};
use codex_router_core::router::Router;
use codex_router_core::store::Store;
use codex_router_core::usage::{Usage, UsageWindow};
use codex_router_testkit::home::{TempHome, chatgpt_auth};
use codex_router_testkit::jwt::Identity;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

/// Records `(minutes ago, 5 h used, week used)` for `name` as the router does, oldest first;
/// the windows reset `resets_in` minutes from now.
fn record(home: &TempHome, name: &str, figures: &[(i64, f64, f64)], resets_in: (i64, i64)) {
    let store = Store::new(CodexHome::at(home.path()));
    let name = ProfileName::new(name).unwrap();
    let now = chrono::Utc::now().timestamp();
    for &(ago, five_h, week) in figures {
        let window = |used, minutes, reset| {
            Some(UsageWindow {
                used_percent: used,
                window_minutes: Some(minutes),
                resets_at: Some(now + reset * 60),
            })
        };
        let usage = Usage {
            plan: Some("plus".into()),
            primary: window(five_h, 300, resets_in.0),
            secondary: window(week, 10_080, resets_in.1),
            credits: None,
            limited_until: None,
            updated_at: now - ago * 60,
        };
        assert!(store.record_usage(&name, &usage).unwrap());
    }
}

#[test]
fn each_account_has_a_chart_per_window_with_its_forecast() {
    let home = TempHome::new();
    let work = chatgpt_auth(&Identity::new("alice", "plus"), 1, 86_400 * 3);
    home.write_profile("work", &work);
    home.write_auth(&work);
    home.write_current("work");
    home.write_profile(
        "personal",
        &chatgpt_auth(&Identity::new("bob", "plus"), 1, 86_400),
    );
    home.write_profile(
        "quiet",
        &chatgpt_auth(&Identity::new("carol", "plus"), 1, 86_400),
    );
    // work: 10% → 40% of the 5 h window in 90 minutes: 20%/h, so the 60% left last 3 h and
    // the reset in 2 h comes first; the week 30% → 30.6%: 0.4%/h, far from its limit.
    record(
        &home,
        "work",
        &[(90, 10.0, 30.0), (60, 20.0, 30.2), (0, 40.0, 30.6)],
        (120, 4 * 1440),
    );
    // personal: 50% → 80% in an hour (30%/h): the limit in 40 minutes, before the reset.
    // Its week, 60% → 62% (2%/h), runs out in 19 h, before its reset in 2 days.
    record(
        &home,
        "personal",
        &[(60, 50.0, 60.0), (0, 80.0, 62.0)],
        (180, 2 * 1440),
    );
    let router = Router::open(Some(home.path().to_owned())).unwrap();
    let bus = router.events().clone();
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1000.0, 900.0))
        .build_ui_state(
            move |ui, app: &mut Option<App>| {
                app.get_or_insert_with(|| App::new(router.clone(), ui.ctx()))
                    .ui(ui)
            },
            None,
        );
    harness.run();

    harness.get_by_label("Usage over time");
    for chart in [
        "work: 5 h usage chart",
        "work: week usage chart",
        "personal: 5 h usage chart",
        "personal: week usage chart",
    ] {
        harness.get_by_label(chart);
    }
    // An account without a history gets no chart.
    assert!(harness.query_by_label("quiet: 5 h usage chart").is_none());
    harness.get_by_label("5 h: 20%/h \u{b7} at this pace: lasts until the reset");
    harness.get_by_label("week: 0.4%/h \u{b7} at this pace: lasts until the reset");
    harness.get_by_label_contains("5 h: 30%/h \u{b7} at this pace: limit around ");
    harness.get_by_label_contains("week: 2.0%/h \u{b7} at this pace: limit around ");

    // New figures of one account, announced as the endpoint announces them: its chart
    // appears.
    record(
        &home,
        "quiet",
        &[(30, 5.0, 1.0), (0, 10.0, 1.5)],
        (240, 3 * 1440),
    );
    bus.emit(RouterEvent::UsageUpdated {
        profile: "quiet".into(),
    });
    harness.run();
    harness.get_by_label("quiet: 5 h usage chart");
    harness.get_by_label("work: 5 h usage chart");
}
