import CodexRouter
import Foundation
import UserNotifications

/// Notifications: the core decides what to tell and tells each event once (the
/// `.notify` event: a usage limit reached, a limited account available again, a usage
/// window nearly used up, a failover, a login that needs a new sign-in); the app posts each
/// with UserNotifications, asking macOS for permission once. Which kinds are on is the
/// core's setting (`notifications` in `router/state.json`), a toggle per kind in the menu.
extension RouterModel {
    /// UserNotifications needs a bundled app; `swift run` has no bundle, and then only the
    /// window's notices tell.
    private var canPostNotifications: Bool {
        Bundle.main.bundleIdentifier != nil
    }

    /// Asks for permission (macOS asks the user the first time only and remembers the
    /// answer), then has the core start deciding notifications.
    func startNotifications() {
        guard let router else { return }
        if canPostNotifications {
            UNUserNotificationCenter.current().delegate = NotificationPresenter.shared
            UNUserNotificationCenter.current().requestAuthorization(options: [.alert, .sound]) { _, error in
                if let error {
                    NSLog("Codex Router: notifications not allowed: \(error.localizedDescription)")
                }
            }
        }
        router.startNotifications()
        reloadNotificationSettings()
    }

    /// Posts one notification; its `id` (the same for the same event) is the request's
    /// identifier, so a repeat would replace rather than stack.
    func post(_ notification: RouterNotification) {
        guard canPostNotifications else { return }
        let content = UNMutableNotificationContent()
        content.title = notification.title
        content.body = notification.body
        content.threadIdentifier = notification.profile
        let request = UNNotificationRequest(identifier: notification.id, content: content, trigger: nil)
        UNUserNotificationCenter.current().add(request) { error in
            if let error {
                NSLog("Codex Router: notification not shown: \(error.localizedDescription)")
            }
        }
    }

    /// Reads which notifications are on again.
    func reloadNotificationSettings() {
        notificationSettings = router?.notificationSettings()
    }

    /// Turns one kind on or off (`router/state.json`).
    func setNotification(_ kind: NotificationKind, enabled: Bool) {
        guard let router else { return }
        do {
            try router.setNotificationEnabled(kind: kind, enabled: enabled)
        } catch {
            report("Could not change the notification setting", describe(error))
        }
        reloadNotificationSettings()
    }
}

/// Shows notifications as banners even while the app is the active one (a menu bar app is,
/// whenever its menu or window is open); macOS would otherwise drop them silently.
final class NotificationPresenter: NSObject, UNUserNotificationCenterDelegate {
    /// The one delegate (the notification center holds it weakly).
    static let shared = NotificationPresenter()

    func userNotificationCenter(
        _ center: UNUserNotificationCenter,
        willPresent notification: UNNotification,
        withCompletionHandler completionHandler: @escaping (UNNotificationPresentationOptions) -> Void
    ) {
        completionHandler([.banner, .sound, .list])
    }
}
