import AppKit
import SwiftUI

/// Codex Router in the menu bar: the profiles, switching, sign-in, the local endpoint, and a
/// window with the full table. Everything it shows and does goes through the Rust core
/// (the `CodexRouter` bindings); this target only presents it.
@main
@MainActor
struct CodexRouterApp: App {
    @NSApplicationDelegateAdaptor(AppDelegate.self) private var appDelegate
    @StateObject private var model = RouterModel()

    var body: some Scene {
        MenuBarExtra {
            MenuContent()
                .environmentObject(model)
        } label: {
            Image(systemName: model.menuBarSymbol)
                .accessibilityLabel("Codex Router")
        }
        .menuBarExtraStyle(.menu)

        Window("Codex Router", id: WindowID.profiles) {
            ProfilesWindow()
                .environmentObject(model)
        }
        .defaultSize(width: 980, height: 440)

        Window("Add Account", id: WindowID.addAccount) {
            AddAccountView()
                .environmentObject(model)
        }
        .windowResizability(.contentSize)
    }
}

/// The windows the menu opens.
enum WindowID {
    static let profiles = "profiles"
    static let addAccount = "add-account"
}

/// A menu bar app: no Dock icon, and no window until one is asked for.
final class AppDelegate: NSObject, NSApplicationDelegate {
    func applicationDidFinishLaunching(_ notification: Notification) {
        // The bundle's Info.plist says so too (LSUIElement); this covers `swift run`.
        NSApp.setActivationPolicy(.accessory)
        // SwiftUI may open a Window scene at launch; a menu bar app starts with none.
        DispatchQueue.main.async {
            for window in NSApp.windows where window.canBecomeMain && window.isVisible {
                window.close()
            }
        }
    }

    func applicationShouldTerminateAfterLastWindowClosed(_ sender: NSApplication) -> Bool {
        false
    }
}

/// Brings the app forward (it has no Dock icon) so a window it opens gets the focus.
@MainActor
func bringToFront() {
    NSApp.activate(ignoringOtherApps: true)
}

/// Puts `text` on the clipboard.
@MainActor
func copyToPasteboard(_ text: String) {
    NSPasteboard.general.clearContents()
    NSPasteboard.general.setString(text, forType: .string)
}
