import OffboardingCore
import Synchronization

/// Which items already carry an event's note, so that each item gets one note per event however
/// often it is written (a confirmation's second write, a retry, a resumed run): the event's notes
/// are looked up once (one query by title), and every note created since is added. Only the
/// latest events are kept.
final class EventNotes: Sendable {
    private struct Entry {
        var lookup: Task<Result<Set<Int>, PSAError>, Never>
        var created: Set<Int> = []
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var order: [String] = []
    }

    private let state = Mutex(State())
    private let capacity: Int

    init(capacity: Int = 64) {
        self.capacity = capacity
    }

    /// The items noted for the event: what the lookup found plus what was created since.
    func noted(eventID: String, lookup: @escaping @Sendable () async -> Result<Set<Int>, PSAError>) async throws(PSAError) -> Set<Int> {
        let task = state.withLock { state -> Task<Result<Set<Int>, PSAError>, Never> in
            if let entry = state.entries[eventID] { return entry.lookup }
            let task = Task { await lookup() }
            state.entries[eventID] = Entry(lookup: task)
            state.order.append(eventID)
            if state.order.count > capacity { state.entries[state.order.removeFirst()] = nil }
            return task
        }
        switch await task.value {
        case .success(let found):
            return found.union(state.withLock { $0.entries[eventID]?.created ?? [] })
        case .failure(let error):
            // Not kept: the next item looks again.
            state.withLock { state in
                if state.entries[eventID]?.lookup == task { state.entries[eventID] = nil }
            }
            throw error
        }
    }

    func created(_ item: Int, eventID: String) {
        state.withLock { $0.entries[eventID]?.created.insert(item) }
    }
}
