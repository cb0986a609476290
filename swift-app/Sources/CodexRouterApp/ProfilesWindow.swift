import CodexRouter
import SwiftUI

/// The window: every profile in a table (double-click switches; right-click for refresh,
/// rename, remove), the restart reminder, the endpoint and the Codex folder.
@MainActor
struct ProfilesWindow: View {
    @EnvironmentObject private var model: RouterModel
    @Environment(\.openWindow) private var openWindow
    @State private var selection: ProfileRow.ID?
    @State private var naming: NameRequest?
    @State private var removing: ProfileRow?

    var body: some View {
        VStack(spacing: 0) {
            if let failure = model.openError {
                Banner(text: "Cannot open the Codex folder: \(failure)", symbol: "xmark.octagon", tint: .red)
            }
            if let reminder = model.reminder {
                Banner(text: reminder, symbol: "arrow.clockwise.circle", tint: .accentColor) {
                    model.dismissReminder()
                }
            }
            if let error = model.lastError {
                Banner(text: error, symbol: "exclamationmark.triangle", tint: .orange)
            }
            table
            Divider()
            HStack {
                Image(systemName: model.proxyRunning ? "network" : "network.slash")
                Text(model.proxyTitle)
                Spacer()
                Text(model.codexHome)
                    .foregroundStyle(.secondary)
                    .textSelection(.enabled)
            }
            .font(.callout)
            .padding(8)
        }
        .frame(minWidth: 760, minHeight: 260)
        .toolbar {
            ToolbarItemGroup {
                Button {
                    model.refreshAll()
                } label: {
                    Label("Refresh Profiles", systemImage: "arrow.clockwise")
                }
                .disabled(model.refreshing)
                .help("Refresh the tokens of every ChatGPT profile")

                Button {
                    openWindow(id: WindowID.addAccount)
                } label: {
                    Label("Add Account", systemImage: "person.badge.plus")
                }
                .help("Sign in to another account")

                if model.canSaveCurrentLogin {
                    Button {
                        naming = NameRequest(kind: .saveCurrent)
                    } label: {
                        Label("Save Current Login", systemImage: "square.and.arrow.down")
                    }
                    .help("Keep the login in auth.json as a profile")
                }

                Toggle(isOn: Binding(get: { model.proxyRunning }, set: { model.setProxy($0) })) {
                    Label("Local Endpoint", systemImage: "network")
                }
                .toggleStyle(.button)
                .help(model.proxyTitle)
            }
        }
        .sheet(item: $naming) { request in
            NameSheet(request: request) { name in
                switch request.kind {
                case .saveCurrent: model.saveCurrentLogin(as: name)
                case .rename(let old): model.rename(old, to: name)
                }
            }
        }
        .confirmationDialog(
            "Remove “\(removing?.name ?? "")”?",
            isPresented: Binding(get: { removing != nil }, set: { if !$0 { removing = nil } }),
            presenting: removing
        ) { row in
            Button("Remove", role: .destructive) {
                model.remove(row.name)
            }
        } message: { _ in
            Text("Its saved login is deleted. The active login (auth.json) is left alone.")
        }
    }

    private var table: some View {
        Table(model.profiles, selection: $selection) {
            TableColumn("") { row in
                Image(systemName: "checkmark")
                    .opacity(row.profile.active ? 1 : 0)
                    .accessibilityLabel(row.profile.active ? "active" : "")
            }
            .width(16)
            TableColumn("Name") { row in
                Text(row.name)
                    .fontWeight(row.profile.active ? .semibold : .regular)
            }
            TableColumn("Email") { row in Text(row.emailLabel) }
            TableColumn("Plan") { row in Text(row.planLabel) }
                .width(min: 50, ideal: 70)
            TableColumn("Mode") { row in Text(row.modeLabel) }
                .width(min: 50, ideal: 70)
            TableColumn("Account") { row in
                Text(row.accountLabel)
                    .help(row.profile.accountId ?? "")
            }
            .width(min: 60, ideal: 90)
            TableColumn("Usage") { row in Text(row.usageLabel ?? "—") }
            TableColumn("Token") { row in
                Text(row.tokenLabel)
                    .foregroundStyle(row.tokenColor)
                    .help(row.profile.error ?? row.tokenLabel)
            }
        }
        .contextMenu(forSelectionType: ProfileRow.ID.self) { ids in
            if let row = profileRow(ids) {
                Button("Switch to “\(row.name)”") { model.switchTo(row.name) }
                    .disabled(row.profile.active || !row.switchable)
                Button("Refresh Tokens") { model.refresh(row.name) }
                    .disabled(row.profile.authMode != "chatgpt")
                if row.profile.state == .needsSignIn {
                    Button("Sign In Again…") {
                        model.suggestLogin(for: row.name)
                        openWindow(id: WindowID.addAccount)
                    }
                }
                Divider()
                Button("Rename…") { naming = NameRequest(kind: .rename(row.name)) }
                Button("Remove…") { removing = row }
            }
        } primaryAction: { ids in
            if let row = profileRow(ids), !row.profile.active, row.switchable {
                model.switchTo(row.name)
            }
        }
    }

    private func profileRow(_ ids: Set<ProfileRow.ID>) -> ProfileRow? {
        guard let id = ids.first else { return nil }
        return model.profiles.first { $0.id == id }
    }
}

/// What a name is asked for.
struct NameRequest: Identifiable {
    enum Kind {
        case saveCurrent
        case rename(String)
    }

    let id = UUID()
    let kind: Kind

    var title: String {
        switch kind {
        case .saveCurrent: return "Save the current login as a profile"
        case .rename(let old): return "Rename “\(old)”"
        }
    }

    var initial: String {
        switch kind {
        case .saveCurrent: return ""
        case .rename(let old): return old
        }
    }
}

/// Asks for a profile name.
@MainActor
struct NameSheet: View {
    let request: NameRequest
    let done: (String) -> Void
    @State private var name = ""
    @Environment(\.dismiss) private var dismiss

    init(request: NameRequest, done: @escaping (String) -> Void) {
        self.request = request
        self.done = done
    }

    var body: some View {
        VStack(alignment: .leading, spacing: 12) {
            Text(request.title)
                .font(.headline)
            TextField("Profile name", text: $name)
                .frame(width: 280)
            HStack {
                Spacer()
                Button("Cancel", role: .cancel) { dismiss() }
                    .keyboardShortcut(.cancelAction)
                Button("OK") {
                    done(name.trimmingCharacters(in: .whitespacesAndNewlines))
                    dismiss()
                }
                .keyboardShortcut(.defaultAction)
                .disabled(name.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
            }
        }
        .padding(20)
        .onAppear { name = request.initial }
    }
}

/// A one-line notice above the table.
struct Banner: View {
    let text: String
    let symbol: String
    let tint: Color
    var dismiss: (() -> Void)?

    var body: some View {
        HStack(alignment: .firstTextBaseline, spacing: 8) {
            Image(systemName: symbol)
                .foregroundStyle(tint)
            Text(text)
                .fixedSize(horizontal: false, vertical: true)
                .textSelection(.enabled)
            Spacer()
            if let dismiss {
                Button("Dismiss", action: dismiss)
                    .buttonStyle(.borderless)
            }
        }
        .padding(10)
        .background(tint.opacity(0.12))
    }
}
