import Logging
import OffboardingCore
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
        var ids: RecentEntries<Void>
        /// The latest result value per event id, for the most recent events that fit.
        var bodies: RecentEntries<[UInt8]>
    }

    private let reader: TopicReader
    private let state: Mutex<State>

    /// - Parameters:
    ///   - tail: how many of the latest records of each partition are read at start.
    ///   - idBytes: the memory the remembered event ids may take; the oldest are forgotten first.
    ///   - bodyBytes: the memory the held result bodies may take.
    init(
        bootstrapServers: String, topic: String, partitionCount: Int32, properties: [String: String], tail: Int64, idBytes: Int = 16 << 20,
        bodyBytes: Int = 64 << 20, logger: Logger
    ) throws(KafkaError) {
        state = Mutex(State(ids: RecentEntries(budget: idBytes), bodies: RecentEntries(budget: bodyBytes)))
        reader = try TopicReader(
            bootstrapServers: bootstrapServers, topic: topic, partitionCount: partitionCount, groupID: "psa-offboarder-ledger", start: .tail(tail),
            properties: properties, logger: logger)
        // Holds `self` until `stop()`.
        reader.start { [self] record in add(record) }
    }

    private func add(_ record: KafkaRecord) {
        let id = record.headers.last(named: "offboarding.event.id")?.stringValue
        guard let id else { return }
        // A follow-up (a retry's result, `offboarding.attempt` 2 and on) is not the event's own
        // result: the event itself may still have to run, when its run was cut short before publishing.
        let isFollowUp = record.headers.last(named: "offboarding.attempt") != nil
        state.withLock { state in
            if !isFollowUp, !state.ids.contains(id) { state.ids.set(id, ()) }
            if let value = record.value { state.bodies.set(id, value, size: value.count) }
        }
    }

    /// The latest result published for the event, if it is among the recent ones held.
    func latestResult(for eventID: String) -> [UInt8]? {
        state.withLock { $0.bodies[eventID] }
    }

    /// The latest result of each of the `limit` events most recently published for, newest first.
    func recentResults(limit: Int) -> [[UInt8]] {
        state.withLock { $0.bodies.newest(limit).map(\.value) }
    }

    func contains(_ eventID: String) -> Bool {
        state.withLock { $0.ids.contains(eventID) }
    }

    /// Remembers an event's own result (attempt 1) this process has just published. Its value is taken only from the
    /// reader, which sees an event's results in order (they share a key, so a partition).
    func record(_ eventID: String) {
        state.withLock { state in
            if !state.ids.contains(eventID) { state.ids.set(eventID, ()) }
        }
    }

    /// Returns once every partition has been read up to where it ended when this was called.
    func catchUp(timeout: Duration) async throws {
        try await reader.catchUp(timeout: timeout)
    }

    var count: Int { state.withLock { $0.ids.count } }

    /// The memory the remembered ids and bodies take, by the budgets' measure.
    var bytes: Int { state.withLock { $0.ids.bytes + $0.bodies.bytes } }

    /// Why the ledger stopped reading the results topic, if it did.
    var readerFailure: KafkaError? { reader.failure }

    func stop() async {
        await reader.stop()
    }
}
