import Foundation

/// A fault a simulator injects into matching requests, after authentication has been checked.
public struct SimulatorFault: Sendable, Hashable {
    public var method: String?
    /// Matches requests whose path (after the API prefix), followed by `?`, the decoded query
    /// (`key=value` pairs sorted by key, joined by `&`), a space and the body, contains this text:
    /// `company/id=7` hits only that ConnectWise company's listings.
    public var pathContains: String
    /// When not empty, the request must also contain one of these (a company's id within a list).
    public var alsoContainsOneOf: [String] = []
    public var status: Int
    /// Sent as `Retry-After` (seconds) when set.
    public var retryAfterSeconds: Int?
    /// Sent as `Retry-After` exactly as written (a date, or a hostile value), in place of `retryAfterSeconds`.
    public var retryAfterText: String?
    /// How many matching requests fail; nil fails all of them.
    public var remaining: Int?
    /// The request takes effect and only its answer is the fault, like a timeout after the write.
    public var afterApplying: Bool
    /// No answer at all in place of `status`: a hang, a stall mid-body or a reset.
    public var connection: ConnectionFault?

    public init(
        method: String? = nil, pathContains: String, status: Int, retryAfterSeconds: Int? = nil, retryAfterText: String? = nil, times: Int? = 1,
        afterApplying: Bool = false, connection: ConnectionFault? = nil
    ) {
        self.connection = connection
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
    /// A fault that answers nothing: `connection` on matching requests, the request applied first
    /// when `afterApplying` (or when the answer stalls mid-body, since it was being sent).
    public static func connection(
        _ connection: ConnectionFault, method: String? = nil, pathContains: String, times: Int? = 1, afterApplying: Bool = false
    ) -> SimulatorFault {
        SimulatorFault(method: method, pathContains: pathContains, status: 0, times: times, afterApplying: afterApplying, connection: connection)
    }

    /// The `Retry-After` value this fault answers with, if any.
    var retryAfter: String? { retryAfterText ?? retryAfterSeconds.map(String.init) }

    /// Whether the request takes effect before the fault is answered.
    var appliesFirst: Bool { afterApplying || connection?.appliesFirst == true }
}

/// A share of all requests answered with a transient failure, as a PSA under load answers: the
/// statuses drawn at random (a 429 among them comes with `Retry-After: retryAfterSeconds`), and half of the 502s
/// and 504s after the write took effect (the gateway lost the answer). Seeded, so that a run can be
/// repeated. 429 is not among the default statuses: a PSA refuses for rate, not at random, and the
/// pacer rightly slows down on every 429; rate limits are simulated with `setRollingLimit`.
public struct TransientFaults: Sendable, Hashable {
    public var rate: Double
    public var statuses: [Int]
    public var seed: UInt64
    /// The `Retry-After` a drawn 429 carries, in seconds.
    public var retryAfterSeconds: Int

    public init(rate: Double, statuses: [Int] = [500, 502, 503, 504], seed: UInt64 = 1, retryAfterSeconds: Int = 0) {
        self.rate = rate
        self.statuses = statuses
        self.seed = seed
        self.retryAfterSeconds = retryAfterSeconds
    }
}

/// The faults and latency of one simulator; state of its store actor.
struct SimulatorFaultPlan: Sendable {
    var faults: [SimulatorFault] = []
    var latency: Duration = .zero
    var transient: TransientFaults? {
        didSet { random = SplitMix64(seed: transient?.seed ?? 1) }
    }
    private var random = SplitMix64(seed: 1)
    /// Transient faults answered so far, by status.
    private(set) var served: [Int: Int] = [:]
    /// When each injected fault was answered, with its status, in order.
    private(set) var injectedServed: [(status: Int, at: ContinuousClock.Instant)] = []

    /// Takes one use of the first fault matching the request.
    mutating func take(method: String, path: String, query: [String: String], body: [UInt8] = []) -> SimulatorFault? {
        let path =
            path + "?" + query.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&") + " "
            + String(decoding: body, as: UTF8.self)
        guard
            let index = faults.firstIndex(where: {
                ($0.method == nil || $0.method == method) && path.contains($0.pathContains)
                    && ($0.alsoContainsOneOf.isEmpty || $0.alsoContainsOneOf.contains(where: path.contains))
            })
        else {
            return takeTransient()
        }
        let fault = faults[index]
        injectedServed.append((fault.status, .now))
        if let remaining = fault.remaining {
            if remaining <= 1 { faults.remove(at: index) } else { faults[index].remaining = remaining - 1 }
        }
        return fault
    }
}

extension SimulatorFaultPlan {
    private mutating func takeTransient() -> SimulatorFault? {
        guard let transient, !transient.statuses.isEmpty, random.nextUnit() < transient.rate else { return nil }
        let status = transient.statuses[Int(random.next() % UInt64(transient.statuses.count))]
        served[status, default: 0] += 1
        let lostAnswer = (status == 502 || status == 504) && random.next() % 2 == 0
        return SimulatorFault(
            pathContains: "", status: status, retryAfterSeconds: status == 429 ? transient.retryAfterSeconds : nil, times: nil, afterApplying: lostAnswer)
    }
}

/// A small seeded generator (Steele, Lea and Flood's SplitMix64), so fault runs can be repeated.
struct SplitMix64: Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<1.
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// The controls the PSA-neutral scenario tests use, implemented by every simulator in its own terms.
public protocol SimulatedTenant: SimulatedPSA {
    /// Adds a client with `active` and `inactive` configurations and returns their ids, active first.
    /// `offboarded` sets the client's status in the PSA's own way.
    func addClient(id: Int, name: String, offboarded: Bool, active: Int, inactive: Int) async -> [Int]
    /// Whether the configuration is active now; nil when it does not exist.
    func isConfigurationActive(_ id: Int) async -> Bool?
    /// How many configuration writes (deactivations and restores) the simulator accepted for the client's configurations.
    func deactivationWrites(forClient id: Int) async -> Int
    /// A fault on the listing of this client's configurations, alone or within a sweep's list, in
    /// the PSA's own terms (`failListing` and `cutListing` inject it).
    func listingFault(ofClient id: Int, status: Int, retryAfterSeconds: Int?, times: Int?) -> SimulatorFault
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
    /// Answers a share of every request after authentication with a transient failure; nil stops it.
    func injectTransientFaults(_ faults: TransientFaults?) async
    /// The transient failures answered so far, by status.
    func transientFaultsServed() async -> [Int: Int]
    /// The injected faults answered so far (`inject`, `failListing`, …): status (0 for a connection
    /// fault) and when, in order.
    func injectedFaultsServed() async -> [(status: Int, at: ContinuousClock.Instant)]
    /// Removes every injected fault.
    func clearFaults() async
    /// Refuses requests past `maxRequests` in any rolling `window` (refused ones counted) with 429
    /// in the PSA's own format, with `Retry-After` where the PSA is documented to send it
    /// (ConnectWise) and without it where that is unconfirmed (Autotask, HaloPSA).
    func setRollingLimit(maxRequests: Int, window: Duration) async
    /// API requests refused by the rolling limit so far.
    var rateLimited: Int { get async }
    /// API requests answered with anything but a rate-limit refusal.
    var acceptedRequests: Int { get async }
    /// Answers the next `times` deactivations of the configuration as applied without applying
    /// them: only reading it back shows the loss.
    func loseWrites(ofConfiguration id: Int, times: Int) async
    /// Gives the client a company type (ConnectWise company type, Autotask company type or
    /// classification label, HaloPSA client type), by name.
    func setCompanyType(_ name: String, ofClient id: Int) async
    /// Adds a contract (agreement) to the client: in effect, or ended at `end` (nil: no date).
    func addContract(toClient id: Int, contractID: Int, name: String, end: Date?, inEffect: Bool) async
    /// Ties the configuration to the contract as the PSA records it (ConnectWise: attached to the
    /// agreement; Autotask `contractID`; HaloPSA `contract_id`).
    func tieConfiguration(_ id: Int, toContract contractID: Int) async
    /// Opens an alert on the configuration: an open ticket of its client (ConnectWise, HaloPSA),
    /// or one open RMM alert counted on the item (Autotask).
    func openAlert(onConfiguration id: Int, ofClient client: Int, alertID: Int, summary: String) async
    /// Everything written in the configuration's notes, one entry per line (ConnectWise, HaloPSA:
    /// its notes field; Autotask: the descriptions of its notes, in order).
    func noteLines(ofConfiguration id: Int) async -> [String]
    /// Notes the MSP wrote on the configuration before the offboarding.
    func addMSPNote(_ text: String, toConfiguration id: Int) async
    /// Gives the configuration an open status other than the default (ConnectWise "Loaned",
    /// HaloPSA status 2), so that a restore must put back that exact status; Autotask items have
    /// no status besides `isActive`, and this does nothing there.
    func setSecondOpenStatus(ofConfiguration id: Int) async
    /// The configuration's status id (ConnectWise configuration status, HaloPSA `status_id`); nil on Autotask.
    func statusID(ofConfiguration id: Int) async -> Int?
    /// Edits the configuration as a person in the PSA would after an offboarding: ConnectWise and
    /// Autotask rename it (its stamp moves); HaloPSA, which reports no stamp, gets another status.
    func editByHand(configuration id: Int) async
    /// Refuses every deactivation of the configuration for good, as the PSA refuses what it will
    /// not do: ConnectWise 400, Autotask 403 (the API user's security level), HaloPSA a 400 naming
    /// the element. Other writes of it still pass.
    func refuseDeactivation(ofConfiguration id: Int) async
    /// Tickets opened through the API (the audit tickets), oldest first.
    func createdTickets() async -> [SimulatedTicket]
    /// Answers requests matching the fault as it says (a status, `Retry-After`, after applying).
    func inject(_ fault: SimulatorFault) async
}

extension SimulatedTenant {
    /// Makes the listing of this client's configurations fail.
    public func failListing(ofClient id: Int, status: Int, retryAfterSeconds: Int?, times: Int?) async {
        await inject(listingFault(ofClient: id, status: status, retryAfterSeconds: retryAfterSeconds, times: times))
    }

    /// Makes the listing of this client's configurations get no whole answer: a hang, a stall
    /// mid-body or a reset.
    public func cutListing(ofClient id: Int, _ connection: ConnectionFault, times: Int?) async {
        var fault = listingFault(ofClient: id, status: 0, retryAfterSeconds: nil, times: times)
        fault.connection = connection
        await inject(fault)
    }
}
