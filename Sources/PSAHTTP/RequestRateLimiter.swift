import Synchronization

/// Paces requests to at most `maxRequests` in any window of `per` (a sliding window, as Autotask's
/// rolling hour and HaloPSA's rolling five minutes are), so that a large offboarding slows itself
/// down instead of collecting 429s.
public final class RequestRateLimiter: Sendable {
    public struct Limit: Sendable, Hashable {
        public var maxRequests: Int
        public var per: Duration

        public init(maxRequests: Int, per: Duration) {
            self.maxRequests = max(1, maxRequests)
            self.per = per
        }
    }

    public let limit: Limit
    /// Start times of the requests in the current window, oldest first.
    private let starts = Mutex<[ContinuousClock.Instant]>([])

    public init(limit: Limit) {
        self.limit = limit
    }

    /// Returns once a request may start, and counts it.
    public func acquire() async {
        while true {
            let wait = starts.withLock { starts -> Duration? in
                let now = ContinuousClock.now
                let windowStart = now - limit.per
                if let stale = starts.firstIndex(where: { $0 > windowStart }) {
                    starts.removeFirst(stale)
                } else {
                    starts.removeAll()
                }
                guard starts.count >= limit.maxRequests else {
                    starts.append(now)
                    return nil
                }
                return starts[0] + limit.per - now
            }
            guard let wait else { return }
            try? await Task.sleep(for: wait)
            if Task.isCancelled { return }
        }
    }
}
