import OffboardingCore
import PSAHTTP

/// The audit ticket on ConnectWise: a service ticket on the configured board, tied to the client's
/// company, with the reference in `externalXRef` (the field ConnectWise keeps for another system's
/// id) so that a repeated run finds it.
extension ConnectWiseClient {
    public var opensAuditTickets: Bool { configuration.auditTicket != nil }

    public func openAuditTicket(_ ticket: PSAAuditTicket) async throws(PSAError) -> PSAAuditTicketReceipt {
        let settings = try PSAAuditTickets.settings(configuration.auditTicket, of: kind)
        let company = try Self.records.companyNumber(ticket.companyID)
        let reference = PSAAuditTickets.reference(eventID: ticket.eventID)
        return try await PSAAuditTickets.findOrOpen(
            find: { () async throws(PSAError) -> String? in
                let response = try await get(
                    "/service/tickets",
                    query: [("conditions", "company/id=\(company) and externalXRef=\(Self.quoted(reference))"), ("fields", "id,summary"), ("pageSize", "1")])
                return try Self.answers.decode([ConnectWiseTicket].self, of: response, what: "audit ticket of company \(company)").first.map { String($0.id) }
            },
            open: { () async throws(PSAError) -> String in
                let body = try PSAJSON.encode(
                    ConnectWiseNewTicket(
                        summary: ticket.title, company: .init(id: company), board: .init(id: settings.boardID), status: settings.statusID.map { .init(id: $0) },
                        initialDescription: ticket.text, externalXRef: reference))
                let response = try await transport.send(
                    .POST, url: configuration.baseURL + "/service/tickets", headers: headers(json: true), body: body, repeatable: false)
                guard (200..<300).contains(response.status) else { throw Self.answers.updateError(for: response, what: "audit ticket of company \(company)") }
                return String(try Self.answers.decode(ConnectWiseTicket.self, from: response.body).id)
            })
    }
}
