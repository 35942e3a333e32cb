import Synchronization

/// Limits how many callers run a section at once, suspending the rest in arrival order.
/// Autotask allows 3 requests in flight per endpoint and integration code; an offboarding has
/// `max_concurrent_updates` writes in flight.
public final class AsyncSemaphore: Sendable {
    private typealias Waiter = CheckedContinuation<Result<Void, CancellationError>, Never>

    private struct State {
        var available: Int
        var waiters: [(id: Int, continuation: Waiter)] = []
        var nextID = 0
        /// Waiters cancelled before they were queued.
        var cancelled: Set<Int> = []
    }

    private let state: Mutex<State>

    public init(permits: Int) {
        state = Mutex(State(available: max(1, permits)))
    }

    /// - Throws: `CancellationError` when cancelled while waiting; `body` does not run then.
    public func withPermit<T: Sendable>(_ body: () async -> T) async throws(CancellationError) -> T {
        try await acquire()
        defer { release() }
        return await body()
    }

    /// Callers suspended for a permit; for tests and diagnostics.
    public var waiting: Int { state.withLock { $0.waiters.count } }

    /// True when every permit is taken.
    public var isFull: Bool { state.withLock { $0.available == 0 } }

    private func acquire() async throws(CancellationError) {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        let outcome: Result<Void, CancellationError> = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: Waiter) in
                let granted = state.withLock { state -> Result<Void, CancellationError>? in
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if state.available > 0 {
                        state.available -= 1
                        return .success(())
                    }
                    state.waiters.append((id, continuation))
                    return nil
                }
                if let granted { continuation.resume(returning: granted) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else {
                    // Not queued yet (or already granted): a later registration sees the mark.
                    state.cancelled.insert(id)
                    return nil
                }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(returning: .failure(CancellationError()))
        }
        // A grant that raced the cancellation mark leaves the mark behind: drop it.
        _ = state.withLock { $0.cancelled.remove(id) }
        try outcome.get()
    }

    private func release() {
        let next = state.withLock { state -> Waiter? in
            if state.waiters.isEmpty {
                state.available += 1
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        next?.resume(returning: .success(()))
    }
}
