/// A fault a simulator injects into matching requests, after authentication has been checked.
public struct SimulatorFault: Sendable, Hashable {
    public var method: String?
    /// Matches requests whose path (after the API prefix), followed by `?`, the decoded query
    /// (`key=value` pairs sorted by key, joined by `&`), a space and the body, contains this text:
    /// `company/id=7` hits only that ConnectWise company's listings.
    public var pathContains: String
    public var status: Int
    /// Sent as `Retry-After` (seconds) when set.
    public var retryAfterSeconds: Int?
    /// Sent as `Retry-After` exactly as written (a date, or a hostile value), in place of `retryAfterSeconds`.
    public var retryAfterText: String?
    /// How many matching requests fail; nil fails all of them.
    public var remaining: Int?
    /// The request takes effect and only its answer is the fault, like a timeout after the write.
    public var afterApplying: Bool

    public init(
        method: String? = nil, pathContains: String, status: Int, retryAfterSeconds: Int? = nil, retryAfterText: String? = nil, times: Int? = 1,
        afterApplying: Bool = false
    ) {
        self.retryAfterText = retryAfterText
        self.method = method
        self.pathContains = pathContains
        self.status = status
        self.retryAfterSeconds = retryAfterSeconds
        self.remaining = times
        self.afterApplying = afterApplying
    }
}

extension SimulatorFault {
    /// The `Retry-After` value this fault answers with, if any.
    var retryAfter: String? { retryAfterText ?? retryAfterSeconds.map(String.init) }
}

/// The faults and latency of one simulator; state of its store actor.
struct SimulatorFaultPlan: Sendable {
    var faults: [SimulatorFault] = []
    var latency: Duration = .zero

    /// Takes one use of the first fault matching the request.
    mutating func take(method: String, path: String, query: [String: String], body: [UInt8] = []) -> SimulatorFault? {
        let path =
            path + "?" + query.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&") + " "
            + String(decoding: body, as: UTF8.self)
        guard let index = faults.firstIndex(where: { ($0.method == nil || $0.method == method) && path.contains($0.pathContains) }) else {
            return nil
        }
        let fault = faults[index]
        if let remaining = fault.remaining {
            if remaining <= 1 { faults.remove(at: index) } else { faults[index].remaining = remaining - 1 }
        }
        return fault
    }
}

/// The controls the PSA-neutral scenario tests use, implemented by every simulator in its own terms.
public protocol SimulatedTenant: SimulatedPSA {
    /// Adds a client with `active` and `inactive` configurations and returns their ids, active first.
    /// `offboarded` sets the client's status in the PSA's own way.
    func addClient(id: Int, name: String, offboarded: Bool, active: Int, inactive: Int) async -> [Int]
    /// Whether the configuration is active now; nil when it does not exist.
    func isConfigurationActive(_ id: Int) async -> Bool?
    /// How many deactivation writes the simulator accepted for the client's configurations.
    func deactivationWrites(forClient id: Int) async -> Int
    /// Makes the listing of this client's configurations fail.
    func failListing(ofClient id: Int, status: Int, retryAfterSeconds: Int?, times: Int?) async
    func setLatency(_ latency: Duration) async
    /// Adds `count` active configurations to an existing client and returns their ids.
    func addConfigurations(toClient id: Int, count: Int) async -> [Int]
    /// Deletes a configuration, as someone in the PSA's UI would.
    func removeConfiguration(_ id: Int) async
    /// Sets a configuration's type, by the name the PSA shows for it.
    func setType(_ name: String, ofConfiguration id: Int) async
    /// Makes the listing of `client`'s configurations also return configuration `id` of another
    /// client, as a PSA whose filter is ignored or broken would.
    func leakConfiguration(_ id: Int, intoListingOf client: Int) async
}
