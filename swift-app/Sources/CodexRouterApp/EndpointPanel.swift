import CodexRouter
import SwiftUI

/// The bottom of the window: the local endpoint (on/off, address, requests served, last
/// error), failover and its last move, and the Codex folder in use.
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
}
