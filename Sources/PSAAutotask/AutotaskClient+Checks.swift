import OffboardingCore

/// The post-execution checks on Autotask: contracts in effect and the items they bill (the item's
/// `contractID`), and the open RMM alerts the items count (`rmmOpenAlertCount`), both read with
/// the listing the run already made.
extension AutotaskClient {
    public func billingStillActive(companyID: String, configurations: [PSAConfiguration]) async throws(PSAError) -> [PSABillingTie] {
        try await listContracts(companyID: companyID).filter(\.inEffect).map { contract in
            PSABillingTie(
                kind: "contract", id: contract.id, name: contract.name,
                configurationIDs: configurations.filter { $0.contractID == contract.id }.map(\.id).sorted())
        }
    }

    public func openAlerts(companyID: String, configurations: [PSAConfiguration]) async throws(PSAError) -> [PSAOpenAlert] {
        configurations.compactMap { config in
            guard let count = config.openAlertCount, count > 0 else { return nil }
            return PSAOpenAlert(kind: "rmm alerts", id: config.id, summary: "\(count) open RMM alerts on \(config.name)", configurationIDs: [config.id])
        }
    }
}
