import CodexRouter
import SwiftUI

/// The window: notices, the profile table (or the first-run page when there is none) with
/// the usage charts under it, an offer to save an unsaved login, and the local endpoint
/// below.
@MainActor
struct ProfilesWindow: View {
    @EnvironmentObject private var model: RouterModel
    @Environment(\.openWindow) private var openWindow
    @State private var naming: NameRequest?

    var body: some View {
        VStack(spacing: 0) {
            if let failure = model.openError {
                Banner(text: "Cannot open the Codex folder: \(failure)", tone: .error)
            }
            ForEach(model.notices) { notice in
                Banner(text: notice.text, tone: notice.tone) {
                    model.dismiss(notice)
                }
            }
            content
            Divider()
            EndpointPanel()
        }
        .frame(minWidth: 820, minHeight: 340)
        .toolbar {
            ToolbarItemGroup {
                Button {
                    addAccount()
                } label: {
                    Label("Add Account", systemImage: "person.badge.plus")
                }
                .help("Sign in with ChatGPT (in the browser, or with a code), or save an OpenAI API key")

                if model.unsavedLoginWho != nil {
                    Button {
                        naming = .saveCurrent(suggested: model.suggestedName)
                    } label: {
                        Label("Save Current Login", systemImage: "square.and.arrow.down")
                    }
                    .help("Keep the login Codex uses now as a profile")
                }

                Button {
                    model.rereadProfiles()
                } label: {
                    Label("Refresh Profiles", systemImage: "arrow.clockwise")
                }
                .help("Read ~/.codex/profiles and Codex's login again")

                Button {
                    model.refreshTokens()
                } label: {
                    Label("Refresh Tokens Now", systemImage: "key")
                }
                .disabled(model.refreshingTokens)
                .help(model.refreshingTokens ? "Refreshing tokens…" : "Renew the tokens of every ChatGPT profile now")
            }
        }
        .sheet(item: $naming) { request in
            NameSheet(request: request)
                .environmentObject(model)
        }
    }

    @ViewBuilder private var content: some View {
        if model.openError != nil {
            Spacer()
        } else if let error = model.loadError {
            VStack(spacing: 10) {
                Text("The profiles could not be read: \(error)")
                    .foregroundStyle(Tone.error.color)
                    .textSelection(.enabled)
                Button("Try Again") {
                    model.rereadProfiles()
                }
            }
            .padding()
            .frame(maxWidth: .infinity, maxHeight: .infinity)
        } else if model.profiles.isEmpty {
            FirstRunView()
        } else {
            if let who = model.unsavedLoginWho {
                HStack {
                    Text("Codex is signed in as \(who), which is not saved as a profile yet.")
                        .foregroundStyle(Tone.warn.color)
                    Button("Save It As…") {
                        naming = .saveCurrent(suggested: model.suggestedName)
                    }
                    Spacer()
                }
                .padding(10)
            }
            ProfileTable(naming: $naming)
            UsageChartsSection()
        }
    }

    private func addAccount() {
        openWindow(id: WindowID.addAccount)
        bringToFront()
    }
}

/// A notice above the table, with a Dismiss button when it can be dismissed.
struct Banner: View {
    let text: String
    let tone: Tone
    var dismiss: (() -> Void)?

    var body: some View {
        HStack(alignment: .firstTextBaseline, spacing: 8) {
            Image(systemName: tone.symbol)
                .foregroundStyle(tone.tint)
            Text(text)
                .foregroundStyle(tone.color)
                .fixedSize(horizontal: false, vertical: true)
                .textSelection(.enabled)
            Spacer()
            if let dismiss {
                Button("Dismiss", action: dismiss)
                    .buttonStyle(.borderless)
            }
        }
        .padding(10)
        .background(tone.tint.opacity(0.12))
    }
}
