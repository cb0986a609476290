import SwiftUI

/// How a piece of text stands out (the egui app's `Tone`).
enum Tone: Equatable {
    /// Ordinary text.
    case normal
    /// Secondary text.
    case muted
    /// Something to look at soon (an expired token, a usage limit).
    case warn
    /// Something that needs the user (a dead login, a broken file, a failed action).
    case error

    /// The text colour.
    var color: Color {
        switch self {
        case .normal: return .primary
        case .muted: return .secondary
        case .warn: return .orange
        case .error: return .red
        }
    }

    /// The symbol beside a notice.
    var symbol: String {
        switch self {
        case .normal: return "info.circle"
        case .muted: return "checkmark.circle"
        case .warn: return "exclamationmark.triangle"
        case .error: return "xmark.octagon"
        }
    }

    /// The notice's background tint.
    var tint: Color {
        switch self {
        case .normal: return .accentColor
        case .muted: return .secondary
        case .warn: return .orange
        case .error: return .red
        }
    }
}

/// A message at the top of the window until dismissed (the newest few are kept).
struct Notice: Identifiable, Equatable {
    let id = UUID()
    /// How it stands out.
    let tone: Tone
    /// What it says.
    let text: String
}
