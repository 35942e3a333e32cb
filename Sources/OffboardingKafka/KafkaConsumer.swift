import Dispatch
import Foundation
import Logging
import Synchronization

/// A member of a consumer group (cooperative-sticky) that reads in batches and stores offsets only
/// when told to: librdkafka's auto-commit then commits what was stored.
///
/// Every blocking librdkafka call (poll with a timeout, close) runs on this consumer's own serial
/// dispatch queue, never on the cooperative pool.
public final class KafkaConsumer: Sendable {
    public struct Configuration: Sendable {
        public enum Consumption: Sendable, Hashable {
            /// Join the group and share the topics' partitions with its other members.
            case group(topics: [String])
            /// Read these partitions from their beginning, outside any group, committing nothing
            /// (for readers of results in tests and tools: no group join to wait for).
            case partitionsFromBeginning([KafkaTopicPartition])
            /// Read the last `count` records of each partition and on, outside any group.
            case partitionsFromTail(count: Int64, [KafkaTopicPartition])
        }

        public var bootstrapServers: String
        public var groupID: String
        public var consumption: Consumption
        /// Passed through to librdkafka; they win over the defaults except `enable.auto.offset.store`.
        public var properties: [String: String]
        /// How often librdkafka reports the partitions' lag to `onStatistics`; nil for never.
        /// `statistics.interval.ms` in `properties` wins.
        public var statisticsInterval: Duration?
        /// How long `close()` waits for librdkafka to leave the group before it goes on without
        /// it; the stored offsets are committed before, and the group drops the member at its
        /// session timeout.
        public var closeTimeout: Duration = Self.defaultCloseTimeout
        public static let defaultCloseTimeout: Duration = .seconds(10)

        public init(bootstrapServers: String, groupID: String, topics: [String], properties: [String: String] = [:]) {
            self.init(bootstrapServers: bootstrapServers, groupID: groupID, consumption: .group(topics: topics), properties: properties)
        }

        public init(bootstrapServers: String, groupID: String, consumption: Consumption, properties: [String: String] = [:]) {
            self.bootstrapServers = bootstrapServers
            self.groupID = groupID
            self.consumption = consumption
            self.properties = properties
        }

        var librdkafkaProperties: [String: String] {
            var result: [String: String] = [
                "bootstrap.servers": bootstrapServers,
                "group.id": groupID,
                "partition.assignment.strategy": "cooperative-sticky",
                "enable.auto.commit": "true",
                "auto.commit.interval.ms": "1000",
                "auto.offset.reset": "earliest",
                "enable.partition.eof": "false",
            ]
            if let statisticsInterval {
                result["statistics.interval.ms"] = String(statisticsInterval.milliseconds)
            }
            result.merge(properties) { _, new in new }
            // An offset is stored only once its record's outcome is final; this is not negotiable.
            result["enable.auto.offset.store"] = "false"
            switch consumption {
            case .partitionsFromBeginning, .partitionsFromTail: result["enable.auto.commit"] = "false"
            case .group: break
            }
            return result
        }
    }

    public enum RebalanceEvent: Sendable, Hashable {
        case assigned([KafkaTopicPartition])
        /// Delivered before librdkafka unassigns, so offsets for these partitions can still be stored.
        case revoked([KafkaTopicPartition])
        /// Taken away without a revocation (a rebalance error, a session lost): another member may
        /// own them already, so nothing more of theirs may be stored.
        case lost([KafkaTopicPartition])
    }

    private enum State { case open, closed }

    /// Every call on librdkafka; its handle is destroyed once, in `close()` or `deinit`, after the last poll.
    private let client: RDKafkaConsumerClient
    private let queue = DispatchQueue(label: "psa-offboarder.kafka-consumer")
    private let state = Mutex<State>(.open)
    /// Subscribed to a group (not reading assigned partitions outside any group).
    private let isGroupMember: Bool
    private let closeTimeout: Duration
    private let logger: Logger

    public init(
        configuration: Configuration, logger: Logger,
        onRebalance: (@Sendable (RebalanceEvent) -> Void)? = nil,
        onStatistics: (@Sendable (KafkaConsumerStatistics) -> Void)? = nil
    ) throws(KafkaError) {
        if case .group = configuration.consumption { isGroupMember = true } else { isGroupMember = false }
        closeTimeout = configuration.closeTimeout
        self.logger = logger
        client = try RDKafkaConsumerClient(
            properties: configuration.librdkafkaProperties, consumption: configuration.consumption, logger: logger, onRebalance: onRebalance,
            onStatistics: onStatistics)
    }

    deinit {
        if state.withLock({ $0 }) == .open { client.destroyWithoutClosing() }
    }

    /// The partitions currently assigned to this member.
    public var assignment: Set<KafkaTopicPartition> {
        client.context.assignment.withLock { $0.current }
    }

    /// Waits up to `timeout` for records, then returns at most `maxRecords` of those already fetched.
    /// Rebalance callbacks run inside this call. Returns an empty batch once the consumer is closed.
    public func poll(maxRecords: Int, timeout: Duration) async throws(KafkaError) -> [KafkaRecord] {
        try await poll(maxRecords: maxRecords, timeout: timeout, skipping: nil).records
    }

    /// A batch: the records copied out, and the ones `skipping` decided in librdkafka's own buffer,
    /// per partition as the lowest and highest offset (they were never copied).
    public struct Batch: Sendable {
        public var records: [KafkaRecord] = []
        public var skipped: [KafkaTopicPartition: ClosedRange<Int64>] = [:]
        public var skippedCount = 0
    }

    /// As `poll(maxRecords:timeout:)`, with a decision taken on each record where it lies: a
    /// record `skipping` returns true for is counted in `skipped` and not copied. The decision
    /// runs on the consumer's own queue, off the cooperative pool, so it must be quick and pure.
    public func poll(
        maxRecords: Int, timeout: Duration, skipping: (@Sendable (RecordView) -> Bool)?
    ) async throws(KafkaError) -> Batch {
        let timeoutMs = Int32(clamping: timeout.milliseconds)
        let result: Result<Batch, KafkaError> = await withCheckedContinuation { continuation in
            queue.async { [self] in
                guard state.withLock({ $0 }) == .open else {
                    continuation.resume(returning: .success(Batch()))
                    return
                }
                continuation.resume(returning: client.poll(maxRecords: maxRecords, timeoutMs: timeoutMs, skipping: skipping))
            }
        }
        return try result.get()
    }

    /// Stores `nextOffset` (the offset after the last finished record) for commit.
    /// Fails for a partition that is no longer assigned.
    public func storeOffset(_ partition: KafkaTopicPartition, nextOffset: Int64) throws(KafkaError) {
        guard state.withLock({ $0 }) == .open else {
            throw KafkaError(code: .closed, message: "consumer is closed")
        }
        try client.storeOffset(partition, nextOffset: nextOffset)
    }

    /// Stores several partitions' next offsets at once, for commit.
    public func storeOffsets(_ offsets: [KafkaTopicPartition: Int64]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        guard state.withLock({ $0 }) == .open else {
            throw KafkaError(code: .closed, message: "consumer is closed")
        }
        try client.storeOffsets(offsets)
    }

    /// Commits the stored offsets now and waits for the group coordinator to take them, for a
    /// reader whose every finished record must stay finished across a crash (auto-commit runs
    /// once a second).
    public func commitStoredOffsets() async throws(KafkaError) {
        guard state.withLock({ $0 }) == .open else {
            throw KafkaError(code: .closed, message: "consumer is closed")
        }
        let error = await withCheckedContinuation { (continuation: CheckedContinuation<KafkaError?, Never>) in
            queue.async { [client] in continuation.resume(returning: client.commitStored()) }
        }
        if let error { throw error }
    }

    /// The partition's low and high watermarks (the first offset and the offset after the last).
    public func watermarks(of partition: KafkaTopicPartition, timeout: Duration = .seconds(10)) async throws(KafkaError) -> (low: Int64, high: Int64) {
        let timeoutMs = Int32(clamping: timeout.components.seconds * 1000)
        // A broker round trip: off the cooperative pool, and on the consumer's own queue so that
        // it can never overlap `close()`.
        return try await onQueue { $0.watermarks(of: partition, timeoutMs: timeoutMs) }.get()
    }

    /// The group's committed offsets for these partitions (-1001 where none is committed). Works
    /// without joining the group: it asks the group's coordinator.
    public func committedOffsets(_ partitions: [KafkaTopicPartition], timeout: Duration = .seconds(10)) async throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        let timeoutMs = Int32(clamping: timeout.components.seconds * 1000)
        return try await onQueue { $0.committedOffsets(partitions, timeoutMs: timeoutMs) }.get()
    }

    /// Runs a blocking call on the consumer's queue while it is open.
    private func onQueue<T: Sendable>(_ call: @escaping @Sendable (RDKafkaConsumerClient) -> Result<T, KafkaError>) async -> Result<T, KafkaError> {
        await withCheckedContinuation { continuation in
            queue.async { [self] in
                guard state.withLock({ $0 }) == .open else {
                    continuation.resume(returning: .failure(KafkaError(code: .closed, message: "consumer is closed")))
                    return
                }
                continuation.resume(returning: call(client))
            }
        }
    }

    /// Raises a fatal error on this client through librdkafka's own testing hook
    /// (`rd_kafka_test_fatal_error`): a consumer reading assigned partitions cannot otherwise meet
    /// one, yet what follows one (a topic reader stops, liveness fails) is promised. The next poll
    /// fails with it; the client cannot recover, as after a real one. Nothing on a closed client.
    package func raiseFatalErrorForTesting(reason: String) async {
        _ = await onQueue { client in
            client.raiseFatalErrorForTesting(reason: reason)
            return .success(())
        }
    }

    /// Stops fetching these partitions (their position is kept) until `resume`; the member stays in
    /// the group as long as `poll` is still called.
    public func pause(_ partitions: [KafkaTopicPartition]) {
        guard state.withLock({ $0 }) == .open else { return }
        client.pause(partitions)
    }

    public func resume(_ partitions: [KafkaTopicPartition]) {
        guard state.withLock({ $0 }) == .open else { return }
        client.resume(partitions)
    }

    /// Moves an assigned partition's fetch position back to `offset`, dropping what was fetched
    /// beyond it; with `pause`, the way to hold a record until later without holding it in memory.
    public func seek(_ partition: KafkaTopicPartition, to offset: Int64) throws(KafkaError) {
        guard state.withLock({ $0 }) == .open else { return }
        try client.seek(partition, to: offset)
    }

    /// Leaves the group, committing stored offsets, and releases the handle; waits at most
    /// `closeTimeout` for librdkafka. Idempotent.
    public func close() async {
        let shouldClose = state.withLock { state -> Bool in
            guard state == .open else { return false }
            state = .closed
            return true
        }
        guard shouldClose else { return }
        let closed = await BoundedBlockingCall.run(on: queue, atMost: closeTimeout) { [client, isGroupMember] in
            client.close(isGroupMember: isGroupMember)
        }
        if !closed {
            logger.warning(
                "consumer close did not finish; going on without it (the group drops this member at its session timeout)",
                metadata: ["kafka.close.timeout": "\(closeTimeout)"])
        }
    }
}
