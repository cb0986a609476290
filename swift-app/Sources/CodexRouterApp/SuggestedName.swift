import Foundation

/// A profile name for a login, as the egui app suggests it (`format::suggest_name`): the
/// email's local part ("alice.b@example.com" → "alice.b"), made valid for the core's name
/// rules, and different from every name in `taken` ("alice-2"). "main" when there is no
/// usable email.
func suggestedProfileName(email: String?, taken: [String]) -> String {
    let local = email?.split(separator: "@", omittingEmptySubsequences: false).first.map(String.init) ?? ""
    let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._-")
    var base = String(local.lowercased().map { allowed.contains($0) ? $0 : "-" })
    while let first = base.first, first == "." || first == "-" {
        base.removeFirst()
    }
    base = String(base.prefix(56))
    if base.isEmpty {
        base = "main"
    }
    guard taken.contains(base) else { return base }
    var suffix = 2
    while taken.contains("\(base)-\(suffix)") {
        suffix += 1
    }
    return "\(base)-\(suffix)"
}
