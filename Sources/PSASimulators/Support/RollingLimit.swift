/// A PSA's request limit over a rolling window, as hosted Halo (300 per rolling 5 minutes) and
/// Autotask (10,000 per rolling hour) count: a request past it is refused until the oldest one
/// in the window has aged out. A refused request is a request too and counts, so a client that
/// keeps asking inside the window keeps it full.
struct RollingLimit: Sendable {
    var maxRequests: Int
    var window: Duration
    /// Whether a refusal says when to come back: ConnectWise documents `Retry-After`; Autotask's
    /// and HaloPSA's are unconfirmed, and their simulators send none unless told to.
    var sendsRetryAfter: Bool
    private var accepted: [ContinuousClock.Instant] = []
    private var head = 0

    init(maxRequests: Int, window: Duration, sendsRetryAfter: Bool) {
        self.maxRequests = maxRequests
        self.window = window
        self.sendsRetryAfter = sendsRetryAfter
    }

    /// Requests within the window now, refused ones included.
    mutating func used(now: ContinuousClock.Instant = .now) -> Int {
        while head < accepted.count, accepted[head] <= now - window { head += 1 }
        if head > 1024, head * 2 > accepted.count {
            accepted.removeFirst(head)
            head = 0
        }
        return accepted.count - head
    }

    /// Counts the request and returns nil when it is accepted, or, when refused, the headers of
    /// the refusal: `Retry-After` (whole seconds, rounded up, as the PSAs send it) until one
    /// would be accepted if no other came, when this PSA sends it.
    mutating func admit(now: ContinuousClock.Instant = .now) -> [(String, String)]? {
        let full = used(now: now) >= maxRequests
        let wait = full ? accepted[head] + window - now : .zero
        accepted.append(now)
        guard full else { return nil }
        return sendsRetryAfter ? [("Retry-After", String(max(1, Int((wait / .seconds(1)).rounded(.up)))))] : []
    }
}
