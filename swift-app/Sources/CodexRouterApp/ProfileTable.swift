import CodexRouter
import SwiftUI

/// Every profile in a table: a double-click switches; the context menu switches, renews
/// tokens (or signs in again), renames and removes. The token and usage words are the
/// core's (the model reads them again every minute, so "expires in 4 minutes" ages).
@MainActor
struct ProfileTable: View {
    @EnvironmentObject private var model: RouterModel
    @Environment(\.openWindow) private var openWindow
    @Binding var naming: NameRequest?
    @State private var selection: ProfileRow.ID?
    @State private var removing: ProfileRow?

    // Written out: the private state would make the synthesized one private.
    init(naming: Binding<NameRequest?>) {
        _naming = naming
    }

    var body: some View {
        table
            .confirmationDialog(
                "Remove “\(removing?.name ?? "")”?",
                isPresented: Binding(get: { removing != nil }, set: { if !$0 { removing = nil } }),
                presenting: removing
            ) { row in
                Button("Remove", role: .destructive) {
                    model.remove(row.name)
                }
            } message: { row in
                Text(removeMessage(row))
            }
    }

    private var table: some View {
        Table(model.profiles, selection: $selection) {
            TableColumn("") { row in
                Image(systemName: "checkmark")
                    .opacity(row.profile.active ? 1 : 0)
                    .accessibilityLabel(row.profile.active ? "Active: the login Codex uses now" : "")
            }
            .width(16)
            TableColumn("Profile") { row in
                Text(row.name)
                    .fontWeight(row.profile.active ? .semibold : .regular)
            }
            .width(min: 80, ideal: 110)
            TableColumn("Email") { row in
                Text(row.emailLabel)
                    .help(row.accountHelp)
            }
            .width(min: 120, ideal: 190)
            TableColumn("Plan") { row in
                Text(row.planText)
            }
            .width(min: 40, ideal: 60)
            TableColumn("Sign-in") { row in
                Text(row.modeText)
            }
            .width(min: 60, ideal: 80)
            TableColumn("Token") { row in
                Text(row.profile.tokenState.text)
                    .foregroundStyle(row.profile.tokenState.tone.color)
                    .help(row.profile.tokenState.text)
            }
            .width(min: 120, ideal: 170)
            TableColumn("Usage") { row in
                UsageCell(row: row)
            }
            .width(min: 170, ideal: 230)
        }
        .contextMenu(forSelectionType: ProfileRow.ID.self) { ids in
            if let row = profileRow(ids) {
                Button("Switch to “\(row.name)”") { model.switchTo(row.name) }
                    .disabled(row.profile.active || !row.switchable)
                if row.needsSignIn {
                    Button("Sign In Again…") {
                        model.signInAgain(row.name)
                        openWindow(id: WindowID.addAccount)
                        bringToFront()
                    }
                } else {
                    Button("Refresh Tokens Now") { model.refreshTokens(row.name) }
                        .disabled(!row.refreshable || model.refreshingTokens)
                }
                Divider()
                Button("Rename…") { naming = .rename(row.name) }
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

    private func removeMessage(_ row: ProfileRow) -> String {
        let whose = row.who.map { " of \($0)" } ?? ""
        return "The saved login\(whose) is deleted from this computer. Codex's own login is not touched, so Codex stays signed in with whatever it uses now."
    }
}

/// The usage column, in the core's words: "LIMITED until …" while limited, else a bar per
/// window with its reset time ("5 h: 42% · resets 14:20"); a dash when nothing is known.
struct UsageCell: View {
    let row: ProfileRow

    var body: some View {
        if let limit = row.limitLine {
            Text(limit.text)
                .foregroundStyle(limit.tone.color)
        } else {
            let bars = row.usageBars
            if bars.isEmpty {
                Text("—")
                    .foregroundStyle(.secondary)
            } else {
                VStack(alignment: .leading, spacing: 3) {
                    ForEach(Array(bars.enumerated()), id: \.offset) { _, bar in
                        let warn = bar.tone == .warn || bar.tone == .error
                        VStack(alignment: .leading, spacing: 1) {
                            ProgressView(value: Double(bar.fraction))
                                .progressViewStyle(.linear)
                                .controlSize(.small)
                                .tint(warn ? bar.tone.color : Color.accentColor)
                            Text(bar.text)
                                .font(.caption)
                                .foregroundStyle(warn ? bar.tone.color : Color.secondary)
                        }
                        .accessibilityElement(children: .ignore)
                        .accessibilityLabel(bar.text)
                    }
                }
                .padding(.vertical, 3)
            }
        }
    }
}
