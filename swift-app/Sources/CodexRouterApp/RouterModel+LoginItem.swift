import Foundation
import ServiceManagement

/// Start at login: the app registers itself as a login item (`SMAppService.mainApp`,
/// macOS 13), which the user also sees and can turn off in System Settings > General >
/// Login Items. (On Linux the core writes an XDG autostart entry instead.)
extension RouterModel {
    /// Whether the app starts at login (macOS may still wait for the user's approval).
    var startsAtLogin: Bool {
        SMAppService.mainApp.status == .enabled
    }

    /// Registers or unregisters the app as a login item.
    func setStartAtLogin(_ on: Bool) {
        do {
            if on {
                try SMAppService.mainApp.register()
            } else {
                try SMAppService.mainApp.unregister()
            }
        } catch {
            report("Could not change Start at Login", error.localizedDescription)
        }
        if on, SMAppService.mainApp.status == .requiresApproval {
            notify(.warn, "Allow Codex Router in System Settings > General > Login Items to start it at login.")
        }
        objectWillChange.send()
    }
}
