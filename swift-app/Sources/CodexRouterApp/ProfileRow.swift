import CodexRouter
import Foundation
import SwiftUI

/// One profile with the words the menu and the table show for it.
struct ProfileRow: Identifiable, Equatable {
    /// The record from the core.
    let profile: Profile

    var id: String { profile.name }
    var name: String { profile.name }

    /// Whether a click can make it active (a broken file cannot be).
    var switchable: Bool { profile.state != .invalid }

    /// The menu line: "work — alice@example.com · Team", with the state when it is not usable.
    var menuTitle: String {
        var parts = [profile.name]
        var details: [String] = []
        if let email = profile.email { details.append(email) }
        if let plan = profile.plan { details.append(plan.capitalized) }
        if profile.authMode == "api_key" { details.append("API key") }
        switch profile.state {
        case .needsSignIn: details.append("needs sign-in")
        case .invalid: details.append("invalid")
        case .ok, .expired: break
        }
        if let usage = usageLabel { details.append(usage) }
        if !details.isEmpty { parts.append(details.joined(separator: " · ")) }
        return parts.joined(separator: " — ")
    }

    var emailLabel: String { profile.email ?? "—" }
    var planLabel: String { profile.plan?.capitalized ?? "—" }

    var modeLabel: String {
        switch profile.authMode {
        case "chatgpt"?: return "ChatGPT"
        case "api_key"?: return "API key"
        default: return "—"
        }
    }

    /// The first 8 characters of a long account id.
    var accountLabel: String {
        guard let id = profile.accountId else { return "—" }
        return id.count > 12 ? String(id.prefix(8)) + "…" : id
    }

    /// "expires in 3 days", "API key", "needs sign-in: …", "invalid: …".
    var tokenLabel: String {
        switch profile.state {
        case .invalid:
            return "Invalid: \(profile.error ?? "unreadable")"
        case .needsSignIn:
            guard let error = profile.error else { return "Needs sign-in" }
            return String(error.prefix(1)).uppercased() + String(error.dropFirst())
        case .expired:
            return "Expired \(Format.relative(profile.expiresAt)) (renewed at next use)"
        case .ok:
            if profile.authMode == "api_key" { return "API key (does not expire)" }
            guard profile.expiresAt != nil else { return "No expiry in token" }
            return "Expires \(Format.relative(profile.expiresAt))"
        }
    }

    var tokenColor: Color {
        switch profile.state {
        case .ok: return .primary
        case .expired: return .secondary
        case .needsSignIn, .invalid: return .red
        }
    }

    /// "5 h 42% · week 17%", or "Limited until Tue 14:20"; nil when unknown.
    var usageLabel: String? {
        guard let usage = profile.usage else { return nil }
        if let until = Format.date(usage.limitedUntil), until > Date() {
            return "Limited until \(Format.dayTime(until))"
        }
        let windows = [usage.primary, usage.secondary].compactMap { $0 }.map { window in
            "\(Format.window(minutes: window.windowMinutes)) \(Int(window.usedPercent.rounded()))%"
        }
        return windows.isEmpty ? nil : windows.joined(separator: " · ")
    }
}

/// Dates and spans in words.
enum Format {
    /// Parses the RFC 3339 times of the records ("2026-11-25T14:53:13Z").
    static func date(_ rfc3339: String?) -> Date? {
        guard let rfc3339 else { return nil }
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime]
        return parser.date(from: rfc3339)
    }

    /// "in 3 days", "2 hours ago".
    static func relative(_ rfc3339: String?) -> String {
        guard let date = date(rfc3339) else { return "at an unknown time" }
        let formatter = RelativeDateTimeFormatter()
        formatter.unitsStyle = .full
        return formatter.localizedString(for: date, relativeTo: Date())
    }

    /// "Tue 14:20".
    static func dayTime(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.setLocalizedDateFormatFromTemplate("EEE HH:mm")
        return formatter.string(from: date)
    }

    /// A rate-limit window's length: "5 h", "week".
    static func window(minutes: UInt64?) -> String {
        switch minutes {
        case nil: return "window"
        case 10080?: return "week"
        case let m? where m % 1440 == 0: return "\(m / 1440) d"
        case let m? where m % 60 == 0: return "\(m / 60) h"
        case let m?: return "\(m) min"
        }
    }
}
