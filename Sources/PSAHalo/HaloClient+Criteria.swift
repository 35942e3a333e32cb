import Foundation
import OffboardingCore
import PSAHTTP

/// What the offboarding criteria read from HaloPSA: the client type (`customertype`, named through
/// `/api/CustomerType`) and client contracts (`/api/ClientContract`).
extension HaloClient {
    /// Clients of one of the types, active or not. Halo's client list takes no type filter that
    /// this adapter relies on, so the list is read once and filtered here.
    public func listCompanies(withTypes types: [String]) async throws(PSAError) -> [PSACompany] {
        let names = try await clientTypeNames()
        let wanted = Set(names.filter { entry in types.contains { $0.trimmingCharacters(in: .whitespaces).caseInsensitiveCompare(entry.value) == .orderedSame } }.keys)
        guard !wanted.isEmpty else { return [] }
        let response = try await get("/api/Client", query: [("includeinactive", "true"), ("includeactive", "true")])
        let clients = try Self.answers.decode(HaloClientList.self, of: response, what: "clients").clients
        var found: [PSACompany] = []
        for client in clients.filter({ $0.customertype.map(wanted.contains) == true }).sorted(by: { $0.id < $1.id }) {
            found.append(try await psaCompany(client))
        }
        return found
    }

    public func listContracts(companyID: String) async throws(PSAError) -> [PSAContract] {
        let numeric = try Self.records.companyNumber(companyID)
        return try await contracts(query: [("client_id", String(numeric))], what: "contracts of client \(numeric)")
    }

    /// Every contract read once, paged, and those that ended before `date` kept.
    public func listContracts(endedBefore date: Date) async throws(PSAError) -> [PSAContract] {
        try await contracts(query: [], what: "client contracts").filter { contract in contract.endDate.map { $0 < date } ?? false }
    }

    private func contracts(query: [(String, String)], what: String) async throws(PSAError) -> [PSAContract] {
        let contracts = try await pager.numbered(what: what) { (page: Int) async throws(PSAError) in
            let response = try await get(
                "/api/ClientContract", query: query + [("pageinate", "true"), ("page_size", String(configuration.pageSize)), ("page_no", String(page))])
            let body = try Self.answers.decode(HaloContractList.self, of: response, what: what)
            return (body.contracts, body.record_count)
        }
        let now = Date()
        return contracts.map { contract in
            let end = contract.end_date.flatMap(Self.parseDate)
            return PSAContract(
                id: String(contract.id), name: contract.ref ?? "Contract \(contract.id)", companyID: contract.client_id.map(String.init) ?? "",
                endDate: end, inEffect: contract.expired != true && contract.active != false && (end.map { $0 > now } ?? true))
        }
    }

    /// The client as the criteria see it: `Inactive` or `Active`, and its type's name.
    func psaCompany(_ client: HaloClientRecord) async throws(PSAError) -> PSACompany {
        var types: [String] = []
        if let type = client.customertype, let name = try await clientTypeNames()[type] { types.append(name) }
        return PSACompany(id: String(client.id), name: client.name, status: client.inactive == true ? "Inactive" : "Active", types: types)
    }

    func clientTypeNames() async throws(PSAError) -> [Int: String] {
        try await clientTypes.get { () async throws(PSAError) -> [Int: String] in
            let response = try await get("/api/CustomerType")
            let types = try Self.answers.decode([HaloClientType].self, of: response, what: "client types")
            return Dictionary(types.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// Halo writes `1900-01-01` for "none".
    package static func parseDate(_ text: String) -> Date? {
        guard let date = PSADate.parse(text) else { return nil }
        return date < Date(timeIntervalSince1970: -2_177_452_800 + 86_400 * 366) ? nil : date
    }
}
