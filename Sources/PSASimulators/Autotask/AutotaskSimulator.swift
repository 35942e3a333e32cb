import Foundation

/// A strict simulator of the Autotask PSA REST API (`/atservicesrest/v1.0`): header auth,
/// `zoneInformation`, `{"item": null}` for unknown ids, `query` bodies with filters, 500 records a
/// page with `pageDetails.nextPageUrl`, `PATCH ConfigurationItems` with the id in the body, errors
/// as `{"errors": [...]}`, and the thread limit: a fourth request in flight on one endpoint gets
/// the `Itgenatr005` thread-threshold error.
public actor AutotaskSimulator: SimulatedTenant {
    public struct Credentials: Sendable, Hashable {
        public var apiIntegrationCode: String
        public var username: String
        public var secret: String

        public init(apiIntegrationCode: String, username: String, secret: String) {
            self.apiIntegrationCode = apiIntegrationCode
            self.username = username
            self.secret = secret
        }

        public static let sandbox = Credentials(
            apiIntegrationCode: "SANDBOXTRACKINGCODE0000000", username: "api-user@sandbox.example", secret: "sandbox-secret")
    }

    public static let apiPath = "/atservicesrest/v1.0"
    public static let threadLimit = 3
    public nonisolated let credentials: Credentials
    var data: AutotaskDataset
    private var faults = SimulatorFaultPlan()
    private var pagingHost: String?
    private var pagingTokens: [String: (entity: String, filter: [[String: Any]], offset: Int, size: Int, fields: Set<String>?)] = [:]
    private var inFlightByEndpoint: [String: Int] = [:]
    /// Items a company's listing returns although they belong to another (`leakConfiguration`).
    private var leaked: [Int: Set<Int>] = [:]
    public private(set) var patchedItems: [Int] = []
    public private(set) var threadLimitErrors = 0
    public private(set) var maxInFlightPerEndpoint = 0
    /// The database's request threshold, when set: past half and three quarters of it every call
    /// is slowed (Autotask's usage-based latency), past all of it refused with 429.
    private var threshold: RollingLimit?
    private var usageLatency: (half: Duration, threeQuarters: Duration) = (.zero, .zero)
    public private(set) var rateLimited = 0
    /// API requests answered with anything but 429 or the thread-limit error.
    public private(set) var acceptedRequests = 0
    /// Items whose next updates are answered as applied but are not: a write lost inside Autotask.
    private var lostWrites: [Int: Int] = [:]
    /// Items whose deactivation the API user may not make.
    private var refusedDeactivations: Set<Int> = []
    public func refuseDeactivation(ofConfiguration id: Int) { refusedDeactivations.insert(id) }

    public init(data: AutotaskDataset = .sample(), credentials: Credentials = .sandbox) {
        self.data = data
        self.credentials = credentials
    }

    // MARK: Controls

    public func inject(_ fault: SimulatorFault) { faults.faults.append(fault) }
    public func setLatency(_ latency: Duration) { faults.latency = latency }
    public func injectTransientFaults(_ transient: TransientFaults?) { faults.transient = transient }
    public func transientFaultsServed() -> [Int: Int] { faults.served }
    /// Paging links on another host (`host:port`), as a PSA behind a misconfigured proxy, or a
    /// hostile one, could hand out; nil links back to the request's own host.
    public func linkPages(to host: String?) { pagingHost = host }
    public func injectedFaultsServed() -> [(status: Int, at: ContinuousClock.Instant)] { faults.injectedServed }
    public func clearFaults() { faults.faults.removeAll() }
    public func setRollingLimit(maxRequests: Int, window: Duration) { setRollingLimit(maxRequests: maxRequests, window: window, sendsRetryAfter: false) }
    public func setRollingLimit(maxRequests: Int, window: Duration, sendsRetryAfter: Bool) {
        setRequestThreshold(maxRequests, window: window, sendsRetryAfter: sendsRetryAfter)
    }
    /// Autotask's threshold (10,000 an hour in production) with its usage-based latency; its 429
    /// carries no `Retry-After` unless `sendsRetryAfter` (that Autotask sends one is unconfirmed).
    public func setRequestThreshold(
        _ requests: Int, window: Duration = .seconds(3600), latencyAtHalf: Duration = .zero, latencyAtThreeQuarters: Duration = .zero,
        sendsRetryAfter: Bool = false
    ) {
        threshold = RollingLimit(maxRequests: requests, window: window, sendsRetryAfter: sendsRetryAfter)
        usageLatency = (latencyAtHalf, latencyAtThreeQuarters)
    }
    /// Sets the company's type by label: a `companyType` label when the picklist has it, else a
    /// `classification` label (added to that picklist when new).
    public func setCompanyType(_ name: String, ofClient id: Int) {
        guard let index = data.companies.firstIndex(where: { $0.id == id }) else { return }
        if let type = data.companyTypes.first(where: { $0.value == name })?.key {
            data.companies[index].companyType = type
        } else {
            let value = classifications.first { $0.value == name }?.key ?? (classifications.keys.max() ?? 0) + 1
            classifications[value] = name
            companyClassification[id] = value
        }
    }

    /// A contract in effect has status 1; one not in effect status 0, ended at `end`.
    public func addContract(toClient id: Int, contractID: Int, name: String, end: Date?, inEffect: Bool) {
        contracts.append([
            "id": contractID, "contractName": name, "companyID": id, "status": inEffect ? 1 : 0,
            "endDate": end.map { $0.formatted(.iso8601) as Any } ?? NSNull(),
        ])
    }

    public func loseWrites(ofConfiguration id: Int, times: Int) { lostWrites[id] = times }
    /// The `classification` picklist and each company's value; `Contracts`.
    private var classifications: [Int: String] = [1: "Standard"]
    private var companyClassification: [Int: Int] = [:]
    private var contracts: [[String: Any]] = []
    /// `ConfigurationItemNotes`, in creation order.
    private var itemNotes: [[String: Any]] = []

    /// The notes on an item, their descriptions in order.
    public func noteLines(ofConfiguration id: Int) -> [String] {
        itemNotes.filter { $0["configurationItemID"] as? Int == id }.compactMap { $0["description"] as? String }
    }

    public func addMSPNote(_ text: String, toConfiguration id: Int) {
        itemNotes.append(["id": 900_000 + itemNotes.count, "configurationItemID": id, "title": "Rack", "description": text, "noteType": 1])
    }

    /// A note created the way Autotask's child route takes it: the parent in the path and the body,
    /// a title of at most 250 characters, a description of at most 32,000, and a `noteType` from the picklist.
    private func createNote(_ request: SimulatedRequest, parent: String) -> SimulatedResponse {
        guard request.headers["content-type"]?.hasPrefix("application/json") == true else {
            return Self.errors(415, "Content-Type must be application/json.")
        }
        guard let parentID = Int(parent), data.configurationItems.contains(where: { $0.id == parentID }) else {
            return Self.errors(404, "The parent configuration item \(parent) does not exist.")
        }
        guard let body = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any] else {
            return Self.errors(500, "The note is not a JSON object.")
        }
        let known: Set<String> = ["id", "configurationItemID", "title", "description", "noteType"]
        if let unknown = body.keys.first(where: { !known.contains($0) }) { return Self.errors(500, "Unknown field \(unknown).") }
        guard RequestNumbers.integer(body["configurationItemID"]) == parentID else {
            return Self.errors(500, "configurationItemID must be the parent's id \(parentID).")
        }
        guard let title = body["title"] as? String, !title.isEmpty, title.count <= 250 else { return Self.errors(500, "title is required (at most 250 characters).") }
        guard let text = body["description"] as? String, text.count <= 32_000 else { return Self.errors(500, "description must be at most 32000 characters.") }
        guard let type = RequestNumbers.integer(body["noteType"]), [1, 2].contains(type) else {
            return Self.errors(500, "noteType is required and must be a picklist value.")
        }
        let id = 900_000 + itemNotes.count
        itemNotes.append(["id": id, "configurationItemID": parentID, "title": title, "description": text, "noteType": type])
        return .json(200, ["itemId": id])
    }

    /// Each item's `lastModifiedTime`, as seconds after `stampEpoch`, moved on by every change.
    private var itemModified: [Int: Int] = [:]
    private var modifications = 0
    private static let stampEpoch = Date(timeIntervalSince1970: 1_767_225_600)

    private func touch(_ id: Int) {
        modifications += 1
        itemModified[id] = modifications
    }

    /// Each item's `contractID`, `contractServiceID` and `rmmOpenAlertCount`; `ContractServices`.
    private var itemContracts: [Int: Int] = [:]
    private var itemServices: [Int: Int] = [:]
    private var itemAlerts: [Int: Int] = [:]
    private var contractServices: [[String: Any]] = []
    /// `Tickets`, and the queues a ticket may be placed in.
    var tickets: [[String: Any]] = []
    var ticketQueues: [Int: String] = AutotaskSimulator.sampleQueues

    public func tieConfiguration(_ id: Int, toContract contractID: Int) { itemContracts[id] = contractID }

    /// Bills the item through a service of the contract, naming the service only (the item's
    /// `contractID` left empty), so that the contract is found through `ContractServices`.
    public func tieConfiguration(_ id: Int, toService serviceID: Int, ofContract contractID: Int) {
        if !contractServices.contains(where: { $0["id"] as? Int == serviceID }) {
            contractServices.append(["id": serviceID, "contractID": contractID, "serviceID": serviceID % 1000 + 1])
        }
        itemServices[id] = serviceID
    }

    public func openAlert(onConfiguration id: Int, ofClient client: Int, alertID: Int, summary: String) { itemAlerts[id, default: 0] += 1 }

    public func addClient(id: Int, name: String, offboarded: Bool, active: Int, inactive: Int) -> [Int] {
        data.companies.append(.init(id: id, companyName: name, isActive: !offboarded))
        let ids = (0..<(active + inactive)).map { id * 10_000 + $0 + 1 }
        for (index, itemID) in ids.enumerated() {
            data.configurationItems.append(.init(id: itemID, companyID: id, referenceTitle: "Device \(index + 1) of \(name)", isActive: index < active))
        }
        return ids
    }

    public func addConfigurations(toClient id: Int, count: Int) -> [Int] {
        let first = data.configurationItems.filter { $0.companyID == id }.count
        let ids = (0..<count).map { id * 10_000 + first + $0 + 1 }
        for itemID in ids {
            data.configurationItems.append(.init(id: itemID, companyID: id, referenceTitle: "Device \(itemID) added later", isActive: true))
        }
        return ids
    }

    public func removeConfiguration(_ id: Int) { data.configurationItems.removeAll { $0.id == id } }

    public func setSecondOpenStatus(ofConfiguration id: Int) {}

    public func statusID(ofConfiguration id: Int) -> Int? { nil }

    public func editByHand(configuration id: Int) {
        guard let index = data.configurationItems.firstIndex(where: { $0.id == id }) else { return }
        data.configurationItems[index].referenceTitle = (data.configurationItems[index].referenceTitle ?? "Item") + " (renamed)"
        touch(id)
    }

    /// The type is a picklist value: a name the picklist lacks is added to it, as an admin would.
    public func setType(_ name: String, ofConfiguration id: Int) {
        var types = data.configurationItemTypes ?? [:]
        let value = types.first { $0.value == name }?.key ?? ((types.keys.max() ?? 0) + 1)
        types[value] = name
        data.configurationItemTypes = types
        if let index = data.configurationItems.firstIndex(where: { $0.id == id }) { data.configurationItems[index].configurationItemType = value }
    }

    public func leakConfiguration(_ id: Int, intoListingOf client: Int) { leaked[client, default: []].insert(id) }

    public func isConfigurationActive(_ id: Int) -> Bool? { data.configurationItems.first { $0.id == id }?.isActive }

    public func deactivationWrites(forClient id: Int) -> Int {
        let ids = Set(data.configurationItems.filter { $0.companyID == id }.map(\.id))
        return patchedItems.filter(ids.contains).count
    }

    public nonisolated func listingFault(ofClient id: Int, status: Int, retryAfterSeconds: Int?, times: Int?) -> SimulatorFault {
        // The client's items, alone (`companyID eq`) or within a sweep's list (`companyID in`).
        var fault = SimulatorFault(method: "POST", pathContains: "configurationitems/query?", status: status, retryAfterSeconds: retryAfterSeconds, times: times)
        fault.alsoContainsOneOf = [
            "\"field\":\"companyID\",\"op\":\"eq\",\"value\":\(id)}", "\"value\":[\(id),", "\"value\":[\(id)]", ",\(id),", ",\(id)]",
        ]
        return fault
    }

    // MARK: Serving

    public nonisolated func respond(to request: SimulatedRequest) async -> SimulatedResponse {
        let endpoint = Self.endpoint(of: request.path)
        let (latency, overLimit) = await begin(endpoint)
        if latency > .zero { try? await Task.sleep(for: latency) }
        let response = overLimit ? Self.threadLimitError() : await handle(request)
        await end(endpoint)
        return response
    }

    private static func endpoint(of path: String) -> String {
        let parts = path.lowercased().split(separator: "/")
        return parts.count > 2 ? String(parts[2]) : ""
    }

    private func begin(_ endpoint: String) -> (Duration, Bool) {
        let now = (inFlightByEndpoint[endpoint] ?? 0) + 1
        inFlightByEndpoint[endpoint] = now
        maxInFlightPerEndpoint = max(maxInFlightPerEndpoint, now)
        // zoneInformation is exempt from thread limiting.
        let over = now > Self.threadLimit && endpoint != "zoneinformation"
        if over { threadLimitErrors += 1 }
        var latency = faults.latency
        if var limit = threshold {
            let usage = Double(limit.used()) / Double(max(1, limit.maxRequests))
            threshold = limit
            latency += usage >= 0.75 ? usageLatency.threeQuarters : usage >= 0.5 ? usageLatency.half : .zero
        }
        return (latency, over)
    }

    private func end(_ endpoint: String) { inFlightByEndpoint[endpoint, default: 1] -= 1 }

    static func threadLimitError() -> SimulatedResponse {
        errors(500, "Itgenatr005: Thread Threshold Exceeded - The Autotask API thread threshold of \(threadLimit) threads has been exceeded for this endpoint.")
    }

    private func handle(_ request: SimulatedRequest) -> SimulatedResponse {
        guard request.path.lowercased().hasPrefix(Self.apiPath) else { return Self.errors(404, "The requested resource does not exist.") }
        let segments = request.path.dropFirst(Self.apiPath.count).split(separator: "/").map { $0.lowercased() }
        if segments == ["zoneinformation"], request.method == "GET" {
            guard request.query["user"] == credentials.username else { return Self.errors(404, "Zone information for this user was not found.") }
            return .json(200, ["zoneName": "Sandbox", "url": "http://\(request.host)/atservicesrest/", "webUrl": "http://\(request.host)/", "ci": 1])
        }
        guard !request.repeats("apiintegrationcode", "username", "secret"),
            request.headers["apiintegrationcode"] == credentials.apiIntegrationCode, request.headers["username"] == credentials.username,
            request.headers["secret"] == credentials.secret
        else {
            return Self.errors(401, "Unauthorized: ApiIntegrationCode, UserName and Secret headers are required and must be valid.")
        }
        if let headers = threshold?.admit() {
            rateLimited += 1
            var response = Self.errors(429, "The request threshold of \(threshold!.maxRequests) requests has been exceeded.")
            response.headers += headers
            return response
        }
        acceptedRequests += 1
        if let fault = faults.take(method: request.method, path: segments.joined(separator: "/"), query: request.query, body: Self.canonical(request.body)) {
            let applied = fault.appliesFirst ? route(request, segments: segments) : nil
            if let connection = fault.connection { return .failing(connection, answer: applied) }
            var headers: [(String, String)] = []
            if let retryAfter = fault.retryAfter { headers.append(("Retry-After", retryAfter)) }
            var response = Self.errors(fault.status, "Injected fault \(fault.status)")
            response.headers += headers
            return response
        }
        return route(request, segments: segments)
    }

    private func route(_ request: SimulatedRequest, segments: [String]) -> SimulatedResponse {
        switch (request.method, segments) {
        case ("GET", ["thresholdinformation"]):
            let used = threshold.map { limit in
                var limit = limit
                return limit.used()
            }
            return .json(200, [
                "externalRequestThreshold": threshold?.maxRequests ?? 10_000, "requestThresholdTimeframe": 60,
                "currentTimeframeRequestCount": used ?? acceptedRequests,
            ])
        case ("GET", ["companies", "entityinformation", "fields"]):
            let picklist = data.companyTypes.sorted { $0.key < $1.key }.map { ["value": String($0.key), "label": $0.value, "isActive": true] as [String: Any] }
            let classification = classifications.sorted { $0.key < $1.key }.map { ["value": String($0.key), "label": $0.value, "isActive": true] as [String: Any] }
            return .json(200, [
                "fields": [
                    ["name": "companyType", "dataType": "integer", "isPickList": true, "picklistValues": picklist],
                    ["name": "classification", "dataType": "integer", "isPickList": true, "picklistValues": classification],
                ]
            ])
        case ("GET", ["configurationitems", "entityinformation", "fields"]):
            let picklist = (data.configurationItemTypes ?? [:]).sorted { $0.key < $1.key }.map {
                ["value": String($0.key), "label": $0.value, "isActive": true] as [String: Any]
            }
            return .json(200, [
                "fields": [["name": "configurationItemType", "dataType": "integer", "isPickList": true, "picklistValues": picklist]]
            ])
        case ("GET", let path) where path.count == 2 && path[0] == "companies":
            guard let id = Int(path[1]) else { return Self.errors(500, "The id \(path[1]) is not an integer.") }
            return .json(200, ["item": data.companies.first { $0.id == id }.map { companyJSON($0) as Any } ?? NSNull()])
        case ("GET", let path) where path.count == 2 && path[0] == "configurationitems":
            guard let id = Int(path[1]) else { return Self.errors(500, "The id \(path[1]) is not an integer.") }
            return .json(200, ["item": data.configurationItems.first { $0.id == id }.map { itemJSON($0) as Any } ?? NSNull()])
        case ("POST", ["companies", "query"]):
            return query(request, entity: "companies")
        case ("POST", ["configurationitems", "query"]):
            return query(request, entity: "configurationitems")
        case ("POST", ["contracts", "query"]):
            return query(request, entity: "contracts")
        case ("POST", ["configurationitemnotes", "query"]):
            return query(request, entity: "configurationitemnotes")
        case ("POST", ["contractservices", "query"]):
            return query(request, entity: "contractservices")
        case ("POST", ["tickets", "query"]):
            return query(request, entity: "tickets")
        case ("POST", ["tickets"]):
            return createTicket(request)
        case ("GET", ["configurationitemnotes", "entityinformation", "fields"]):
            return .json(200, [
                "fields": [
                    ["name": "noteType", "dataType": "integer", "isPickList": true, "isRequired": true,
                     "picklistValues": [["value": "1", "label": "General", "isActive": true], ["value": "2", "label": "Task Summary", "isActive": true]]],
                ]
            ])
        case ("POST", let path) where path.count == 3 && path[0] == "configurationitems" && path[2] == "notes":
            return createNote(request, parent: path[1])
        case ("GET", ["configurationitems", "query", "next"]), ("GET", ["companies", "query", "next"]), ("GET", ["contracts", "query", "next"]), ("GET", ["configurationitemnotes", "query", "next"]),
            ("GET", ["contractservices", "query", "next"]), ("GET", ["tickets", "query", "next"]):
            guard let token = request.query["paging"], let page = pagingTokens.removeValue(forKey: token) else {
                return Self.errors(500, "The paging token is invalid or expired.")
            }
            return respondPage(entity: page.entity, filter: page.filter, offset: page.offset, size: page.size, fields: page.fields, host: pagingHost ?? request.host)
        case ("PATCH", ["configurationitems"]):
            return patchItem(request)
        default:
            return Self.errors(404, "The requested resource does not exist.")
        }
    }

    // MARK: Queries

    private func query(_ request: SimulatedRequest, entity: String) -> SimulatedResponse {
        guard request.headers["content-type"]?.hasPrefix("application/json") == true else {
            return Self.errors(415, "Content-Type must be application/json.")
        }
        guard let body = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any] else {
            return Self.errors(500, "The query body is not a JSON object.")
        }
        let known: Set<String> = ["filter", "MaxRecords", "IncludeFields", "maxRecords", "includeFields"]
        if let unknown = body.keys.first(where: { !known.contains($0) }) { return Self.errors(500, "Unknown query property \(unknown).") }
        guard let filter = (body["filter"] ?? body["Filter"]) as? [[String: Any]], !filter.isEmpty else {
            return Self.errors(500, "A query needs at least one filter.")
        }
        let size = ((body["MaxRecords"] ?? body["maxRecords"]) as? Int) ?? 500
        guard (1...500).contains(size) else { return Self.errors(500, "MaxRecords must be between 1 and 500.") }
        if let problem = validate(filter, entity: entity) { return Self.errors(500, problem) }
        // Autotask answers with the fields asked for and no others (the id always): a field the
        // adapter forgets to ask for is missing from the answer, as it would be.
        var fields: Set<String>?
        if let asked = body["IncludeFields"] ?? body["includeFields"] {
            guard let names = asked as? [String], !names.isEmpty else { return Self.errors(500, "IncludeFields must be a non-empty array of field names.") }
            fields = Set(names).union(["id"])
        }
        return respondPage(entity: entity, filter: filter, offset: 0, size: size, fields: fields, host: pagingHost ?? request.host)
    }

    private func fields(of entity: String) -> Set<String> {
        switch entity {
        case "companies": ["id", "companyName", "isActive", "companyType", "classification"]
        case "contracts": ["id", "companyID", "contractName", "status", "endDate"]
        case "configurationitemnotes": ["id", "configurationItemID", "title", "description", "noteType"]
        case "contractservices": ["id", "contractID", "serviceID"]
        case "tickets": ["id", "companyID", "title", "status", "priority", "queueID", "externalID"]
        default: ["id", "companyID", "isActive", "referenceTitle", "configurationItemType", "contractID", "contractServiceID", "rmmOpenAlertCount"]
        }
    }

    private func validate(_ filter: [[String: Any]], entity: String) -> String? {
        for condition in filter {
            guard let op = condition["op"] as? String else { return "Every filter needs an op." }
            switch op.lowercased() {
            case "and", "or":
                guard let items = condition["items"] as? [[String: Any]], !items.isEmpty else { return "\(op) needs items." }
                if let problem = validate(items, entity: entity) { return problem }
            case "eq", "noteq", "lt", "gt", "in":
                guard let field = condition["field"] as? String, fields(of: entity).contains(field) else {
                    return "Unable to find \(condition["field"] ?? "nil") in the \(entity) entity."
                }
                guard let value = condition["value"] else { return "The \(op) filter on \(field) needs a value." }
                if op.lowercased() == "in", (value as? [Any])?.isEmpty != false { return "The in filter on \(field) needs a non-empty array of values." }
            default:
                return "The operator \(op) is not supported by the simulator."
            }
        }
        return nil
    }

    private func matches(_ record: [String: Any], _ filter: [[String: Any]]) -> Bool {
        filter.allSatisfy { condition in
            let op = (condition["op"] as? String ?? "").lowercased()
            switch op {
            case "and": return matches(record, condition["items"] as? [[String: Any]] ?? [])
            case "or": return (condition["items"] as? [[String: Any]] ?? []).contains { matches(record, [$0]) }
            case "in":
                let value = record[condition["field"] as? String ?? ""]
                return (condition["value"] as? [Any] ?? []).contains { Self.same(value, $0) }
            case "lt", "gt":
                guard let order = Self.order(record[condition["field"] as? String ?? ""], condition["value"]) else { return false }
                return order == (op == "lt" ? .orderedAscending : .orderedDescending)
            default:
                let equal = Self.same(record[condition["field"] as? String ?? ""], condition["value"])
                return op == "eq" ? equal : !equal
            }
        }
    }

    private static func companyIDs(in filter: [[String: Any]]) -> [Int] {
        filter.compactMap { condition in
            condition["field"] as? String == "companyID" ? RequestNumbers.integer(condition["value"]) : nil
        }
    }

    private static func same(_ a: Any?, _ b: Any?) -> Bool {
        switch (a, b) {
        case (let x as Bool, let y as Bool): return x == y
        case (let x as Int, let y as NSNumber): return Double(x) == y.doubleValue
        case (let x as String, let y as String): return x.caseInsensitiveCompare(y) == .orderedSame
        default: return false
        }
    }

    /// Numbers by value, date-times by time; anything else does not compare (and does not match).
    private static func order(_ a: Any?, _ b: Any?) -> ComparisonResult? {
        switch (a, b) {
        case (let x as Int, let y as NSNumber): return Double(x) < y.doubleValue ? .orderedAscending : (Double(x) == y.doubleValue ? .orderedSame : .orderedDescending)
        case (let x as String, let y as String):
            guard let x = try? Date(x, strategy: .iso8601), let y = try? Date(y, strategy: .iso8601) else { return nil }
            return x < y ? .orderedAscending : (x == y ? .orderedSame : .orderedDescending)
        default: return nil
        }
    }

    private func respondPage(entity: String, filter: [[String: Any]], offset: Int, size: Int, fields: Set<String>?, host: String) -> SimulatedResponse {
        let rows: [[String: Any]] =
            switch entity {
            case "companies": data.companies.sorted { $0.id < $1.id }.map(companyJSON)
            case "contracts": contracts.sorted { ($0["id"] as! Int) < ($1["id"] as! Int) }
            case "configurationitemnotes": itemNotes
            case "contractservices": contractServices
            case "tickets": tickets.map { ticket in ticket.filter { $0.key != "description" } }
            default: data.configurationItems.sorted { $0.id < $1.id }.map(itemJSON)
            }
        let leakedIDs = Self.companyIDs(in: filter).flatMap { leaked[$0] ?? [] }
        let matching = rows.filter { matches($0, filter) || (entity == "configurationitems" && leakedIDs.contains($0["id"] as? Int ?? 0)) }
        let page = matching.dropFirst(offset).prefix(size).map { row in fields.map { fields in row.filter { fields.contains($0.key) } } ?? row }
        var next: Any = NSNull()
        if offset + size < matching.count {
            let token = UUID().uuidString
            pagingTokens[token] = (entity, filter, offset + size, size, fields)
            let entityPath =
                ["companies": "Companies", "contracts": "Contracts", "configurationitemnotes": "ConfigurationItemNotes", "contractservices": "ContractServices", "tickets": "Tickets"][entity]
                ?? "ConfigurationItems"
            next = "http://\(host)\(Self.apiPath)/\(entityPath)/query/next?paging=\(token)"
        }
        return .json(200, ["items": page, "pageDetails": ["count": page.count, "requestCount": size, "prevPageUrl": NSNull(), "nextPageUrl": next]])
    }

    // MARK: Updates

    private func patchItem(_ request: SimulatedRequest) -> SimulatedResponse {
        guard request.headers["content-type"]?.hasPrefix("application/json") == true else {
            return Self.errors(415, "Content-Type must be application/json.")
        }
        guard let body = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any] else {
            return Self.errors(500, "The body must be one ConfigurationItem object.")
        }
        guard let id = RequestNumbers.integer(body["id"]) else {
            return Self.errors(500, "The id of the entity to update is required in the body.")
        }
        if let unknown = body.keys.first(where: { !["id", "isActive"].contains($0) }) {
            return Self.errors(500, "The simulator accepts updates of isActive only, not \(unknown).")
        }
        guard let active = body["isActive"] as? Bool, JSONSerialization.isBoolean(body["isActive"]) else {
            return Self.errors(500, "isActive must be true or false.")
        }
        guard let index = data.configurationItems.firstIndex(where: { $0.id == id }) else {
            return Self.errors(500, "The ConfigurationItem with id \(id) does not exist or you do not have access to it.")
        }
        if !active, refusedDeactivations.contains(id) {
            return Self.errors(403, "The logged in Resource does not have the adequate permissions to update this ConfigurationItem.")
        }
        patchedItems.append(id)
        if let lost = lostWrites[id], lost > 0 {
            lostWrites[id] = lost - 1
        } else {
            data.configurationItems[index].isActive = active
            touch(id)
        }
        return .json(200, ["itemId": id])
    }

    // MARK: JSON

    private func companyJSON(_ company: AutotaskDataset.Company) -> [String: Any] {
        [
            "id": company.id, "companyName": company.companyName, "isActive": company.isActive, "companyType": company.companyType,
            "classification": companyClassification[company.id].map { $0 as Any } ?? NSNull(),
        ]
    }

    private func itemJSON(_ item: AutotaskDataset.ConfigurationItem) -> [String: Any] {
        [
            "id": item.id, "companyID": item.companyID, "referenceTitle": item.referenceTitle, "isActive": item.isActive,
            "configurationItemType": item.configurationItemType.map { $0 as Any } ?? NSNull(),
            "contractID": itemContracts[item.id].map { $0 as Any } ?? NSNull(),
            "contractServiceID": itemServices[item.id].map { $0 as Any } ?? NSNull(), "rmmOpenAlertCount": itemAlerts[item.id] ?? 0,
            "lastModifiedTime": Self.stampEpoch.addingTimeInterval(Double(itemModified[item.id] ?? 0)).formatted(.iso8601),
        ]
    }

    static func errors(_ status: Int, _ message: String) -> SimulatedResponse {
        .json(status, ["errors": [message]])
    }

    /// The body with keys sorted, so that faults can match on its text whatever the client's key order.
    private static func canonical(_ body: [UInt8]) -> [UInt8] {
        guard !body.isEmpty, let object = try? JSONSerialization.jsonObject(with: Data(body)),
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        else { return body }
        return Array(data)
    }
}

extension JSONSerialization {
    /// Whether a value parsed by JSONSerialization was a JSON boolean, not a number (which would
    /// also bridge to Bool).
    static func isBoolean(_ value: Any?) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }
}
