import CodexRouter
import Foundation

/// Claude Code's set-up: whether Claude Code sends its requests to the router's endpoint
/// (`env.ANTHROPIC_BASE_URL` in its `settings.json`), setting that up and undoing it.
/// The words are the core's, as `codex-router setup-claude` prints them.
extension RouterModel {
    /// Whether "Set Up Claude Code to Use the Router" applies: `settings.json` can be read,
    /// and Claude Code does not already send its requests to the endpoint.
    var offersClaudeSetup: Bool {
        router != nil && claudeSetup != nil && !(claudeSetup?.current ?? false)
    }

    /// Whether "Undo Claude Code Set-Up" applies: Claude Code sends to this machine.
    var offersClaudeSetupUndo: Bool {
        claudeSetup?.added ?? false
    }

    /// How the set-up's state stands out: an address other than where the endpoint
    /// listens needs the user; not set up is secondary.
    var claudeSetupTone: Tone {
        guard let setup = claudeSetup else { return .error }
        switch (setup.added, setup.current) {
        case (true, true): return .normal
        case (true, false): return .warn
        default: return .muted
        }
    }

    /// Reads Claude Code's `settings.json` again (a file only).
    func reloadClaudeSetup() {
        guard let router else { return }
        do {
            claudeSetup = try router.claudeSetupState()
            claudeSetupError = nil
        } catch {
            claudeSetup = nil
            claudeSetupError = describe(error)
        }
    }

    /// Points Claude Code at the endpoint's address from the settings, keeping every other
    /// key of its `settings.json`.
    func setUpClaude() {
        guard let router else { return }
        do {
            let change = try router.setupClaude(profile: nil)
            tell("Set Up Claude Code", change)
        } catch {
            report("Could not set up Claude Code", describe(error))
        }
        reloadClaudeSetup()
    }

    /// Takes the endpoint's address out of Claude Code's `settings.json`.
    func undoClaudeSetup() {
        guard let router else { return }
        do {
            let change = try router.removeClaudeSetup()
            tell("Undo Claude Code Set-Up", change)
        } catch {
            report("Could not undo Claude Code’s set-up", describe(error))
        }
        reloadClaudeSetup()
    }

    /// What a set-up or its undoing did (the core's sentences): a notice, and an alert,
    /// as it changed another app's file.
    private func tell(_ title: String, _ change: ClaudeSetupChange) {
        let text = change.summary.joined(separator: "\n")
        notify(change.changed ? .normal : .muted, text)
        Alerts.information(title, text)
    }
}
