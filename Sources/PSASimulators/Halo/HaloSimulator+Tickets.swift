import Foundation

/// `POST /api/Tickets` as the simulator holds HaloPSA to it: an array of tickets, each with a
/// `summary`, an existing `client_id` and `tickettype_id`, and a `status_id` of the known ones
/// when given. Like the asset route, the whole array is validated before anything is created, and
/// a refusal is a 400 keyed by the refused field. The answer is the created ticket.
extension HaloSimulator {
    static let sampleTicketTypes: [Int: String] = [1: "Incident", 3: "Change Request", 21: "Offboarding record"]
    static let ticketStatuses: Set<Int> = [1, 2, 9]

    /// Tickets opened through the API, oldest first.
    public func createdTickets() -> [SimulatedTicket] {
        tickets.filter { $0["details"] != nil }.map { ticket in
            SimulatedTicket(
                id: ticket["id"] as! Int, companyID: ticket["client_id"] as! Int, title: ticket["summary"] as! String, text: ticket["details"] as! String,
                placedIn: ticket["tickettype_id"] as! Int, status: ticket["status_id"] as? Int)
        }
    }

    func postTickets(_ request: SimulatedRequest) -> SimulatedResponse {
        guard request.headers["content-type"]?.hasPrefix("application/json") == true else {
            return .json(415, ["Message": "The request entity's media type is not supported."])
        }
        guard let items = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [[String: Any]], !items.isEmpty else {
            return .json(400, ["": "The body must be a non-empty JSON array of tickets."])
        }
        var refused: [String: String] = [:]
        var created: [[String: Any]] = []
        for (index, item) in items.enumerated() {
            func integer(_ key: String) -> Int? { RequestNumbers.integer(item[key]) }
            guard let summary = item["summary"] as? String, !summary.trimmingCharacters(in: .whitespaces).isEmpty else {
                refused["[\(index)].summary"] = "A summary is required."
                continue
            }
            guard let client = integer("client_id"), data.clients.contains(where: { $0.id == client }) else {
                refused["[\(index)].client_id"] = "Client \(integer("client_id").map(String.init) ?? "nil") does not exist."
                continue
            }
            guard let type = integer("tickettype_id"), ticketTypes[type] != nil else {
                refused["[\(index)].tickettype_id"] = "Ticket type \(integer("tickettype_id").map(String.init) ?? "nil") does not exist."
                continue
            }
            if item["status_id"] != nil, !(integer("status_id").map(Self.ticketStatuses.contains) ?? false) {
                refused["[\(index)].status_id"] = "Status \(integer("status_id").map(String.init) ?? "nil") does not exist."
                continue
            }
            created.append([
                "id": 50_000 + tickets.count + created.count, "summary": summary, "details": item["details"] as? String ?? "", "client_id": client,
                "tickettype_id": type, "status_id": integer("status_id") ?? 1, "closed": false,
            ])
        }
        guard refused.isEmpty else { return .json(400, refused) }
        tickets += created
        let answers = created.map { ticket in ticket.filter { $0.key != "details" } }
        return .json(201, answers.count == 1 ? answers[0] as Any : answers as Any)
    }
}
