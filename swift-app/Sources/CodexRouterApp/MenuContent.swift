import AppKit
import CodexRouter
import SwiftUI

/// The menu bar menu: profiles (a click switches), Refresh Profiles, Add Account, the local
/// endpoint, Open Window, Quit.
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
        if model.reminder != nil {
            Button("Restart Codex to use the new profile") {
                model.dismissReminder()
            }
        }
    }

    /// One item per profile: a check mark on the active one; a click switches.
    @ViewBuilder private var profileItems: some View {
        if model.profiles.isEmpty {
            Text("No profiles yet: add an account")
        }
        ForEach(model.profiles) { row in
            if row.profile.state == .needsSignIn {
                Button("\(row.menuTitle): Sign In Again…") {
                    model.suggestLogin(for: row.name)
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
        Button(model.refreshing ? "Refreshing…" : "Refresh Profiles") {
            model.refreshAll()
        }
        .disabled(model.refreshing)
        Button("Add Account…") {
            show(WindowID.addAccount)
        }
    }

    @ViewBuilder private var endpointItems: some View {
        Toggle(model.proxyTitle, isOn: Binding(
            get: { model.proxyRunning },
            set: { model.setProxy($0) }
        ))
        Toggle("Fail Over on Usage Limits", isOn: Binding(
            get: { model.failover },
            set: { model.setFailover($0) }
        ))
        if model.proxyRunning {
            Button("Copy Endpoint Address") {
                model.copyProxyAddress()
            }
        }
    }

    private func show(_ id: String) {
        openWindow(id: id)
        bringToFront()
    }
}
