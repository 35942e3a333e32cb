import OffboardingCore
import PSAHTTP

/// The post-execution checks on HaloPSA: client contracts in effect and the assets they bill (the
/// asset's `contract_id`), recurring invoices of the client, and its open tickets.
extension HaloClient {
    public func billingStillActive(companyID: String, configurations: [PSAItem]) async throws(PSAError) -> [PSABillingTie] {
        var ties = try await listContracts(companyID: companyID).filter(\.inEffect).map { contract in
            PSABillingTie(
                kind: "contract", id: contract.id, name: contract.name,
                configurationIDs: configurations.filter { $0.contractID == contract.id }.map(\.id).sorted())
        }
        let response = try await get("/api/RecurringInvoice", query: [("client_id", companyID)])
        let what = "recurring invoices of client \(companyID)"
        let invoices = try Self.answers.decode(HaloRecurringInvoiceList.self, of: response, what: what).invoices
        ties += invoices.filter { $0.inactive != true }.map { invoice in
            PSABillingTie(
                kind: "recurring invoice", id: String(invoice.id), name: invoice.invoicenumber ?? "Recurring invoice \(invoice.id)",
                detail: invoice.contract_id.flatMap { $0 > 0 ? "under contract \($0)" : nil })
        }
        return ties
    }

    /// Halo's ticket list is filtered by client; which asset a ticket concerns is not a filter this
    /// adapter relies on (see docs/psa-facts.md), so the client's open tickets are reported.
    public func openAlerts(companyID: String, configurations: [PSAItem]) async throws(PSAError) -> [PSAOpenAlert] {
        let response = try await get("/api/Tickets", query: [("client_id", companyID), ("open_only", "true")])
        let tickets = try Self.answers.decode(HaloTicketList.self, of: response, what: "open tickets of client \(companyID)").tickets
        // The service's own audit tickets are not alerts.
        return tickets.filter { !PSAAuditTickets.isAuditReference($0.summary) }.map { PSAOpenAlert(kind: "ticket", id: String($0.id), summary: $0.summary ?? "") }
    }
}
