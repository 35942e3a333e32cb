import Logging
import OffboardingCore
import OffboardingKafka
import Synchronization

/// The event ids that already have a result on the results topic. A record redelivered after a
/// crash or a rebalance (its result published, its offset not yet committed) is then recognised
/// and not run again, so the PSA is not asked twice and no second, disagreeing result appears.
///
/// Events are known by their CloudEvents source and id together (`offboarding.event.source` and
/// `offboarding.event.id` on each result): ids are each source's own, so a result of one source's
/// event never suppresses another source's event of the same id.
///
/// It reads the tail of every results partition outside any group, and keeps reading. It also
/// holds the latest result of recent events for `GET /v1/offboardings/{event_id}`.
final class ResultLedger: Sendable {
    private struct State {
        var ids: RecentEntries<Void>
        /// The latest result value per event id, for the most recent events that fit.
        var bodies: RecentEntries<[UInt8]>
        /// Every event id a signed result names, whatever its source and attempt: what a restore asks about.
        var eventIDs: RecentEntries<Void>
        /// The tail read at start was every partition whole.
        var startedWhole = false
        /// An event id was dropped for room.
        var shed = false
    }

    let reader: TopicReader
    private let state: Mutex<State>
    private let signer: RecordSigner
    private let logger: Logger
    private let tail: Int64
    /// The partitions it reads: those the topic had when it started.
    let partitionCount: Int32

    /// The memory the ledger may take; the oldest entries are forgotten first.
    struct Limits: Sendable {
        /// The remembered event ids (each of the two sets of them).
        var idBytes = 16 << 20
        /// The held result bodies.
        var bodyBytes = 64 << 20
    }

    /// - Parameters:
    ///   - tail: how many of the latest records of each partition are read at start.
    init(
        bootstrapServers: String, topic: String, partitionCount: Int32, properties: [String: String], tail: Int64, signer: RecordSigner,
        limits: Limits = .init(), logger: Logger
    ) throws(KafkaError) {
        self.signer = signer
        self.logger = logger
        state = Mutex(
            State(
                ids: RecentEntries(budget: limits.idBytes), bodies: RecentEntries(budget: limits.bodyBytes),
                eventIDs: RecentEntries(budget: limits.idBytes)))
        self.tail = tail
        self.partitionCount = partitionCount
        reader = try TopicReader(
            bootstrapServers: bootstrapServers, topic: topic, partitionCount: partitionCount, groupID: "psa-offboarder-ledger", start: .tail(tail),
            properties: properties, logger: logger)
        // Holds `self` until `stop()`.
        reader.start { [self] record in add(record) }
    }

    static let sourceHeader = "offboarding.event.source"

    /// What the ledger knows an event by. A result without a source (one published before results
    /// carried it, or by `run`) is known to no event.
    private static func key(source: String?, eventID: String) -> String? {
        guard let source, !source.isEmpty else { return nil }
        return "\(source)\u{0}\(eventID)"
    }

    private func add(_ record: KafkaRecord) {
        let id = record.headers.last(named: "offboarding.event.id")?.stringValue
        // A result the service did not sign neither suppresses an event nor is served as its result.
        guard let id, signer.admits(record, reader: "results", logger: logger) else { return }
        let key = Self.key(source: record.headers.last(named: Self.sourceHeader)?.stringValue, eventID: id)
        // A follow-up (a retry's result, `offboarding.attempt` 2 and on) is not the event's own
        // result: the event itself may still have to run, when its run was cut short before publishing.
        let isFollowUp = record.headers.last(named: "offboarding.attempt") != nil
        state.withLock { state in
            if !isFollowUp, let key, !state.ids.contains(key) { state.ids.set(key, ()) }
            if let value = record.value { state.bodies.set(id, value, size: value.count) }
            if !state.eventIDs.contains(id), state.eventIDs.set(id, ()) > 0 { state.shed = true }
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

    /// Whether the event of this source and id already has its own result.
    func contains(source: String, eventID: String) -> Bool {
        guard let key = Self.key(source: source, eventID: eventID) else { return false }
        return state.withLock { $0.ids.contains(key) }
    }

    /// Remembers an event's own result (attempt 1) this process has just published. Its value is taken only from the
    /// reader, which sees an event's results in order (they share a key, so a partition).
    func record(source: String?, eventID: String) {
        guard let key = Self.key(source: source, eventID: eventID) else { return }
        state.withLock { state in
            if !state.ids.contains(key) { state.ids.set(key, ()) }
        }
    }

    /// Returns once every partition has been read up to where it ended when this was called, and
    /// notes whether the tail read at start was the whole topic.
    func catchUp(timeout: Duration) async throws {
        // Looked at first: a topic that grows meanwhile only makes the answer more cautious.
        let whole = try await reader.holdsAtMost(tail)
        try await reader.catchUp(timeout: timeout)
        state.withLock { $0.startedWhole = whole }
    }

    /// Whether the ledger holds every event id of the topic, so that one it does not know has no
    /// result there: it read every partition from its beginning and dropped no id since.
    var knowsEveryEvent: Bool { state.withLock { $0.startedWhole && !$0.shed } }

    /// Whether a signed result names this event id (under any source), once the ledger has read
    /// the topic up to where it ends now: a result published a moment ago is known.
    func knows(eventID: String, timeout: Duration) async throws -> Bool {
        if state.withLock({ $0.eventIDs.contains(eventID) }) { return true }
        try await reader.catchUp(timeout: timeout)
        return state.withLock { $0.eventIDs.contains(eventID) }
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
