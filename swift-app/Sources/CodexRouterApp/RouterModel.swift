import AppKit
import CodexRouter
import Foundation
import SwiftUI

/// The app's state: what the core reported last, redrawn on its events. Every decision
/// (which profile is active, whether a switch may drop a login, token state) is the core's;
/// this only calls it and shows the answers.
@MainActor
final class RouterModel: ObservableObject {
    /// The profiles, as rows ready to show.
    @Published private(set) var profiles: [ProfileRow] = []
    /// The active login.
    @Published private(set) var status: Status?
    /// The local endpoint.
    @Published private(set) var proxy: ProxyState?
    /// A refresh of every profile is running.
    @Published private(set) var refreshing = false
    /// Whether a request that hits an account's usage limit moves to the next account.
    @Published private(set) var failover = false
    /// The restart-Codex reminder after a switch.
    @Published private(set) var reminder: String?
    /// A browser sign-in in progress.
    @Published private(set) var login: LoginProgress?
    /// What the last sign-in or key added (for the Add Account window).
    @Published private(set) var loginNote: String?
    /// The last failure, shown in the window until the next success.
    @Published private(set) var lastError: String?
    /// Why the router could not be opened at all (a broken `router/state.json`, …).
    let openError: String?

    private let router: Router?
    private var loginHandle: LoginHandle?
    private var suggestedLoginName: String?
    private static let hideReminderKey = "hideRestartReminder"

    init() {
        let opened: Router?
        let failure: String?
        do {
            opened = try Router(codexHome: nil)
            failure = nil
        } catch {
            opened = nil
            failure = describe(error)
        }
        router = opened
        openError = failure
        if let router = opened {
            let relay = EventRelay { [weak self] event in
                guard let model = self else { return }
                Task { @MainActor in model.handle(event) }
            }
            do {
                try router.subscribe(listener: relay)
            } catch {
                lastError = describe(error)
            }
        }
        reload()
        if proxy?.startWithApp == true {
            setProxy(true)
        }
    }

    // MARK: - What the views show

    /// The Codex folder in use.
    var codexHome: String { router?.codexHome() ?? "" }

    /// The first line of the menu.
    var headline: String {
        if let active = status?.profile {
            if let email = status?.email {
                return "Active: \(active) (\(email))"
            }
            return "Active: \(active)"
        }
        if status?.email != nil || status?.authMode != nil {
            return "Active: a login that is not saved as a profile"
        }
        return "Not signed in"
    }

    /// The menu bar icon: a warning when the active profile needs attention.
    var menuBarSymbol: String {
        let active = profiles.first { $0.profile.active }
        switch active?.profile.state {
        case .needsSignIn?, .invalid?:
            return "person.crop.circle.badge.exclamationmark"
        default:
            return "person.crop.circle"
        }
    }

    /// Whether the local endpoint runs.
    var proxyRunning: Bool { proxy?.running ?? false }

    /// The endpoint's line in the menu.
    var proxyTitle: String {
        if let address = proxy?.address, proxyRunning {
            return "Local Endpoint: \(address)"
        }
        if let host = proxy?.host, let port = proxy?.port {
            return "Local Endpoint (off, \(host):\(port))"
        }
        return "Local Endpoint (off)"
    }

    /// `auth.json` holds a login that no profile has: offer to save it.
    var canSaveCurrentLogin: Bool {
        status?.profile == nil && status?.authMode != nil
    }

    // MARK: - Reading

    /// Reads profiles, status and the endpoint again.
    func reload() {
        guard let router else { return }
        do {
            profiles = try router.listProfiles().map(ProfileRow.init)
            status = try router.status()
        } catch {
            lastError = describe(error)
        }
        reloadProxy()
    }

    private func reloadProxy() {
        guard let router else { return }
        proxy = try? router.proxyState()
        failover = router.failoverEnabled()
    }

    private func handle(_ event: RouterEvent) {
        switch event {
        case .proxyStarted, .proxyStopped, .requestFinished:
            reloadProxy()
        case .needsSignIn(let profile, let message):
            reload()
            lastError = "“\(profile)” needs a new sign-in: \(message)"
        case .profilesChanged, .switched, .tokensRefreshed, .usageUpdated:
            reload()
        case .failedOver:
            // The limited account's reset time shows in its row; `switched` follows when
            // the active profile moves too.
            reload()
        case .settingsChanged:
            reloadProxy()
        }
    }

    // MARK: - Commands

    /// Makes `name` the login Codex uses, then reminds to restart Codex.
    func switchTo(_ name: String, force: Bool = false) {
        guard let router else { return }
        do {
            let done = try router.switchProfile(name: name, force: force)
            lastError = nil
            reload()
            remindToRestart(done)
        } catch RouterError.UnsavedLogin(let message) {
            let discard = ask(
                title: "The current login is not saved",
                message: "\(message)\n\nUse “Save Current Login…” in the Codex Router window to keep it.",
                confirm: "Discard It and Switch"
            )
            if discard {
                switchTo(name, force: true)
            }
        } catch {
            report(error)
        }
    }

    private func remindToRestart(_ done: SwitchResult) {
        var text = "Switched to “\(done.name)”. Restart Codex to use it: running sessions keep the previous login until restarted (quit and start codex again; in VS Code run “Developer: Reload Window”)."
        if !done.warnings.isEmpty {
            text += "\n\n" + done.warnings.joined(separator: "\n")
        }
        reminder = text
        let defaults = UserDefaults.standard
        guard !defaults.bool(forKey: Self.hideReminderKey) || !done.warnings.isEmpty else { return }
        bringToFront()
        let alert = NSAlert()
        alert.messageText = "Restart Codex"
        alert.informativeText = text
        alert.showsSuppressionButton = true
        alert.suppressionButton?.title = "Don’t remind me again"
        alert.runModal()
        if alert.suppressionButton?.state == .on {
            defaults.set(true, forKey: Self.hideReminderKey)
        }
    }

    /// Hides the restart reminder.
    func dismissReminder() {
        reminder = nil
    }

    /// Refreshes the tokens of every ChatGPT profile.
    func refreshAll() {
        guard let router, !refreshing else { return }
        refreshing = true
        Task {
            do {
                let failed = try await router.refreshProfile(name: nil).filter { $0.error != nil }
                if failed.isEmpty {
                    lastError = nil
                } else {
                    let lines = failed.map { "\($0.profile): \($0.error ?? "")" }
                    report(title: "Some profiles could not be refreshed", lines.joined(separator: "\n"))
                }
            } catch {
                report(error)
            }
            refreshing = false
            reload()
        }
    }

    /// Refreshes the tokens of one profile.
    func refresh(_ name: String) {
        guard let router else { return }
        Task {
            do {
                _ = try await router.refreshProfile(name: name)
                lastError = nil
            } catch {
                report(error)
            }
            reload()
        }
    }

    /// Saves the login in `auth.json` as profile `name`.
    func saveCurrentLogin(as name: String) {
        guard let router else { return }
        do {
            try router.saveProfile(name: name)
            lastError = nil
        } catch {
            report(error)
        }
        reload()
    }

    /// Renames a profile.
    func rename(_ old: String, to new: String) {
        guard let router else { return }
        do {
            try router.renameProfile(old: old, new: new)
            lastError = nil
        } catch {
            report(error)
        }
        reload()
    }

    /// Deletes a profile.
    func remove(_ name: String) {
        guard let router else { return }
        do {
            try router.removeProfile(name: name)
            lastError = nil
        } catch {
            report(error)
        }
        reload()
    }

    /// Starts or stops the local endpoint on the configured address.
    func setProxy(_ on: Bool) {
        guard let router else { return }
        if on {
            let host = proxy?.host ?? "127.0.0.1"
            let port = proxy?.port ?? 9876
            do {
                _ = try router.startProxy(host: host, port: port)
            } catch {
                report(error)
            }
            reloadProxy()
        } else {
            // Stopping lets open answers finish: not on the main thread.
            Task {
                let failure = await Task.detached { () -> String? in
                    do {
                        try router.stopProxy()
                        return nil
                    } catch {
                        return describe(error)
                    }
                }.value
                if let failure {
                    report(title: "Could not stop the local endpoint", failure)
                }
                reloadProxy()
            }
        }
    }

    /// Turns failover on or off (for this app's endpoint and every `codex-router serve`).
    func setFailover(_ on: Bool) {
        guard let router else { return }
        do {
            try router.setFailoverEnabled(enabled: on)
        } catch {
            report(error)
        }
        reloadProxy()
    }

    /// Copies the endpoint's address.
    func copyProxyAddress() {
        guard let address = proxy?.address else { return }
        NSPasteboard.general.clearContents()
        NSPasteboard.general.setString(address, forType: .string)
    }

    // MARK: - Adding accounts

    /// Asks the Add Account window to start with `name` (signing in again).
    func suggestLogin(for name: String) {
        suggestedLoginName = name
    }

    /// The name the Add Account window should start with, once.
    func takeSuggestedLoginName() -> String? {
        defer { suggestedLoginName = nil }
        return suggestedLoginName
    }

    /// Starts a browser sign-in for profile `name` and opens the sign-in page.
    func startLogin(name: String) {
        guard let router, login == nil else { return }
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            let handle = try router.startLogin(name: name, force: false)
            loginHandle = handle
            login = LoginProgress(name: name, url: handle.url())
            loginNote = nil
            openLoginPage()
            Task {
                do {
                    let result = try await handle.wait()
                    loginNote = Self.summary(of: result)
                    lastError = nil
                } catch RouterError.Cancelled {
                    loginNote = "Sign-in cancelled."
                } catch {
                    loginNote = describe(error)
                    report(error)
                }
                login = nil
                loginHandle = nil
                reload()
            }
        } catch {
            loginNote = describe(error)
            report(error)
        }
    }

    /// Opens the sign-in page (again) in the default browser.
    func openLoginPage() {
        guard let url = login.flatMap({ URL(string: $0.url) }) else { return }
        NSWorkspace.shared.open(url)
    }

    /// Cancels the sign-in in progress.
    func cancelLogin() {
        loginHandle?.cancel()
    }

    /// Saves an API key as profile `name`; true when it was saved.
    func addApiKey(name: String, key: String) -> Bool {
        guard let router else { return false }
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            let result = try router.addApiKey(name: name, key: key, force: false)
            loginNote = Self.summary(of: result)
            lastError = nil
            reload()
            return true
        } catch {
            loginNote = describe(error)
            return false
        }
    }

    private static func summary(of result: LoginResult) -> String {
        let who = result.email.map { " (\($0))" } ?? ""
        switch result.stored {
        case .created:
            return "Added profile “\(result.profile)”\(who)."
        case .updatedExisting:
            return "This account was already saved as “\(result.profile)”\(who); its login was updated."
        case .replaced:
            return "Replaced the login saved as “\(result.profile)”\(who)."
        }
    }

    // MARK: - Telling the user

    private func report(_ error: Error) {
        report(title: "Codex Router", describe(error))
    }

    private func report(title: String, _ message: String) {
        lastError = message
        bringToFront()
        let alert = NSAlert()
        alert.alertStyle = .warning
        alert.messageText = title
        alert.informativeText = message
        alert.runModal()
    }

    private func ask(title: String, message: String, confirm: String) -> Bool {
        bringToFront()
        let alert = NSAlert()
        alert.alertStyle = .warning
        alert.messageText = title
        alert.informativeText = message
        alert.addButton(withTitle: confirm)
        alert.addButton(withTitle: "Cancel")
        return alert.runModal() == .alertFirstButtonReturn
    }
}

/// A browser sign-in waiting for the user.
struct LoginProgress: Equatable {
    /// The profile it creates.
    var name: String
    /// The sign-in page.
    var url: String
}

/// Hands the core's events (sent on its own thread) to a closure.
final class EventRelay: RouterListener {
    private let forward: @Sendable (RouterEvent) -> Void

    init(_ forward: @escaping @Sendable (RouterEvent) -> Void) {
        self.forward = forward
    }

    func onEvent(event: RouterEvent) {
        forward(event)
    }
}

/// The message of an error from the core (or any other error).
func describe(_ error: Error) -> String {
    if let error = error as? RouterError {
        return error.message
    }
    return error.localizedDescription
}

extension RouterError {
    /// The readable message every case carries.
    var message: String {
        switch self {
        case .BadName(let message), .NotFound(let message), .Exists(let message),
             .Unusable(let message), .NoLogin(let message), .UnsavedLogin(let message),
             .NeedsSignIn(let message), .Network(let message), .Login(let message),
             .Cancelled(let message), .Proxy(let message), .Settings(let message),
             .Invalid(let message), .Io(let message), .Other(let message):
            return message
        }
    }
}
