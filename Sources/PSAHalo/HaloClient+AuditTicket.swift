import OffboardingCore
import PSAHTTP

/// The audit ticket on HaloPSA: a ticket of the configured type on the client. Halo's ticket
/// list searches the summary, not a reference field, so the reference opens the summary (first,
/// so that no limit on the summary's length can cut it off) and a repeated run finds it there,
/// checking the match itself: the search is a substring search.
extension HaloClient {
    public var opensAuditTickets: Bool { configuration.auditTicket != nil }

    public func openAuditTicket(_ ticket: PSAAuditTicket) async throws(PSAError) -> PSAAuditTicketReceipt {
        let settings = try PSAAuditTickets.settings(configuration.auditTicket, of: kind)
        let client = try Self.records.companyNumber(ticket.companyID)
        let reference = PSAAuditTickets.reference(eventID: ticket.eventID)
        let summary = "[\(reference)] \(ticket.title)"
        return try await PSAAuditTickets.findOrOpen(
            find: { () async throws(PSAError) -> String? in
                let response = try await get(
                    "/api/Tickets",
                    query: [("client_id", String(client)), ("search_summary", reference), ("pageinate", "true"), ("page_size", "10"), ("page_no", "1")])
                let list = try Self.answers.decode(HaloTicketList.self, of: response, what: "audit ticket of client \(client)")
                return list.tickets.first { $0.summary?.hasPrefix("[\(reference)]") == true }.map { String($0.id) }
            },
            open: { () async throws(PSAError) -> String in
                let body = try PSAJSON.encode([
                    HaloNewTicket(summary: summary, details: ticket.text, client_id: client, tickettype_id: settings.ticketTypeID, status_id: settings.statusID)
                ])
                let response = try await send(.POST, path: "/api/Tickets", body: body, repeatable: false)
                guard (200..<300).contains(response.status) else { throw Self.answers.updateError(for: response, what: "audit ticket of client \(client)") }
                // Halo answers the created ticket; clients read it as an object, an array or a list.
                if let created = PSAJSON.decodeIfPossible(HaloTicket.self, from: response.body) { return String(created.id) }
                if let created = PSAJSON.decodeIfPossible([HaloTicket].self, from: response.body)?.first { return String(created.id) }
                if let created = PSAJSON.decodeIfPossible(HaloTicketList.self, from: response.body)?.tickets.first { return String(created.id) }
                throw PSAError(code: .ticketNotCreated, message: "HaloPSA answered the ticket without its id", httpStatus: response.status)
            })
    }
}
