import AppKit
import CodexRouter
import Foundation

/// A sign-in waiting for the user: in the browser, or with a code entered on any device.
struct LoginProgress: Equatable {
    /// How the user signs in.
    enum Way: Equatable {
        /// In the browser, at this page.
        case browser(url: String)
        /// With a code, which is being asked for.
        case askingForCode
        /// With this code.
        case code(DeviceCode)
    }

    /// Tells this sign-in from a later one (a cancelled request for a code may answer late).
    let id = UUID()
    /// The profile it creates or signs in again.
    var name: String
    /// How.
    var way: Way

    /// What it waits for, for the menu: the core's instructions once there is a code.
    var waiting: String {
        switch way {
        case .browser: return "Waiting for the sign-in of “\(name)” in your browser…"
        case .askingForCode: return "Asking for a sign-in code for “\(name)”…"
        case .code(let code): return code.prompt
        }
    }
}

/// A device code to enter, from the core.
struct DeviceCode: Equatable {
    /// The code.
    var userCode: String
    /// The page to enter it on.
    var verificationUrl: String
    /// Both in the core's sentence, with how long the code holds.
    var prompt: String
}

/// Adding accounts: browser sign-in (new, or again for a profile that needs it), sign-in
/// with a code, and API keys. A sign-in ends the same way however it was made.
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

    /// Starts a sign-in with a code that adds profile `name`: the core asks the issuer for
    /// a code, which the user enters on any device (where the browser with the account is).
    func addAccountWithCode(name: String) {
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let router, login == nil else { return }
        let attempt = LoginProgress(name: name, way: .askingForCode)
        login = attempt
        loginNote = nil
        Task {
            let handle: DeviceLoginHandle
            do {
                handle = try await router.startDeviceLogin(name: name, force: false)
            } catch {
                // Cancelled while asking: nothing to tell.
                guard login?.id == attempt.id else { return }
                login = nil
                loginNote = describe(error)
                return
            }
            guard login?.id == attempt.id else {
                handle.cancel()
                return
            }
            deviceLoginHandle = handle
            login?.way = .code(DeviceCode(
                userCode: handle.userCode(),
                verificationUrl: handle.verificationUrl(),
                prompt: handle.prompt()
            ))
            await finishSignIn(of: name) { try await handle.wait() }
        }
    }

    /// Opens the browser sign-in's page (again) in the default browser.
    func openLoginPage() {
        guard case .browser(let address)? = login?.way, let url = URL(string: address) else { return }
        NSWorkspace.shared.open(url)
    }

    /// Copies the sign-in page's address: the browser sign-in's (to open it in another
    /// browser), or the page to enter the code on.
    func copyLoginAddress() {
        switch login?.way {
        case .browser(let url)?: copyToPasteboard(url)
        case .code(let code)?: copyToPasteboard(code.verificationUrl)
        case .askingForCode?, nil: break
        }
    }

    /// Copies the code to enter.
    func copyLoginCode() {
        guard case .code(let code)? = login?.way else { return }
        copyToPasteboard(code.userCode)
    }

    /// Cancels the sign-in in progress (a code still being asked for is dropped when it
    /// comes).
    func cancelLogin() {
        if case .askingForCode? = login?.way {
            login = nil
        }
        loginHandle?.cancel()
        deviceLoginHandle?.cancel()
    }

    /// Saves an OpenAI API key as profile `name`; true when it was saved.
    func addApiKey(name: String, key: String) -> Bool {
        guard let router else { return false }
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            let result = try router.addApiKey(name: name, key: key, force: false)
            loginNote = result.summary
            notify(.normal, result.summary)
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
        login = LoginProgress(name: name, way: .browser(url: handle.url()))
        loginNote = nil
        openLoginPage()
        Task {
            await finishSignIn(of: name) { try await handle.wait() }
        }
    }

    /// Waits for a sign-in to end, then says how (the core's summary, or why it failed)
    /// and reads the profiles again.
    private func finishSignIn(of name: String, _ wait: () async throws -> LoginResult) async {
        do {
            let result = try await wait()
            loginNote = result.summary
            notify(.normal, result.summary)
        } catch RouterError.Cancelled(let message) {
            loginNote = message
        } catch {
            loginNote = describe(error)
            report("Sign-in for “\(name)” failed", describe(error))
        }
        login = nil
        loginHandle = nil
        deviceLoginHandle = nil
        reload()
    }
}
