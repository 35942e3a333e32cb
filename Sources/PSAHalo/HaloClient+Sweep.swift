import OffboardingCore
import PSAHTTP

/// The sweep on HaloPSA: the active assets of many clients in one paged listing (`client_ids`, a
/// newer parameter of `GET /api/Asset`; see docs/psa-facts.md). An instance that ignores it
/// answers every active asset, and the counts stay right: only the clients asked about are
/// counted, at the cost of more pages.
extension HaloClient {
    /// Clients per listing: a hundred ids keep the URL near a kilobyte.
    public var sweepChunkSize: Int { 100 }

    public func activeConfigurationCounts(companyIDs: [String]) async throws(PSAError) -> [String: Int] {
        let numbers = try Self.records.companyNumbers(companyIDs)
        guard !numbers.isEmpty else { return [:] }
        let what = "active assets of \(numbers.count) clients"
        let assets = try await pager.numbered(what: what) { (page: Int) async throws(PSAError) in
            let response = try await get(
                "/api/Asset",
                query: [
                    ("client_ids", numbers.map(String.init).joined(separator: ",")), ("includeactive", "true"), ("includeinactive", "false"),
                    ("pageinate", "true"), ("page_size", String(configuration.pageSize)), ("page_no", String(page)),
                ])
            let body = try Self.answers.decode(HaloAssetPage.self, of: response, what: what)
            return (body.assets, body.record_count)
        }
        return PSARecords.activeCounts(assets.map(Self.configuration(of:)), of: numbers)
    }
}
