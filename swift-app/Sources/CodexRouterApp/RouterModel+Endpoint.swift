import CodexRouter
import Foundation

/// The local endpoint's commands: start, stop, failover, copy the address.
extension RouterModel {
    /// Starts the endpoint on the address the settings ask for, or stops it (open answers
    /// get a moment to finish), off the main thread. `interactive`: the user asked, so a
    /// failure also opens an alert; otherwise (starting with the app) it is a notice.
    func setEndpoint(_ on: Bool, interactive: Bool = true) {
        guard let router, !endpointBusy else { return }
        endpointBusy = true
        Task {
            let failure = await Task.detached { () -> String? in
                do {
                    if on {
                        let wanted = try router.proxyState()
                        _ = try router.startProxy(host: wanted.host, port: wanted.port)
                    } else {
                        try router.stopProxy()
                    }
                    return nil
                } catch {
                    return describe(error)
                }
            }.value
            endpointBusy = false
            reloadEndpoint()
            guard let failure else { return }
            let title = on ? "Could not start the local endpoint" : "Could not stop the local endpoint"
            if interactive {
                report(title, failure)
            } else {
                notify(.error, "\(title): \(failure)")
            }
        }
    }

    /// Turns failover on or off, for this app's endpoint and every `codex-router serve`.
    func setFailover(_ on: Bool) {
        guard let router else { return }
        do {
            try router.setFailoverEnabled(enabled: on)
            failover = on
        } catch {
            report("Failover stays \(on ? "off" : "on")", describe(error))
        }
    }

    /// Copies the endpoint's address.
    func copyEndpointAddress() {
        copyToPasteboard(endpointAddress)
    }
}
