import OffboardingCore
import PSAHTTP

/// The sweep on Autotask: the active items of many companies in one paged query (`in` on
/// `companyID`, which takes up to 500 values), so that the thousands of departed clients a tenant
/// keeps cost a query per 500, not one each from the shared hourly threshold.
extension AutotaskClient {
    public var sweepChunkSize: Int { 500 }

    public func activeConfigurationCounts(companyIDs: [String]) async throws(PSAError) -> [String: Int] {
        var numbers: [Int] = []
        for id in companyIDs { numbers.append(try Self.records.companyNumber(id)) }
        guard !numbers.isEmpty else { return [:] }
        let items = try await query(
            AutotaskConfigurationItem.self, endpoint: "ConfigurationItems",
            filter: [AutotaskFilter(op: "in", field: "companyID", value: .integers(numbers)), AutotaskFilter(op: "eq", field: "isActive", value: .bool(true))],
            includeFields: ["id", "companyID", "isActive"], what: "active configuration items of \(numbers.count) companies")
        var counts: [String: Int] = [:]
        let asked = Set(numbers)
        for item in items where item.isActive {
            // Only the companies asked about: a PSA that ignored the filter must not start offboardings.
            guard let company = item.companyID, asked.contains(company) else { continue }
            counts[String(company), default: 0] += 1
        }
        return counts
    }
}
