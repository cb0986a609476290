import AppKit
import CodexRouter
import SwiftUI

/// The menu bar menu: the active login, the profiles (a click switches), re-reading and
/// renewing, Add Account, the local endpoint with failover, Open Window, Quit.
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
        if model.unsavedLoginWho != nil {
            Button("Save Current Login…") {
                model.askToSaveCurrentLogin()
            }
        }
        if model.reminder != nil {
            Button("Restart Codex to use the new profile") {
                model.dismissReminder()
            }
        }
        if let login = model.login {
            Text("Waiting for the sign-in of “\(login.name)”…")
            Button("Cancel Sign-In") {
                model.cancelLogin()
            }
        }
    }

    /// One item per profile: a check mark on the active one; a click switches. A profile
    /// whose login is dead offers a new sign-in instead.
    @ViewBuilder private var profileItems: some View {
        let now = Date()
        if model.profiles.isEmpty {
            Text("No profiles yet")
        }
        ForEach(model.profiles) { row in
            if row.needsSignIn {
                Button("\(row.menuTitle(now: now)) — Sign In Again…") {
                    model.signInAgain(row.name)
                    show(WindowID.addAccount)
                }
            } else {
                Toggle(row.menuTitle(now: now), isOn: Binding(
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
    }

    private func show(_ id: String) {
        openWindow(id: id)
        bringToFront()
    }
}
