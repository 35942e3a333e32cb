import Synchronization

/// Wakes the poll loop when an in-flight slot frees (or the lanes go idle), instead of having it
/// look again and again.
final class CapacitySignal: Sendable {
    private struct State {
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var nextID = 0
        /// A signal nobody was waiting for, kept for the next wait.
        var pending = false
        /// Waits whose time ran out before they were queued.
        var expired: Set<Int> = []
    }

    private let state = Mutex(State())

    /// Called when capacity frees; a signal with nobody waiting is kept for the next wait.
    func signal() {
        let waiters = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            defer { state.waiters.removeAll() }
            if state.waiters.isEmpty { state.pending = true }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    /// True when capacity freed within `timeout`, false when the time ran out.
    func wait(upTo timeout: Duration) async -> Bool {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        let timer = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                guard let waiter = state.waiters.removeValue(forKey: id) else {
                    // The timer can fire before the wait is queued: leave a mark it will find.
                    state.expired.insert(id)
                    return nil
                }
                return waiter
            }
            waiter?.resume(returning: false)
        }
        defer { timer.cancel() }
        let signalled = await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool? in
                if state.pending {
                    state.pending = false
                    return true
                }
                if state.expired.remove(id) != nil { return false }
                state.waiters[id] = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
        // A timer cancelled after it looked may have left a mark for this finished wait.
        _ = state.withLock { $0.expired.remove(id) }
        return signalled
    }
}
