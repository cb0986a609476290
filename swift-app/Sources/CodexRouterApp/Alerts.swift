import AppKit

/// The app's modal questions and failure messages. They work from the menu bar menu as
/// well as from a window (the app has no Dock icon, so each first brings it forward).
/// Only what the user just did opens one; the core's own events become notices.
@MainActor
enum Alerts {
    /// Tells that something the user asked for failed.
    static func failure(_ title: String, _ message: String) {
        let alert = make(title, message, style: .warning)
        alert.runModal()
    }

    /// Tells what something the user asked for did.
    static func information(_ title: String, _ message: String) {
        let alert = make(title, message, style: .informational)
        alert.runModal()
    }

    /// Asks for a profile name, starting from `initial`; nil when cancelled or left empty.
    static func askName(_ title: String, _ message: String, initial: String, confirm: String) -> String? {
        let alert = make(title, message, style: .informational)
        let field = nameField(initial)
        alert.accessoryView = field
        alert.addButton(withTitle: confirm)
        alert.addButton(withTitle: "Cancel")
        alert.window.initialFirstResponder = field
        guard alert.runModal() == .alertFirstButtonReturn else { return nil }
        let name = field.stringValue.trimmingCharacters(in: .whitespacesAndNewlines)
        return name.isEmpty ? nil : name
    }

    /// What to do with a login that a switch would drop.
    enum UnsavedLoginChoice {
        /// Save it under this name, then switch.
        case saveFirst(String)
        /// Switch and lose it.
        case switchAnyway
        /// Stay as it is.
        case cancel
    }

    /// "Save the current login first?" with `description` and a name field: Save It and
    /// Switch, Switch Anyway, Cancel (the egui app's Discard dialog).
    static func unsavedLogin(_ description: String, suggested: String) -> UnsavedLoginChoice {
        let alert = make("Save the current login first?", "\(description)\n\nSave it as:", style: .warning)
        let field = nameField(suggested)
        alert.accessoryView = field
        alert.addButton(withTitle: "Save It and Switch")
        alert.addButton(withTitle: "Switch Anyway")
        alert.addButton(withTitle: "Cancel")
        alert.window.initialFirstResponder = field
        switch alert.runModal() {
        case .alertFirstButtonReturn:
            let name = field.stringValue.trimmingCharacters(in: .whitespacesAndNewlines)
            return name.isEmpty ? .cancel : .saveFirst(name)
        case .alertSecondButtonReturn:
            return .switchAnyway
        default:
            return .cancel
        }
    }

    /// The reminder to restart Codex after a switch; true when "Don’t remind me again"
    /// was ticked.
    static func restartReminder(_ message: String) -> Bool {
        let alert = make("Restart Codex", message, style: .informational)
        alert.showsSuppressionButton = true
        alert.suppressionButton?.title = "Don’t remind me again"
        alert.runModal()
        return alert.suppressionButton?.state == .on
    }

    private static func make(_ title: String, _ message: String, style: NSAlert.Style) -> NSAlert {
        bringToFront()
        let alert = NSAlert()
        alert.alertStyle = style
        alert.messageText = title
        alert.informativeText = message
        return alert
    }

    private static func nameField(_ initial: String) -> NSTextField {
        let field = NSTextField(frame: NSRect(x: 0, y: 0, width: 260, height: 24))
        field.stringValue = initial
        field.placeholderString = "Profile name"
        return field
    }
}
