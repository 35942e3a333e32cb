import Synchronization

/// Wakes the poll loop when a slot of in-flight capacity frees, with a time limit on the wait.
final class CapacitySignal: Sendable {
    private struct Waiter {
        var id: Int
        var continuation: CheckedContinuation<Bool, Never>
    }

    private let state = Mutex<(waiters: [Waiter], nextID: Int, pending: Bool)>(([], 0, false))

    /// Called when capacity frees; a signal with nobody waiting is kept for the next wait.
    func signal() {
        let waiters = state.withLock { state -> [Waiter] in
            defer { state.waiters.removeAll() }
            if state.waiters.isEmpty { state.pending = true }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume(returning: true) }
    }

    /// True when capacity freed within `timeout`, false when the time ran out.
    func wait(upTo timeout: Duration) async -> Bool {
        let id = state.withLock { state -> Int in
            defer { state.nextID += 1 }
            return state.nextID
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(returning: false)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if state.pending {
                    state.pending = false
                    return true
                }
                state.waiters.append(Waiter(id: id, continuation: continuation))
                return false
            }
            if ready { continuation.resume(returning: true) }
        }
    }
}
