import CodexRouter
import Foundation

/// Codex's set-up: whether Codex sends its requests through the router's endpoint (the
/// router as the model provider in Codex's `config.toml`), setting that up and undoing it.
/// The words are the core's, as `codex-router setup-codex` prints them.
extension RouterModel {
    /// Whether Codex sends its requests to the endpoint's address from the settings.
    var codexUsesRouter: Bool {
        guard let setup = codexSetup else { return false }
        return setup.added && setup.isDefault && setup.current
    }

    /// Whether "Set Up Codex to Use the Router" applies: `config.toml` can be read, and
    /// Codex does not already send its requests to the endpoint.
    var offersCodexSetup: Bool {
        router != nil && codexSetup != nil && !codexUsesRouter
    }

    /// Whether "Undo Codex Set-Up" applies: the router is a model provider of Codex.
    var offersCodexSetupUndo: Bool {
        codexSetup?.added ?? false
    }

    /// How the set-up's state stands out: a provider that sends elsewhere than the
    /// endpoint listens needs the user; one not in use is secondary.
    var codexSetupTone: Tone {
        guard let setup = codexSetup else { return .error }
        switch (setup.added, setup.isDefault, setup.current) {
        case (true, true, true): return .normal
        case (true, true, false): return .warn
        default: return .muted
        }
    }

    /// Reads Codex's `config.toml` again (a file only).
    func reloadCodexSetup() {
        guard let router else { return }
        do {
            codexSetup = try router.codexSetupState()
            codexSetupError = nil
        } catch {
            codexSetup = nil
            codexSetupError = describe(error)
        }
    }

    /// Whether Codex's own ChatGPT calls (`chatgpt_base_url`) go through the router too;
    /// setting it sets Codex up again with or without them (the set-up's check box).
    var codexChatgptThroughRouter: Bool {
        get { codexSetup?.chatgpt ?? false }
        set { setUpCodex(chatgpt: newValue) }
    }

    /// Makes the router Codex's model provider at the endpoint's address from the settings,
    /// keeping every other line of `config.toml` (and whether Codex sends the local key),
    /// with Codex's own ChatGPT calls through it as `chatgpt` says (`nil`: as they are now).
    func setUpCodex(chatgpt: Bool? = nil) {
        guard let router else { return }
        do {
            let change = try router.setupCodex(
                port: nil,
                envKey: codexSetup?.envKey ?? false,
                noDefault: false,
                profile: nil,
                chatgpt: chatgpt ?? codexSetup?.chatgpt ?? false
            )
            tell("Set Up Codex", change)
        } catch {
            report("Could not set up Codex", describe(error))
        }
        reloadCodexSetup()
    }

    /// Takes the router out of `config.toml`, putting back the model provider it replaced.
    func undoCodexSetup() {
        guard let router else { return }
        do {
            let change = try router.removeCodexSetup(profile: nil)
            tell("Undo Codex Set-Up", change)
        } catch {
            report("Could not undo Codex’s set-up", describe(error))
        }
        reloadCodexSetup()
    }

    /// What a set-up or its undoing did (the core's sentences): a notice, and an alert,
    /// as it changed another app's file and says what to do next.
    private func tell(_ title: String, _ change: CodexSetupChange) {
        let text = change.summary.joined(separator: "\n")
        notify(change.changed ? .normal : .muted, text)
        Alerts.information(title, text)
    }
}
