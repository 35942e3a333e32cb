/// A fault a simulator injects into matching requests, after authentication has been checked.
public struct SimulatorFault: Sendable, Hashable {
    public var method: String?
    /// Matches requests whose path (after the API prefix), followed by `?` and the decoded query
    /// (`key=value` pairs sorted by key, joined by `&`), contains this text: `company/id=7` hits
    /// only that company's listings.
    public var pathContains: String
    public var status: Int
    /// Sent as `Retry-After` (seconds) when set.
    public var retryAfterSeconds: Int?
    /// How many matching requests fail; nil fails all of them.
    public var remaining: Int?

    public init(method: String? = nil, pathContains: String, status: Int, retryAfterSeconds: Int? = nil, times: Int? = 1) {
        self.method = method
        self.pathContains = pathContains
        self.status = status
        self.retryAfterSeconds = retryAfterSeconds
        self.remaining = times
    }
}

/// The faults and latency of one simulator; state of its store actor.
struct SimulatorFaultPlan: Sendable {
    var faults: [SimulatorFault] = []
    var latency: Duration = .zero

    /// Takes one use of the first fault matching the request.
    mutating func take(method: String, path: String, query: [String: String]) -> SimulatorFault? {
        let path = path + "?" + query.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
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
