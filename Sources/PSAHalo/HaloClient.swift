import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1
import OffboardingCore
import PSAHTTP

/// The HaloPSA adapter: OAuth2 client credentials (token cached until shortly before it expires,
/// renewed once on a 401), clients by id or exact name, assets with `pageinate`/`page_size`/
/// `page_no` until `record_count`, and deactivation by `POST /api/Asset [{"id", "inactive": true}]`
/// only after checking that the asset exists, since Halo creates a record for an unknown id.
public struct HaloClient: PSAClient {
    public var kind: PSAKind { .halopsa }

    private struct Token: Sendable {
        var value: String
        var expiresAt: ContinuousClock.Instant
    }

    let configuration: Configuration
    let transport: PSAHTTPTransport
    let logger: Logger
    let pager: PSAPager
    private let token = CachedValue<Token>()
    let clientTypes = CachedValue<[Int: String]>()
    let listings: ClientAssetListings

    public init(configuration: Configuration, httpClient: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.pager = PSAPager(psa: Self.answers.psa, logger: logger)
        self.listings = ClientAssetListings(retention: configuration.batchListingMaxAge)
        self.transport = PSAHTTPTransport(
            httpClient: httpClient,
            configuration: configuration.http,
            logger: logger, psa: "halopsa")
    }

    // MARK: PSAClient

    public func findCompany(_ reference: ClientReference) async throws(PSAError) -> PSACompany {
        let client: HaloClientRecord
        switch reference {
        case .id(let id):
            let numeric = try Self.records.companyNumber(id)
            let response = try await get("/api/Client/\(numeric)")
            if response.status == 404 { throw PSAError(code: .clientNotFound, message: "HaloPSA has no client \(numeric)", httpStatus: 404) }
            client = try Self.answers.decode(HaloClientRecord.self, of: response, what: "client \(numeric)")
        case .name(let name):
            // Halo hides inactive clients unless asked, and offboarded clients are usually inactive.
            let response = try await get("/api/Client", query: [("search", name), ("includeactive", "true"), ("includeinactive", "true")])
            let candidates = try Self.answers.decode(HaloClientList.self, of: response, what: "clients named \(name)").clients
            client = try Self.records.exactlyOne(candidates, named: name, by: \.name, id: \.id)
        }
        return try await psaCompany(client)
    }

    public func listConfigurations(companyID: String, includeArchived: Bool) async throws(PSAError) -> [PSAItem] {
        let numeric = try Self.records.companyNumber(companyID)
        return try await assets(ofClient: numeric, includeArchived: includeArchived).map(Self.configuration(of:))
    }

    /// Every asset of the client, over all pages.
    func assets(ofClient numeric: Int, includeArchived: Bool) async throws(PSAError) -> [HaloAsset] {
        let what = "assets of client \(numeric)"
        return try await pager.numbered(what: what) { (page: Int) async throws(PSAError) in
            let response = try await get(
                "/api/Asset",
                query: [
                    ("client_id", String(numeric)), ("includeactive", "true"), ("includeinactive", includeArchived ? "true" : "false"),
                    ("pageinate", "true"), ("page_size", String(configuration.pageSize)), ("page_no", String(page)),
                ])
            let body = try Self.answers.decode(HaloAssetPage.self, of: response, what: what)
            return (body.assets, body.record_count)
        }
    }

    /// Assets have a `notes` field (S2-10, Asset.json): the line is appended to the notes the
    /// listing (or, one by one, the asset's read) showed, in the same POST as the deactivation.
    public var writesNotes: Bool { true }

    /// Inactive clients, when `Inactive` is an offboarded status (Halo clients have no other status).
    public func listCompanies(withStatuses statuses: [String]) async throws(PSAError) -> [PSACompany] {
        guard statuses.contains(where: { $0.trimmingCharacters(in: .whitespaces).caseInsensitiveCompare("Inactive") == .orderedSame }) else {
            return []
        }
        let response = try await get("/api/Client", query: [("includeinactive", "true"), ("includeactive", "false")])
        let clients = try Self.answers.decode(HaloClientList.self, of: response, what: "inactive clients").clients
        var found: [PSACompany] = []
        for client in clients.filter({ $0.inactive == true }).sorted(by: { $0.id < $1.id }) { found.append(try await psaCompany(client)) }
        return found
    }

    public func probe() async throws(PSAError) {
        _ = try Self.answers.body(of: try await get("/api/Client", query: [("count", "1")]), what: "clients")
    }

    public var pacing: PSAPacing? { transport.pacer?.pacing }

    public func deactivate(_ config: PSAItem, note: ReasonNote?) async throws(PSAError) -> PSAItem {
        try await write(config, inactive: true, note: note)
    }

    /// Sets one asset's `inactive`, with the note appended in the same POST.
    func write(_ config: PSAItem, inactive: Bool, note: ReasonNote?) async throws(PSAError) -> PSAItem {
        let numeric = try Self.records.configurationNumber(config.id)
        // Halo's POST creates a record for an id it does not know: make sure the asset is there first.
        let current = try await get("/api/Asset/\(numeric)")
        if current.status == 404 {
            throw PSAError(code: .configNotFound, message: "HaloPSA has no asset \(numeric) any more", httpStatus: 404)
        }
        let asset = try Self.answers.decode(HaloAsset.self, of: current, what: "asset \(numeric)")
        let body = try PSAJSON.encode([HaloAssetUpdate(id: numeric, inactive: inactive, notes: note?.appended(to: asset.notes))])
        let response = try await send(.POST, path: "/api/Asset", body: body)
        switch response.status {
        case 200..<300:
            if let updated = PSAJSON.decodeIfPossible(HaloAsset.self, from: response.body), updated.id == numeric,
                (updated.inactive ?? false) != inactive
            {
                throw PSAError(code: .configUpdateFailed, message: "HaloPSA still reports asset \(numeric) \(inactive ? "active" : "inactive") after the update")
            }
            var updated = config
            updated.isActive = !inactive
            updated.psaStatus = inactive ? "Inactive" : "Active"
            return updated
        default:
            throw Self.answers.updateError(for: response, what: "asset \(numeric)")
        }
    }

    package static func configuration(of asset: HaloAsset) -> PSAItem {
        let name = [asset.inventory_number, asset.key_field].compactMap { $0 }.first { !$0.isEmpty } ?? "Asset \(asset.id)"
        let active = asset.inactive != true
        return PSAItem(
            id: String(asset.id), name: name, isActive: active, psaStatus: active ? "Active" : "Inactive", typeName: asset.assettype_name,
            notes: asset.notes, companyID: asset.client_id.map(String.init), contractID: asset.contract_id.flatMap { $0 > 0 ? String($0) : nil },
            statusID: asset.status_id.map(String.init))
    }

    // MARK: OAuth

    private func accessToken() async throws(PSAError) -> String {
        var current = try await token.get { () async throws(PSAError) -> Token in try await requestToken() }
        if current.expiresAt - .now < configuration.tokenRenewalMargin {
            token.invalidate()
            current = try await token.get { () async throws(PSAError) -> Token in try await requestToken() }
        }
        return current.value
    }

    private func requestToken() async throws(PSAError) -> Token {
        var url = configuration.authURL + "/token"
        if let tenant = configuration.tenant { url += "?" + QueryString.encode([("tenant", tenant)]) }
        let form = QueryString.encode([
            ("grant_type", "client_credentials"), ("client_id", configuration.clientID), ("client_secret", configuration.clientSecret),
            ("scope", configuration.scope),
        ])
        let response = try await transport.send(
            .POST, url: url, headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Array(form.utf8))
        guard response.status == 200 else {
            let oauth = PSAJSON.decodeIfPossible(HaloOAuthError.self, from: response.body)
            let code: OffboardingErrorCode = oauth?.error == "invalid_scope" || response.status == 403 ? .permissionDenied : .psaConnectionError
            throw PSAError(
                code: code, message: "HaloPSA token request failed: HTTP \(response.status) \(oauth?.error ?? "")", httpStatus: response.status)
        }
        let issued = try Self.answers.decode(HaloToken.self, from: response.body)
        return Token(value: issued.access_token, expiresAt: .now + Self.lifetime(of: issued))
    }

    /// A lifetime from outside: one claiming more than a day is renewed after a day, none after an hour.
    package static func lifetime(of token: HaloToken) -> Duration {
        .seconds(min(max(token.expires_in ?? 3600, 1), 86_400))
    }

    // MARK: HTTP

    func get(_ path: String, query: [(String, String)] = []) async throws(PSAError) -> PSAHTTPTransport.Response {
        try await send(.GET, path: path + (query.isEmpty ? "" : "?" + QueryString.encode(query)))
    }

    /// Sends with the current token; on a 401 renews the token once and repeats.
    func send(_ method: HTTPMethod, path: String, body: [UInt8]? = nil, repeatable: Bool = true) async throws(PSAError) -> PSAHTTPTransport.Response {
        var renewed = false
        while true {
            var headers = [("Authorization", "Bearer \(try await accessToken())"), ("Accept", "application/json")]
            if body != nil { headers.append(("Content-Type", "application/json")) }
            let response = try await transport.send(method, url: configuration.baseURL + path, headers: headers, body: body, repeatable: repeatable)
            guard response.status == 401, !renewed else { return response }
            logger.debug("HaloPSA refused the token; renewing it once")
            token.invalidate()
            renewed = true
        }
    }

    static let answers = PSAAnswers(
        psa: "HaloPSA",
        mapping: PSAErrorMapping(
            unauthorized: "HaloPSA refused a freshly issued token", forbidden: "the application or its agent may not",
            notFound: "check base_url"),
        message: errorMessage)

    static let records = PSARecords(psa: "HaloPSA", company: "client", companies: "clients", configuration: "asset")

    /// Halo's error bodies come in several shapes: field-keyed 400s, `Message`, `errorMessage`, OAuth `error`.
    package static func errorMessage(_ response: PSAHTTPTransport.Response) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            return "HTTP \(response.status)"
        }
        for key in ["errorMessage", "Message", "error_description", "error"] {
            if let text = object[key] as? String { return "HTTP \(response.status): \(text)" }
        }
        let fields = object.compactMap { key, value in (value as? String).map { "\(key): \($0)" } }.sorted()
        return fields.isEmpty ? "HTTP \(response.status)" : "HTTP \(response.status): \(fields.joined(separator: "; "))"
    }
}
