import Foundation

/// The times in the core's records: RFC 3339 strings ("2026-11-25T14:53:13Z").
enum RFC3339 {
    /// The moment `text` names; nil when there is none or it does not parse.
    static func date(_ text: String?) -> Date? {
        guard let text else { return nil }
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime]
        return parser.date(from: text)
    }
}
