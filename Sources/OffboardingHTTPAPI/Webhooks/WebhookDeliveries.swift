import OffboardingCore
import Synchronization

/// The webhook deliveries this replica has turned into events, so that a delivery the PSA repeats
/// produces one event. Bounded by memory: the oldest are forgotten first. A repeat reaching another
/// replica yields the same event id, which the consumer recognises once the first has a result.
final class WebhookDeliveries: Sendable {
    private let seen: Mutex<RecentEntries<Void>>

    static let defaultBudget = 4 << 20

    init(budget: Int = defaultBudget) {
        seen = Mutex(RecentEntries(budget: budget))
    }

    /// The memory the remembered delivery ids may take.
    var budget: Int { seen.withLock { $0.budget } }

    /// True when the delivery is new and is now claimed by the caller.
    func claim(_ id: String) -> Bool {
        seen.withLock { seen in
            guard !seen.contains(id) else { return false }
            seen.set(id, ())
            return true
        }
    }

    /// Gives a claim back when its event could not be written, so that the PSA's repeat is taken.
    func release(_ id: String) {
        seen.withLock { $0.remove(id) }
    }
}
