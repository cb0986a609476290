import CodexRouter
import Foundation
import SwiftUI

/// The app's state: what the core reported last, re-read on its events. Every decision
/// (which profile is active, whether a switch may drop a login, token state) is the core's;
/// the model only calls it and keeps the answers for the views.
///
/// This file holds the state, reading and the core's events; the commands are in
/// RouterModel+Profiles.swift, RouterModel+Endpoint.swift, RouterModel+CodexSetup.swift,
/// RouterModel+ClaudeSetup.swift, RouterModel+SignIn.swift, RouterModel+Notifications.swift
/// and RouterModel+LoginItem.swift.
/// The published state is set only by those files; views only read it.
@MainActor
final class RouterModel: ObservableObject {
    /// The profiles, as rows ready to show.
    @Published var profiles: [ProfileRow] = []
    /// The active login.
    @Published var status: Status?
    /// Why the profiles could not be read last time (nil when they could).
    @Published var loadError: String?
    /// The local endpoint, and the address the settings ask for.
    @Published var proxy: ProxyState?
    /// The endpoint is starting or stopping.
    @Published var endpointBusy = false
    /// Whether a request that hits an account's usage limit moves to the next account.
    @Published var failover = false
    /// The endpoint's last move of requests to another account, in words.
    @Published var lastFailover: String?
    /// Tokens are being renewed over the network.
    @Published var refreshingTokens = false
    /// The profile just switched to, while the menu offers the restart-Codex reminder.
    @Published var reminder: String?
    /// Whether Codex sends its requests through the router (its `config.toml`).
    @Published var codexSetup: CodexSetup?
    /// Why Codex's `config.toml` could not be read (nil when it could).
    @Published var codexSetupError: String?
    /// Whether Claude Code sends its requests to the router (its `settings.json`).
    @Published var claudeSetup: ClaudeSetup?
    /// Why Claude Code's `settings.json` could not be read (nil when it could).
    @Published var claudeSetupError: String?
    /// A sign-in in progress (in the browser, or with a code).
    @Published var login: LoginProgress?
    /// What the last sign-in or key did (for the Add Account window).
    @Published var loginNote: String?
    /// Messages for the window, oldest first.
    @Published var notices: [Notice] = []
    /// Which notifications are on (the core's setting); nil before the first read.
    @Published var notificationSettings: NotificationSettings?
    /// Why the router could not be opened at all (a broken `router/state.json`, …).
    let openError: String?

    /// The core; nil when it could not be opened (see `openError`).
    let router: Router?
    /// The browser sign-in in progress, to cancel it.
    var loginHandle: LoginHandle?
    /// The sign-in with a code in progress, to cancel it.
    var deviceLoginHandle: DeviceLoginHandle?

    /// A background re-read is waiting (see `rereadSoon`).
    private var rereadPending = false
    private var rereadWithProfiles = false
    /// Counted up by every read on the main thread, so an older background read never
    /// overwrites a newer one.
    private var profileReads = 0
    private var endpointReads = 0

    /// How many notices stay on screen.
    private static let maxNotices = 4

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
                notify(.warn, "Changes made outside the app will not show up by themselves (\(describe(error))).")
            }
        }
        reload()
        reloadFailover()
        startNotifications()
        rereadEveryMinute()
        // Not from here: SwiftUI is still creating the model, and nothing may open a window
        // or an alert before it is done. A failure to start becomes a notice.
        Task { self.startEndpointIfAsked() }
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
        if let who = unsavedLoginWho {
            return "Active: \(who), not saved as a profile"
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

    /// Who Codex is signed in as when no profile holds that login, in the core's words
    /// ("alice@example.com (plus)", "an API key"); nil when the login is saved, or there is
    /// none.
    var unsavedLoginWho: String? {
        guard let status, status.profile == nil, status.authMode != nil else { return nil }
        return CodexRouter.who(email: status.email, plan: status.plan, authMode: status.authMode)
    }

    /// A free profile name for the unsaved login, from its email (the core's suggestion).
    var suggestedName: String {
        suggestProfileName(email: status?.email, taken: profiles.map(\.name))
    }

    /// Whether the local endpoint runs.
    var proxyRunning: Bool { proxy?.running ?? false }

    /// Where the endpoint serves, or will serve once started.
    var endpointAddress: String {
        if let address = proxy?.address, proxyRunning {
            return address
        }
        guard let proxy else { return "" }
        return "http://\(proxy.host):\(proxy.port)/v1"
    }

    /// The endpoint's line in the menu.
    var proxyTitle: String {
        proxyRunning ? "Local Endpoint: \(endpointAddress)" : "Local Endpoint (off, \(endpointAddress))"
    }

    /// "12 requests served" since the endpoint started.
    var requestsServed: String {
        let count = proxy?.requestsServed ?? 0
        return "\(count) request\(count == 1 ? "" : "s") served"
    }

    // MARK: - Reading

    /// Reads the profiles, the active login and the endpoint again (files only: no network).
    func reload() {
        guard let router else { return }
        profileReads += 1
        do {
            profiles = try router.listProfiles().map(ProfileRow.init)
            status = try router.status()
            loadError = nil
        } catch {
            loadError = describe(error)
        }
        reloadEndpoint()
        reloadCodexSetup()
        reloadClaudeSetup()
    }

    /// Reads the endpoint's state again.
    func reloadEndpoint() {
        guard let router else { return }
        endpointReads += 1
        proxy = try? router.proxyState()
    }

    /// Reads whether failover is on again.
    func reloadFailover() {
        failover = router?.failoverEnabled() ?? false
    }

    /// Re-reads a second later, off the main thread, once for however many events arrive
    /// meanwhile: a busy endpoint sends `requestFinished` with every answer, and
    /// `usageUpdated` whenever an answer's usage figures moved.
    private func rereadSoon(withProfiles: Bool) {
        rereadWithProfiles = rereadWithProfiles || withProfiles
        guard !rereadPending, let router else { return }
        rereadPending = true
        Task {
            try? await Task.sleep(nanoseconds: 1_000_000_000)
            let profilesToo = self.rereadWithProfiles
            self.rereadPending = false
            self.rereadWithProfiles = false
            let before = (profiles: self.profileReads, endpoint: self.endpointReads)
            let read = await Task.detached { BackgroundRead(router, profilesToo: profilesToo) }.value
            if before.profiles == self.profileReads, let rows = read.profiles, let status = read.status {
                self.profiles = rows.map(ProfileRow.init)
                self.status = status
            }
            if before.endpoint == self.endpointReads, let proxy = read.proxy {
                self.proxy = proxy
            }
        }
    }

    /// The core words token states and reset times at the moment it is read ("expires in
    /// 4 minutes"), so they are read again once a minute, off the main thread.
    private func rereadEveryMinute() {
        Task { [weak self] in
            while true {
                try? await Task.sleep(nanoseconds: 60_000_000_000)
                guard let self else { return }
                self.rereadSoon(withProfiles: true)
            }
        }
    }

    private func startEndpointIfAsked() {
        if proxy?.startWithApp == true, !proxyRunning {
            setEndpoint(true, interactive: false)
        }
    }

    // MARK: - The core's events

    private func handle(_ event: RouterEvent) {
        switch event {
        case .requestFinished:
            rereadSoon(withProfiles: false)
        case .usageUpdated:
            rereadSoon(withProfiles: true)
        case .proxyStarted, .proxyStopped:
            reloadEndpoint()
        case .settingsChanged:
            reloadEndpoint()
            reloadFailover()
            reloadCodexSetup()
            reloadClaudeSetup()
            reloadNotificationSettings()
        case .profilesChanged, .switched, .tokensRefreshed:
            reload()
        case .needsSignIn(let profile, let message):
            reload()
            notify(.error, needsSignInMessage(profile: profile, message: message))
        case .failedOver(let previous, let current, let resetsAt):
            reload()
            let resets = RFC3339.date(resetsAt).map { Int64($0.timeIntervalSince1970) }
            let text = failedOverMessage(from: previous, to: current, resetsAt: resets)
            lastFailover = text
            notify(.warn, text)
        case .notify(let notification):
            post(notification)
        }
    }

    // MARK: - Telling the user

    /// Shows `text` at the top of the window (the same text again moves to the end).
    func notify(_ tone: Tone, _ text: String) {
        notices.removeAll { $0.text == text }
        notices.append(Notice(tone: tone, text: text))
        if notices.count > Self.maxNotices {
            notices.removeFirst(notices.count - Self.maxNotices)
        }
    }

    /// Removes a notice.
    func dismiss(_ notice: Notice) {
        notices.removeAll { $0.id == notice.id }
    }

    /// A failure of something the user just did: a notice, and an alert (which also
    /// reaches a user who only has the menu open).
    func report(_ title: String, _ message: String) {
        notify(.error, "\(title): \(message)")
        Alerts.failure(title, message)
    }
}

/// What a background re-read found (nil where reading failed; the next read on the main
/// thread reports it).
private struct BackgroundRead {
    var proxy: ProxyState?
    var profiles: [Profile]?
    var status: Status?

    init(_ router: Router, profilesToo: Bool) {
        proxy = try? router.proxyState()
        if profilesToo {
            profiles = try? router.listProfiles()
            status = try? router.status()
        }
    }
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
