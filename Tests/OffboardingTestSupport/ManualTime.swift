import Synchronization

/// Time that stands still until a test moves it, for the service's injected clocks (the sweep's
/// wall clock, the rate limiter's monotonic one): a sleeper wakes once the time reaches its
/// deadline, and ends early, throwing `CancellationError`, when its task is cancelled, as a
/// graceful shutdown does.
public final class ManualTime<Instant: Comparable & Sendable>: Sendable {
    private struct State {
        var now: Instant
        var sleepers: [Int: (until: Instant, continuation: CheckedContinuation<Void, any Error>)] = [:]
        var sleeps = 0
    }

    private let state: Mutex<State>

    public init(_ now: Instant) { state = Mutex(State(now: now)) }

    public var now: Instant { state.withLock { $0.now } }
    /// The deadlines sleepers wait for.
    public var waiting: [Instant] { state.withLock { $0.sleepers.values.map(\.until) } }
    /// Calls to `sleep` so far.
    public var sleeps: Int { state.withLock { $0.sleeps } }

    public func sleep(until deadline: Instant) async throws {
        let id = state.withLock { state in
            state.sleeps += 1
            return state.sleeps
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLock { state -> Result<Void, any Error>? in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    guard deadline > state.now else { return .success(()) }
                    state.sleepers[id] = (deadline, continuation)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the time on (never back) and wakes the sleepers whose deadline it reached.
    public func advance(to instant: Instant) {
        let due = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.now = max(state.now, instant)
            let due = state.sleepers.filter { $0.value.until <= state.now }
            for id in due.keys { state.sleepers.removeValue(forKey: id) }
            return due.values.map(\.continuation)
        }
        for continuation in due { continuation.resume() }
    }
}
