import CodexRouter
import SwiftUI

/// What a name is asked for.
struct NameRequest: Identifiable {
    enum Kind {
        /// Save the login Codex uses now as a profile.
        case saveCurrent
        /// Rename this profile.
        case rename(String)
    }

    let id = UUID()
    let kind: Kind
    /// The name the field starts with.
    let initial: String

    /// Save the current login, starting from a suggested name.
    static func saveCurrent(suggested: String) -> NameRequest {
        NameRequest(kind: .saveCurrent, initial: suggested)
    }

    /// Rename `old`.
    static func rename(_ old: String) -> NameRequest {
        NameRequest(kind: .rename(old), initial: old)
    }

    var title: String {
        switch kind {
        case .saveCurrent: return "Save the current login as a profile"
        case .rename(let old): return "Rename “\(old)”"
        }
    }

    var confirm: String {
        switch kind {
        case .saveCurrent: return "Save"
        case .rename: return "Rename"
        }
    }
}

/// Asks for a profile name and does what it is for; a refusal (a taken or invalid name)
/// shows below the field and keeps the sheet open.
@MainActor
struct NameSheet: View {
    let request: NameRequest
    @EnvironmentObject private var model: RouterModel
    @Environment(\.dismiss) private var dismiss
    @State private var name = ""
    @State private var failure: String?

    // Written out: the private state would make the synthesized one private.
    init(request: NameRequest) {
        self.request = request
    }

    private var trimmed: String {
        name.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    var body: some View {
        VStack(alignment: .leading, spacing: 12) {
            Text(request.title)
                .font(.headline)
            if case .saveCurrent = request.kind, let who = model.unsavedLoginWho {
                Text("Save the login Codex uses now (\(who)) as a profile.")
                    .fixedSize(horizontal: false, vertical: true)
            }
            TextField("Profile name", text: $name, prompt: Text("e.g. work"))
                .onSubmit(submit)
            if let failure {
                Text(failure)
                    .foregroundStyle(Tone.error.color)
                    .fixedSize(horizontal: false, vertical: true)
            }
            HStack {
                Spacer()
                Button("Cancel", role: .cancel) { dismiss() }
                    .keyboardShortcut(.cancelAction)
                Button(request.confirm, action: submit)
                    .keyboardShortcut(.defaultAction)
                    .disabled(trimmed.isEmpty)
            }
        }
        .padding(20)
        .frame(width: 380)
        .onAppear { name = request.initial }
    }

    private func submit() {
        guard !trimmed.isEmpty else { return }
        do {
            switch request.kind {
            case .saveCurrent: try model.saveCurrentLogin(as: trimmed)
            case .rename(let old): try model.rename(old, to: trimmed)
            }
            dismiss()
        } catch {
            failure = describe(error)
        }
    }
}
