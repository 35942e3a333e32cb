import Synchronization

/// The webhook deliveries this replica has turned into events, so that a delivery the PSA repeats
/// produces one event. Bounded: the oldest are forgotten first. A repeat reaching another replica
/// yields the same event id, which the consumer recognises once the first has a result.
final class WebhookDeliveries: Sendable {
    private struct State {
        var seen: Set<String> = []
        var order: [String] = []
    }

    private let state = Mutex(State())
    private let capacity: Int

    init(capacity: Int = 50_000) {
        self.capacity = max(1, capacity)
    }

    /// True when the delivery is new and is now claimed by the caller.
    func claim(_ id: String) -> Bool {
        state.withLock { state in
            guard state.seen.insert(id).inserted else { return false }
            state.order.append(id)
            if state.order.count > capacity {
                let dropped = state.order.prefix(capacity / 10 + 1)
                for old in dropped { state.seen.remove(old) }
                state.order.removeFirst(dropped.count)
            }
            return true
        }
    }

    /// Gives a claim back when its event could not be written, so that the PSA's repeat is taken.
    func release(_ id: String) {
        state.withLock { state in
            state.seen.remove(id)
            state.order.removeAll { $0 == id }
        }
    }
}
