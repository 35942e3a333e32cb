import Crdkafka
import Foundation
import Logging
import Synchronization

/// A consumer's librdkafka handle and every call made on it, with the rebalance and statistics
/// callbacks. It does not order calls itself: `KafkaConsumer` makes the blocking ones on its own
/// serial queue and destroys the handle once, after the last of them.
final class RDKafkaConsumerClient: @unchecked Sendable {
    final class Context: RDKafkaClientContext, @unchecked Sendable {
        // `onRebalance` is immutable; `assignment` is behind its own lock.
        let onRebalance: (@Sendable (KafkaConsumer.RebalanceEvent) -> Void)?
        let onStatistics: (@Sendable (KafkaConsumerStatistics) -> Void)?
        /// The partitions owned now, whether any ever were, and when the assignment last changed.
        let assignment = Mutex<(current: Set<KafkaTopicPartition>, everAssigned: Bool, lastChange: ContinuousClock.Instant?)>(([], false, nil))

        init(
            logger: Logger, onRebalance: (@Sendable (KafkaConsumer.RebalanceEvent) -> Void)?, onStatistics: (@Sendable (KafkaConsumerStatistics) -> Void)?
        ) {
            self.onRebalance = onRebalance
            self.onStatistics = onStatistics
            super.init(logger: logger)
        }
    }

    // Thread-safe per librdkafka; destroyed only by `close` or `destroyWithoutClosing`.
    private let handle: OpaquePointer
    let context: Context
    private let logger: Logger

    init(
        properties: [String: String], consumption: KafkaConsumer.Configuration.Consumption, logger: Logger,
        onRebalance: (@Sendable (KafkaConsumer.RebalanceEvent) -> Void)?, onStatistics: (@Sendable (KafkaConsumerStatistics) -> Void)?
    ) throws(KafkaError) {
        self.logger = logger
        let context = Context(logger: logger, onRebalance: onRebalance, onStatistics: onStatistics)
        self.context = context
        let conf = try RDKafkaConf.make(properties)
        RDKafkaClientContext.installLogCallback(on: conf, context: context)
        rd_kafka_conf_set_rebalance_cb(conf, Self.rebalanceCallback)
        if onStatistics != nil { rd_kafka_conf_set_stats_cb(conf, Self.statisticsCallback) }
        let handle = try RDKafkaConf.newClient(type: RD_KAFKA_CONSUMER, conf: conf)
        self.handle = handle
        rd_kafka_poll_set_consumer(handle)

        let err: rd_kafka_resp_err_t
        switch consumption {
        case .group(let topics):
            let list = rd_kafka_topic_partition_list_new(Int32(topics.count))
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for topic in topics {
                rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
            }
            err = rd_kafka_subscribe(handle, list)
        case .partitionsFromBeginning(let partitions), .partitionsFromTail(_, let partitions):
            var start = Int64(RD_KAFKA_OFFSET_BEGINNING)
            if case .partitionsFromTail(let count, _) = consumption { start = Int64(RD_KAFKA_OFFSET_TAIL_BASE) - max(0, count) }
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
            throw KafkaError(code: .creation, message: "subscribe: \(RDKafkaError.describe(err))", rdKafkaCode: err.rawValue)
        }
    }

    /// Waits up to `timeoutMs` for the first record, then takes what is already fetched, up to
    /// `maxRecords`; a record `skipping` decides on is counted where it lies and never copied.
    func poll(maxRecords: Int, timeoutMs: Int32, skipping: ((KafkaConsumer.RecordView) -> Bool)?) -> Result<KafkaConsumer.Batch, KafkaError> {
        var batch = KafkaConsumer.Batch()
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
                if let skipping, let view = KafkaConsumer.RecordView(message, topics: &topics), skipping(view) {
                    let partition = KafkaTopicPartition(topic: view.topic, partition: view.partition)
                    batch.skipped[partition] = batch.skipped[partition].map { min($0.lowerBound, view.offset)...max($0.upperBound, view.offset) } ?? view.offset...view.offset
                    batch.skippedCount += 1
                    continue
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

    /// librdkafka's hook for testing what follows a fatal error; see `KafkaConsumer.raiseFatalErrorForTesting`.
    func raiseFatalErrorForTesting(reason: String) {
        _ = rd_kafka_test_fatal_error(handle, RD_KAFKA_RESP_ERR__FATAL, reason)
    }

    func storeOffset(_ partition: KafkaTopicPartition, nextOffset: Int64) throws(KafkaError) {
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

    /// Commits what was stored and waits for the coordinator's answer.
    func commitStored() -> KafkaError? {
        let err = rd_kafka_commit(handle, nil, 0)
        guard err != RD_KAFKA_RESP_ERR_NO_ERROR, err != RD_KAFKA_RESP_ERR__NO_OFFSET else { return nil }
        return KafkaError(code: .consume, message: "commit: \(RDKafkaError.describe(err))", rdKafkaCode: err.rawValue)
    }

    func storeOffsets(_ offsets: [KafkaTopicPartition: Int64]) throws(KafkaError) {
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

    /// A broker round trip.
    func watermarks(of partition: KafkaTopicPartition, timeoutMs: Int32) -> Result<(low: Int64, high: Int64), KafkaError> {
        var low: Int64 = 0
        var high: Int64 = 0
        let err = rd_kafka_query_watermark_offsets(handle, partition.topic, partition.partition, &low, &high, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            return .failure(KafkaError(code: .consume, message: "watermarks of \(partition): \(RDKafkaError.describe(err))", rdKafkaCode: err.rawValue))
        }
        return .success((low, high))
    }

    /// A broker round trip to the group's coordinator.
    func committedOffsets(_ partitions: [KafkaTopicPartition], timeoutMs: Int32) -> Result<[KafkaTopicPartition: Int64], KafkaError> {
        guard let list = rd_kafka_topic_partition_list_new(Int32(partitions.count)) else {
            return .failure(KafkaError(code: .consume, message: "committed offsets: no partition list"))
        }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in partitions { rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition) }
        let err = rd_kafka_committed(handle, list, timeoutMs)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            return .failure(KafkaError(code: .consume, message: "committed offsets: \(RDKafkaError.describe(err))", rdKafkaCode: err.rawValue))
        }
        var offsets: [KafkaTopicPartition: Int64] = [:]
        for index in 0..<Int(list.pointee.cnt) {
            let entry = list.pointee.elems[index]
            offsets[KafkaTopicPartition(topic: String(cString: entry.topic), partition: entry.partition)] = entry.offset
        }
        return .success(offsets)
    }

    func pause(_ partitions: [KafkaTopicPartition]) {
        withPartitionList(partitions) { _ = rd_kafka_pause_partitions(handle, $0) }
    }

    func resume(_ partitions: [KafkaTopicPartition]) {
        withPartitionList(partitions) { _ = rd_kafka_resume_partitions(handle, $0) }
    }

    func seek(_ partition: KafkaTopicPartition, to offset: Int64) throws(KafkaError) {
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
        guard !partitions.isEmpty else { return }
        let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for partition in partitions { rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition) }
        body(list)
    }

    /// Leaves the group, committing stored offsets, and destroys the handle; with the waits that
    /// keep librdkafka 2.0.2 from asserting on the way out.
    func close(isGroupMember: Bool) {
        // Read here, after every poll queued before (and the rebalance callbacks they ran).
        var everAssigned = context.assignment.withLock { $0.everAssigned }
        if !everAssigned, isGroupMember {
            // librdkafka 2.0.2 asserts when a cooperative-sticky member is destroyed between
            // joining and its first assignment (#4312, fixed in 2.3.0): let a join in
            // progress finish, serving its rebalance callback, before going.
            everAssigned = pollDroppingRecords(upTo: .seconds(5)) { context.assignment.withLock { $0.everAssigned } }
        }
        guard everAssigned else {
            // librdkafka 2.0.2 can crash closing a cooperative-sticky member that never had an
            // assignment (fixed in 2.3.0, #4381); with nothing assigned there is nothing to commit.
            destroyWithoutClosing()
            return
        }
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
    }

    /// Destroys the handle without leaving the group (nothing is committed).
    func destroyWithoutClosing() {
        rd_kafka_destroy_flags(handle, Int32(RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE))
    }

    /// Polls until `done` holds or `limit` passes, and says whether it held. Records are dropped:
    /// the consumer is closing, and nothing of theirs is stored.
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
