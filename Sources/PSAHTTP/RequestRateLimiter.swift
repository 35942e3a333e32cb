import Synchronization

/// The time a `RequestRateLimiter` reads and waits on; tests move it by hand, so that an hourly
/// window is tested in milliseconds.
public protocol RateLimiterClock: Sendable {
    var now: ContinuousClock.Instant { get }
    /// Returns after `duration`, or throws when cancelled.
    func sleep(for duration: Duration) async throws
}

public struct SystemRateLimiterClock: RateLimiterClock {
    public init() {}
    public var now: ContinuousClock.Instant { .now }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

/// Paces requests to at most `maxRequests` in any window of `per` (a sliding window, as Autotask's
/// rolling hour and HaloPSA's rolling five minutes are), so that a large offboarding slows itself
/// down instead of collecting 429s.
///
/// A request holds its place in the window from its start until `per` after it finished: the PSA
/// counts arrivals, which come some time after the start, so counting starts alone would let a
/// burst through at the window's edge.
public final class RequestRateLimiter: Sendable {
    public struct Limit: Sendable, Hashable {
        public var maxRequests: Int
        public var per: Duration

        public init(maxRequests: Int, per: Duration) {
            self.maxRequests = max(1, maxRequests)
            self.per = per
        }
    }

    public struct Ticket: Sendable {
        fileprivate let id: Int
    }

    private struct State {
        /// Requests started and not finished: each holds its place until it finishes.
        var running: Set<Int> = []
        /// When each finished request finished, oldest first (the clock only moves forward), from
        /// `firstHeld` on: the places still held in the window. Kept in order so that a request
        /// costs the few places that expired, not a scan of the window (10,000 at Autotask's default).
        var finished: [ContinuousClock.Instant] = []
        var firstHeld = 0
        var nextID = 0

        var held: Int { running.count + finished.count - firstHeld }

        mutating func expire(before instant: ContinuousClock.Instant) {
            while firstHeld < finished.count, finished[firstHeld] <= instant { firstHeld += 1 }
            // Drop the expired front once it is most of the array.
            if firstHeld > 1_024, firstHeld * 2 > finished.count {
                finished.removeFirst(firstHeld)
                firstHeld = 0
            }
        }
    }

    public let limit: Limit
    private let clock: any RateLimiterClock
    private let state = Mutex(State())

    public init(limit: Limit, clock: any RateLimiterClock = SystemRateLimiterClock()) {
        self.limit = limit
        self.clock = clock
    }

    /// Returns once a request may start, and counts it until `per` after `finish`.
    /// - Throws: `CancellationError` when the task is cancelled while waiting; no request may
    ///   then start, or it would go out unpaced.
    public func acquire() async throws(CancellationError) -> Ticket {
        while true {
            if Task.isCancelled { throw CancellationError() }
            let outcome = state.withLock { state -> (ticket: Ticket?, wait: Duration) in
                let now = clock.now
                state.expire(before: now - limit.per)
                guard state.held >= limit.maxRequests else {
                    let ticket = Ticket(id: state.nextID)
                    state.nextID += 1
                    state.running.insert(ticket.id)
                    return (ticket, .zero)
                }
                guard state.firstHeld < state.finished.count else { return (nil, limit.per) }
                return (nil, state.finished[state.firstHeld] + limit.per - now)
            }
            if let ticket = outcome.ticket { return ticket }
            // While every place is held by a running request its release time is unknown: look again after a window.
            do {
                try await clock.sleep(for: min(outcome.wait, limit.per))
            } catch {
                throw CancellationError()
            }
        }
    }

    public func finish(_ ticket: Ticket) {
        state.withLock { state in
            if state.running.remove(ticket.id) != nil { state.finished.append(clock.now) }
        }
    }
}
