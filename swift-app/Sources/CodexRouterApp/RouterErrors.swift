import CodexRouter
import Foundation

/// The message of an error from the core (or of any other error), for people.
func describe(_ error: Error) -> String {
    if let error = error as? RouterError {
        return error.message
    }
    return error.localizedDescription
}

extension RouterError {
    /// The readable message every case carries (never a token or key).
    var message: String {
        switch self {
        case .BadName(let message), .NotFound(let message), .Exists(let message),
             .Unusable(let message), .NoLogin(let message), .UnsavedLogin(let message),
             .NeedsSignIn(let message), .Network(let message), .Login(let message),
             .Cancelled(let message), .Proxy(let message), .Settings(let message),
             .CodexConfig(let message), .ClaudeConfig(let message), .Invalid(let message),
             .Io(let message), .Other(let message):
            return message
        }
    }
}
