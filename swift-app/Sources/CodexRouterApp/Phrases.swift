import CodexRouter
import Foundation

// TO BE REPLACED BY THE FFI (issue 14: one wording everywhere). The Rust core owns these
// words. Until the regenerated bindings bring its phrase functions, this file is the app's
// only copy of them, word for word from core/src/timefmt.rs and the egui app
// (egui-app/src/format.rs, app.rs). Each function names the FFI call that replaces it: when
// that call exists, make the body a one-line call to it, or delete the function and call
// the FFI at its call sites. No other file copies a core phrase.

/// The core's phrases for profiles, usage, tokens and switching.
enum Phrases {
    /// A rate-limit window's name: 300 minutes → "5 h", 10080 → "week", 1440 → "day";
    /// "window" when its length is unknown.
    /// REPLACE WITH the FFI's `windowLabel(minutes:)` (core `timefmt::window_label`).
    static func windowLabel(minutes: UInt64?) -> String {
        guard let minutes else { return "window" }
        switch minutes {
        case 10_080: return "week"
        case 1_440: return "day"
        case let m where m % 1_440 == 0: return "\(m / 1_440) d"
        case let m where m % 60 == 0: return "\(m / 60) h"
        case let m: return "\(m) min"
        }
    }

    /// Usage in a few words: "5 h 42% · week 17%", or "limited until Tue 14:20" while the
    /// account is limited; nil when nothing is known (never made-up figures).
    /// REPLACE WITH the FFI's usage line (core `timefmt::usage_windows` and the egui
    /// app's `format::usage_summary`).
    static func usageLine(_ usage: Usage, now: Date) -> String? {
        if let until = limitedUntil(usage, now: now) {
            return "limited until \(localTime(until, "EEE HH:mm"))"
        }
        let windows = [usage.primary, usage.secondary].compactMap { $0 }.map { window in
            "\(windowLabel(minutes: window.windowMinutes)) \(percent(window.usedPercent))%"
        }
        return windows.isEmpty ? nil : windows.joined(separator: " · ")
    }

    /// One window under its bar: "5 h: 42% · resets 14:20" ("resets Tue 14:20" when not
    /// today). REPLACE WITH the FFI's bar text if the core adds one (egui `format::usage_bars`).
    static func usageBar(_ window: UsageWindow, now: Date) -> String {
        var text = "\(windowLabel(minutes: window.windowMinutes)): \(percent(window.usedPercent))%"
        if let resets = RFC3339.date(window.resetsAt), resets > now {
            let sameDay = Calendar.current.isDate(resets, inSameDayAs: now)
            text += " · resets \(localTime(resets, sameDay ? "HH:mm" : "EEE HH:mm"))"
        }
        return text
    }

    /// The token column: "expires in 3 days", "expired, will refresh", "does not expire",
    /// "no expiry in token", "can't be used: …", or the sign-in problem.
    /// REPLACE WITH the FFI's token-state words (egui `format::token_state`, core
    /// `timefmt::expiry_phrase`).
    static func tokenState(_ profile: Profile, now: Date) -> String {
        switch profile.state {
        case .invalid:
            return "can't be used: \(profile.error ?? "")"
        case .needsSignIn:
            return profile.error ?? "needs sign-in"
        case .ok, .expired:
            if profile.authMode == "api_key" { return "does not expire" }
            guard let expires = RFC3339.date(profile.expiresAt) else { return "no expiry in token" }
            if expires <= now { return "expired, will refresh" }
            return expiryPhrase(expires, now: now)
        }
    }

    /// What to restart after a switch.
    /// REPLACE WITH the FFI's restart hint (egui `app::RESTART_NOTE`, CLI `RESTART_REMINDER`).
    static let restartHint = "Codex apps that are already running keep the old login until they restart: quit and start codex again; in VS Code run “Developer: Reload Window”."

    /// What a finished browser sign-in did.
    /// REPLACE WITH the FFI's login summary if it exposes the core's (egui `finish`).
    static func signedIn(_ result: LoginResult) -> String {
        let who = result.email ?? "the account"
        switch result.stored {
        case .created:
            return "Signed in as \(who): saved as '\(result.profile)'."
        case .updatedExisting:
            return "Signed in as \(who), which already had profile '\(result.profile)': its login was updated."
        case .replaced:
            return "Signed in as \(who): profile '\(result.profile)' was replaced."
        }
    }

    /// What saving an API key did.
    /// REPLACE WITH the FFI's login summary if it exposes the core's (egui `Dialog::AddKey`).
    static func keySaved(_ result: LoginResult) -> String {
        switch result.stored {
        case .updatedExisting:
            return "This key was already saved as '\(result.profile)'."
        case .created, .replaced:
            return "Saved the API key as '\(result.profile)'."
        }
    }

    /// How a login signs in, with the plan: "ChatGPT Plus", "ChatGPT", "API key"; "—" for
    /// a broken profile. REPLACE WITH the FFI's if the core's view adds it (egui
    /// `format::sign_in_label`).
    static func signIn(authMode: String?, plan: String?) -> String {
        switch authMode {
        case "chatgpt"?:
            guard let plan, !plan.isEmpty else { return "ChatGPT" }
            return "ChatGPT \(planLabel(plan))"
        case "api_key"?:
            return "API key"
        case let other?:
            return other
        case nil:
            return "—"
        }
    }

    /// Who a login is, for sentences: "alice@example.com (Plus)", "an API key".
    /// REPLACE WITH the FFI's if the core's view adds it (egui `format::who`).
    static func who(authMode: String?, email: String?, plan: String?) -> String {
        if authMode == "api_key" { return "an API key" }
        guard let email else { return "a ChatGPT login without an email" }
        guard let plan else { return email }
        return "\(email) (\(planLabel(plan)))"
    }

    // MARK: - Helpers of the copies above (they go when the copies go)

    /// The end of a limit still ahead of `now`.
    static func limitedUntil(_ usage: Usage, now: Date) -> Date? {
        guard let until = RFC3339.date(usage.limitedUntil), until > now else { return nil }
        return until
    }

    /// A percentage without decimals, rounded as Rust's `{:.0}` does.
    private static func percent(_ value: Double) -> String {
        String(format: "%.0f", value)
    }

    /// "plus" → "Plus".
    private static func planLabel(_ plan: String) -> String {
        plan.prefix(1).uppercased() + String(plan.dropFirst())
    }

    /// "expires in 3 days", "expired 2 hours ago" (core `timefmt::expiry_phrase`).
    private static func expiryPhrase(_ expires: Date, now: Date) -> String {
        let seconds = Int64(expires.timeIntervalSince(now).rounded(.towardZero))
        return seconds > 0 ? "expires in \(span(seconds))" : "expired \(span(-seconds)) ago"
    }

    /// A span rounded to its nearest unit: 1 h 59 min reads "2 hours" (core `timefmt::span`).
    private static func span(_ seconds: Int64) -> String {
        let count: Int64
        let unit: String
        switch seconds {
        case ..<60:
            count = seconds
            unit = "second"
        case ..<3_570:
            count = (seconds + 30) / 60
            unit = "minute"
        case ..<84_600:
            count = (seconds + 1_800) / 3_600
            unit = "hour"
        default:
            count = (seconds + 43_200) / 86_400
            unit = "day"
        }
        return count == 1 ? "1 \(unit)" : "\(count) \(unit)s"
    }
}
