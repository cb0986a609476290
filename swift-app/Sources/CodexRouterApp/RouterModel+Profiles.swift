import CodexRouter
import Foundation

/// The UserDefaults key of "Don’t remind me again" on the restart reminder.
private let hideReminderKey = "hideRestartReminder"

/// The profile commands: switch, re-read, renew tokens, save, rename, remove.
extension RouterModel {
    /// Makes `name` the login Codex uses, then reminds to restart Codex. When the switch
    /// would drop a login that no profile holds, offers to save it first.
    func switchTo(_ name: String, force: Bool = false) {
        guard let router else { return }
        do {
            let done = try router.switchProfile(name: name, force: force)
            notices.removeAll { $0.tone == .error }
            for synced in done.syncedBack {
                notify(.muted, "Kept the newer tokens of '\(synced)' before switching.")
            }
            for warning in done.warnings {
                notify(.warn, warning)
            }
            let text = switched(to: done.name)
            notify(.normal, text)
            reload()
            reminder = done.name
            remindToRestart(text, warnings: done.warnings)
        } catch RouterError.UnsavedLogin(let message) {
            reload()
            offerToSaveFirst(switchingTo: name, coreMessage: message)
        } catch {
            reload()
            report("Could not switch to “\(name)”", describe(error))
        }
    }

    /// Shows the restart reminder the menu offers after a switch (even when "Don’t remind
    /// me again" was ticked: it was asked for), then takes it out of the menu.
    func showReminder() {
        guard let name = reminder else { return }
        reminder = nil
        if Alerts.restartReminder(switched(to: name)) {
            UserDefaults.standard.set(true, forKey: hideReminderKey)
        }
    }

    /// Reads `profiles/` and Codex's login again (the files only; no network).
    func rereadProfiles() {
        reload()
        if let loadError {
            notify(.error, "The profiles could not be read: \(loadError)")
        }
    }

    /// Renews tokens over the network now: those of `name`, or of every ChatGPT profile.
    func refreshTokens(_ name: String? = nil) {
        guard let router, !refreshingTokens else { return }
        refreshingTokens = true
        Task {
            do {
                let reports = try await router.refreshProfile(name: name)
                tellRefreshed(reports)
            } catch {
                report("Could not refresh tokens", describe(error))
            }
            refreshingTokens = false
            reload()
        }
    }

    /// Saves the login Codex uses now as profile `name`.
    func saveCurrentLogin(as name: String) throws {
        guard let router else { return }
        try router.saveProfile(name: name)
        notify(.normal, "Saved the current login as '\(name)'.")
        reload()
    }

    /// Asks for a name, then saves the login Codex uses now under it (from the menu).
    func askToSaveCurrentLogin() {
        guard let who = unsavedLoginWho else { return }
        guard let name = Alerts.askName(
            "Save the current login",
            "Save the login Codex uses now (\(who)) as a profile.",
            initial: suggestedName,
            confirm: "Save"
        ) else { return }
        do {
            try saveCurrentLogin(as: name)
        } catch {
            report("Could not save the current login", describe(error))
        }
    }

    /// Renames a profile.
    func rename(_ old: String, to new: String) throws {
        guard let router else { return }
        try router.renameProfile(old: old, new: new)
        notify(.muted, "Renamed '\(old)' to '\(new)'.")
        reload()
    }

    /// Deletes a profile (Codex's own login is left alone).
    func remove(_ name: String) {
        guard let router else { return }
        do {
            try router.removeProfile(name: name)
            notify(.muted, "Removed '\(name)'.")
        } catch {
            report("Could not remove “\(name)”", describe(error))
        }
        reload()
    }

    private func offerToSaveFirst(switchingTo target: String, coreMessage: String) {
        let description = unsavedLoginWho.map { who in
            "Codex is signed in as \(who), which is not saved as a profile. Switching to “\(target)” would lose that login."
        } ?? coreMessage
        switch Alerts.unsavedLogin(description, suggested: suggestedName) {
        case .saveFirst(let name):
            do {
                try saveCurrentLogin(as: name)
            } catch {
                report("Could not save the current login", describe(error))
                return
            }
            switchTo(target)
        case .switchAnyway:
            switchTo(target, force: true)
        case .cancel:
            break
        }
    }

    /// "Switched to 'work'." with the core's restart hint.
    private func switched(to name: String) -> String {
        "Switched to '\(name)'. \(restartHint())"
    }

    /// The restart reminder after a switch (`text`, and what the switch warned about),
    /// unless "Don’t remind me again" was ticked and there is no warning.
    private func remindToRestart(_ text: String, warnings: [String]) {
        let defaults = UserDefaults.standard
        guard !defaults.bool(forKey: hideReminderKey) || !warnings.isEmpty else { return }
        let message = ([text] + warnings).joined(separator: "\n\n")
        if Alerts.restartReminder(message) {
            defaults.set(true, forKey: hideReminderKey)
        }
    }

    private func tellRefreshed(_ reports: [RefreshReport]) {
        if reports.isEmpty {
            notify(.muted, "No ChatGPT profiles to refresh.")
            return
        }
        let failed = reports.filter { $0.error != nil }
        for item in failed {
            notify(.error, "'\(item.profile)': \(item.error ?? "")")
        }
        let fresh = reports.filter { $0.error == nil }.map(\.profile)
        if !fresh.isEmpty {
            notify(.muted, "Tokens are fresh: \(fresh.joined(separator: ", ")).")
        }
        if !failed.isEmpty {
            let lines = failed.map { "\($0.profile): \($0.error ?? "")" }
            Alerts.failure("Some tokens could not be refreshed", lines.joined(separator: "\n"))
        }
    }
}
