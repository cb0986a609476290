import CodexRouter
import SwiftUI

/// The bottom of the window: the local endpoint (on/off, address, requests served, last
/// error), failover and its last move, whether Codex sends its requests through it (set
/// up, undo), and the Codex folder in use.
@MainActor
struct EndpointPanel: View {
    @EnvironmentObject private var model: RouterModel

    var body: some View {
        VStack(alignment: .leading, spacing: 6) {
            HStack(spacing: 8) {
                Text("Local endpoint")
                    .fontWeight(.semibold)
                if model.proxyRunning {
                    Text("on")
                        .fontWeight(.semibold)
                        .foregroundStyle(.green)
                    Text(model.endpointAddress)
                        .font(.body.monospaced())
                        .textSelection(.enabled)
                    Button("Copy") { model.copyEndpointAddress() }
                        .help("Copy the address")
                    Text(model.requestsServed)
                        .foregroundStyle(.secondary)
                    Button("Stop") { model.setEndpoint(false) }
                        .disabled(model.endpointBusy)
                } else {
                    Text("off")
                        .foregroundStyle(.secondary)
                    Text(model.endpointAddress)
                        .font(.body.monospaced())
                        .foregroundStyle(.secondary)
                    Button("Start") { model.setEndpoint(true) }
                        .disabled(model.endpointBusy || model.router == nil)
                }
                if model.endpointBusy {
                    ProgressView()
                        .controlSize(.small)
                }
                Spacer()
            }
            Toggle(
                "Fail over: when an account hits its usage limit, send the request to the next account",
                isOn: Binding(get: { model.failover }, set: { model.setFailover($0) })
            )
            .help("Only requests through this endpoint; the next account is the first one not limited and not needing sign-in (router/state.json \"failover\" sets the order).")
            if let moved = model.lastFailover {
                Text(moved)
                    .foregroundStyle(Tone.warn.color)
            }
            if let error = model.proxy?.lastError {
                Text("Last error: \(error)")
                    .foregroundStyle(Tone.error.color)
                    .textSelection(.enabled)
            }
            codexSetup
            claudeSetup
            Text("Point Codex or any OpenAI client at this address: requests go out with the active profile, so a switch takes effect at the next request.")
                .font(.caption)
                .foregroundStyle(.secondary)
            Text("Codex folder: \(model.codexHome)")
                .font(.caption)
                .foregroundStyle(.secondary)
                .textSelection(.enabled)
        }
        .padding(10)
    }

    /// Codex's set-up in the core's words, with what can be done about it.
    @ViewBuilder private var codexSetup: some View {
        if model.codexUsesRouter, !model.proxyRunning {
            Text("Codex sends its requests here: start the endpoint, or Codex's requests fail.")
                .foregroundStyle(Tone.warn.color)
        }
        HStack(spacing: 8) {
            if let setup = model.codexSetup {
                Text(setup.summary)
                    .foregroundStyle(model.codexSetupTone.color)
                    .textSelection(.enabled)
                    .help("In \(setup.path)")
            } else if let problem = model.codexSetupError {
                Text(problem)
                    .foregroundStyle(Tone.error.color)
                    .textSelection(.enabled)
            }
            Spacer()
            if model.offersCodexSetup {
                Button("Set Up Codex to Use the Router") { model.setUpCodex() }
                    .help("Make Codex Router the model provider in Codex's config.toml (every other line is kept), so Codex sends its requests to this endpoint.")
            }
            if model.offersCodexSetupUndo {
                Button("Undo Codex Set-Up") { model.undoCodexSetup() }
                    .help("Take Codex Router out of Codex's config.toml and give Codex back the model provider it used before.")
            }
        }
    }

    /// Claude Code's set-up in the core's words, with what can be done about it.
    @ViewBuilder private var claudeSetup: some View {
        HStack(spacing: 8) {
            if let setup = model.claudeSetup {
                Text(setup.summary)
                    .foregroundStyle(model.claudeSetupTone.color)
                    .textSelection(.enabled)
                    .help("In \(setup.path)")
            } else if let problem = model.claudeSetupError {
                Text(problem)
                    .foregroundStyle(Tone.error.color)
                    .textSelection(.enabled)
            }
            Spacer()
            if model.offersClaudeSetup {
                Button("Set Up Claude Code to Use the Router") { model.setUpClaude() }
                    .help("Set ANTHROPIC_BASE_URL in Claude Code's settings.json to this endpoint (every other setting is kept), so Claude Code sends its requests here.")
            }
            if model.offersClaudeSetupUndo {
                Button("Undo Claude Code Set-Up") { model.undoClaudeSetup() }
                    .help("Take this endpoint's address out of Claude Code's settings.json.")
            }
        }
    }
}
