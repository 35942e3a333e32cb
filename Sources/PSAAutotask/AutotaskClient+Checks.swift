import OffboardingCore
import PSAHTTP

/// The post-execution checks on Autotask: contracts in effect and the items they bill (the item's
/// `contractID`, or the contract of its `contractServiceID`), and the open RMM alerts the items
/// count (`rmmOpenAlertCount`), both read with the listing the run already made.
extension AutotaskClient {
    public func billingStillActive(companyID: String, configurations: [PSAItem]) async throws(PSAError) -> [PSABillingTie] {
        let contracts = try await listContracts(companyID: companyID).filter(\.inEffect)
        guard !contracts.isEmpty else { return [] }
        let serviceContracts = try await contractsOfServices(configurations.filter { $0.contractID == nil }.compactMap(\.contractServiceID))
        func contractID(of config: PSAItem) -> String? { config.contractID ?? config.contractServiceID.flatMap { serviceContracts[$0] } }
        return contracts.map { contract in
            let billed = configurations.filter { contractID(of: $0) == contract.id }.sorted { $0.id < $1.id }
            let services = billed.compactMap { config in config.contractServiceID.map { "configuration \(config.id) through contract service \($0)" } }
            return PSABillingTie(
                kind: "contract", id: contract.id, name: contract.name, configurationIDs: billed.map(\.id),
                detail: services.isEmpty ? nil : services.joined(separator: ", "))
        }
    }

    /// The contract of each service, for items that name only the service: one query per 500
    /// services, the most values an `in` condition is given here.
    private func contractsOfServices(_ ids: [String]) async throws(PSAError) -> [String: String] {
        let numeric = Set(ids.compactMap(PSARecordID.parse)).sorted()
        var contracts: [String: String] = [:]
        for start in stride(from: 0, to: numeric.count, by: 500) {
            let chunk = Array(numeric[start..<min(start + 500, numeric.count)])
            let services = try await query(
                AutotaskContractService.self, endpoint: "ContractServices", filter: [AutotaskFilter(op: "in", field: "id", value: .integers(chunk))],
                includeFields: ["id", "contractID"], what: "contract services \(chunk)")
            for service in services { contracts[String(service.id)] = service.contractID.map(String.init) }
        }
        return contracts
    }

    public func openAlerts(companyID: String, configurations: [PSAItem]) async throws(PSAError) -> [PSAOpenAlert] {
        configurations.compactMap { config in
            guard let count = config.openAlertCount, count > 0 else { return nil }
            return PSAOpenAlert(kind: "rmm alerts", id: config.id, summary: "\(count) open RMM alerts on \(config.name)", configurationIDs: [config.id])
        }
    }
}
