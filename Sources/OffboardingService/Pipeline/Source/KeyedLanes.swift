import Synchronization

/// One lane of work per key: items of a key run one after another in arrival order, items of
/// different keys run concurrently. `enqueue` says when a new lane must be started.
final class KeyedLanes<Item: Sendable>: Sendable {
    private struct State {
        var lanes: [String: [Item]] = [:]
        var queued = 0
        var abandoned = 0
        var draining = false
    }

    private let state = Mutex(State())

    /// Returns true when the key had no lane, so the caller must start one that calls `next(for:)`.
    func enqueue(_ item: Item, key: String) -> Bool {
        state.withLock { state in
            state.queued += 1
            if state.lanes[key] != nil {
                state.lanes[key]!.append(item)
                return false
            }
            state.lanes[key] = [item]
            return true
        }
    }

    /// The key's next item, or nil (closing the lane) when it has none or the lanes are draining.
    /// Items still queued when draining starts are abandoned: their records are redelivered later.
    func next(for key: String) -> Item? {
        state.withLock { state in
            guard !state.draining, var items = state.lanes[key], !items.isEmpty else {
                let dropped = state.lanes[key]?.count ?? 0
                state.abandoned += dropped
                state.queued -= dropped
                state.lanes[key] = nil
                return nil
            }
            let item = items.removeFirst()
            state.lanes[key] = items
            return item
        }
    }

    /// Called when an item from `next(for:)` is done.
    func done() {
        state.withLock { $0.queued -= 1 }
    }

    func drain() {
        state.withLock { $0.draining = true }
    }

    /// Items accepted and not yet done (queued or running).
    var pending: Int { state.withLock { $0.queued } }

    /// Items given up because draining started before they ran.
    var abandoned: Int { state.withLock { $0.abandoned } }
}
