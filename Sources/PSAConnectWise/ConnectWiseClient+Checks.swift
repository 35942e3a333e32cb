import Foundation
import OffboardingCore
import PSAHTTP

/// The post-execution checks on ConnectWise: agreements still in effect with their additions and
/// the configurations attached to them, and the client's open service tickets.
extension ConnectWiseClient {
    public func billingStillActive(companyID: String, configurations: [PSAItem]) async throws(PSAError) -> [PSABillingTie] {
        let numeric = try Self.records.companyNumber(companyID)
        let checked = Set(configurations.map(\.id))
        let agreements: [ConnectWiseAgreement] = try await pages(
            of: "/finance/agreements", query: [("conditions", "company/id=\(numeric) and cancelledFlag=false")], what: "agreements of company \(numeric)")
        var ties: [PSABillingTie] = []
        for agreement in agreements where Self.contract(of: agreement).inEffect {
            async let additions = Result.of { () async throws(PSAError) -> [ConnectWiseAddition] in
                try await pages(of: "/finance/agreements/\(agreement.id)/additions", query: [], what: "additions of agreement \(agreement.id)")
            }
            async let configurations = Result.of { () async throws(PSAError) -> [ConnectWiseReference] in
                try await pages(of: "/finance/agreements/\(agreement.id)/configurations", query: [], what: "configurations of agreement \(agreement.id)")
            }
            let billed = try await additions.get().filter { addition in
                addition.agreementStatus?.lowercased() != "cancelled" && (addition.cancelledDate.flatMap(PSADate.parse).map { $0 > Date() } ?? true)
            }
            let attached = try await configurations.get()
            let names = billed.map { $0.product?.identifier ?? $0.description ?? "addition \($0.id)" }
            ties.append(
                PSABillingTie(
                    kind: "agreement", id: String(agreement.id), name: agreement.name,
                    configurationIDs: attached.map { String($0.id) }.filter(checked.contains).sorted(),
                    detail: billed.isEmpty ? nil : "\(billed.count) additions still billed: \(names.joined(separator: ", "))"))
        }
        return ties
    }

    /// ConnectWise ties tickets to configurations through a child route this adapter does not rely
    /// on (see docs/psa-facts.md): the client's open tickets are reported.
    public func openAlerts(companyID: String, configurations: [PSAItem]) async throws(PSAError) -> [PSAOpenAlert] {
        let numeric = try Self.records.companyNumber(companyID)
        let tickets: [ConnectWiseTicket] = try await pages(
            of: "/service/tickets", query: [("conditions", "company/id=\(numeric) and closedFlag=false"), ("fields", "id,summary,externalXRef")],
            what: "open tickets of company \(numeric)")
        // The service's own audit tickets are not alerts.
        return tickets.filter { !PSAAuditTickets.isAuditReference($0.externalXRef) }.map { PSAOpenAlert(kind: "ticket", id: String($0.id), summary: $0.summary ?? "") }
    }
}
