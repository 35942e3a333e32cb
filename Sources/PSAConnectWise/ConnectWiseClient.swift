import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1
import OffboardingCore
import PSAHTTP

/// The ConnectWise PSA (Manage) adapter: Basic auth `company+public:private` plus the `clientId`
/// header, companies by id or exact name, configurations over `page`/`pageSize` with the `Link`
/// header, deactivation by JSON-Patch of the configuration's status.
public struct ConnectWiseClient: PSAClient {
    public var kind: PSAKind { .connectwise }

    let configuration: Configuration
    let transport: PSAHTTPTransport
    private let logger: Logger
    let pager: PSAPager
    private let statuses = CachedValue<Statuses>()
    private let authorization: String

    public init(configuration: Configuration, httpClient: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.pager = PSAPager(psa: Self.answers.psa, logger: logger)
        self.transport = PSAHTTPTransport(
            httpClient: httpClient,
            configuration: configuration.http,
            logger: logger, psa: "connectwise")
        let credentials = "\(configuration.companyID)+\(configuration.publicKey):\(configuration.privateKey)"
        self.authorization = "Basic " + Data(credentials.utf8).base64EncodedString()
    }

    // MARK: PSAClient

    public func findCompany(_ reference: ClientReference) async throws(PSAError) -> PSACompany {
        // Side by side with the company: its status's flag, and the configuration statuses the
        // listing that follows needs (kept for the process), so a run's first round trips overlap.
        async let statuses = Result.of { () async throws(PSAError) in try await companyStatuses() }
        async let configurationStatuses = Result.of { () async throws(PSAError) in try await resolvedStatuses() }
        let company: ConnectWiseCompany
        switch reference {
        case .id(let id):
            let numeric = try Self.records.companyNumber(id)
            let response = try await get("/company/companies/\(numeric)")
            if response.status == 404 {
                throw PSAError(code: .clientNotFound, message: "ConnectWise has no company \(numeric)", httpStatus: 404)
            }
            company = try Self.answers.decode(ConnectWiseCompany.self, of: response, what: "company \(numeric)")
        case .name(let name):
            let condition = "name=\(Self.quoted(name))"
            let response = try await get("/company/companies", query: [("conditions", condition), ("pageSize", "25")])
            let candidates = try Self.answers.decode([ConnectWiseCompany].self, of: response, what: "companies named \(name)")
            company = try Self.records.exactlyOne(candidates, named: name, by: \.name, id: \.id)
        }
        // A failure here is the listing's to report, when it asks again.
        _ = await configurationStatuses
        return psaCompany(company, statuses: try await statuses.get())
    }

    public func listConfigurations(companyID: String, includeArchived: Bool) async throws(PSAError) -> [PSAItem] {
        let numeric = try Self.records.companyNumber(companyID)
        let statuses = try await resolvedStatuses()
        var condition = "company/id=\(numeric)"
        if !includeArchived { condition += statuses.leavingClosedOut }
        let first =
            configuration.baseURL + "/company/configurations?"
            + QueryString.encode([
                ("conditions", condition), ("orderBy", "id asc"), ("fields", "id,name,type,status,company,activeFlag,notes,_info/lastUpdated"),
                ("page", "1"), ("pageSize", String(configuration.pageSize)),
            ])
        let what = "configurations of company \(numeric)"
        var pages = 0
        func page(at url: String) async throws(PSAError) -> (items: [ConnectWiseConfiguration], next: String?) {
            pages += 1
            let response = try await transport.send(.GET, url: url, headers: headers())
            let rows = try Self.answers.decode([ConnectWiseConfiguration].self, of: response, what: what)
            return (rows, response.header("Link").flatMap { LinkHeader.url(forRelation: "next", in: $0) })
        }
        let configurations = try await pager.following(
            base: configuration.baseURL, what: what, first: { () async throws(PSAError) in try await page(at: first) }, next: page(at:)
        ).map { statuses.map($0) }
        logger.debug("listed configurations", metadata: ["psa.company.id": "\(numeric)", "psa.configs": "\(configurations.count)", "psa.pages": "\(pages)"])
        return configurations
    }

    /// ConnectWise configurations have a `notes` field; the note goes into the same PATCH.
    public var writesNotes: Bool { true }

    public func deactivate(_ config: PSAItem, note: ReasonNote?) async throws(PSAError) -> PSAItem {
        try await patch(config, status: try await resolvedStatuses().inactiveID, note: note)
    }

    /// Sets the configuration's status by JSON-Patch, with the note appended in the same PATCH.
    func patch(_ config: PSAItem, status: Int, note: ReasonNote?) async throws(PSAError) -> PSAItem {
        let numeric = try Self.records.configurationNumber(config.id)
        let statuses = try await resolvedStatuses()
        var operations = [ConnectWisePatchOperation(op: "replace", path: "status", value: .reference(id: status))]
        if let note {
            // A retry request carries no notes: read them, so that the PATCH appends rather than overwrites.
            var notes = config.notes
            if notes == nil {
                let response = try await get("/company/configurations/\(numeric)", query: [("fields", "id,name,notes")])
                if response.status == 404 {
                    throw PSAError(code: .configNotFound, message: "ConnectWise has no configuration \(numeric)", httpStatus: 404)
                }
                notes = try Self.answers.decode(ConnectWiseConfiguration.self, of: response, what: "configuration \(numeric)").notes ?? ""
            }
            if let appended = note.appended(to: notes) {
                operations.append(ConnectWisePatchOperation(op: "replace", path: "notes", value: .text(appended)))
            }
        }
        let body = try PSAJSON.encode(operations)
        let response = try await transport.send(
            .PATCH, url: configuration.baseURL + "/company/configurations/\(numeric)", headers: headers(json: true), body: body)
        switch response.status {
        case 200..<300:
            return statuses.map(try Self.answers.decode(ConnectWiseConfiguration.self, from: response.body))
        case 404:
            throw PSAError(code: .configNotFound, message: "ConnectWise has no configuration \(numeric)", httpStatus: 404)
        default:
            throw Self.answers.updateError(for: response, what: "configuration \(numeric)")
        }
    }

    /// Companies with one of the statuses by name, and with any status flagged inactive.
    public func listCompanies(withStatuses statuses: [String]) async throws(PSAError) -> [PSACompany] {
        let known = try await companyStatuses()
        let conditions = statuses.map { "status/name=\(Self.quoted($0))" } + known.filter { $0.inactiveFlag == true }.map { "status/id=\($0.id)" }
        return try await companies(matchingAny: conditions.map { ("conditions", $0) }, statuses: known)
    }

    public func probe() async throws(PSAError) {
        _ = try Self.answers.body(of: try await get("/system/info"), what: "system info")
    }

    public var pacing: PSAPacing? { transport.pacer?.pacing }

    // MARK: Statuses

    /// The configuration statuses, resolved once per client and shared by concurrent callers.
    package struct Statuses: Sendable {
        var inactiveID: Int
        var inactiveName: String
        var closedIDs: Set<Int>

        package init(inactiveID: Int, inactiveName: String, closedIDs: Set<Int>) {
            self.inactiveID = inactiveID
            self.inactiveName = inactiveName
            self.closedIDs = closedIDs
        }

        /// The clauses that leave configurations in a closed status out of a listing.
        var leavingClosedOut: String { closedIDs.sorted().map { " and status/id!=\($0)" }.joined() }

        package func map(_ config: ConnectWiseConfiguration) -> PSAItem {
            let statusID = config.status?.id
            let active = statusID.map { !closedIDs.contains($0) } ?? (config.activeFlag ?? true)
            return PSAItem(
                id: String(config.id), name: config.name, isActive: active, psaStatus: config.status?.name, typeName: config.type?.name,
                notes: config.notes, companyID: config.company.map { String($0.id) }, statusID: statusID.map(String.init),
                lastModified: config._info?.lastUpdated)
        }
    }

    func resolvedStatuses() async throws(PSAError) -> Statuses {
        try await statuses.get { () async throws(PSAError) -> Statuses in try await self.fetchStatuses() }
    }

    private func fetchStatuses() async throws(PSAError) -> Statuses {
        let response = try await get("/company/configurations/statuses", query: [("pageSize", "1000")])
        let all = try Self.answers.decode([ConnectWiseConfigurationStatus].self, of: response, what: "configuration statuses")
        let closed = all.filter(\.closedFlag)
        let chosen: ConnectWiseConfigurationStatus?
        if let wanted = configuration.inactiveStatusName {
            chosen = all.first { $0.description.caseInsensitiveCompare(wanted) == .orderedSame }
            guard chosen != nil else {
                throw PSAError(
                    code: .configUpdateFailed,
                    message: "ConnectWise has no configuration status named \"\(wanted)\" (it has \(all.map(\.description)))")
            }
        } else {
            chosen = closed.first
        }
        guard let chosen else {
            throw PSAError(code: .configUpdateFailed, message: "ConnectWise has no configuration status with closedFlag true to deactivate with")
        }
        return Statuses(inactiveID: chosen.id, inactiveName: chosen.description, closedIDs: Set(closed.map(\.id)).union([chosen.id]))
    }

    // MARK: HTTP

    func headers(json: Bool = false) -> [(String, String)] {
        var headers = [("Authorization", authorization), ("clientId", configuration.clientID), ("Accept", "application/json")]
        if json { headers.append(("Content-Type", "application/json")) }
        return headers
    }

    func get(_ path: String, query: [(String, String)] = []) async throws(PSAError) -> PSAHTTPTransport.Response {
        let url = configuration.baseURL + path + (query.isEmpty ? "" : "?" + QueryString.encode(query))
        return try await transport.send(.GET, url: url, headers: headers())
    }

    static let answers = PSAAnswers(
        psa: "ConnectWise",
        mapping: PSAErrorMapping(
            unauthorized: "ConnectWise rejected the credentials", forbidden: "the API member's security role does not allow",
            notFound: "check base_url and codebase (a wrong cloud host or codebase often answers 404)"),
        message: errorMessage)

    static let records = PSARecords(psa: "ConnectWise", company: "company", companies: "companies", configuration: "configuration")

    package static func errorMessage(_ response: PSAHTTPTransport.Response) -> String {
        if let body = PSAJSON.decodeIfPossible(ConnectWiseErrorBody.self, from: response.body),
            let message = body.message ?? body.code
        {
            let fields = (body.errors ?? []).compactMap { error in error.message.map { "\(error.field ?? "?"): \($0)" } }
            return "HTTP \(response.status) \(body.code ?? ""): \(message)" + (fields.isEmpty ? "" : " (\(fields.joined(separator: "; ")))")
        }
        return "HTTP \(response.status)"
    }

    /// ConnectWise condition strings quote with `"` and escape it with a backslash.
    static func quoted(_ value: String) -> String {
        "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
