import Crdkafka
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

    final class Context: RDKafkaClientContext, @unchecked Sendable {
        // `onRebalance` is immutable; `assignment` is behind its own lock.
        let onRebalance: (@Sendable (RebalanceEvent) -> Void)?
        let onStatistics: (@Sendable (KafkaConsumerStatistics) -> Void)?
        /// The partitions owned now, whether any ever were, and when the assignment last changed.
        let assignment = Mutex<(current: Set<KafkaTopicPartition>, everAssigned: Bool, lastChange: ContinuousClock.Instant?)>(([], false, nil))

        init(logger: Logger, onRebalance: (@Sendable (RebalanceEvent) -> Void)?, onStatistics: (@Sendable (KafkaConsumerStatistics) -> Void)?) {
            self.onRebalance = onRebalance
            self.onStatistics = onStatistics
            super.init(logger: logger)
        }
    }

    private enum State { case open, closed }

    // Thread-safe per librdkafka; destroyed only in `close()` or `deinit`, after the last poll.
    private nonisolated(unsafe) let handle: OpaquePointer
    private let context: Context
    private let queue = DispatchQueue(label: "psa-offboarder.kafka-consumer")
    private let state = Mutex<State>(.open)
    private let logger: Logger
    /// Subscribed to a group (not reading assigned partitions outside any group).
    private let isGroupMember: Bool

    public init(
        configuration: Configuration, logger: Logger,
        onRebalance: (@Sendable (RebalanceEvent) -> Void)? = nil,
        onStatistics: (@Sendable (KafkaConsumerStatistics) -> Void)? = nil
    ) throws(KafkaError) {
        self.logger = logger
        if case .group = configuration.consumption { isGroupMember = true } else { isGroupMember = false }
        let context = Context(logger: logger, onRebalance: onRebalance, onStatistics: onStatistics)
        self.context = context
        let conf = try RDKafkaConf.make(configuration.librdkafkaProperties)
        RDKafkaClientContext.installLogCallback(on: conf, context: context)
        rd_kafka_conf_set_rebalance_cb(conf, KafkaConsumer.rebalanceCallback)
        if onStatistics != nil { rd_kafka_conf_set_stats_cb(conf, KafkaConsumer.statisticsCallback) }
        let handle = try RDKafkaConf.newClient(type: RD_KAFKA_CONSUMER, conf: conf)
        self.handle = handle
        rd_kafka_poll_set_consumer(handle)

        let err: rd_kafka_resp_err_t
        switch configuration.consumption {
        case .group(let topics):
            let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for topic in topics {
                rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
            }
            err = rd_kafka_subscribe(handle, list)
        case .partitionsFromBeginning(let partitions), .partitionsFromTail(_, let partitions):
            var start = Int64(RD_KAFKA_OFFSET_BEGINNING)
            if case .partitionsFromTail(let count, _) = configuration.consumption { start = Int64(RD_KAFKA_OFFSET_TAIL_BASE) - max(0, count) }
            let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for partition in partitions {
                rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)?.pointee.offset = start
            }
            err = rd_kafka_assign(handle, list)
            context.assignment.withLock { $0 = (Set(partitions), true, nil) }
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            rd_kafka_destroy(handle)
            state.withLock { $0 = .closed }
            throw KafkaError(code: .creation, message: "subscribe: \(RDKafkaError.describe(err))", rdKafkaCode: err.rawValue)
        }
    }

    deinit {
        if state.withLock({ $0 }) == .open {
            rd_kafka_destroy_flags(handle, Int32(RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE))
        }
    }

    /// The partitions currently assigned to this member.
    public var assignment: Set<KafkaTopicPartition> {
        context.assignment.withLock { $0.current }
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
                continuation.resume(returning: pollBlocking(maxRecords: maxRecords, timeoutMs: timeoutMs, skipping: skipping))
            }
        }
        return try result.get()
    }

    /// A consumed message as librdkafka holds it, for a decision that needs no copy.
    public struct RecordView {
        public let topic: String
        public let partition: Int32
        public let offset: Int64
        public let value: UnsafeRawBufferPointer?
        fileprivate let message: UnsafePointer<rd_kafka_message_t>

        /// Calls `body` with each header's name (as C bytes, without the NUL) and value; stops when it returns false.
        public func forEachHeader(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer?) -> Bool) {
            var headers: OpaquePointer?
            guard rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers else { return }
            var index = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(headers, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let nameBytes = name.map { UnsafeRawBufferPointer(start: $0, count: strlen($0)) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
                guard body(nameBytes, value.map { UnsafeRawBufferPointer(start: $0, count: size) }) else { return }
                index += 1
            }
        }
    }

    private func pollBlocking(maxRecords: Int, timeoutMs: Int32, skipping: ((RecordView) -> Bool)?) -> Result<Batch, KafkaError> {
        guard state.withLock({ $0 }) == .open else { return .success(Batch()) }
        var batch = Batch()
        batch.records.reserveCapacity(min(maxRecords, 1000))
        var topics: [OpaquePointer: String] = [:]
        var wait = timeoutMs
        while batch.records.count + batch.skippedCount < maxRecords {
            guard let message = rd_kafka_consumer_poll(handle, wait) else { break }
            // Only the first poll waits; the rest take what is already fetched.
            wait = 0
            defer { rd_kafka_message_destroy(message) }
            let err = message.pointee.err
            if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                if let skipping, let rkt = message.pointee.rkt {
                    let topic: String
                    if let known = topics[rkt] {
                        topic = known
                    } else {
                        topic = String(cString: rd_kafka_topic_name(rkt))
                        topics[rkt] = topic
                    }
                    let m = message.pointee
                    let view = RecordView(
                        topic: topic, partition: m.partition, offset: m.offset, value: m.payload.map { UnsafeRawBufferPointer(start: $0, count: m.len) },
                        message: UnsafePointer(message))
                    if skipping(view) {
                        let partition = KafkaTopicPartition(topic: topic, partition: m.partition)
                        let range = batch.skipped[partition].map { min($0.lowerBound, m.offset)...max($0.upperBound, m.offset) } ?? m.offset...m.offset
                        batch.skipped[partition] = range
                        batch.skippedCount += 1
                        continue
                    }
                }
                batch.records.append(KafkaRecord(copying: message, topics: &topics))
            } else if err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                if let fatal = RDKafkaError.fatalError(of: handle) {
                    return .failure(fatal)
                }
                logger.warning(
                    "consumer error", metadata: ["kafka.error": "\(RDKafkaError.describe(err))", "kafka.error.code": "\(err.rawValue)"])
            }
        }
        return .success(batch)
    }

    /// Stores `nextOffset` (the offset after the last finished record) for commit.
    /// Fails for a partition that is no longer assigned.
    public func storeOffset(_ partition: KafkaTopicPartition, nextOffset: Int64) throws(KafkaError) {
        guard state.withLock({ $0 }) == .open else {
            throw KafkaError(code: .closed, message: "consumer is closed")
        }
        let list = rd_kafka_topic_partition_list_new(1)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let entry = rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)
        entry?.pointee.offset = nextOffset
        let err = rd_kafka_offsets_store(handle, list)
        let partitionErr = entry?.pointee.err ?? RD_KAFKA_RESP_ERR_NO_ERROR
        if err != RD_KAFKA_RESP_ERR_NO_ERROR || partitionErr != RD_KAFKA_RESP_ERR_NO_ERROR {
            let code = err != RD_KAFKA_RESP_ERR_NO_ERROR ? err : partitionErr
            throw KafkaError(
                code: .offsetStore, message: "\(partition)@\(nextOffset): \(RDKafkaError.describe(code))", rdKafkaCode: code.rawValue)
        }
    }

    /// Stores several partitions' next offsets at once, for commit.
    public func storeOffsets(_ offsets: [KafkaTopicPartition: Int64]) throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        guard state.withLock({ $0 }) == .open else {
            throw KafkaError(code: .closed, message: "consumer is closed")
        }
        let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (partition, offset) in offsets {
            rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)?.pointee.offset = offset
        }
        let err = rd_kafka_offsets_store(handle, list)
        var failed: [String] = []
        if let list {
            for index in 0..<Int(list.pointee.cnt) where list.pointee.elems[index].err != RD_KAFKA_RESP_ERR_NO_ERROR {
                failed.append("\(String(cString: list.pointee.elems[index].topic))[\(list.pointee.elems[index].partition)]: \(RDKafkaError.describe(list.pointee.elems[index].err))")
            }
        }
        if err != RD_KAFKA_RESP_ERR_NO_ERROR || !failed.isEmpty {
            throw KafkaError(code: .offsetStore, message: failed.isEmpty ? RDKafkaError.describe(err) : failed.joined(separator: ", "), rdKafkaCode: err.rawValue)
        }
    }

    /// The partition's low and high watermarks (the first offset and the offset after the last).
    public func watermarks(of partition: KafkaTopicPartition, timeout: Duration = .seconds(10)) async throws(KafkaError) -> (low: Int64, high: Int64) {
        let timeoutMs = Int32(clamping: timeout.components.seconds * 1000)
        let result: Result<(Int64, Int64), KafkaError> = await withCheckedContinuation { continuation in
            // A broker round trip: off the cooperative pool, and on the consumer's own queue so that
            // it can never overlap `close()`.
            queue.async { [self] in
                guard state.withLock({ $0 }) == .open else {
                    continuation.resume(returning: .failure(KafkaError(code: .closed, message: "consumer is closed")))
                    return
                }
                var low: Int64 = 0
                var high: Int64 = 0
                let err = rd_kafka_query_watermark_offsets(handle, partition.topic, partition.partition, &low, &high, timeoutMs)
                if err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    continuation.resume(returning: .success((low, high)))
                } else {
                    continuation.resume(
                        returning: .failure(KafkaError(code: .consume, message: "watermarks of \(partition): \(RDKafkaError.describe(err))", rdKafkaCode: err.rawValue)))
                }
            }
        }
        return try result.get()
    }

    /// The group's committed offsets for these partitions (-1001 where none is committed). Works
    /// without joining the group: it asks the group's coordinator.
    public func committedOffsets(_ partitions: [KafkaTopicPartition], timeout: Duration = .seconds(10)) async throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        let timeoutMs = Int32(clamping: timeout.components.seconds * 1000)
        let result: Result<[KafkaTopicPartition: Int64], KafkaError> = await withCheckedContinuation { continuation in
            queue.async { [self] in
                guard state.withLock({ $0 }) == .open, let list = rd_kafka_topic_partition_list_new(Int32(partitions.count)) else {
                    continuation.resume(returning: .failure(KafkaError(code: .closed, message: "consumer is closed")))
                    return
                }
                defer { rd_kafka_topic_partition_list_destroy(list) }
                for partition in partitions { rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition) }
                let err = rd_kafka_committed(handle, list, timeoutMs)
                guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    continuation.resume(
                        returning: .failure(KafkaError(code: .consume, message: "committed offsets: \(RDKafkaError.describe(err))", rdKafkaCode: err.rawValue)))
                    return
                }
                var offsets: [KafkaTopicPartition: Int64] = [:]
                for index in 0..<Int(list.pointee.cnt) {
                    let entry = list.pointee.elems[index]
                    offsets[KafkaTopicPartition(topic: String(cString: entry.topic), partition: entry.partition)] = entry.offset
                }
                continuation.resume(returning: .success(offsets))
            }
        }
        return try result.get()
    }

    /// Stops fetching these partitions (their position is kept) until `resume`; the member stays in
    /// the group as long as `poll` is still called.
    public func pause(_ partitions: [KafkaTopicPartition]) {
        withPartitionList(partitions) { _ = rd_kafka_pause_partitions(handle, $0) }
    }

    public func resume(_ partitions: [KafkaTopicPartition]) {
        withPartitionList(partitions) { _ = rd_kafka_resume_partitions(handle, $0) }
    }

    /// Moves an assigned partition's fetch position back to `offset`, dropping what was fetched
    /// beyond it; with `pause`, the way to hold a record until later without holding it in memory.
    public func seek(_ partition: KafkaTopicPartition, to offset: Int64) throws(KafkaError) {
        var failure: KafkaError?
        withPartitionList([partition]) { list in
            list.pointee.elems[0].offset = offset
            // Timeout 0: the seek is queued, not awaited; the next fetch starts from `offset`.
            if let error = rd_kafka_seek_partitions(handle, list, 0) {
                failure = KafkaError(code: .consume, message: "seek \(partition)@\(offset): \(String(cString: rd_kafka_error_string(error)))")
                rd_kafka_error_destroy(error)
            } else if ![RD_KAFKA_RESP_ERR_NO_ERROR, RD_KAFKA_RESP_ERR__IN_PROGRESS].contains(list.pointee.elems[0].err) {
                // An asynchronous seek reports itself in progress: that is its success.
                let err = list.pointee.elems[0].err
                failure = KafkaError(code: .consume, message: "seek \(partition)@\(offset): \(RDKafkaError.describe(err))", rdKafkaCode: err.rawValue)
            }
        }
        if let failure { throw failure }
    }

    private func withPartitionList(_ partitions: [KafkaTopicPartition], _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void) {
        guard !partitions.isEmpty, state.withLock({ $0 }) == .open else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in partitions { rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition) }
        body(list)
    }

    /// Leaves the group, committing stored offsets, and releases the handle. Idempotent.
    public func close() async {
        let shouldClose = state.withLock { state -> Bool in
            guard state == .open else { return false }
            state = .closed
            return true
        }
        guard shouldClose else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async { [self] in
                // Read here, after every poll queued before (and the rebalance callbacks they ran).
                var everAssigned = context.assignment.withLock { $0.everAssigned }
                if !everAssigned, isGroupMember {
                    // librdkafka 2.0.2 asserts when a cooperative-sticky member is destroyed between
                    // joining and its first assignment (#4312, fixed in 2.3.0): let a join in
                    // progress finish, serving its rebalance callback, before going.
                    everAssigned = pollDroppingRecords(upTo: .seconds(5)) { context.assignment.withLock { $0.everAssigned } }
                }
                if everAssigned {
                    // librdkafka 2.0.2 asserts (`rd_kafka_cgrp_terminated: !rd_kafka_assignment_in_progress`,
                    // seen killing a `consume` process) when a member closes while a new assignment
                    // is still being set up: a rebalance moments before the stop is let finish first.
                    _ = pollDroppingRecords(upTo: .seconds(3)) {
                        context.assignment.withLock { $0.lastChange }.map { ContinuousClock.now - $0 >= .milliseconds(500) } ?? true
                    }
                    commitStoredOffsetsBeforeClose()
                    let err = rd_kafka_consumer_close(handle)
                    if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                        logger.warning("consumer close", metadata: ["kafka.error": "\(RDKafkaError.describe(err))"])
                    }
                    rd_kafka_destroy(handle)
                } else {
                    // librdkafka 2.0.2 can crash closing a cooperative-sticky member that never had an
                    // assignment (fixed in 2.3.0, #4381); with nothing assigned there is nothing to commit.
                    rd_kafka_destroy_flags(handle, Int32(RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE))
                }
                continuation.resume()
            }
        }
    }

    /// Polls until `done` holds or `limit` passes, and says whether it held. Records are dropped:
    /// the consumer is closing, and nothing of theirs is stored. Runs on the consumer's queue.
    private func pollDroppingRecords(upTo limit: Duration, until done: () -> Bool) -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if done() { return true }
            if let message = rd_kafka_consumer_poll(handle, 100) { rd_kafka_message_destroy(message) }
        }
        return done()
    }

    /// Commits what was stored, repeating a few times on a coordinator that is briefly away:
    /// close commits once and does not repeat, and an offset lost there means redelivery.
    private func commitStoredOffsetsBeforeClose() {
        let retriable: Set<Int32> = [
            RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE.rawValue, RD_KAFKA_RESP_ERR_NOT_COORDINATOR.rawValue,
            RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT.rawValue, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS.rawValue,
            RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue, RD_KAFKA_RESP_ERR__TRANSPORT.rawValue,
        ]
        for attempt in 1...5 {
            let err = rd_kafka_commit(handle, nil, 0)
            if err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET { return }
            logger.warning("commit before close failed", metadata: ["kafka.error": "\(RDKafkaError.describe(err))", "kafka.attempt": "\(attempt)"])
            guard retriable.contains(err.rawValue) else { return }
            usleep(UInt32(200_000 * attempt))
        }
    }

    private static let rebalanceCallback:
        @convention(c) (
            OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?
        ) -> Void = { handle, err, partitions, opaque in
            guard let handle, let opaque else { return }
            let context = Unmanaged<Context>.fromOpaque(opaque).takeUnretainedValue()
            // NULL once the member is leaving its group (seen in a revocation during close, which
            // then crashed): the strategy this consumer configures is cooperative-sticky.
            let protocolName = rd_kafka_rebalance_protocol(handle).map { String(cString: $0) } ?? "COOPERATIVE"
            let cooperative = protocolName == "COOPERATIVE"
            let changed = partitions.map(topicPartitions(of:)) ?? []
            switch err {
            case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
                if cooperative {
                    if let error = RDKafkaError.consume(rd_kafka_incremental_assign(handle, partitions)) {
                        context.logger.error("incremental assign failed", metadata: ["kafka.error": "\(error)"])
                    }
                } else {
                    _ = rd_kafka_assign(handle, partitions)
                }
                context.assignment.withLock {
                    $0.current.formUnion(changed)
                    $0.everAssigned = true
                    $0.lastChange = .now
                }
                context.logger.info("partitions assigned", metadata: ["kafka.partitions": "\(changed.map(\.description))"])
                context.onRebalance?(.assigned(changed))
            case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
                context.onRebalance?(.revoked(changed))
                // What was stored while the partitions were ours is committed before they go, so
                // that their next owner starts after it rather than at the last auto-commit.
                let commit = rd_kafka_commit(handle, nil, 0)
                if commit != RD_KAFKA_RESP_ERR_NO_ERROR && commit != RD_KAFKA_RESP_ERR__NO_OFFSET {
                    context.logger.warning("commit before revocation failed", metadata: ["kafka.error": "\(RDKafkaError.describe(commit))"])
                }
                context.assignment.withLock {
                    $0.current.subtract(changed)
                    $0.lastChange = .now
                }
                context.logger.info("partitions revoked", metadata: ["kafka.partitions": "\(changed.map(\.description))"])
                if cooperative {
                    if let error = RDKafkaError.consume(rd_kafka_incremental_unassign(handle, partitions)) {
                        context.logger.error("incremental unassign failed", metadata: ["kafka.error": "\(error)"])
                    }
                } else {
                    _ = rd_kafka_assign(handle, nil)
                }
            default:
                context.logger.error("rebalance error", metadata: ["kafka.error": "\(RDKafkaError.describe(err))"])
                let lost = context.assignment.withLock { state -> [KafkaTopicPartition] in
                    defer { state.current.removeAll() }
                    return Array(state.current)
                }
                context.onRebalance?(.lost(lost))
                _ = rd_kafka_assign(handle, nil)
            }
        }

    /// Served inside `rd_kafka_consumer_poll`, so on the consumer's own queue.
    private static let statisticsCallback: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?, Int, UnsafeMutableRawPointer?) -> Int32 = {
        _, json, length, opaque in
        guard let json, let opaque else { return 0 }
        let context = Unmanaged<Context>.fromOpaque(opaque).takeUnretainedValue()
        let assigned = context.assignment.withLock { $0.current }
        if let statistics = KafkaConsumerStatistics.parse(UnsafeRawBufferPointer(start: json, count: length), partitions: assigned) {
            context.onStatistics?(statistics)
        }
        // 0: librdkafka frees the JSON.
        return 0
    }

    private static func topicPartitions(of list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [KafkaTopicPartition] {
        let count = Int(list.pointee.cnt)
        guard count > 0, let elems = list.pointee.elems else { return [] }
        return (0..<count).map { index in
            KafkaTopicPartition(topic: String(cString: elems[index].topic), partition: elems[index].partition)
        }
    }
}
