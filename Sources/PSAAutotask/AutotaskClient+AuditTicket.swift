import Foundation
import OffboardingCore
import PSAHTTP

/// The audit ticket on Autotask: a ticket in the configured queue, on the client's company, with
/// the reference in `externalID` so that a repeated run finds it.
extension AutotaskClient {
    public var opensAuditTickets: Bool { configuration.auditTicket != nil }

    public func openAuditTicket(_ ticket: PSAAuditTicket) async throws(PSAError) -> PSAAuditTicketReceipt {
        let settings = try PSAAuditTickets.settings(configuration.auditTicket, of: kind)
        let company = try Self.records.companyNumber(ticket.companyID)
        let reference = PSAAuditTickets.reference(eventID: ticket.eventID)
        return try await PSAAuditTickets.findOrOpen(
            find: { () async throws(PSAError) -> String? in
                try await query(
                    AutotaskTicket.self, endpoint: "Tickets",
                    filter: [AutotaskFilter(op: "eq", field: "companyID", value: .integer(company)), AutotaskFilter(op: "eq", field: "externalID", value: .string(reference))],
                    includeFields: ["id", "externalID"], what: "audit ticket of company \(company)"
                ).first.map { String($0.id) }
            },
            open: { () async throws(PSAError) -> String in
                let body = try PSAJSON.encode(
                    AutotaskNewTicket(
                        companyID: company, title: ticket.title, description: ticket.text, queueID: settings.queueID, status: settings.status,
                        priority: settings.priority, dueDateTime: Date().addingTimeInterval(settings.dueAfter.seconds).formatted(.iso8601), externalID: reference))
                let response = try await send(.POST, endpoint: "Tickets", path: "/Tickets", body: body, repeatable: false)
                guard response.status == 200 else { throw Self.answers.updateError(for: response, what: "audit ticket of company \(company)") }
                guard let id = try Self.answers.decode(AutotaskPatchResponse.self, from: response.body).itemId else {
                    throw PSAError(code: .ticketNotCreated, message: "Autotask answered the ticket without its itemId", httpStatus: response.status)
                }
                return String(id)
            })
    }
}
