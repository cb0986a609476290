import CodexRouter
import SwiftUI

/// The window with no profiles yet: save the login Codex already has, or add an account
/// (the egui app's first-run page).
@MainActor
struct FirstRunView: View {
    @EnvironmentObject private var model: RouterModel
    @Environment(\.openWindow) private var openWindow
    @State private var name: String?
    @State private var failure: String?

    var body: some View {
        VStack(alignment: .leading, spacing: 10) {
            if let who = model.unsavedLoginWho {
                saveLogin(who)
                Text("Or add another account:")
                    .padding(.top, 8)
            } else {
                introduction
            }
            Button("Add Account…") {
                openWindow(id: WindowID.addAccount)
                bringToFront()
            }
            Spacer()
        }
        .padding(20)
        .frame(maxWidth: .infinity, maxHeight: .infinity, alignment: .topLeading)
    }

    @ViewBuilder private func saveLogin(_ who: String) -> some View {
        Text("Save your Codex login")
            .font(.title2)
        Text("Codex is signed in as \(who), but that login is not saved as a profile yet. Save it, and you can switch back to it after adding other accounts.")
            .fixedSize(horizontal: false, vertical: true)
        HStack {
            TextField("Profile name", text: Binding(
                get: { name ?? model.suggestedName },
                set: { name = $0 }
            ), prompt: Text("e.g. work"))
            .frame(width: 220)
            .onSubmit(save)
            Button("Save Profile", action: save)
                .keyboardShortcut(.defaultAction)
        }
        if let failure {
            Text(failure)
                .foregroundStyle(Tone.error.color)
        }
    }

    /// What the app is for, the core's hint for a home without profiles (the same as
    /// `codex-router list` gives), and why Codex's own login can't be saved, if it can't.
    @ViewBuilder private var introduction: some View {
        Text("No accounts yet")
            .font(.title2)
        Text("Codex Router keeps one saved login per account and switches Codex between them. Add Account signs in with ChatGPT (in your browser, or with a code on another device) or saves an OpenAI API key; either is saved as a profile.")
            .fixedSize(horizontal: false, vertical: true)
        if let hint = model.router?.emptyHomeHint() {
            Text(hint)
                .foregroundStyle(.secondary)
                .fixedSize(horizontal: false, vertical: true)
                .textSelection(.enabled)
        }
        if let problem = model.status?.error, model.status?.authMode == nil {
            Text("Codex: \(problem)")
                .foregroundStyle(.secondary)
                .fixedSize(horizontal: false, vertical: true)
                .textSelection(.enabled)
        }
    }

    private func save() {
        let chosen = (name ?? model.suggestedName).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !chosen.isEmpty else { return }
        do {
            try model.saveCurrentLogin(as: chosen)
            failure = nil
        } catch {
            failure = "Could not save: \(describe(error))"
        }
    }
}
