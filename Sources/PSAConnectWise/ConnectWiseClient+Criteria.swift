import Foundation
import OffboardingCore
import PSAHTTP

/// What the offboarding criteria read from ConnectWise: company statuses and their
/// `inactiveFlag`, company types, and agreements (`/finance/agreements`).
extension ConnectWiseClient {
    public func listCompanies(withTypes types: [String]) async throws(PSAError) -> [PSACompany] {
        // `types` is an array on the company: its members are filtered with childConditions.
        try await companies(matchingAny: types.map { ("childConditions", "types/name=\(Self.quoted($0))") })
    }

    public func listContracts(companyID: String) async throws(PSAError) -> [PSAContract] {
        let numeric = try Self.records.companyNumber(companyID)
        return try await agreements(condition: "company/id=\(numeric)").map(Self.contract(of:))
    }

    /// Agreements that ended before `date`, and agreements cancelled before it.
    public func listContracts(endedBefore date: Date) async throws(PSAError) -> [PSAContract] {
        let stamp = "[\(Self.conditionDate(date))]"
        let ended = try await agreements(condition: "endDate<\(stamp)") + agreements(condition: "cancelledFlag=true and dateCancelled<\(stamp)")
        var seen: Set<Int> = []
        return ended.filter { seen.insert($0.id).inserted }.map(Self.contract(of:))
    }

    public func inactiveStatusNames() async throws(PSAError) -> [String] {
        try await companyStatuses().filter { $0.inactiveFlag == true }.map(\.name)
    }

    /// The company as the criteria see it: its status's `inactiveFlag` comes from the status list.
    func psaCompany(_ company: ConnectWiseCompany, statuses: [ConnectWiseCompanyStatus]) -> PSACompany {
        let flagged = company.status.map { status in statuses.contains { $0.id == status.id && $0.inactiveFlag == true } } ?? false
        return PSACompany(
            id: String(company.id), name: company.name, status: company.status?.name ?? "", statusInactiveFlag: flagged,
            types: company.types?.compactMap(\.name) ?? [])
    }

    /// Read afresh each time (one small page): an MSP renames or flags statuses while the service
    /// runs, and a cached list would miss it.
    func companyStatuses() async throws(PSAError) -> [ConnectWiseCompanyStatus] {
        let response = try await get("/company/companies/statuses", query: [("pageSize", "1000")])
        return try Self.answers.decode([ConnectWiseCompanyStatus].self, of: response, what: "company statuses")
    }

    /// The companies any of the filters (a query parameter and its condition) finds, each once,
    /// by id, every page read; `statuses` when the caller has just read them.
    func companies(matchingAny filters: [(String, String)], statuses: [ConnectWiseCompanyStatus]? = nil) async throws(PSAError) -> [PSACompany] {
        var companies: [Int: ConnectWiseCompany] = [:]
        for filter in filters {
            let rows: [ConnectWiseCompany] = try await pages(of: "/company/companies", query: [filter], what: "companies with \(filter.1)")
            for company in rows { companies[company.id] = company }
        }
        let known: [ConnectWiseCompanyStatus]
        if let statuses { known = statuses } else { known = try await companyStatuses() }
        return companies.keys.sorted().map { psaCompany(companies[$0]!, statuses: known) }
    }

    private func agreements(condition: String) async throws(PSAError) -> [ConnectWiseAgreement] {
        try await pages(of: "/finance/agreements", query: [("conditions", condition)], what: "agreements with \(condition)")
    }

    /// Every row, by page number: a page short of the 1,000 asked for is the last.
    func pages<Row: Decodable>(of path: String, query: [(String, String)], what: String) async throws(PSAError) -> [Row] {
        try await pager.collect(from: 1, what: what) { (page: Int, _) async throws(PSAError) -> (items: [Row], next: Int?) in
            let response = try await get(path, query: query + [("orderBy", "id asc"), ("page", String(page)), ("pageSize", "1000")])
            let rows = try Self.answers.decode([Row].self, of: response, what: what)
            return (rows, rows.count == 1000 ? page + 1 : nil)
        }
    }

    /// In effect: not cancelled, not in a closed state, and its end (if any) not passed. A
    /// cancelled agreement ended when it was cancelled.
    package static func contract(of agreement: ConnectWiseAgreement) -> PSAContract {
        let end = agreement.noEndingDateFlag == true ? nil : agreement.endDate.flatMap(PSADate.parse)
        let cancelled = agreement.cancelledFlag == true
        let closedStates: Set<String> = ["cancelled", "expired", "inactive"]
        let closed = agreement.agreementStatus.map { closedStates.contains($0.lowercased()) } ?? false
        let inEffect = !cancelled && !closed && (end.map { $0 > Date() } ?? true)
        let ended = cancelled ? (agreement.dateCancelled.flatMap(PSADate.parse) ?? end) : end
        return PSAContract(
            id: String(agreement.id), name: agreement.name, companyID: agreement.company.map { String($0.id) } ?? "", endDate: ended, inEffect: inEffect)
    }

    /// ConnectWise compares dates in conditions as `[yyyy-MM-ddTHH:mm:ssZ]`.
    static func conditionDate(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}
