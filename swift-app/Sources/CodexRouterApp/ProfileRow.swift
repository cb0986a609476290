import CodexRouter
import Foundation

/// One profile as the menu and the table show it. The core's words come from `Phrases`;
/// this adds only how they are laid out and coloured.
struct ProfileRow: Identifiable, Equatable {
    /// The record from the core.
    let profile: Profile

    var id: String { profile.name }
    var name: String { profile.name }

    /// Whether a click can make it active (a broken file cannot be).
    var switchable: Bool { profile.state != .invalid }

    /// Whether its refresh token was refused for good: it needs a new sign-in.
    var needsSignIn: Bool { profile.state == .needsSignIn }

    /// Whether "Refresh Tokens Now" applies (a working ChatGPT login).
    var refreshable: Bool { profile.authMode == "chatgpt" && !needsSignIn }

    /// The menu line: "work — alice@example.com · 5 h 42% · week 17%", "old (needs
    /// sign-in)", "api — API key", "broken (can't be used)".
    func menuTitle(now: Date) -> String {
        var title: String
        switch profile.state {
        case .needsSignIn:
            title = "\(name) (needs sign-in)"
        case .invalid:
            title = "\(name) (can't be used)"
        case .ok, .expired:
            if profile.authMode == "api_key" {
                title = "\(name) — API key"
            } else if let email = profile.email {
                title = "\(name) — \(email)"
            } else {
                title = name
            }
        }
        if let usage = profile.usage, let line = Phrases.usageLine(usage, now: now) {
            title += " · \(line)"
        }
        return title
    }

    var emailLabel: String { profile.email ?? "—" }

    /// "ChatGPT Plus", "API key".
    var signInLabel: String { Phrases.signIn(authMode: profile.authMode, plan: profile.plan) }

    /// The email's tooltip: the workspace account id, when known.
    var accountHelp: String {
        profile.accountId.map { "Account \($0)" } ?? ""
    }

    /// Who the saved login is ("alice@example.com (Plus)"); nil for a broken profile.
    var who: String? {
        guard profile.state != .invalid else { return nil }
        return Phrases.who(authMode: profile.authMode, email: profile.email, plan: profile.plan)
    }

    /// "expires in 3 days", "expired, will refresh", "needs sign-in: …".
    func tokenLabel(now: Date) -> String {
        Phrases.tokenState(profile, now: now)
    }

    /// How the token column stands out.
    func tokenTone(now: Date) -> Tone {
        switch profile.state {
        case .invalid, .needsSignIn:
            return .error
        case .ok, .expired:
            if profile.authMode == "api_key" { return .muted }
            guard let expires = RFC3339.date(profile.expiresAt) else { return .muted }
            return expires <= now ? .warn : .normal
        }
    }

    /// "limited until Tue 14:20" while the account is limited, else nil.
    func limitLine(now: Date) -> String? {
        guard let usage = profile.usage, Phrases.limitedUntil(usage, now: now) != nil else {
            return nil
        }
        return Phrases.usageLine(usage, now: now)
    }

    /// A bar per usage window the backend reported (none when nothing is known).
    func usageBars(now: Date) -> [UsageBar] {
        guard let usage = profile.usage else { return [] }
        return [usage.primary, usage.secondary].compactMap { $0 }.enumerated().map { index, window in
            UsageBar(
                id: index,
                text: Phrases.usageBar(window, now: now),
                fraction: min(max(window.usedPercent / 100, 0), 1),
                nearlyUsedUp: window.usedPercent >= 90
            )
        }
    }
}

/// One usage window drawn as a bar.
struct UsageBar: Identifiable, Equatable {
    /// Its place in the row (0: the short window, 1: the long one).
    let id: Int
    /// "5 h: 42% · resets 14:20".
    let text: String
    /// How full it is, 0–1.
    let fraction: Double
    /// 90% or more used: drawn in the warning colour.
    let nearlyUsedUp: Bool
}
