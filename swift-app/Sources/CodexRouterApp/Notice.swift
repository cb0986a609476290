import CodexRouter
import SwiftUI

/// How the core's `Tone` (of a phrase, a usage bar, a notice) looks on screen.
extension Tone {
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
