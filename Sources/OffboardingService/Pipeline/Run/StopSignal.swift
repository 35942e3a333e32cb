import Synchronization

/// The pipeline's "stop" as something to wait on: a wait for time that ends early when the
/// pipeline stops, without waking up to look.
final class StopSignal: Sendable {
    private struct State {
        var stopped = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waits cancelled before they were queued.
        var cancelled: Set<Int> = []
        var nextID = 0
    }

    private let state = Mutex(State())

    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Wakes every wait; later waits return at once.
    func stop() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.stopped = true
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns after `duration`, or as soon as the pipeline stops (or the task is cancelled).
    /// False when it ended because of a stop or a cancellation: the caller gives its record up.
    func sleep(for duration: Duration) async -> Bool {
        guard !isStopped else { return false }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: duration) }
            group.addTask { await self.stopped() }
            await group.next()
            group.cancelAll()
        }
        return !isStopped && !Task.isCancelled
    }

    /// Returns once the pipeline stops, or when the task is cancelled.
    func stopped() async {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    // The cancellation handler can run before this: it leaves a mark instead.
                    if state.stopped || state.cancelled.remove(id) != nil { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                state.cancelled.insert(id)
                return nil
            }
            waiter?.resume()
        }
    }
}
