import OffboardingCore
import PSAHTTP

/// The reason line on Autotask items, as a `ConfigurationItemNotes` record of its own: a new note
/// never rewrites the MSP's text (the API returns rich-text fields as plain text, and sending one
/// back loses its formatting), and one note per item per event (see `EventNotes`).
extension AutotaskClient {
    func writeNote(_ note: ReasonNote, onItem id: Int) async throws(PSAError) {
        let title = Self.noteTitle(note)
        let noted = try await eventNotes.noted(eventID: note.eventID) { [self] in
            do throws(PSAError) {
                let notes = try await query(
                    AutotaskItemNote.self, endpoint: "ConfigurationItemNotes", filter: [AutotaskFilter(op: "eq", field: "title", value: .string(title))],
                    includeFields: ["id", "configurationItemID", "title"], what: "notes of event \(note.eventID)")
                return .success(Set(notes.map(\.configurationItemID)))
            } catch {
                return .failure(error)
            }
        }
        guard !noted.contains(id) else { return }
        let body = try PSAJSON.encode(
            AutotaskItemNote(configurationItemID: id, title: title, description: note.line, noteType: try await noteTypeValue()))
        let response = try await send(.POST, endpoint: "ConfigurationItems", path: "/ConfigurationItems/\(id)/Notes", body: body)
        _ = try Self.answers.body(of: response, what: "note on configuration item \(id)")
        eventNotes.created(id, eventID: note.eventID)
    }

    /// Names the event, so that its notes are found again by title; within Autotask's 250 characters.
    static func noteTitle(_ note: ReasonNote) -> String {
        String("\(ReasonNote.marker) \(note.change.verb) (event \(note.eventID))".prefix(250))
    }

    /// The first active `noteType` of the tenant: the picklist is each tenant's own.
    private func noteTypeValue() async throws(PSAError) -> Int {
        try await noteTypes.get { () async throws(PSAError) -> Int in
            guard let first = try await picklist("noteType", of: "ConfigurationItemNotes").keys.min() else {
                throw PSAError(code: .configUpdateFailed, message: "Autotask has no noteType for configuration item notes")
            }
            return first
        }
    }
}
