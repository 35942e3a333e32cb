import OffboardingCore
import PSAHTTP

/// The sweep on Autotask: the active items of many companies in one paged query (`in` on
/// `companyID`, which takes up to 500 values), so that the thousands of departed clients a tenant
/// keeps cost a query per 500, not one each from the shared hourly threshold.
extension AutotaskClient {
    public var sweepChunkSize: Int { 500 }

    public func activeConfigurationCounts(companyIDs: [String]) async throws(PSAError) -> [String: Int] {
        let numbers = try Self.records.companyNumbers(companyIDs)
        guard !numbers.isEmpty else { return [:] }
        let items = try await query(
            AutotaskConfigurationItem.self, endpoint: "ConfigurationItems",
            filter: [AutotaskFilter(op: "in", field: "companyID", value: .integers(numbers)), AutotaskFilter(op: "eq", field: "isActive", value: .bool(true))],
            includeFields: ["id", "companyID", "isActive"], what: "active configuration items of \(numbers.count) companies")
        let configurations = items.map { PSAItem(id: String($0.id), name: "", isActive: $0.isActive, companyID: $0.companyID.map(String.init)) }
        return PSARecords.activeCounts(configurations, of: numbers)
    }
}
