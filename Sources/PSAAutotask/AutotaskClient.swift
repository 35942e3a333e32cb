import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1
import OffboardingCore
import PSAHTTP

/// The Autotask PSA adapter: `ApiIntegrationCode`/`UserName`/`Secret` headers, zone discovery,
/// companies by id (`{"item": null}` is not found) or exact name, configuration items through
/// `ConfigurationItems/query` (500 a page, `pageDetails.nextPageUrl`), deactivation by
/// `PATCH ConfigurationItems` with `{"id", "isActive": false}`, and never more than 3 requests in
/// flight per endpoint, Autotask's thread limit.
public struct AutotaskClient: PSAClient {
    public var kind: PSAKind { .autotask }

    let configuration: Configuration
    let transport: PSAHTTPTransport
    private let logger: Logger
    let pager: PSAPager
    private let baseURL = CachedValue<String>()
    private let companyTypes = CachedValue<[Int: String]>()
    let classifications = CachedValue<[Int: String]>()
    let noteTypes = CachedValue<Int>()
    let eventNotes = EventNotes()
    private let itemTypes = CachedValue<[Int: String]>()
    private let threads: AutotaskThreads

    public init(configuration: Configuration, httpClient: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.pager = PSAPager(psa: Self.answers.psa, logger: logger)
        self.transport = PSAHTTPTransport(
            httpClient: httpClient,
            configuration: configuration.http,
            logger: logger, psa: "autotask", isSlowDown: Self.isThreadLimitError)
        self.threads = AutotaskThreads(perEndpoint: configuration.threadsPerEndpoint)
    }

    /// Autotask's thread-limit error (`Itgenatr005`) says "slow down", whatever its HTTP status.
    package static func isThreadLimitError(_ response: PSAHTTPTransport.Response) -> Bool {
        guard response.status >= 400 else { return false }
        let text = String(decoding: response.body.prefix(4096), as: UTF8.self).lowercased()
        return text.contains("itgenatr005") || text.contains("thread threshold")
    }

    // MARK: PSAClient

    public func findCompany(_ reference: ClientReference) async throws(PSAError) -> PSACompany {
        let company: AutotaskCompany
        switch reference {
        case .id(let id):
            let numeric = try Self.records.companyNumber(id)
            let response = try await send(.GET, endpoint: "Companies", path: "/Companies/\(numeric)")
            let item = try Self.answers.decode(AutotaskItemResponse<AutotaskCompany>.self, of: response, what: "company \(numeric)")
            guard let found = item.item else {
                throw PSAError(code: .clientNotFound, message: "Autotask has no company \(numeric) (or the API user may not see it)")
            }
            company = found
        case .name(let name):
            let candidates = try await query(
                AutotaskCompany.self, endpoint: "Companies",
                filter: [AutotaskFilter(op: "eq", field: "companyName", value: .string(name))], what: "companies named \(name)")
            company = try Self.records.exactlyOne(candidates, named: name, by: \.companyName, id: \.id)
        }
        return try await psaCompany(company)
    }

    public func listConfigurations(companyID: String, includeArchived: Bool) async throws(PSAError) -> [PSAItem] {
        let numeric = try Self.records.companyNumber(companyID)
        var filter = [AutotaskFilter(op: "eq", field: "companyID", value: .integer(numeric))]
        if !includeArchived { filter.append(AutotaskFilter(op: "eq", field: "isActive", value: .bool(true))) }
        let items = try await query(
            AutotaskConfigurationItem.self, endpoint: "ConfigurationItems", filter: filter,
            includeFields: [
                "id", "companyID", "referenceTitle", "isActive", "configurationItemType", "contractID", "contractServiceID", "rmmOpenAlertCount",
                "lastModifiedTime",
            ],
            what: "configuration items of company \(numeric)")
        // The type is a picklist id; scope.* names types by their label, as the PSA shows them.
        let types = items.contains { $0.configurationItemType != nil } ? try await itemTypeLabels() : [:]
        return items.map { item in
            PSAItem(
                id: String(item.id), name: item.referenceTitle ?? "Configuration item \(item.id)", isActive: item.isActive,
                psaStatus: item.isActive ? "Active" : "Inactive", typeName: item.configurationItemType.flatMap { types[$0] },
                companyID: item.companyID.map(String.init), contractID: item.contractID.map(String.init),
                contractServiceID: item.contractServiceID.map(String.init), openAlertCount: item.rmmOpenAlertCount,
                lastModified: item.lastModifiedTime)
        }
    }

    /// The note is a `ConfigurationItemNotes` record of its own (see `writeNote`): one more request
    /// per item, and one query per event.
    public var writesNotes: Bool { true }

    public func deactivate(_ config: PSAItem, note: ReasonNote?) async throws(PSAError) -> PSAItem {
        try await setActive(config, to: false, note: note)
    }

    /// `PATCH ConfigurationItems` with `isActive`, then the note.
    func setActive(_ config: PSAItem, to active: Bool, note: ReasonNote?) async throws(PSAError) -> PSAItem {
        let numeric = try Self.records.configurationNumber(config.id)
        let body = try PSAJSON.encode(AutotaskConfigurationItemPatch(id: numeric, isActive: active))
        let response = try await send(.PATCH, endpoint: "ConfigurationItems", path: "/ConfigurationItems", body: body)
        switch response.status {
        case 200..<300:
            // Autotask answers only `{"itemId": N}`; a 2xx for this id means the change was saved.
            let answer = try Self.answers.decode(AutotaskPatchResponse.self, from: response.body)
            guard answer.itemId == numeric else {
                throw PSAError(code: .configUpdateFailed, message: "Autotask confirmed item \(answer.itemId.map(String.init) ?? "none") instead of \(numeric)")
            }
            if let note {
                // The change stands whatever happens to its note: a note that cannot be written
                // is logged, and does not turn a change that happened into a failure.
                do {
                    try await writeNote(note, onItem: numeric)
                } catch {
                    logger.error("reason note not written", metadata: ["psa.config.id": "\(numeric)", "psa.error": "\(error)"])
                }
            }
            var updated = config
            updated.isActive = active
            updated.psaStatus = active ? "Active" : "Inactive"
            return updated
        default:
            // Business-rule failures come back as 500 with `errors`.
            throw Self.answers.updateError(for: response, what: "configuration item \(numeric)")
        }
    }

    /// Inactive companies (status `Inactive`) and companies whose type label is one of `statuses`.
    public func listCompanies(withStatuses statuses: [String]) async throws(PSAError) -> [PSACompany] {
        let wanted = Set(statuses.map(Self.normalized))
        let labels = try await companyTypeLabels()
        var filters: [[AutotaskFilter]] = []
        if wanted.contains("inactive") { filters.append([AutotaskFilter(op: "eq", field: "isActive", value: .bool(false))]) }
        for (type, label) in labels.sorted(by: { $0.key < $1.key }) where wanted.contains(Self.normalized(label)) {
            filters.append([AutotaskFilter(op: "eq", field: "companyType", value: .integer(type))])
        }
        return try await companies(matchingAny: filters)
    }

    public func probe() async throws(PSAError) {
        let response = try await send(.GET, endpoint: "ThresholdInformation", path: "/ThresholdInformation")
        _ = try Self.answers.body(of: response, what: "threshold information")
    }

    public var pacing: PSAPacing? { transport.pacer?.pacing }

    // MARK: Queries

    func query<Item: Codable & Sendable>(
        _ type: Item.Type, endpoint: String, filter: [AutotaskFilter], includeFields: [String]? = nil, what: String
    ) async throws(PSAError) -> [Item] {
        let body = try PSAJSON.encode(AutotaskQuery(MaxRecords: configuration.pageSize, IncludeFields: includeFields, filter: filter))
        func page(_ response: PSAHTTPTransport.Response) throws(PSAError) -> (items: [Item], next: String?) {
            let page = try Self.answers.decode(AutotaskQueryResponse<Item>.self, of: response, what: what)
            return (page.items, page.pageDetails?.nextPageUrl.flatMap { $0.isEmpty ? nil : $0 })
        }
        return try await pager.following(
            base: try await resolvedBaseURL(), what: what,
            first: { () async throws(PSAError) in try page(await send(.POST, endpoint: endpoint, path: "/\(endpoint)/query", body: body)) },
            next: { (url: String) async throws(PSAError) in try page(await send(.GET, endpoint: endpoint, url: url)) })
    }

    func companyTypeLabels() async throws(PSAError) -> [Int: String] {
        try await companyTypes.get { () async throws(PSAError) -> [Int: String] in
            try await picklist("companyType", of: "Companies")
        }
    }

    private func itemTypeLabels() async throws(PSAError) -> [Int: String] {
        try await itemTypes.get { () async throws(PSAError) -> [Int: String] in
            try await picklist("configurationItemType", of: "ConfigurationItems")
        }
    }

    /// A picklist field's labels by value, from `{entity}/entityInformation/fields`: the labels are
    /// each tenant's own, so they are read, never assumed.
    func picklist(_ field: String, of entity: String) async throws(PSAError) -> [Int: String] {
        let response = try await send(.GET, endpoint: entity, path: "/\(entity)/entityInformation/fields")
        let fields = try Self.answers.decode(AutotaskEntityFields.self, of: response, what: "\(entity) fields")
        var labels: [Int: String] = [:]
        for value in fields.fields.first(where: { $0.name == field })?.picklistValues ?? [] {
            if let key = Int(value.value) { labels[key] = value.label }
        }
        return labels
    }

    // MARK: HTTP

    private func resolvedBaseURL() async throws(PSAError) -> String {
        if let configured = configuration.baseURL { return configured }
        return try await baseURL.get { () async throws(PSAError) -> String in
            let url = configuration.zoneInformationURL + "?" + QueryString.encode([("user", configuration.username)])
            // zoneInformation takes no credentials and is exempt from the thread limit.
            let response = try await transport.send(.GET, url: url, headers: [("Accept", "application/json")])
            guard response.status == 200 else {
                throw PSAError(
                    code: .psaConnectionError, message: "Autotask zone lookup for the API user failed: \(Self.errorMessage(response))",
                    httpStatus: response.status)
            }
            let zone = try Self.answers.decode(AutotaskZoneInformation.self, from: response.body)
            // The zone URL is where the credentials go next: it must pass the same rule as a configured one.
            if let why = PSAOrigin.refusal(of: zone.url) {
                throw PSAError(code: .psaConnectionError, message: "Autotask zone lookup named \(zone.url), which is refused: \(why)")
            }
            let root = zone.url.hasSuffix("/") ? zone.url : zone.url + "/"
            logger.info("Autotask zone found", metadata: ["psa.autotask.zone": "\(zone.zoneName ?? "?")", "psa.base_url": "\(root)v1.0"])
            return root + "v1.0"
        }
    }

    func send(
        _ method: HTTPMethod, endpoint: String, path: String? = nil, url: String? = nil, body: [UInt8]? = nil, repeatable: Bool = true
    ) async throws(PSAError) -> PSAHTTPTransport.Response {
        let target: String
        if let url { target = url } else { target = try await resolvedBaseURL() + (path ?? "") }
        var headers = [
            ("ApiIntegrationCode", configuration.apiIntegrationCode), ("UserName", configuration.username), ("Secret", configuration.secret),
            ("Accept", "application/json"),
        ]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        // Autotask's threads per endpoint bound what is in flight, not a request waiting to be repeated.
        return try await transport.send(method, url: target, headers: headers, body: body, repeatable: repeatable, slot: threads.of(endpoint))
    }

    static let answers = PSAAnswers(
        psa: "Autotask",
        mapping: PSAErrorMapping(
            unauthorized: "Autotask rejected the API credentials", forbidden: "the API user's security level does not allow",
            notFound: "check base_url"),
        message: errorMessage)

    static let records = PSARecords(psa: "Autotask", company: "company", companies: "companies", configuration: "configuration item")

    package static func errorMessage(_ response: PSAHTTPTransport.Response) -> String {
        if let body = PSAJSON.decodeIfPossible(AutotaskErrorBody.self, from: response.body), let errors = body.errors, !errors.isEmpty {
            return "HTTP \(response.status): \(errors.joined(separator: "; "))"
        }
        return "HTTP \(response.status)"
    }
}
