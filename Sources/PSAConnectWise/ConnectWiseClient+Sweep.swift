import OffboardingCore
import PSAHTTP

/// The sweep on ConnectWise: the open configurations of many companies in one paged query
/// (`company/id in (...)`), so that a tenant's thousands of departed clients cost a request per
/// chunk, not one each.
extension ConnectWiseClient {
    /// Companies per query: a hundred ids keep the URL near a kilobyte.
    public var sweepChunkSize: Int { 100 }

    public func activeConfigurationCounts(companyIDs: [String]) async throws(PSAError) -> [String: Int] {
        var numbers: [Int] = []
        for id in companyIDs { numbers.append(try Self.records.companyNumber(id)) }
        guard !numbers.isEmpty else { return [:] }
        let statuses = try await resolvedStatuses()
        var condition = "company/id in (\(numbers.map(String.init).joined(separator: ",")))"
        for closed in statuses.closedIDs.sorted() { condition += " and status/id!=\(closed)" }
        let rows: [ConnectWiseConfiguration] = try await pages(
            of: "/company/configurations", query: [("conditions", condition), ("fields", "id,name,status,company,activeFlag")],
            what: "open configurations of \(numbers.count) companies")
        var counts: [String: Int] = [:]
        let asked = Set(numbers.map(String.init))
        for item in rows.map(statuses.map) where item.isActive {
            // Only the companies asked about: a PSA that ignored the filter must not start offboardings.
            guard let company = item.companyID, asked.contains(company) else { continue }
            counts[company, default: 0] += 1
        }
        return counts
    }
}
