/// How an adapter paces its requests now, as it learnt from the PSA's answers: for logs, metrics
/// and tests.
public struct PSAPacing: Sendable, Hashable {
    /// Requests per second; nil while still starting up (no "slow down" seen yet).
    public var rate: Double?
    /// What the PSA accepted in the second before its last "slow down".
    public var lastRefusedAt: Double?
    /// How often the PSA said "slow down" (429, its own equivalent, or latency far above the usual).
    public var slowDowns: Int
    /// Refusals judged not to be about this service's rate (a budget other integrations spend):
    /// the refused request waited, the rate stayed.
    public var refusalsNotOurs: Int

    public init(rate: Double?, lastRefusedAt: Double?, slowDowns: Int, refusalsNotOurs: Int = 0) {
        self.rate = rate
        self.lastRefusedAt = lastRefusedAt
        self.slowDowns = slowDowns
        self.refusalsNotOurs = refusalsNotOurs
    }
}
