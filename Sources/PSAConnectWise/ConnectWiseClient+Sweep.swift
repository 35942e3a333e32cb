import OffboardingCore
import PSAHTTP

/// The sweep on ConnectWise: the open configurations of many companies in one paged query
/// (`company/id in (...)`), so that a tenant's thousands of departed clients cost a request per
/// chunk, not one each.
extension ConnectWiseClient {
    /// Companies per query: a hundred ids keep the URL near a kilobyte.
    public var sweepChunkSize: Int { 100 }

    public func activeConfigurationCounts(companyIDs: [String]) async throws(PSAError) -> [String: Int] {
        let numbers = try Self.records.companyNumbers(companyIDs)
        guard !numbers.isEmpty else { return [:] }
        let statuses = try await resolvedStatuses()
        let condition = "company/id in (\(numbers.map(String.init).joined(separator: ",")))" + statuses.leavingClosedOut
        let rows: [ConnectWiseConfiguration] = try await pages(
            of: "/company/configurations", query: [("conditions", condition), ("fields", "id,name,status,company,activeFlag")],
            what: "open configurations of \(numbers.count) companies")
        return PSARecords.activeCounts(rows.map(statuses.map), of: numbers)
    }
}
