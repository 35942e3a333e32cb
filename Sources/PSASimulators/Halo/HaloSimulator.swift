import Foundation

/// A strict simulator of the HaloPSA API: OAuth2 client credentials at `/auth/token` (form body,
/// `tenant` query), Bearer tokens that expire, `/api/Client` and `/api/Asset` with `pageinate`,
/// `page_size`, `page_no` and `record_count`, inactive records hidden unless `includeinactive`,
/// 404 for unknown ids, and `POST /api/Asset` that, like Halo, creates a record for an id it does
/// not know, which is why clients must check that an asset exists before updating it.
public actor HaloSimulator: SimulatedTenant {
    public struct Credentials: Sendable, Hashable {
        public var clientID: String
        public var clientSecret: String
        public var tenant: String

        public init(clientID: String, clientSecret: String, tenant: String) {
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.tenant = tenant
        }

        public static let sandbox = Credentials(clientID: "sandbox-client", clientSecret: "sandbox-client-secret", tenant: "sandbox")
    }

    public static let authPath = "/auth"
    public static let maxPageSize = 1000
    public nonisolated let credentials: Credentials
    var data: HaloDataset
    private var faults = SimulatorFaultPlan()
    /// Configurations a client's listing returns although they belong to another (`leakConfiguration`).
    private var leaked: [Int: Set<Int>] = [:]
    private var tokens: [String: (expiry: ContinuousClock.Instant, scopes: Set<String>)] = [:]
    private var tokenLifetimeSeconds = 3600
    public private(set) var tokensIssued = 0
    /// Halo-hosted's rolling request limit, when set: requests past it get 429 with `Retry-After`.
    private var rollingLimit: RollingLimit?
    private var inFlight = 0
    /// The most requests the simulator was answering at once.
    public private(set) var maxConcurrentRequests = 0
    public private(set) var rateLimited = 0
    /// API requests answered with anything but 429.
    public private(set) var acceptedRequests = 0
    public private(set) var updatedAssets: [Int] = []
    /// `POST /api/Asset` requests that wrote anything, and how many assets each wrote.
    public private(set) var assetPostSizes: [Int] = []
    /// Reads of one asset and asset writes, in order: `GET 12`, `POST [12, 13]` (written ones only).
    public private(set) var assetCalls: [String] = []
    /// Every asset listing served, as `(client_id, page_no)`; `page_no` nil without `pageinate`.
    public private(set) var assetListings: [(client: Int?, page: Int?)] = []
    /// Assets whose update Halo refuses with a 400 naming the element, as a business rule would.
    private var refusedUpdates: [Int: String] = [:]
    /// Assets whose next updates are answered as applied but are not: a write lost inside Halo.
    private var lostWrites: [Int: Int] = [:]
    /// Assets a POST created because its id did not exist: a client that sees one is broken.
    public private(set) var createdAssets: [Int] = []
    /// How a batch meets an element it refuses: Halo's documentation does not say, so both are simulated.
    private var batchApplication = BatchApplication.validatedWhole
    /// The next batches apply this many elements and then fail with `status`, the rest not applied.
    private var brokenBatches: (applying: Int, status: Int, remaining: Int?)?

    public enum BatchApplication: Sendable {
        /// The whole array is validated first; a refusal names every bad element and writes nothing.
        case validatedWhole
        /// Elements are written in order until one is refused: those before it stay written, the
        /// 400 names that one only, and those after it are not written.
        case elementByElement
    }

    public init(data: HaloDataset = .sample(), credentials: Credentials = .sandbox) {
        self.data = data
        self.credentials = credentials
    }

    // MARK: Controls

    public func inject(_ fault: SimulatorFault) { faults.faults.append(fault) }
    public func setLatency(_ latency: Duration) { faults.latency = latency }
    public func injectTransientFaults(_ transient: TransientFaults?) { faults.transient = transient }
    public func transientFaultsServed() -> [Int: Int] { faults.served }
    public func injectedFaultsServed() -> [(status: Int, at: ContinuousClock.Instant)] { faults.injectedServed }
    public func clearFaults() { faults.faults.removeAll() }
    public func setTokenLifetime(seconds: Int) { tokenLifetimeSeconds = seconds }
    /// Answers 429 past `maxRequests` requests (the token endpoint's too) in any rolling `window`,
    /// as hosted Halo does; with no `Retry-After` unless `sendsRetryAfter` (Halo's is unconfirmed).
    public func setRollingLimit(maxRequests: Int, window: Duration) { setRollingLimit(maxRequests: maxRequests, window: window, sendsRetryAfter: false) }
    public func setRollingLimit(maxRequests: Int, window: Duration, sendsRetryAfter: Bool) {
        rollingLimit = RollingLimit(maxRequests: maxRequests, window: window, sendsRetryAfter: sendsRetryAfter)
    }
    /// Makes Halo refuse, with a 400 naming the element, any batch that sets this asset inactive.
    public func refuseUpdates(ofAsset id: Int, message: String) { refusedUpdates[id] = message }
    public func refuseDeactivation(ofConfiguration id: Int) { refusedUpdates[id] = "This asset cannot be made inactive." }
    public func loseWrites(ofConfiguration id: Int, times: Int) { lostWrites[id] = times }
    public func setBatchApplication(_ application: BatchApplication) { batchApplication = application }
    /// The next `times` asset batches (nil: every one) write their first `applying` elements, then
    /// answer `status` (a 500 or 502 from a node that failed halfway) without writing the rest.
    public func breakBatches(applying: Int, status: Int, times: Int?) { brokenBatches = (applying, status, times) }
    /// Invalidates every token issued so far, as a restart of Halo's auth server would.
    public func revokeAllTokens() { tokens.removeAll() }

    /// Client types (`/api/CustomerType`), each client's type, and client contracts.
    private var clientTypes: [Int: String] = [1: "Customer", 2: "Prospect"]
    private var clientTypeByClient: [Int: Int] = [:]
    private var contracts: [[String: Any]] = []
    /// Each asset's `notes`.
    private var notesByAsset: [Int: String] = [:]
    public func notes(ofConfiguration id: Int) -> String? { notesByAsset[id] }
    public func setNotes(_ notes: String, ofConfiguration id: Int) { notesByAsset[id] = notes }
    public func noteLines(ofConfiguration id: Int) -> [String] { (notesByAsset[id] ?? "").split(separator: "\n").map(String.init) }
    public func addMSPNote(_ text: String, toConfiguration id: Int) { notesByAsset[id] = text }

    /// Each asset's `contract_id`; recurring invoices; tickets.
    private var assetContracts: [Int: Int] = [:]
    private var recurringInvoices: [[String: Any]] = []
    var tickets: [[String: Any]] = []
    /// Ticket types (a ticket's type sets its workflow) and the statuses a ticket may take.
    var ticketTypes: [Int: String] = HaloSimulator.sampleTicketTypes

    public func tieConfiguration(_ id: Int, toContract contractID: Int) { assetContracts[id] = contractID }

    public func openAlert(onConfiguration id: Int, ofClient client: Int, alertID: Int, summary: String) {
        tickets.append(["id": alertID, "summary": summary, "client_id": client, "status_id": 1, "closed": false])
    }

    /// A recurring invoice of the client, under a contract or not.
    public func addRecurringInvoice(toClient id: Int, invoiceID: Int, contractID: Int?) {
        recurringInvoices.append(["id": invoiceID, "client_id": id, "contract_id": contractID ?? 0, "invoicenumber": "RI-\(invoiceID)", "inactive": false])
    }

    public func setCompanyType(_ name: String, ofClient id: Int) {
        let type = clientTypes.first { $0.value == name }?.key ?? (clientTypes.keys.max() ?? 0) + 1
        clientTypes[type] = name
        clientTypeByClient[id] = type
    }

    /// Halo writes dates without a zone; a contract not in effect is `expired`.
    public func addContract(toClient id: Int, contractID: Int, name: String, end: Date?, inEffect: Bool) {
        let formatter = Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day().dateTimeSeparator(.standard).time(includingFractionalSeconds: false)
        contracts.append([
            "id": contractID, "ref": name, "client_id": id, "expired": !inEffect, "active": inEffect,
            "end_date": end.map { $0.formatted(formatter) } ?? "1900-01-01T00:00:00",
        ])
    }
    public func removeAsset(_ id: Int) { data.assets.removeAll { $0.id == id } }

    public func addClient(id: Int, name: String, offboarded: Bool, active: Int, inactive: Int) -> [Int] {
        data.clients.append(.init(id: id, name: name, inactive: offboarded))
        let ids = (0..<(active + inactive)).map { id * 10_000 + $0 + 1 }
        for (index, assetID) in ids.enumerated() {
            data.assets.append(.init(id: assetID, clientID: id, inventoryNumber: "Device \(index + 1) of \(name)", inactive: index >= active))
        }
        return ids
    }

    public func addConfigurations(toClient id: Int, count: Int) -> [Int] {
        let first = data.assets.filter { $0.clientID == id }.count
        let ids = (0..<count).map { id * 10_000 + first + $0 + 1 }
        for assetID in ids {
            data.assets.append(.init(id: assetID, clientID: id, inventoryNumber: "Device \(assetID) added later", inactive: false))
        }
        return ids
    }

    public func removeConfiguration(_ id: Int) { data.assets.removeAll { $0.id == id } }

    public func setType(_ name: String, ofConfiguration id: Int) {
        if let index = data.assets.firstIndex(where: { $0.id == id }) { data.assets[index].assetTypeName = name }
    }

    public func leakConfiguration(_ id: Int, intoListingOf client: Int) { leaked[client, default: []].insert(id) }

    public func isConfigurationActive(_ id: Int) -> Bool? { data.assets.first { $0.id == id }.map { !$0.inactive } }

    /// Each asset's `status_id` where it is not 1, the default.
    private var assetStatuses: [Int: Int] = [:]
    public func setSecondOpenStatus(ofConfiguration id: Int) { assetStatuses[id] = 2 }
    public func statusID(ofConfiguration id: Int) -> Int? { data.assets.contains { $0.id == id } ? assetStatuses[id] ?? 1 : nil }
    public func editByHand(configuration id: Int) { assetStatuses[id] = 3 }

    public func deactivationWrites(forClient id: Int) -> Int {
        let ids = Set(data.assets.filter { $0.clientID == id }.map(\.id))
        return updatedAssets.filter(ids.contains).count
    }

    public nonisolated func listingFault(ofClient id: Int, status: Int, retryAfterSeconds: Int?, times: Int?) -> SimulatorFault {
        // Test client ids all have the same number of digits, so one is never a prefix of another.
        // The client's assets, alone (`client_id`) or within a sweep's list (`client_ids`).
        var fault = SimulatorFault(method: "GET", pathContains: "asset?", status: status, retryAfterSeconds: retryAfterSeconds, times: times)
        fault.alsoContainsOneOf = ["client_id=\(id)&", "client_ids=\(id),", "client_ids=\(id)&", ",\(id),", ",\(id)&"]
        return fault
    }

    // MARK: Serving

    public nonisolated func respond(to request: SimulatedRequest) async -> SimulatedResponse {
        let latency = await begin()
        if latency > .zero { try? await Task.sleep(for: latency) }
        let response = await handle(request)
        await end()
        return response
    }

    /// Counts the request in flight (for `maxConcurrentRequests`) and says how long to take.
    private func begin() -> Duration {
        inFlight += 1
        maxConcurrentRequests = max(maxConcurrentRequests, inFlight)
        return faults.latency
    }

    private func end() { inFlight -= 1 }

    private func handle(_ request: SimulatedRequest) -> SimulatedResponse {
        let path = request.path.lowercased()
        if path == Self.authPath + "/token" {
            if let refusal = pastLimit() { return refusal }
            return token(request)
        }
        guard path.hasPrefix("/api/") else { return .json(404, ["Message": "No HTTP resource was found that matches the request URI."]) }
        guard let authorization = request.headers["authorization"], authorization.hasPrefix("Bearer "),
            !request.repeats("authorization"), let token = tokens[String(authorization.dropFirst(7))], token.expiry > .now
        else {
            return SimulatedResponse(status: 401, headers: [("WWW-Authenticate", "Bearer error=\"invalid_token\"")])
        }
        if let refusal = pastLimit() { return refusal }
        acceptedRequests += 1
        let segments = path.dropFirst(5).split(separator: "/").map(String.init)
        if let needed = Self.scopes(for: request.method, segments.first), token.scopes.isDisjoint(with: needed) {
            return .json(403, ["Message": "The token's scopes do not allow \(request.method) \(request.path)."])
        }
        if let fault = faults.take(method: request.method, path: segments.joined(separator: "/"), query: request.query) {
            let applied = fault.appliesFirst ? route(request, segments: segments) : nil
            if let connection = fault.connection { return .failing(connection, answer: applied) }
            var response = SimulatedResponse.json(fault.status, ["ClassName": "Injected", "Message": "Injected fault \(fault.status)"])
            if let retryAfter = fault.retryAfter { response.headers.append(("Retry-After", retryAfter)) }
            return response
        }
        return route(request, segments: segments)
    }

    /// The scopes any one of which lets a token make the call; `all` lets it make every call.
    /// Whether an `edit:` scope implies reading is not documented: the simulator assumes it does.
    private static func scopes(for method: String, _ resource: String?) -> Set<String>? {
        switch (method, resource) {
        case ("GET", "client"): ["all", "read:customers", "edit:customers"]
        case ("GET", "asset"): ["all", "read:assets", "edit:assets"]
        case ("POST", "asset"): ["all", "edit:assets"]
        case ("GET", "customertype"): ["all", "read:customers", "edit:customers"]
        case ("GET", "clientcontract"): ["all", "read:contracts", "edit:contracts"]
        case ("GET", "recurringinvoice"): ["all", "read:invoices", "edit:invoices"]
        case ("GET", "tickets"): ["all", "read:tickets", "edit:tickets"]
        case ("POST", "tickets"): ["all", "edit:tickets"]
        default: nil
        }
    }

    private func route(_ request: SimulatedRequest, segments: [String]) -> SimulatedResponse {
        switch (request.method, segments.first, segments.count) {
        case ("GET", "client", 1): return listClients(request)
        case ("GET", "client", 2):
            guard let id = Int(segments[1]), let client = data.clients.first(where: { $0.id == id }) else {
                return .json(404, ["Message": "Client not found"])
            }
            return .json(200, clientJSON(client))
        case ("GET", "asset", 1): return listAssets(request)
        case ("GET", "asset", 2):
            assetCalls.append("GET \(segments[1])")
            guard let id = Int(segments[1]), let asset = data.assets.first(where: { $0.id == id }) else {
                return .json(404, ["Message": "Asset not found"])
            }
            return .json(200, assetJSON(asset))
        case ("POST", "asset", 1): return postAssets(request)
        case ("GET", "customertype", 1):
            return .json(200, clientTypes.sorted { $0.key < $1.key }.map { ["id": $0.key, "name": $0.value] as [String: Any] })
        case ("GET", "clientcontract", 1): return listContracts(request)
        case ("GET", "recurringinvoice", 1):
            guard let client = request.query["client_id"].map({ Int($0) }) else { return .json(200, ["invoices": recurringInvoices]) }
            guard let client else { return .json(400, ["client_id": "The value is not valid."]) }
            return .json(200, ["invoices": recurringInvoices.filter { $0["client_id"] as? Int == client }])
        case ("GET", "tickets", 1):
            var rows = tickets
            if let text = request.query["client_id"] {
                guard let client = Int(text) else { return .json(400, ["client_id": "The value '\(text)' is not valid."]) }
                rows = rows.filter { $0["client_id"] as? Int == client }
            }
            if request.query["open_only"]?.lowercased() == "true" { rows = rows.filter { $0["closed"] as? Bool == false } }
            if let text = request.query["search_summary"] {
                rows = rows.filter { ($0["summary"] as? String)?.localizedCaseInsensitiveContains(text) == true }
            }
            // `details` is not part of a list row.
            rows = rows.map { row in row.filter { $0.key != "details" } }
            return .json(200, ["record_count": rows.count, "tickets": rows])
        case ("POST", "tickets", 1): return postTickets(request)
        default: return .json(404, ["Message": "No HTTP resource was found that matches the request URI."])
        }
    }

    /// The rolling limit's refusal, in Halo's words, when this request is past it.
    private func pastLimit() -> SimulatedResponse? {
        guard let headers = rollingLimit?.admit() else { return nil }
        rateLimited += 1
        return SimulatedResponse(status: 429, headers: headers, body: Array("Rate Limit Reached - \(rollingLimit!.maxRequests) Requests per rolling window".utf8))
    }

    private func token(_ request: SimulatedRequest) -> SimulatedResponse {
        guard request.method == "POST" else { return .json(405, ["error": "invalid_request"]) }
        guard request.query["tenant"] == credentials.tenant else {
            return .json(400, ["error": "invalid_request", "error_description": "unknown or missing tenant"])
        }
        guard request.headers["content-type"]?.hasPrefix("application/x-www-form-urlencoded") == true else {
            return .json(400, ["error": "invalid_request", "error_description": "the body must be form-encoded"])
        }
        var form: [String: String] = [:]
        for pair in String(decoding: request.body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            if parts.count == 2 { form[parts[0]] = parts[1] }
        }
        guard form["grant_type"] == "client_credentials" else { return .json(400, ["error": "unsupported_grant_type"]) }
        guard form["client_id"] == credentials.clientID, form["client_secret"] == credentials.clientSecret else {
            return .json(401, ["error": "invalid_client"])
        }
        let scopes = (form["scope"] ?? "").split(separator: " ").map(String.init)
        guard !scopes.isEmpty, scopes.allSatisfy({ ["all", "read:customers", "edit:customers", "edit:assets", "read:assets", "read:contracts", "edit:contracts", "read:invoices", "edit:invoices", "read:tickets", "edit:tickets"].contains($0) }) else {
            return .json(400, ["error": "invalid_scope"])
        }
        let token = UUID().uuidString
        tokens[token] = (.now + .seconds(tokenLifetimeSeconds), Set(scopes))
        tokensIssued += 1
        return .json(200, ["access_token": token, "token_type": "Bearer", "expires_in": tokenLifetimeSeconds, "scope": scopes.joined(separator: " ")])
    }

    /// Halo lists only active records unless `includeinactive=true`.
    private func visible(inactive: Bool, _ request: SimulatedRequest) -> Bool {
        let includeActive = request.query["includeactive"].map { $0.lowercased() == "true" } ?? true
        let includeInactive = request.query["includeinactive"].map { $0.lowercased() == "true" } ?? false
        return inactive ? includeInactive : includeActive
    }

    private func listClients(_ request: SimulatedRequest) -> SimulatedResponse {
        let search = request.query["search"]?.lowercased()
        let matches = data.clients.filter { client in
            visible(inactive: client.inactive, request) && (search.map { client.name.lowercased().contains($0) } ?? true)
        }
        return .json(200, ["record_count": matches.count, "clients": matches.map(clientJSON)])
    }

    private func listAssets(_ request: SimulatedRequest) -> SimulatedResponse {
        var rows = data.assets.sorted { $0.id < $1.id }
        if let listText = request.query["client_ids"] {
            // Newer instances: the assets of several clients, the ids comma-separated.
            var clients: Set<Int> = []
            for text in listText.split(separator: ",", omittingEmptySubsequences: false) {
                guard let id = Int(text.trimmingCharacters(in: .whitespaces)) else { return .json(400, ["client_ids": "The value '\(listText)' is not valid."]) }
                clients.insert(id)
            }
            rows = rows.filter { clients.contains($0.clientID) }
        }
        if let clientText = request.query["client_id"] {
            guard let clientID = Int(clientText) else { return .json(400, ["client_id": "The value '\(clientText)' is not valid."]) }
            let leakedIDs = leaked[clientID] ?? []
            rows = rows.filter { $0.clientID == clientID || leakedIDs.contains($0.id) }
        }
        rows = rows.filter { visible(inactive: $0.inactive, request) }
        let client = request.query["client_id"].flatMap(Int.init)
        guard request.query["pageinate"]?.lowercased() == "true" else {
            // Halo's answer without paging: the whole list, or its first `count` rows.
            assetListings.append((client, nil))
            if let text = request.query["count"] {
                guard let count = Int(text), count >= 1 else { return .json(400, ["count": "The value '\(text)' is not valid."]) }
                return .json(200, ["record_count": rows.count, "assets": rows.prefix(count).map(assetJSON)])
            }
            return .json(200, ["record_count": rows.count, "assets": rows.map(assetJSON)])
        }
        guard let size = request.query["page_size"].flatMap(Int.init), (1...Self.maxPageSize).contains(size) else {
            return .json(400, ["page_size": "page_size must be between 1 and \(Self.maxPageSize) when pageinate is true."])
        }
        guard let page = request.query["page_no"].flatMap(Int.init), page >= 1 else {
            return .json(400, ["page_no": "page_no must be a positive integer when pageinate is true."])
        }
        assetListings.append((client, page))
        let slice = Array(rows.dropFirst((page - 1) * size).prefix(size))
        return .json(200, ["page_no": page, "page_size": size, "record_count": rows.count, "assets": slice.map(assetJSON)])
    }

    /// Client contracts, by client when `client_id` is given, paged as assets are.
    private func listContracts(_ request: SimulatedRequest) -> SimulatedResponse {
        var rows = contracts
        if let clientText = request.query["client_id"] {
            guard let clientID = Int(clientText) else { return .json(400, ["client_id": "The value '\(clientText)' is not valid."]) }
            rows = rows.filter { $0["client_id"] as? Int == clientID }
        }
        guard request.query["pageinate"]?.lowercased() == "true" else { return .json(200, ["record_count": rows.count, "contracts": rows]) }
        guard let size = request.query["page_size"].flatMap(Int.init), (1...Self.maxPageSize).contains(size),
            let page = request.query["page_no"].flatMap(Int.init), page >= 1
        else {
            return .json(400, ["page_size": "page_size and page_no must be given when pageinate is true."])
        }
        return .json(200, ["page_no": page, "page_size": size, "record_count": rows.count, "contracts": Array(rows.dropFirst((page - 1) * size).prefix(size))])
    }

    private func postAssets(_ request: SimulatedRequest) -> SimulatedResponse {
        guard request.headers["content-type"]?.hasPrefix("application/json") == true else {
            return .json(415, ["Message": "The request entity's media type is not supported."])
        }
        guard let items = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [[String: Any]], !items.isEmpty else {
            return .json(400, ["": "The body must be a non-empty JSON array of assets."])
        }
        // The whole array is validated before anything is written, unless `elementByElement`.
        var refused: [String: String] = [:]
        var updates: [(id: Int, inactive: Bool, notes: String?)] = []
        elements: for (index, item) in items.enumerated() {
            switch Self.element(item, refusedUpdates: refusedUpdates) {
            case .update(let update): updates.append(update)
            case .refused(let field, let message):
                refused["[\(index)].\(field)"] = message
                if batchApplication == .elementByElement { break elements }
            }
        }
        if batchApplication == .validatedWhole, !refused.isEmpty { return .json(400, refused) }
        if let broken = brokenBatches {
            brokenBatches = broken.remaining.map { $0 <= 1 ? nil : (broken.applying, broken.status, $0 - 1) } ?? broken
            let written = updates.prefix(broken.applying)
            for update in written { _ = apply(update) }
            if !written.isEmpty {
                assetPostSizes.append(written.count)
                assetCalls.append("POST \(written.map(\.id))")
            }
            return .json(broken.status, ["ClassName": "Injected", "Message": "Failed after \(broken.applying) of \(items.count) assets"])
        }
        let last = updates.map(apply).last
        if !updates.isEmpty {
            assetPostSizes.append(updates.count)
            assetCalls.append("POST \(updates.map(\.id))")
        }
        return refused.isEmpty ? .json(201, (last ?? nil).map(assetJSON) ?? [:]) : .json(400, refused)
    }

    private enum BatchElement {
        case update((id: Int, inactive: Bool, notes: String?))
        /// The field Halo names and its message.
        case refused(String, String)
    }

    /// One element of an asset batch as Halo takes it: the update, or the field it refuses and why.
    private static func element(_ item: [String: Any], refusedUpdates: [Int: String]) -> BatchElement {
        if let unknown = item.keys.first(where: { !["id", "inactive", "notes"].contains($0) }) {
            return .refused(unknown, "The simulator accepts id, inactive and notes only.")
        }
        if item["notes"] != nil, !(item["notes"] is String) { return .refused("notes", "notes must be a string.") }
        guard let id = RequestNumbers.integer(item["id"]), id > 0 else { return .refused("id", "id must be a positive integer.") }
        guard JSONSerialization.isBoolean(item["inactive"]), let inactive = item["inactive"] as? Bool else {
            return .refused("inactive", "inactive must be true or false.")
        }
        if inactive, let message = refusedUpdates[id] { return .refused("inactive", message) }
        return .update((id, inactive, item["notes"] as? String))
    }

    /// Writes one element of an asset batch; Halo creates an asset for an id it does not know.
    private func apply(_ update: (id: Int, inactive: Bool, notes: String?)) -> HaloDataset.Asset? {
        let (id, inactive, notes) = update
        guard let existing = data.assets.firstIndex(where: { $0.id == id }) else {
            let created = HaloDataset.Asset(id: id, clientID: 0, inventoryNumber: "", inactive: inactive)
            data.assets.append(created)
            createdAssets.append(id)
            return created
        }
        updatedAssets.append(id)
        if let lost = lostWrites[id], lost > 0 {
            // Answered as applied: only reading the asset back shows the loss.
            lostWrites[id] = lost - 1
            var answered = data.assets[existing]
            answered.inactive = inactive
            return answered
        }
        data.assets[existing].inactive = inactive
        if let notes { notesByAsset[id] = notes }
        return data.assets[existing]
    }

    private func clientJSON(_ client: HaloDataset.Client) -> [String: Any] {
        var json: [String: Any] = ["id": client.id, "name": client.name, "inactive": client.inactive]
        if let type = clientTypeByClient[client.id] { json["customertype"] = type }
        return json
    }

    private func assetJSON(_ asset: HaloDataset.Asset) -> [String: Any] {
        [
            "id": asset.id, "client_id": asset.clientID, "inventory_number": asset.inventoryNumber, "inactive": asset.inactive,
            "assettype_name": asset.assetTypeName, "contract_id": assetContracts[asset.id] ?? 0, "notes": notesByAsset[asset.id] ?? "",
            "status_id": assetStatuses[asset.id] ?? 1,
        ]
    }
}
