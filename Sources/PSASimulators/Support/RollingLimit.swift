/// A PSA's request limit over a rolling window, as hosted Halo (300 per rolling 5 minutes) and
/// Autotask (10,000 per rolling hour) count: a request past it is refused until the oldest one
/// in the window has aged out. Refused requests are not counted.
struct RollingLimit: Sendable {
    var maxRequests: Int
    var window: Duration
    private var accepted: [ContinuousClock.Instant] = []
    private var head = 0

    init(maxRequests: Int, window: Duration) {
        self.maxRequests = maxRequests
        self.window = window
    }

    /// Requests accepted within the window now.
    mutating func used(now: ContinuousClock.Instant = .now) -> Int {
        while head < accepted.count, accepted[head] <= now - window { head += 1 }
        if head > 1024, head * 2 > accepted.count {
            accepted.removeFirst(head)
            head = 0
        }
        return accepted.count - head
    }

    /// Counts the request and returns nil, or returns how long until one would be accepted.
    mutating func admit(now: ContinuousClock.Instant = .now) -> Duration? {
        guard used(now: now) >= maxRequests else {
            accepted.append(now)
            return nil
        }
        return accepted[head] + window - now
    }

    /// `Retry-After` in whole seconds, rounded up, as the PSAs send it.
    static func retryAfterSeconds(_ wait: Duration) -> Int {
        max(1, Int((wait / .seconds(1)).rounded(.up)))
    }
}
