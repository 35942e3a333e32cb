import Logging
import OffboardingKafka
import Synchronization

/// The event ids that already have a result on the results topic. A record redelivered after a
/// crash or a rebalance (its result published, its offset not yet committed) is then recognised
/// and not run again, so the PSA is not asked twice and no second, disagreeing result appears.
///
/// It reads the tail of every results partition outside any group, and keeps reading. It also
/// holds the latest result of recent events for `GET /v1/offboardings/{event_id}`.
final class ResultLedger: Sendable {
    private struct State {
        var ids: Set<String> = []
        /// Insertion order, for evicting the oldest ids beyond `capacity`.
        var order: [String] = []
        var head = 0
        /// The latest result value per event id, for the most recent `bodyCapacity` events.
        var bodies: [String: [UInt8]] = [:]
        var bodyOrder: [String] = []
    }

    private let reader: TopicReader
    private let capacity: Int
    private let bodyCapacity: Int
    private let state = Mutex(State())

    /// - Parameters:
    ///   - tail: how many of the latest records of each partition are read at start.
    ///   - capacity: how many event ids are remembered.
    init(
        bootstrapServers: String, topic: String, partitionCount: Int32, properties: [String: String], tail: Int64, capacity: Int,
        bodyCapacity: Int = 20_000, logger: Logger
    ) throws(KafkaError) {
        self.bodyCapacity = max(1, bodyCapacity)
        reader = try TopicReader(
            bootstrapServers: bootstrapServers, topic: topic, partitionCount: partitionCount, groupID: "psa-offboarder-ledger", start: .tail(tail),
            properties: properties, logger: logger)
        self.capacity = max(1, capacity)
        // Holds `self` until `stop()`.
        reader.start { [self] record in add(record) }
    }

    private func add(_ record: KafkaRecord) {
        let id = record.headers.last(named: "offboarding.event.id")?.stringValue
        guard let id else { return }
        state.withLock { state in
            Self.insert(id, into: &state, capacity: capacity)
            if let value = record.value { Self.keep(value, for: id, in: &state, capacity: bodyCapacity) }
        }
    }

    private static func keep(_ body: [UInt8], for id: String, in state: inout State, capacity: Int) {
        if state.bodies.updateValue(body, forKey: id) == nil {
            state.bodyOrder.append(id)
            if state.bodyOrder.count > capacity {
                // Amortised: drop the oldest tenth at once.
                let dropped = state.bodyOrder.prefix(capacity / 10 + 1)
                for old in dropped { state.bodies.removeValue(forKey: old) }
                state.bodyOrder.removeFirst(dropped.count)
            }
        }
    }

    /// The latest result published for the event, if it is among the recent ones held.
    func latestResult(for eventID: String) -> [UInt8]? {
        state.withLock { $0.bodies[eventID] }
    }

    private static func insert(_ id: String, into state: inout State, capacity: Int) {
        guard state.ids.insert(id).inserted else { return }
        state.order.append(id)
        if state.order.count - state.head > capacity {
            state.ids.remove(state.order[state.head])
            state.head += 1
            if state.head > capacity {
                state.order.removeFirst(state.head)
                state.head = 0
            }
        }
    }

    func contains(_ eventID: String) -> Bool {
        state.withLock { $0.ids.contains(eventID) }
    }

    /// Remembers a result this process has just published. Its value is taken only from the
    /// reader, which sees an event's results in order (they share a key, so a partition).
    func record(_ eventID: String) {
        state.withLock { Self.insert(eventID, into: &$0, capacity: capacity) }
    }

    /// Returns once every partition has been read up to where it ended when this was called.
    func catchUp(timeout: Duration) async throws {
        try await reader.catchUp(timeout: timeout)
    }

    var count: Int { state.withLock { $0.ids.count } }

    func stop() async {
        await reader.stop()
    }
}
