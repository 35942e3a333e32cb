import Foundation
import OffboardingCore
import PSAHTTP

/// What the offboarding criteria read from Autotask: the company type and classification labels
/// (picklists, resolved through `entityInformation/fields`, never by fixed ids) and `Contracts`.
extension AutotaskClient {
    /// Companies whose company type or classification label is one of `types`.
    public func listCompanies(withTypes types: [String]) async throws(PSAError) -> [PSACompany] {
        let wanted = Set(types.map(Self.normalized))
        var filters: [[AutotaskFilter]] = []
        for (field, labels) in [("companyType", try await companyTypeLabels()), ("classification", try await classificationLabels())] {
            for (value, label) in labels.sorted(by: { $0.key < $1.key }) where wanted.contains(Self.normalized(label)) {
                filters.append([AutotaskFilter(op: "eq", field: field, value: .integer(value))])
            }
        }
        return try await companies(matchingAny: filters)
    }

    public func listContracts(companyID: String) async throws(PSAError) -> [PSAContract] {
        let numeric = try Self.records.companyNumber(companyID)
        return try await contracts([AutotaskFilter(op: "eq", field: "companyID", value: .integer(numeric))], what: "contracts of company \(numeric)")
    }

    public func listContracts(endedBefore date: Date) async throws(PSAError) -> [PSAContract] {
        try await contracts([AutotaskFilter(op: "lt", field: "endDate", value: .date(date.formatted(.iso8601)))], what: "contracts ended before \(date)")
    }

    private func contracts(_ filter: [AutotaskFilter], what: String) async throws(PSAError) -> [PSAContract] {
        let now = Date()
        return try await query(AutotaskContract.self, endpoint: "Contracts", filter: filter, what: what).map { contract in
            let end = contract.endDate.flatMap(PSADate.parse)
            return PSAContract(
                id: String(contract.id), name: contract.contractName ?? "Contract \(contract.id)", companyID: contract.companyID.map(String.init) ?? "",
                endDate: end, inEffect: contract.status == 1 && (end.map { $0 > now } ?? true))
        }
    }

    /// The companies any of the filters finds, each once, by id.
    func companies(matchingAny filters: [[AutotaskFilter]]) async throws(PSAError) -> [PSACompany] {
        var companies: [Int: AutotaskCompany] = [:]
        for filter in filters {
            for company in try await query(AutotaskCompany.self, endpoint: "Companies", filter: filter, what: "companies by \(filter.map(\.field))") {
                companies[company.id] = company
            }
        }
        var found: [PSACompany] = []
        for id in companies.keys.sorted() { found.append(try await psaCompany(companies[id]!)) }
        return found
    }

    /// The company as the criteria see it: `Inactive` when not active, its company type label
    /// also as a status label (as before `company_types`), and both picklist labels as types.
    func psaCompany(_ company: AutotaskCompany) async throws(PSAError) -> PSACompany {
        var type: String?
        if let value = company.companyType { type = try await companyTypeLabels()[value] }
        var classification: String?
        if let value = company.classification { classification = try await classificationLabels()[value] }
        return PSACompany(
            id: String(company.id), name: company.companyName, status: company.isActive ? "Active" : "Inactive", labels: type.map { [$0] } ?? [],
            types: [type, classification].compactMap { $0 })
    }

    func classificationLabels() async throws(PSAError) -> [Int: String] {
        try await classifications.get { () async throws(PSAError) -> [Int: String] in
            try await picklist("classification", of: "Companies")
        }
    }

    static func normalized(_ label: String) -> String {
        label.trimmingCharacters(in: .whitespaces).lowercased()
    }
}
