import AppKit
import CodexRouter
import SwiftUI

/// The menu bar menu: the active login, the profiles (a click switches), re-reading and
/// renewing, Add Account, the local endpoint with failover and Codex's set-up,
/// notifications and start at login, Open Window, Quit.
@MainActor
struct MenuContent: View {
    @EnvironmentObject private var model: RouterModel
    @Environment(\.openWindow) private var openWindow

    var body: some View {
        if let failure = model.openError {
            Text("Cannot open the Codex folder:")
            Text(failure)
        } else {
            header
            Divider()
            profileItems
            Divider()
            accountItems
            Divider()
            endpointItems
            Divider()
            desktopItems
        }
        Divider()
        Button("Open Window…") {
            show(WindowID.profiles)
        }
        Button("Quit Codex Router") {
            NSApp.terminate(nil)
        }
        .keyboardShortcut("q")
    }

    @ViewBuilder private var header: some View {
        Text(model.headline)
        if let token = model.status?.tokenState {
            Text("Token: \(token.text)")
        }
        if model.unsavedLoginWho != nil {
            Button("Save Current Login…") {
                model.askToSaveCurrentLogin()
            }
        }
        if let switched = model.reminder {
            Button("Switched to “\(switched)”: Restart Codex…") {
                model.showReminder()
            }
        }
        if let login = model.login {
            Text(login.waiting)
            if case .code = login.way {
                Button("Copy Code") {
                    model.copyLoginCode()
                }
            }
            Button("Cancel Sign-In") {
                model.cancelLogin()
            }
        }
    }

    /// One item per profile: a check mark on the active one; a click switches. A profile
    /// whose login is dead offers a new sign-in instead.
    @ViewBuilder private var profileItems: some View {
        if model.profiles.isEmpty {
            Text("No profiles yet")
        }
        ForEach(model.profiles) { row in
            if row.needsSignIn {
                Button("\(row.menuTitle) — Sign In Again…") {
                    model.signInAgain(row.name)
                    show(WindowID.addAccount)
                }
            } else {
                Toggle(row.menuTitle, isOn: Binding(
                    get: { row.profile.active },
                    set: { on in
                        if on { model.switchTo(row.name) }
                    }
                ))
                .disabled(!row.switchable)
            }
        }
    }

    @ViewBuilder private var accountItems: some View {
        Button("Refresh Profiles") {
            model.rereadProfiles()
        }
        Button(model.refreshingTokens ? "Refreshing Tokens…" : "Refresh Tokens Now") {
            model.refreshTokens()
        }
        .disabled(model.refreshingTokens)
        Button("Add Account…") {
            show(WindowID.addAccount)
        }
    }

    @ViewBuilder private var endpointItems: some View {
        Toggle(model.proxyTitle, isOn: Binding(
            get: { model.proxyRunning },
            set: { model.setEndpoint($0) }
        ))
        .disabled(model.endpointBusy)
        if model.proxyRunning {
            Text(model.requestsServed)
            Button("Copy Endpoint Address") {
                model.copyEndpointAddress()
            }
        }
        if let error = model.proxy?.lastError {
            Text("Last error: \(error)")
        }
        Toggle("Fail Over on Usage Limits", isOn: Binding(
            get: { model.failover },
            set: { model.setFailover($0) }
        ))
        if let failover = model.lastFailover {
            Text(failover)
        }
        Divider()
        codexSetupItems
        claudeSetupItems
    }

    /// A toggle per kind of notification (the core's labels), and start at login.
    @ViewBuilder private var desktopItems: some View {
        if let settings = model.notificationSettings {
            Menu("Notifications") {
                ForEach(settings.kinds, id: \.kind) { toggle in
                    Toggle(toggle.label, isOn: Binding(
                        get: { toggle.enabled },
                        set: { model.setNotification(toggle.kind, enabled: $0) }
                    ))
                }
            }
        }
        Toggle("Start at Login", isOn: Binding(
            get: { model.startsAtLogin },
            set: { model.setStartAtLogin($0) }
        ))
    }

    /// Whether Codex sends its requests through the endpoint, in the core's words, and
    /// setting that up or undoing it.
    @ViewBuilder private var codexSetupItems: some View {
        if let setup = model.codexSetup {
            Text(setup.summary)
        } else if let problem = model.codexSetupError {
            Text(problem)
        }
        if model.offersCodexSetup {
            Button("Set Up Codex to Use the Router") {
                model.setUpCodex()
            }
        }
        if model.codexUsesRouter {
            Toggle("Codex’s Own ChatGPT Calls Too", isOn: $model.codexChatgptThroughRouter)
        }
        if model.offersCodexSetupUndo {
            Button("Undo Codex Set-Up") {
                model.undoCodexSetup()
            }
        }
    }

    /// Whether Claude Code sends its requests to the endpoint, in the core's words, and
    /// setting that up or undoing it.
    @ViewBuilder private var claudeSetupItems: some View {
        if let setup = model.claudeSetup {
            Text(setup.summary)
        } else if let problem = model.claudeSetupError {
            Text(problem)
        }
        if model.offersClaudeSetup {
            Button("Set Up Claude Code to Use the Router") {
                model.setUpClaude()
            }
        }
        if model.offersClaudeSetupUndo {
            Button("Undo Claude Code Set-Up") {
                model.undoClaudeSetup()
            }
        }
    }

    private func show(_ id: String) {
        openWindow(id: id)
        bringToFront()
    }
}
