import Synchronization

/// Time that stands still until a test moves it, for the service's injected clocks (the sweep's
/// wall clock, the rate limiter's monotonic one): a sleeper wakes once the time reaches its
/// deadline, and ends early, throwing `CancellationError`, when its task is cancelled, as a
/// graceful shutdown does.
public final class ManualTime<Instant: Comparable & Sendable>: Sendable {
    private typealias Condition = @Sendable ([Instant]) -> Bool

    private struct State {
        var now: Instant
        var sleepers: [Int: (until: Instant, continuation: CheckedContinuation<Void, any Error>)] = [:]
        var sleeps = 0
        /// Tests waiting for the sleepers' deadlines to meet a condition.
        var watchers: [Int: (condition: Condition, continuation: CheckedContinuation<Void, any Error>)] = [:]
        var watches = 0

        var deadlines: [Instant] { sleepers.values.map(\.until) }

        /// Takes out the watchers whose condition the sleepers now meet, to be resumed outside the lock.
        mutating func satisfiedWatchers() -> [CheckedContinuation<Void, any Error>] {
            let deadlines = self.deadlines
            let met = watchers.filter { $0.value.condition(deadlines) }
            for id in met.keys { watchers.removeValue(forKey: id) }
            return met.values.map(\.continuation)
        }
    }

    private let state: Mutex<State>

    public init(_ now: Instant) { state = Mutex(State(now: now)) }

    public var now: Instant { state.withLock { $0.now } }
    /// Calls to `sleep` so far.
    public var sleeps: Int { state.withLock { $0.sleeps } }

    public func sleep(until deadline: Instant) async throws {
        let id = state.withLock { state in
            state.sleeps += 1
            return state.sleeps
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let (outcome, met) = state.withLock { state -> (Result<Void, any Error>?, [CheckedContinuation<Void, any Error>]) in
                    if Task.isCancelled { return (.failure(CancellationError()), []) }
                    guard deadline > state.now else { return (.success(()), []) }
                    state.sleepers[id] = (deadline, continuation)
                    return (nil, state.satisfiedWatchers())
                }
                if let outcome { continuation.resume(with: outcome) }
                for watcher in met { watcher.resume() }
            }
        } onCancel: {
            let (sleeper, met) = state.withLock { state in (state.sleepers.removeValue(forKey: id), state.satisfiedWatchers()) }
            sleeper?.continuation.resume(throwing: CancellationError())
            for watcher in met { watcher.resume() }
        }
    }

    /// Moves the time on (never back) and wakes the sleepers whose deadline it reached.
    public func advance(to instant: Instant) {
        let (due, met) = state.withLock { state -> ([CheckedContinuation<Void, any Error>], [CheckedContinuation<Void, any Error>]) in
            state.now = max(state.now, instant)
            let due = state.sleepers.filter { $0.value.until <= state.now }
            for id in due.keys { state.sleepers.removeValue(forKey: id) }
            return (due.values.map(\.continuation), state.satisfiedWatchers())
        }
        for continuation in due { continuation.resume() }
        for watcher in met { watcher.resume() }
    }

    /// Returns once the deadlines sleepers wait for meet `condition`, woken as sleepers come and go
    /// rather than by looking again and again; throws `ManualTimeTimeout` naming `what` after
    /// `timeout` of real time.
    public func waitForSleepers(
        timeout: Duration = .seconds(10), _ what: String, until condition: @escaping @Sendable ([Instant]) -> Bool
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.watch(condition) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw ManualTimeTimeout(what: what, waiting: timeout)
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    private func watch(_ condition: @escaping Condition) async throws {
        let id = state.withLock { state in
            state.watches += 1
            return state.watches
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLock { state -> Result<Void, any Error>? in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if condition(state.deadlines) { return .success(()) }
                    state.watchers[id] = (condition, continuation)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            state.withLock { $0.watchers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
    }
}

/// The sleepers never met what a test waited for.
public struct ManualTimeTimeout: Error, CustomStringConvertible {
    public var what: String
    public var waiting: Duration
    public var description: String { "gave up after \(waiting) waiting for \(what)" }
}
