import Foundation

/// `POST /Tickets` as Autotask validates it: `companyID`, `title` (at most 255 characters),
/// `status` and `priority` (picklist values), a `queueID` (or an assigned resource with its role)
/// and `dueDateTime` are required; `description` holds 8,000 characters and `externalID` 50. A
/// refusal is a 500 with `{"errors": [...]}`, as Autotask answers a failed create.
extension AutotaskSimulator {
    static let sampleQueues: [Int: String] = [5: "Monitoring Alert", 8: "Offboarding"]
    static let ticketStatuses: Set<Int> = [1, 5, 8]
    static let ticketPriorities: Set<Int> = [1, 2, 3, 4]

    /// Tickets opened through the API, oldest first.
    public func createdTickets() -> [SimulatedTicket] {
        tickets.map { ticket in
            SimulatedTicket(
                id: ticket["id"] as! Int, companyID: ticket["companyID"] as! Int, title: ticket["title"] as! String,
                text: ticket["description"] as? String ?? "", placedIn: ticket["queueID"] as! Int, status: ticket["status"] as? Int)
        }
    }

    func createTicket(_ request: SimulatedRequest) -> SimulatedResponse {
        guard request.headers["content-type"]?.hasPrefix("application/json") == true else {
            return Self.errors(415, "Content-Type must be application/json.")
        }
        guard let body = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any] else {
            return Self.errors(500, "The ticket is not a JSON object.")
        }
        let known: Set<String> = ["id", "companyID", "title", "description", "status", "priority", "queueID", "dueDateTime", "externalID", "assignedResourceID", "assignedResourceRoleID"]
        if let unknown = body.keys.first(where: { !known.contains($0) }) { return Self.errors(500, "Unable to find \(unknown) in the Tickets entity.") }
        func integer(_ key: String) -> Int? { RequestNumbers.integer(body[key]) }
        guard let companyID = integer("companyID") else { return Self.errors(500, "companyID is required.; on record number [0].") }
        guard data.companies.contains(where: { $0.id == companyID }) else { return Self.errors(500, "Company \(companyID) does not exist.; on record number [0].") }
        guard let title = body["title"] as? String, !title.isEmpty else { return Self.errors(500, "title is required.; on record number [0].") }
        guard title.count <= 255 else { return Self.errors(500, "title exceeds 255 characters.; on record number [0].") }
        guard (body["description"] as? String)?.count ?? 0 <= 8000 else { return Self.errors(500, "description exceeds 8000 characters.; on record number [0].") }
        guard let status = integer("status"), Self.ticketStatuses.contains(status) else {
            return Self.errors(500, "status is required and must be a picklist value.; on record number [0].")
        }
        guard let priority = integer("priority"), Self.ticketPriorities.contains(priority) else {
            return Self.errors(500, "priority is required and must be a picklist value.; on record number [0].")
        }
        let queue = integer("queueID")
        guard queue != nil || (integer("assignedResourceID") != nil && integer("assignedResourceRoleID") != nil) else {
            return Self.errors(500, "A ticket needs a queueID, or an assignedResourceID with its assignedResourceRoleID.; on record number [0].")
        }
        if let queue, ticketQueues[queue] == nil { return Self.errors(500, "queueID \(queue) is not a picklist value.; on record number [0].") }
        guard let due = body["dueDateTime"] as? String, (try? Date(due, strategy: .iso8601)) != nil else {
            return Self.errors(500, "dueDateTime is required.; on record number [0].")
        }
        if let reference = body["externalID"] {
            guard let text = reference as? String, text.count <= 50 else { return Self.errors(500, "externalID exceeds 50 characters.; on record number [0].") }
        }
        let id = 700_000 + tickets.count
        tickets.append([
            "id": id, "companyID": companyID, "title": title, "description": body["description"] as? String ?? "", "status": status, "priority": priority,
            "queueID": queue ?? 0, "dueDateTime": due, "externalID": body["externalID"] as? String ?? "",
        ])
        return .json(200, ["itemId": id])
    }
}
