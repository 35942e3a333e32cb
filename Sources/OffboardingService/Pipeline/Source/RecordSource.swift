import Foundation
import Logging
import OffboardingCore
import OffboardingKafka

/// The poll loops: they own the partitions (pausing them at capacity, and holding a retry
/// partition until its head record is due), decode each record once, finish the events filtered
/// on arrival, and hand the rest to the lanes.
struct RecordSource: Sendable {
    struct Configuration: Sendable {
        var topics: OffboarderConfiguration.Topics
        /// Records fetched and not yet finished, at most.
        var maxInFlightRecords: Int
        var pollTimeout: Duration
        /// A retry record is never held longer than this, whatever its `retry.due` says.
        var retryTopicMaxDelay: Duration
    }

    let configuration: Configuration
    let consumer: KafkaConsumer
    let approvalsConsumer: KafkaConsumer
    let decoder: RecordDecoder
    let tracker: OffsetTracker
    let lanes: RecordLanes
    let committer: OffsetCommitter
    let statistics: PipelineStatistics
    let heartbeat: PipelineHeartbeat
    let stopSignal: StopSignal
    let logger: Logger
    /// Called when partitions were newly assigned, before their records run.
    let onAssignment: @Sendable () -> Void

    /// The events and retry topics' loop, until the pipeline stops; the consumer's failure, if any.
    func pollEvents(filter: ArrivalFilter, startingLanesIn group: inout DiscardingTaskGroup) async -> (any Error)? {
        var paused: [KafkaTopicPartition] = []
        // Retry partitions held because their head record is not due: the record's offset and when.
        var held: [KafkaTopicPartition: (offset: Int64, due: ContinuousClock.Instant)] = [:]
        // A held record that came due runs when it is fetched again, whatever its header says.
        var released: [KafkaTopicPartition: Int64] = [:]
        var known: Set<KafkaTopicPartition> = []
        let skip = filter.prefilter()
        while !stopSignal.isStopped {
            heartbeat.polled(inFlight: lanes.pending)
            let now = ContinuousClock.now
            let assigned = consumer.assignment
            for (partition, hold) in held where hold.due <= now || !assigned.contains(partition) {
                held[partition] = nil
                guard assigned.contains(partition) else { continue }
                released[partition] = hold.offset
                if paused.isEmpty { consumer.resume([partition]) }
            }
            let free = configuration.maxInFlightRecords - lanes.pending
            if free <= 0, paused.isEmpty {
                // Usually a slot frees soon: wait for it with the fetched records left in place.
                if await lanes.capacity.wait(upTo: .seconds(1)) { continue }
                // Still full (a slow or unreachable PSA): stop fetching but keep polling, since a
                // member that stops polling for max.poll.interval.ms is put out of the group.
                paused = Array(assigned)
                consumer.pause(paused)
                statistics.update { $0.fetchPauses += 1 }
                logger.info("at capacity: fetching paused", metadata: ["pipeline.in_flight": "\(lanes.pending)"])
            } else if free > 0, !paused.isEmpty {
                consumer.resume(paused.filter { held[$0] == nil })
                paused = []
            }
            let batch: KafkaConsumer.Batch
            do {
                batch = try await consumer.poll(maxRecords: max(1, min(free, 1000)), timeout: configuration.pollTimeout, skipping: skip)
            } catch {
                logger.critical("consumer failed", metadata: ["kafka.error": "\(error)"])
                return error
            }
            // Assignments happen inside `poll`: look before the records of a new partition run.
            let current = consumer.assignment
            let fresh = current.subtracting(known)
            if !fresh.isEmpty {
                // A partition handed back after a revocation may still carry our pause.
                let unpaused = fresh.filter { held[$0] == nil }
                if paused.isEmpty, !unpaused.isEmpty { consumer.resume(Array(unpaused)) }
                onAssignment()
            }
            known = current
            var holding: Set<KafkaTopicPartition> = []
            var filtered: [KafkaRecord] = []
            for record in batch.records {
                let partition = record.topicPartition
                if holding.contains(partition) { continue }
                if record.topic == configuration.topics.retry, released[partition] != record.offset, let wait = timeUntilDue(record), wait > .zero {
                    // Held the Kafka way: paused at this record, which is fetched again when due;
                    // no slot and no lane wait for it meanwhile.
                    consumer.pause([partition])
                    do {
                        try consumer.seek(partition, to: record.offset)
                        held[partition] = (record.offset, ContinuousClock.now + wait)
                        holding.insert(partition)
                        statistics.update { $0.retriesDelayed += 1 }
                        continue
                    } catch {
                        logger.warning("retry partition not held; its record runs now", metadata: ["kafka.error": "\(error)"])
                        consumer.resume([partition])
                    }
                }
                if released[partition] == record.offset { released[partition] = nil }
                let inbound = decoder.decode(record)
                if filter.isFiltered(inbound) {
                    filtered.append(record)
                    continue
                }
                enqueue(record, inbound, into: &group)
            }
            if !filtered.isEmpty || batch.skippedCount > 0 {
                let count = batch.skippedCount + filtered.count
                // Only the events topic's records are filtered on arrival.
                statistics.update(topic: configuration.topics.events) {
                    $0.received += count
                    $0.filtered += count
                }
                committer.completeOnArrival(skipped: batch, filtered: filtered)
            }
        }
        return nil
    }

    /// The approvals consumer's loop: few records, so no pausing; they share the lanes.
    func pollApprovals() async -> (any Error)? {
        await withDiscardingTaskGroup { group in
            while !stopSignal.isStopped {
                let records: [KafkaRecord]
                do {
                    records = try await approvalsConsumer.poll(maxRecords: 100, timeout: configuration.pollTimeout)
                } catch {
                    logger.critical("approvals consumer failed", metadata: ["kafka.error": "\(error)"])
                    return error
                }
                for record in records { enqueue(record, decoder.decode(record), into: &group, keyPrefix: "approval:") }
            }
            return nil
        }
    }

    /// How long until a retry record is due: its `retry.due` header, never more than the longest
    /// retry delay. Nil when it has none.
    private func timeUntilDue(_ record: KafkaRecord) -> Duration? {
        guard let due = record.headers.last(named: "retry.due")?.stringValue.flatMap(Timestamp.date(from:)) else { return nil }
        let seconds = min(due.timeIntervalSinceNow, configuration.retryTopicMaxDelay.seconds)
        guard seconds > 0 else { return .zero }
        return .milliseconds(Int64(seconds * 1000))
    }

    private func enqueue(_ record: KafkaRecord, _ inbound: InboundRecord, into group: inout DiscardingTaskGroup, keyPrefix: String = "") {
        // `received` counts the events and retry topics' records, as the statistics say.
        if keyPrefix.isEmpty { statistics.update(topic: record.topic) { $0.received += 1 } }
        guard let token = tracker.begin(record) else { return }
        let key = keyPrefix + (record.keyString ?? "partition-\(record.partition)")
        lanes.enqueue(Work(record: record, inbound: inbound, token: token), key: key, into: &group)
    }
}
