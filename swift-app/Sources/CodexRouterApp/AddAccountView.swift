import CodexRouter
import SwiftUI

/// Adds an account: a browser sign-in (the page opens in the default browser; it can be
/// cancelled) or an OpenAI API key.
@MainActor
struct AddAccountView: View {
    @EnvironmentObject private var model: RouterModel
    @State private var name = ""
    @State private var apiKey = ""

    private var trimmedName: String {
        name.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    var body: some View {
        Form {
            Section {
                TextField("Profile name", text: $name, prompt: Text("work"))
                    .disabled(model.login != nil)
            } footer: {
                Text("Letters, digits, “.”, “_”, “-” and “@”.")
                    .font(.caption)
                    .foregroundStyle(.secondary)
            }

            Section("Sign in with ChatGPT") {
                if let login = model.login {
                    HStack(spacing: 8) {
                        ProgressView()
                            .controlSize(.small)
                        Text("Waiting for the sign-in of “\(login.name)” in your browser…")
                    }
                    HStack {
                        Button("Open the Page Again") {
                            model.openLoginPage()
                        }
                        Button("Cancel Sign-In", role: .cancel) {
                            model.cancelLogin()
                        }
                    }
                } else {
                    Button("Sign In in Browser…") {
                        model.startLogin(name: trimmedName)
                    }
                    .keyboardShortcut(.defaultAction)
                    .disabled(trimmedName.isEmpty)
                }
            }

            Section("Or save an OpenAI API key") {
                SecureField("API key", text: $apiKey)
                Button("Save API Key") {
                    if model.addApiKey(name: trimmedName, key: apiKey) {
                        apiKey = ""
                    }
                }
                .disabled(trimmedName.isEmpty || apiKey.isEmpty || model.login != nil)
            }

            if let note = model.loginNote {
                Text(note)
                    .foregroundStyle(.secondary)
                    .fixedSize(horizontal: false, vertical: true)
            }
        }
        .formStyle(.grouped)
        .frame(width: 440)
        .onAppear {
            if let suggested = model.takeSuggestedLoginName() {
                name = suggested
            }
        }
    }
}
