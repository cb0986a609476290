import CodexRouter
import Foundation

/// One profile as the menu and the table show it. Every word about its login, token and
/// usage is the core's (`modeLabel`, `tokenState`, `usage.summary`, each window's `bar`,
/// `planLabel`); this adds only how they are laid out. The core words them at the moment
/// the profiles were read, so the model reads them again every minute.
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

    /// The menu line, as the egui app's tray menu writes it: "work — alice@example.com ·
    /// 5 h 42% · week 17%", "old (needs sign-in)", "api — API key", "broken (can't be used)".
    var menuTitle: String {
        var title: String
        switch profile.state {
        case .needsSignIn:
            title = "\(name) (needs sign-in)"
        case .invalid:
            title = "\(name) (can't be used)"
        case .ok, .expired:
            if profile.authMode == "api_key", let mode = profile.modeLabel {
                title = "\(name) — \(mode)"
            } else if let email = profile.email {
                title = "\(name) — \(email)"
            } else {
                title = name
            }
        }
        if let usage = profile.usage?.summary {
            title += " · \(usage.text)"
        }
        return title
    }

    var emailLabel: String { profile.email ?? "—" }

    /// "Plus", "Pro"; "—" without a plan.
    var planText: String { planLabel(plan: profile.plan) }

    /// "ChatGPT", "API key"; "—" for a broken profile.
    var modeText: String { profile.modeLabel ?? "—" }

    /// The email's tooltip: the workspace account id, when known.
    var accountHelp: String {
        profile.accountId.map { "Account \($0)" } ?? ""
    }

    /// Whose login it is, in the core's words ("alice@example.com (plus)", "an API key");
    /// nil for a broken profile.
    var who: String? {
        guard profile.state != .invalid else { return nil }
        return CodexRouter.who(email: profile.email, plan: profile.plan, authMode: profile.authMode)
    }

    /// The usage line while the account is limited ("LIMITED until Tue 14:20"), else nil
    /// (then the bars show the windows).
    var limitLine: Phrase? {
        guard let usage = profile.usage,
              let until = RFC3339.date(usage.limitedUntil), until > Date()
        else { return nil }
        return usage.summary
    }

    /// A bar per usage window the backend reported (none when nothing is known).
    var usageBars: [UsageBar] {
        guard let usage = profile.usage else { return [] }
        return [usage.primary, usage.secondary].compactMap { $0?.bar }
    }
}

