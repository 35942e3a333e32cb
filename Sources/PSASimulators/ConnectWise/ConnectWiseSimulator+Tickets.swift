import Foundation

/// `POST /service/tickets` as ConnectWise validates it: `summary` (1 to 100 characters) and
/// `company` are required, the company and board must exist, a status must be one of the board's,
/// `externalXRef` holds 100 characters; a refusal is a 400 `InvalidObject` naming the field.
extension ConnectWiseSimulator {
    static let sampleBoards: [Int: (name: String, statuses: [Int])] = [1: ("Service Desk", [1, 2]), 7: ("Offboarding", [21, 22])]

    /// Tickets opened through the API, oldest first (not the open alerts a test adds).
    public func createdTickets() -> [SimulatedTicket] {
        tickets.filter { $0["initialDescription"] != nil }.map { ticket in
            SimulatedTicket(
                id: ticket["id"] as! Int, companyID: (ticket["company"] as! [String: Any])["id"] as! Int, title: ticket["summary"] as! String,
                text: ticket["initialDescription"] as! String, placedIn: (ticket["board"] as! [String: Any])["id"] as! Int,
                status: (ticket["status"] as? [String: Any])?["id"] as? Int)
        }
    }

    func createTicket(_ request: SimulatedRequest) -> SimulatedResponse {
        guard request.headers["content-type"]?.hasPrefix("application/json") == true else {
            return Self.error(415, "UnsupportedMediaType", "Content-Type must be application/json")
        }
        guard let body = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any] else {
            return Self.error(400, "InvalidObject", "The request body is not a ticket object")
        }
        guard let summary = body["summary"] as? String, !summary.isEmpty else {
            return Self.invalidTicket("summary", "MissingRequiredField", "The summary field is required.")
        }
        guard summary.count <= 100 else {
            return Self.invalidTicket("summary", "MaxLengthField", "The field summary must be a string with a maximum length of 100.")
        }
        guard let companyID = Self.referenceID(body["company"]) else {
            return Self.invalidTicket("company", "MissingRequiredField", "The company field is required.")
        }
        guard data.companies.contains(where: { $0.id == companyID }) else {
            return Self.invalidTicket("company/id", "NotFound", "Company \(companyID) not found")
        }
        // The real API falls back to a default board; the simulator insists, as the adapter always names one.
        guard let boardID = Self.referenceID(body["board"]), let board = boards[boardID] else {
            return Self.invalidTicket("board/id", "NotFound", "Service Board \(Self.referenceID(body["board"]).map(String.init) ?? "nil") not found")
        }
        let statusID = Self.referenceID(body["status"]) ?? board.statuses[0]
        guard board.statuses.contains(statusID) else {
            return Self.invalidTicket("status/id", "NotFound", "Service Status \(statusID) not found for Service Board \(boardID)")
        }
        if let reference = body["externalXRef"] {
            guard let text = reference as? String, text.count <= 100 else {
                return Self.invalidTicket("externalXRef", "MaxLengthField", "The field externalXRef must be a string with a maximum length of 100.")
            }
        }
        let id = 90_000 + tickets.count
        let ticket: [String: Any] = [
            "id": id, "summary": summary, "company": ["id": companyID], "board": ["id": boardID, "name": board.name], "status": ["id": statusID],
            "closedFlag": false, "externalXRef": body["externalXRef"] as? String ?? "", "initialDescription": body["initialDescription"] as? String ?? "",
        ]
        tickets.append(ticket)
        var answer = ticket
        // Only available on POST; never returned.
        answer["initialDescription"] = nil
        return .json(201, answer)
    }

    private static func referenceID(_ value: Any?) -> Int? {
        RequestNumbers.integer((value as? [String: Any])?["id"])
    }

    private static func invalidTicket(_ field: String, _ code: String, _ message: String) -> SimulatedResponse {
        .json(400, [
            "code": "InvalidObject", "message": "ticket object is invalid",
            "errors": [["code": code, "message": message, "resource": "ticket", "field": field]],
        ])
    }
}
