import CodexRouter
import SwiftUI

/// Adds an account: a browser sign-in (the page opens in the default browser; its address
/// can be copied; it can be cancelled), a sign-in with a code entered on any device (the
/// address and code can be copied; it can be cancelled), or an OpenAI API key. A sign-in
/// started elsewhere ("Sign In Again…") shows its progress here too.
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

            Section {
                if let login = model.login {
                    signInProgress(login)
                } else {
                    HStack {
                        Button("Sign In in Browser…") {
                            model.addAccount(name: trimmedName)
                        }
                        .keyboardShortcut(.defaultAction)
                        Button("Sign In with a Code…") {
                            model.addAccountWithCode(name: trimmedName)
                        }
                        .help("For when the browser with your account is on another device: you enter a code there.")
                    }
                    .disabled(trimmedName.isEmpty)
                }
            } header: {
                Text("Sign in with ChatGPT")
            } footer: {
                Text("The login is saved as a new profile; Codex keeps using its current one until you switch.")
                    .font(.caption)
                    .foregroundStyle(.secondary)
            }

            Section {
                SecureField("API key", text: $apiKey, prompt: Text("sk-…"))
                Button("Save API Key") {
                    if model.addApiKey(name: trimmedName, key: apiKey) {
                        apiKey = ""
                    }
                }
                .disabled(trimmedName.isEmpty || apiKey.isEmpty || model.login != nil)
            } header: {
                Text("Or save an OpenAI API key")
            } footer: {
                Text("The key is stored in the profile's auth.json (mode 0600) and never shown again.")
                    .font(.caption)
                    .foregroundStyle(.secondary)
            }

            if let note = model.loginNote {
                Text(note)
                    .foregroundStyle(.secondary)
                    .fixedSize(horizontal: false, vertical: true)
                    .textSelection(.enabled)
            }
        }
        .formStyle(.grouped)
        .frame(width: 460)
    }

    @ViewBuilder private func signInProgress(_ login: LoginProgress) -> some View {
        switch login.way {
        case .browser(let url):
            waiting(login.waiting)
            Text("If no browser opened, open this address:")
                .font(.caption)
                .foregroundStyle(.secondary)
            Text(url)
                .font(.caption.monospaced())
                .lineLimit(3)
                .textSelection(.enabled)
            HStack {
                Button("Open the Page Again") {
                    model.openLoginPage()
                }
                Button("Copy Address") {
                    model.copyLoginAddress()
                }
                cancelButton
            }
        case .askingForCode:
            waiting(login.waiting)
            cancelButton
        case .code(let code):
            Text(code.prompt)
                .fixedSize(horizontal: false, vertical: true)
                .textSelection(.enabled)
            HStack(spacing: 8) {
                Text(code.userCode)
                    .font(.title2.monospaced())
                    .textSelection(.enabled)
                Button("Copy Code") {
                    model.copyLoginCode()
                }
            }
            HStack(spacing: 8) {
                Text(code.verificationUrl)
                    .font(.body.monospaced())
                    .textSelection(.enabled)
                Button("Copy Address") {
                    model.copyLoginAddress()
                }
            }
            waiting("Waiting for the code to be entered for “\(login.name)”…")
            cancelButton
        }
    }

    private func waiting(_ text: String) -> some View {
        HStack(spacing: 8) {
            ProgressView()
                .controlSize(.small)
            Text(text)
        }
    }

    private var cancelButton: some View {
        Button("Cancel Sign-In", role: .cancel) {
            model.cancelLogin()
        }
    }
}
