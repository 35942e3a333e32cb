import Foundation

/// A strict simulator of the ConnectWise PSA REST API (`/{codebase}/apis/3.0`): it checks Basic auth
/// and the `clientId` header, parses `conditions`, pages with a `Link` header, accepts only
/// well-formed JSON-Patch status changes, and can inject latency and faults (429 with
/// `Retry-After`, 5xx, 403).
public actor ConnectWiseSimulator: SimulatedTenant {
    public struct Credentials: Sendable, Hashable {
        public var companyID: String
        public var publicKey: String
        public var privateKey: String
        public var clientID: String

        public init(companyID: String, publicKey: String, privateKey: String, clientID: String) {
            self.companyID = companyID
            self.publicKey = publicKey
            self.privateKey = privateKey
            self.clientID = clientID
        }

        /// The sandbox's credentials; `demo` and the README use them.
        public static let sandbox = Credentials(
            companyID: "acme", publicKey: "sandbox-public", privateKey: "sandbox-private", clientID: "7d3c0d3e-0000-4000-8000-00000000c0de")
    }

    /// A PATCH the simulator accepted.
    public struct AppliedPatch: Sendable, Hashable {
        public var configurationID: Int
        public var body: String
    }

    public static let codebase = "v4_6_release"
    public nonisolated let credentials: Credentials
    var data: ConnectWiseDataset
    private var faults = SimulatorFaultPlan()
    private var statusByConfiguration: [Int: Int]
    private var notesByConfiguration: [Int: String] = [:]
    /// Configurations a client's listing returns although they belong to another (`leakConfiguration`).
    private var leaked: [Int: Set<Int>] = [:]
    /// The key callbacks are signed with; served at `callbackKeyPath` as `{"signing_key": ...}`.
    public private(set) var callbackSigningKey: String
    /// How often the key was fetched.
    public private(set) var callbackKeyFetches = 0
    public private(set) var appliedPatches: [AppliedPatch] = []
    public private(set) var requestCount = 0
    /// A request limit over a rolling window, when set (ConnectWise publishes none, only 429 with `Retry-After`).
    private var rollingLimit: RollingLimit?
    private var pagingHost: String?
    public private(set) var rateLimited = 0
    /// API requests answered with anything but 429.
    public private(set) var acceptedRequests = 0
    /// Configurations whose next updates are answered as applied but are not.
    private var lostWrites: [Int: Int] = [:]
    public private(set) var maxConcurrentRequests = 0
    private var inFlight = 0
    /// Company types by company (`types[]`), and the company statuses whose `inactiveFlag` is set.
    private var companyTypes: [Int: [String]] = [:]
    private var inactiveFlagged: Set<Int> = []
    /// Each configuration's `_info.lastUpdated`, as seconds after `stampEpoch`.
    private var lastUpdated: [Int: Int] = [:]
    private var updates = 0
    private static let stampEpoch = Date(timeIntervalSince1970: 1_767_225_600)

    /// `/finance/agreements`, each one's additions and attached configurations; `/service/tickets`.
    private var agreements: [[String: Any]] = []
    private var additions: [Int: [[String: Any]]] = [:]
    private var agreementConfigurations: [Int: [Int]] = [:]
    var tickets: [[String: Any]] = []
    /// Service boards and each one's statuses (a ticket's status must be one of its board's).
    var boards: [Int: (name: String, statuses: [Int])] = ConnectWiseSimulator.sampleBoards

    public init(data: ConnectWiseDataset = .sample(), credentials: Credentials = .sandbox, callbackSigningKey: String = "sandbox-callback-signing-key") {
        self.callbackSigningKey = callbackSigningKey
        self.data = data
        self.credentials = credentials
        self.statusByConfiguration = Dictionary(uniqueKeysWithValues: data.configurations.map { ($0.id, $0.statusID) })
    }

    /// The path under the server root that plays `https://{host}/v4_6_release/apis/3.0`.
    public nonisolated static var apiPath: String { "/\(codebase)/apis/3.0" }
    /// Where callbacks' `Metadata.key_url` points (with `?id=`).
    public nonisolated static var callbackKeyPath: String { "/\(codebase)/system/callbackkey/index.rails" }

    // MARK: Test controls

    public func inject(_ fault: SimulatorFault) { faults.faults.append(fault) }
    public func setLatency(_ latency: Duration) { faults.latency = latency }
    /// Paging links on another host (`host:port`), as a PSA behind a misconfigured proxy, or a
    /// hostile one, could hand out; nil links back to the request's own host.
    public func linkPages(to host: String?) { pagingHost = host }
    public func injectTransientFaults(_ transient: TransientFaults?) { faults.transient = transient }
    public func transientFaultsServed() -> [Int: Int] { faults.served }
    public func injectedFaultsServed() -> [(status: Int, at: ContinuousClock.Instant)] { faults.injectedServed }
    public func clearFaults() { faults.faults.removeAll() }
    public func setRollingLimit(maxRequests: Int, window: Duration) { setRollingLimit(maxRequests: maxRequests, window: window, sendsRetryAfter: true) }
    public func setRollingLimit(maxRequests: Int, window: Duration, sendsRetryAfter: Bool) {
        rollingLimit = RollingLimit(maxRequests: maxRequests, window: window, sendsRetryAfter: sendsRetryAfter)
    }
    public func loseWrites(ofConfiguration id: Int, times: Int) { lostWrites[id] = times }
    /// Status ids a PATCH may not set on a configuration.
    private var refusedStatuses: [Int: Set<Int>] = [:]
    public func add(company: ConnectWiseDataset.Company?, configurations: [ConnectWiseDataset.Configuration]) {
        if let company { data.companies.append(company) }
        data.configurations.append(contentsOf: configurations)
        for config in configurations { statusByConfiguration[config.id] = config.statusID }
    }
    /// The configuration's current status id.
    public func statusID(ofConfiguration id: Int) -> Int? { statusByConfiguration[id] }
    public func patches(forCompany companyID: Int) -> [AppliedPatch] {
        let ids = Set(data.configurations.filter { $0.companyID == companyID }.map(\.id))
        return appliedPatches.filter { ids.contains($0.configurationID) }
    }
    public var closedStatusIDs: Set<Int> { Set(data.configurationStatuses.filter(\.closedFlag).map(\.id)) }

    public func addClient(id: Int, name: String, offboarded: Bool, active: Int, inactive: Int) -> [Int] {
        let status = offboarded ? ConnectWiseDataset.offboardedCompanyStatus : ConnectWiseDataset.activeCompanyStatus
        let ids = (0..<(active + inactive)).map { id * 10_000 + $0 + 1 }
        add(
            company: .init(id: id, identifier: "Client\(id)", name: name, status: status),
            configurations: ids.enumerated().map { index, configID in
                .init(
                    id: configID, name: "Device \(index + 1) of \(name)", companyID: id,
                    statusID: index < active ? ConnectWiseDataset.activeConfigurationStatus.id : ConnectWiseDataset.inactiveConfigurationStatus.id)
            })
        return ids
    }

    public func addConfigurations(toClient id: Int, count: Int) -> [Int] {
        let first = data.configurations.filter { $0.companyID == id }.count
        let ids = (0..<count).map { id * 10_000 + first + $0 + 1 }
        add(
            company: nil,
            configurations: ids.map { .init(id: $0, name: "Device \($0) added later", companyID: id, statusID: ConnectWiseDataset.activeConfigurationStatus.id) })
        return ids
    }

    public func removeConfiguration(_ id: Int) {
        data.configurations.removeAll { $0.id == id }
        statusByConfiguration[id] = nil
    }

    public func setType(_ name: String, ofConfiguration id: Int) {
        if let index = data.configurations.firstIndex(where: { $0.id == id }) { data.configurations[index].typeName = name }
    }

    public func leakConfiguration(_ id: Int, intoListingOf client: Int) { leaked[client, default: []].insert(id) }

    public func isConfigurationActive(_ id: Int) -> Bool? {
        statusByConfiguration[id].map { !closedStatusIDs.contains($0) }
    }

    public func deactivationWrites(forClient id: Int) -> Int { patches(forCompany: id).count }

    public func notes(ofConfiguration id: Int) -> String? { notesByConfiguration[id] }
    public func setNotes(_ notes: String, ofConfiguration id: Int) { notesByConfiguration[id] = notes }
    public func noteLines(ofConfiguration id: Int) -> [String] { (notesByConfiguration[id] ?? "").split(separator: "\n").map(String.init) }
    public func addMSPNote(_ text: String, toConfiguration id: Int) { notesByConfiguration[id] = text }
    public func setStatus(ofCompany id: Int, to status: ConnectWiseDataset.Status) {
        if let index = data.companies.firstIndex(where: { $0.id == id }) { data.companies[index].status = status }
    }

    /// ConnectWise rotates a callback signing key: from now on callbacks are signed with `key`,
    /// and the key URL serves it.
    public func rotateCallbackSigningKey(to key: String) { callbackSigningKey = key }

    public func setCompanyType(_ name: String, ofClient id: Int) { companyTypes[id] = [name] }

    /// An agreement in effect has no cancellation and its end (if any) ahead; one not in effect
    /// expired at `end`, or was cancelled without one.
    public func addContract(toClient id: Int, contractID: Int, name: String, end: Date?, inEffect: Bool) {
        var agreement: [String: Any] = [
            "id": contractID, "name": name, "company": ["id": id, "identifier": "", "name": ""],
            "agreementStatus": inEffect ? "Active" : (end == nil ? "Cancelled" : "Expired"), "cancelledFlag": !inEffect && end == nil,
            "noEndingDateFlag": end == nil && inEffect,
        ]
        if let end { agreement["endDate"] = end.formatted(.iso8601) }
        agreements.append(agreement)
        // An agreement in effect bills something: one addition, as agreements usually carry.
        if inEffect {
            additions[contractID] = [["id": contractID * 10, "product": ["id": 1, "identifier": "MANAGED-ENDPOINT"], "quantity": 1, "agreementStatus": "Active"]]
        }
    }

    public func tieConfiguration(_ id: Int, toContract contractID: Int) { agreementConfigurations[contractID, default: []].append(id) }

    public func openAlert(onConfiguration id: Int, ofClient client: Int, alertID: Int, summary: String) {
        tickets.append(["id": alertID, "summary": summary, "company": ["id": client], "closedFlag": false])
    }

    /// Adds a company status, or changes its name and flag.
    public func defineCompanyStatus(_ status: ConnectWiseDataset.Status, inactiveFlag: Bool) {
        data.companyStatuses.removeAll { $0.id == status.id }
        data.companyStatuses.append(status)
        if inactiveFlag { inactiveFlagged.insert(status.id) } else { inactiveFlagged.remove(status.id) }
        for index in data.companies.indices where data.companies[index].status.id == status.id { data.companies[index].status = status }
    }

    public nonisolated func listingFault(ofClient id: Int, status: Int, retryAfterSeconds: Int?, times: Int?) -> SimulatorFault {
        // The client's configurations, alone (`company/id=N`) or within a sweep's list (`company/id in (...)`).
        var fault = SimulatorFault(method: "GET", pathContains: "company/configurations?", status: status, retryAfterSeconds: retryAfterSeconds, times: times)
        fault.alsoContainsOneOf = ["company/id=\(id) ", "company/id=\(id)&", "(\(id),", ",\(id),", ",\(id))", "(\(id))"]
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

    private func begin() -> Duration {
        requestCount += 1
        inFlight += 1
        maxConcurrentRequests = max(maxConcurrentRequests, inFlight)
        return faults.latency
    }

    private func end() { inFlight -= 1 }

    private func handle(_ request: SimulatedRequest) -> SimulatedResponse {
        let prefix = Self.apiPath
        if request.path == Self.callbackKeyPath {
            guard request.method == "GET", request.query["id"].map({ !$0.isEmpty }) == true else {
                return Self.error(400, "InvalidObject", "GET with an id is required")
            }
            callbackKeyFetches += 1
            return .json(200, ["signing_key": callbackSigningKey])
        }
        guard request.path.hasPrefix(prefix + "/") else {
            return Self.error(404, "NotFound", "The requested URL was not found; check the codebase (\(Self.codebase))")
        }
        if let failure = authenticate(request) { return failure }
        if let headers = rollingLimit?.admit() {
            rateLimited += 1
            return .json(429, ["code": "TooManyRequests", "message": "Request volume exceeds capacity limits"], headers: headers)
        }
        acceptedRequests += 1
        let path = String(request.path.dropFirst(prefix.count))
        if let fault = faults.take(method: request.method, path: path, query: request.query) {
            let applied = fault.appliesFirst ? route(request, path: path) : nil
            if let connection = fault.connection { return .failing(connection, answer: applied) }
            var headers: [(String, String)] = []
            if let retryAfter = fault.retryAfter { headers.append(("Retry-After", retryAfter)) }
            let code = fault.status == 403 ? "Forbidden" : fault.status == 429 ? "TooManyRequests" : "ServerError"
            return .json(fault.status, ["code": code, "message": "Injected fault \(fault.status)"], headers: headers)
        }
        return route(request, path: path)
    }

    private func route(_ request: SimulatedRequest, path: String) -> SimulatedResponse {
        let segments = path.split(separator: "/").map(String.init)
        let method = request.method
        do {
            if segments == ["system", "info"] {
                guard method == "GET" else { return Self.error(405, "MethodNotAllowed", "\(method) is not allowed here") }
                return .json(200, ["version": "v2025.1.simulated", "isCloud": true, "serverTimeZone": "UTC"])
            }
            if segments == ["company", "companies"] {
                guard method == "GET" else { return Self.error(405, "MethodNotAllowed", "\(method) is not allowed here") }
                return try listCompanies(request)
            }
            if segments == ["company", "companies", "statuses"] {
                guard method == "GET" else { return Self.error(405, "MethodNotAllowed", "\(method) is not allowed here") }
                return try page(
                    data.companyStatuses.sorted { $0.id < $1.id }.map {
                        ["id": $0.id, "name": $0.name, "inactiveFlag": inactiveFlagged.contains($0.id), "defaultFlag": $0.id == 1] as [String: Any]
                    }, request)
            }
            if segments.count == 3, segments[0...1] == ["company", "companies"] {
                guard method == "GET" else { return Self.error(405, "MethodNotAllowed", "\(method) is not allowed here") }
                guard let id = Int(segments[2]) else { return Self.error(400, "InvalidObject", "company id must be an integer") }
                guard let company = data.companies.first(where: { $0.id == id }) else {
                    return Self.error(404, "NotFound", "Company with id \(id) was not found")
                }
                return .json(200, companyJSON(company))
            }
            if segments.count == 4, segments[0...1] == ["finance", "agreements"], let id = Int(segments[2]), ["configurations", "additions"].contains(segments[3]) {
                guard method == "GET" else { return Self.error(405, "MethodNotAllowed", "\(method) is not allowed here") }
                guard agreements.contains(where: { $0["id"] as? Int == id }) else { return Self.error(404, "NotFound", "Agreement with id \(id) was not found") }
                if segments[3] == "additions" { return try page(additions[id] ?? [], request) }
                // A configuration reference: the configuration's own id and name.
                return try page(
                    (agreementConfigurations[id] ?? []).map { config in
                        ["id": config, "name": data.configurations.first { $0.id == config }?.name ?? ""] as [String: Any]
                    }, request)
            }
            if segments == ["service", "tickets"] {
                guard method == "GET" || method == "POST" else { return Self.error(405, "MethodNotAllowed", "\(method) is not allowed here") }
                guard method == "GET" else { return createTicket(request) }
                let parsed = try conditions(request, fields: ["id", "company/id", "closedFlag", "summary", "externalXRef"])
                let rows = tickets.filter { ticket in
                    parsed?.matches([
                        "id": .integer(ticket["id"] as! Int), "company/id": .integer((ticket["company"] as! [String: Any])["id"] as! Int),
                        "closedFlag": .bool(ticket["closedFlag"] as! Bool), "summary": .string(ticket["summary"] as! String),
                        "externalXRef": .string(ticket["externalXRef"] as? String ?? ""),
                    ]) ?? true
                }
                // `initialDescription` is taken on POST only and never returned.
                let shown = rows.map { row in row.filter { $0.key != "initialDescription" } }
                return try page(request.query["fields"].map { fields in shown.map { Self.select(fields, from: $0) } } ?? shown, request)
            }
            if segments == ["finance", "agreements"] {
                guard method == "GET" else { return Self.error(405, "MethodNotAllowed", "\(method) is not allowed here") }
                return try listAgreements(request)
            }
            if segments == ["company", "configurations", "statuses"] {
                guard method == "GET" else { return Self.error(405, "MethodNotAllowed", "\(method) is not allowed here") }
                return .json(
                    200,
                    data.configurationStatuses.map {
                        ["id": $0.id, "description": $0.description, "closedFlag": $0.closedFlag, "defaultFlag": $0.defaultFlag] as [String: Any]
                    })
            }
            if segments == ["company", "configurations"] {
                guard method == "GET" else { return Self.error(405, "MethodNotAllowed", "\(method) is not allowed here") }
                return try listConfigurations(request)
            }
            if segments.count == 3, segments[0...1] == ["company", "configurations"] {
                guard method == "PATCH" || method == "GET" else { return Self.error(405, "MethodNotAllowed", "\(method) is not allowed here") }
                guard let id = Int(segments[2]) else { return Self.error(400, "InvalidObject", "configuration id must be an integer") }
                guard let config = data.configurations.first(where: { $0.id == id }) else {
                    return Self.error(404, "NotFound", "Configuration with id \(id) was not found")
                }
                guard method == "PATCH" else {
                    var row = configurationJSON(config)
                    if let fields = request.query["fields"] { row = Self.select(fields, from: row) }
                    return .json(200, row)
                }
                return patchConfiguration(config, request)
            }
        } catch {
            return error.response
        }
        return Self.error(404, "NotFound", "No resource at \(path)")
    }

    /// A request the simulator refuses, with the response that says why.
    struct Rejection: Error {
        var response: SimulatedResponse
    }

    private func authenticate(_ request: SimulatedRequest) -> SimulatedResponse? {
        // Two sets of credentials are no credentials: which one would be meant?
        if request.repeats("authorization", "clientid") {
            return Self.error(400, "InvalidObject", "The Authorization and clientId headers may each be sent once")
        }
        let expected = "\(credentials.companyID)+\(credentials.publicKey):\(credentials.privateKey)"
        guard let authorization = request.headers["authorization"], authorization.hasPrefix("Basic "),
            let decoded = Data(base64Encoded: String(authorization.dropFirst(6))),
            String(decoding: decoded, as: UTF8.self) == expected
        else {
            return Self.error(401, "Unauthorized", "Basic authentication with company+publicKey:privateKey is required")
        }
        guard request.headers["clientid"] == credentials.clientID else {
            return Self.error(401, "Unauthorized", "A valid clientId header is required")
        }
        return nil
    }

    private func paging(_ request: SimulatedRequest) throws(Rejection) -> (page: Int, size: Int) {
        let page = request.query["page"].map { Int($0) } ?? 1
        let size = request.query["pageSize"].map { Int($0) } ?? 25
        guard let page, page >= 1 else { throw Rejection(response: Self.error(400, "InvalidObject", "page must be a positive integer")) }
        guard let size, (1...1000).contains(size) else {
            throw Rejection(response: Self.error(400, "InvalidObject", "pageSize must be between 1 and 1000"))
        }
        return (page, size)
    }

    private func conditions(_ request: SimulatedRequest, parameter: String = "conditions", fields: Set<String>) throws(Rejection) -> ConnectWiseConditions? {
        guard let text = request.query[parameter] else { return nil }
        do {
            return try ConnectWiseConditions(parsing: text, allowedFields: fields)
        } catch {
            throw Rejection(response: Self.error(400, "InvalidObject", error.message))
        }
    }

    private func listCompanies(_ request: SimulatedRequest) throws(Rejection) -> SimulatedResponse {
        let parsed = try conditions(request, fields: ["id", "name", "identifier", "status/id", "status/name"])
        // Array members (`types`) are filtered with childConditions, never with conditions.
        let child = try conditions(request, parameter: "childConditions", fields: ["types/name", "types/id"])
        let matches = data.companies.filter { company in
            let fields: [String: ConnectWiseConditions.Value] = [
                "id": .integer(company.id), "name": .string(company.name), "identifier": .string(company.identifier),
                "status/id": .integer(company.status.id), "status/name": .string(company.status.name),
            ]
            let types = companyTypes[company.id] ?? []
            return (parsed?.matches(fields) ?? true) && (child.map { child in types.contains { child.matches(["types/name": .string($0)]) } } ?? true)
        }
        return try page(matches.map(companyJSON), request)
    }

    private func listAgreements(_ request: SimulatedRequest) throws(Rejection) -> SimulatedResponse {
        let parsed = try conditions(request, fields: ["id", "company/id", "endDate", "cancelledFlag", "dateCancelled", "agreementStatus", "noEndingDateFlag"])
        let matches = agreements.filter { agreement in
            var fields: [String: ConnectWiseConditions.Value] = [
                "id": .integer(agreement["id"] as! Int), "company/id": .integer((agreement["company"] as! [String: Any])["id"] as! Int),
                "cancelledFlag": .bool(agreement["cancelledFlag"] as! Bool), "noEndingDateFlag": .bool(agreement["noEndingDateFlag"] as! Bool),
                "agreementStatus": .string(agreement["agreementStatus"] as! String),
            ]
            for key in ["endDate", "dateCancelled"] {
                if let text = agreement[key] as? String, let date = try? Date(text, strategy: .iso8601) { fields[key] = .date(date) }
            }
            return parsed?.matches(fields) ?? true
        }
        return try page(matches, request)
    }

    private func listConfigurations(_ request: SimulatedRequest) throws(Rejection) -> SimulatedResponse {
        let parsed = try conditions(request, fields: ["id", "name", "company/id", "status/id", "status/name", "activeFlag"])
        if let order = request.query["orderBy"], order.lowercased() != "id asc", order.lowercased() != "id" {
            return Self.error(400, "InvalidObject", "the simulator orders by id only")
        }
        let closed = closedStatusIDs
        let leakedIDs = Set(leaked.filter { parsed?.matches(["company/id": .integer($0.key)]) == true }.values.flatMap { $0 })
        let matches = data.configurations.filter { config in
            if leakedIDs.contains(config.id) { return true }
            let status = statusByConfiguration[config.id] ?? config.statusID
            let statusName = data.configurationStatuses.first { $0.id == status }?.description ?? ""
            return parsed?.matches([
                "id": .integer(config.id), "name": .string(config.name), "company/id": .integer(config.companyID),
                "status/id": .integer(status), "status/name": .string(statusName), "activeFlag": .bool(!closed.contains(status)),
            ]) ?? true
        }.sorted { $0.id < $1.id }
        var rows = matches.map(configurationJSON)
        if let fields = request.query["fields"] {
            rows = rows.map { Self.select(fields, from: $0) }
        }
        return try page(rows, request)
    }

    private func page(_ rows: [[String: Any]], _ request: SimulatedRequest) throws(Rejection) -> SimulatedResponse {
        let (page, size) = try paging(request)
        let start = (page - 1) * size
        let slice = start < rows.count ? Array(rows[start..<min(start + size, rows.count)]) : []
        let lastPage = max(1, (rows.count + size - 1) / size)
        var links: [String] = []
        func link(_ target: Int, _ relation: String) -> String {
            var query = request.query
            query["page"] = String(target)
            let encoded = query.sorted { $0.key < $1.key }.map { "\(Self.encode($0.key))=\(Self.encode($0.value))" }.joined(separator: "&")
            return "<http://\(pagingHost ?? request.host)\(request.path)?\(encoded)>; rel=\"\(relation)\""
        }
        if page > 1 { links.append(link(page - 1, "prev")) }
        if page < lastPage { links.append(link(page + 1, "next")) }
        links.append(link(1, "first"))
        links.append(link(lastPage, "last"))
        return .json(200, slice, headers: [("Link", links.joined(separator: ", "))])
    }

    private func patchConfiguration(_ config: ConnectWiseDataset.Configuration, _ request: SimulatedRequest) -> SimulatedResponse {
        let id = config.id
        guard request.headers["content-type"]?.hasPrefix("application/json") == true else {
            return Self.error(415, "UnsupportedMediaType", "Content-Type must be application/json")
        }
        guard let operations = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [[String: Any]], !operations.isEmpty else {
            return Self.error(400, "InvalidObject", "The body must be a non-empty JSON array of patch operations")
        }
        var newStatus: Int?
        var newNotes: String?
        for operation in operations {
            guard Set(operation.keys).isSubset(of: ["op", "path", "value"]), let op = operation["op"] as? String,
                ["add", "replace", "remove"].contains(op), let path = operation["path"] as? String
            else {
                return Self.error(400, "InvalidObject", "Each operation needs op (add, replace, remove) and path, and nothing else")
            }
            switch path {
            case "status", "/status":
                guard op == "replace", let value = operation["value"] as? [String: Any], value.count == 1,
                    let statusID = RequestNumbers.integer(value["id"])
                else {
                    return Self.invalidField("status", "status must be replaced with {\"id\": <status id>}")
                }
                guard data.configurationStatuses.contains(where: { $0.id == statusID }) else {
                    return Self.invalidField("status", "Configuration status \(statusID) does not exist")
                }
                if refusedStatuses[id]?.contains(statusID) == true {
                    return Self.invalidField("status", "Configuration \(id) may not be set to status \(statusID)")
                }
                newStatus = statusID
            case "notes", "/notes":
                guard op == "replace" || op == "add", let text = operation["value"] as? String else {
                    return Self.invalidField("notes", "notes must be replaced with a string")
                }
                newNotes = text
            default:
                return Self.invalidField(path, "the simulator accepts changes of status and notes only")
            }
        }
        appliedPatches.append(AppliedPatch(configurationID: id, body: String(decoding: request.body, as: UTF8.self)))
        if let lost = lostWrites[id], lost > 0 {
            // Answered as applied, as the PSA would have answered: only a read-back shows otherwise.
            lostWrites[id] = lost - 1
            let kept = (statusByConfiguration[id], notesByConfiguration[id])
            if let newStatus { statusByConfiguration[id] = newStatus }
            if let newNotes { notesByConfiguration[id] = newNotes }
            let answer = configurationJSON(config)
            (statusByConfiguration[id], notesByConfiguration[id]) = kept
            return .json(200, answer)
        }
        if let newStatus { statusByConfiguration[id] = newStatus }
        if let newNotes { notesByConfiguration[id] = newNotes }
        touch(id)
        return .json(200, configurationJSON(config))
    }

    /// Moves the configuration's `_info.lastUpdated` on, a second per change, so that every change
    /// shows however close together they come.
    private func touch(_ id: Int) {
        updates += 1
        lastUpdated[id] = updates
    }

    public static let loanedConfigurationStatus = ConnectWiseDataset.ConfigurationStatus(id: 5, description: "Loaned", closedFlag: false)

    public func setSecondOpenStatus(ofConfiguration id: Int) {
        if !data.configurationStatuses.contains(where: { $0.id == Self.loanedConfigurationStatus.id }) {
            data.configurationStatuses.append(Self.loanedConfigurationStatus)
        }
        statusByConfiguration[id] = Self.loanedConfigurationStatus.id
        touch(id)
    }

    public func refuseDeactivation(ofConfiguration id: Int) {
        refusedStatuses[id] = closedStatusIDs
    }

    public func editByHand(configuration id: Int) {
        if let index = data.configurations.firstIndex(where: { $0.id == id }) { data.configurations[index].name += " (renamed)" }
        touch(id)
    }

    /// Changes a configuration as someone in the PSA's UI would: its status, and its stamp.
    public func edit(configuration id: Int, statusID: Int) {
        statusByConfiguration[id] = statusID
        touch(id)
    }

    // MARK: JSON

    /// ConnectWise's `fields`: top-level names, or `parent/child` for one member of an object.
    static func select(_ fields: String, from row: [String: Any]) -> [String: Any] {
        var selected: [String: Any] = [:]
        for field in fields.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let path = field.split(separator: "/", maxSplits: 1).map(String.init)
            guard let value = row[path[0]] else { continue }
            if path.count == 2, let object = value as? [String: Any] {
                var nested = selected[path[0]] as? [String: Any] ?? [:]
                nested[path[1]] = object[path[1]]
                selected[path[0]] = nested
            } else {
                selected[path[0]] = value
            }
        }
        return selected
    }

    private func companyJSON(_ company: ConnectWiseDataset.Company) -> [String: Any] {
        [
            "id": company.id, "identifier": company.identifier, "name": company.name, "deletedFlag": false,
            "status": ["id": company.status.id, "name": company.status.name],
            "types": (companyTypes[company.id] ?? ["Client"]).map { ["id": abs($0.hashValue % 1000), "name": $0] },
        ]
    }

    private func configurationJSON(_ config: ConnectWiseDataset.Configuration) -> [String: Any] {
        let status = statusByConfiguration[config.id] ?? config.statusID
        let statusName = data.configurationStatuses.first { $0.id == status }?.description ?? ""
        let company = data.companies.first { $0.id == config.companyID }
        return [
            "id": config.id, "name": config.name, "type": ["id": abs(config.typeName.hashValue % 100), "name": config.typeName],
            "status": ["id": status, "name": statusName],
            "company": ["id": config.companyID, "identifier": company?.identifier ?? "", "name": company?.name ?? ""],
            "activeFlag": !closedStatusIDs.contains(status), "notes": notesByConfiguration[config.id] ?? "",
            "_info": ["lastUpdated": Self.stampEpoch.addingTimeInterval(Double(lastUpdated[config.id] ?? 0)).formatted(.iso8601), "updatedBy": "simulator"],
        ]
    }

    static func error(_ status: Int, _ code: String, _ message: String) -> SimulatedResponse {
        .json(status, ["code": code, "message": message])
    }

    private static func invalidField(_ field: String, _ message: String) -> SimulatedResponse {
        .json(400, [
            "code": "InvalidObject", "message": "configuration object is invalid",
            "errors": [["code": "InvalidField", "message": message, "resource": "configuration", "field": field]],
        ])
    }

    private static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }
}
