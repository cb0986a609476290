import AppKit
import CodexRouter
import Foundation

/// A browser sign-in waiting for the user.
struct LoginProgress: Equatable {
    /// The profile it creates or signs in again.
    var name: String
    /// The sign-in page.
    var url: String
}

/// Adding accounts: browser sign-in (new, or again for a profile that needs it) and API keys.
extension RouterModel {
    /// Starts a browser sign-in that adds profile `name`. A name already in use is refused
    /// (the Add Account window says why).
    func addAccount(name: String) {
        startLogin(name: name.trimmingCharacters(in: .whitespacesAndNewlines), force: false)
    }

    /// Signs profile `name` in again. The same account updates it; `force` lets its dead
    /// login be replaced even when another account signs in under its name (as the egui
    /// app does: without it the core refuses the taken name).
    func signInAgain(_ name: String) {
        startLogin(name: name, force: true)
    }

    /// Opens the sign-in page (again) in the default browser.
    func openLoginPage() {
        guard let url = login.flatMap({ URL(string: $0.url) }) else { return }
        NSWorkspace.shared.open(url)
    }

    /// Copies the sign-in page's address (to open it in another browser).
    func copyLoginAddress() {
        guard let url = login?.url else { return }
        NSPasteboard.general.clearContents()
        NSPasteboard.general.setString(url, forType: .string)
    }

    /// Cancels the sign-in in progress.
    func cancelLogin() {
        loginHandle?.cancel()
    }

    /// Saves an OpenAI API key as profile `name`; true when it was saved.
    func addApiKey(name: String, key: String) -> Bool {
        guard let router else { return false }
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            let result = try router.addApiKey(name: name, key: key, force: false)
            let text = Phrases.keySaved(result)
            loginNote = text
            notify(.normal, text)
            reload()
            return true
        } catch {
            loginNote = describe(error)
            return false
        }
    }

    private func startLogin(name: String, force: Bool) {
        guard let router, login == nil else { return }
        let handle: LoginHandle
        do {
            handle = try router.startLogin(name: name, force: force)
        } catch {
            loginNote = describe(error)
            if force {
                report("Sign-in for “\(name)” failed", describe(error))
            }
            return
        }
        loginHandle = handle
        login = LoginProgress(name: name, url: handle.url())
        loginNote = nil
        openLoginPage()
        Task {
            do {
                let result = try await handle.wait()
                let text = Phrases.signedIn(result)
                loginNote = text
                notify(.normal, text)
            } catch RouterError.Cancelled {
                loginNote = "Sign-in cancelled."
            } catch {
                loginNote = describe(error)
                report("Sign-in for “\(name)” failed", describe(error))
            }
            login = nil
            loginHandle = nil
            reload()
        }
    }
}
