import Foundation
import Logging
import OffboardingCore
import OffboardingKafka

/// The poll loops: they own the partitions (pausing them at capacity, and holding a retry
/// partition until its head record is due), hand records to per-key lanes, and store offsets
/// once a record's outcome is final.
extension OffboardingPipeline {
    /// The events and retry topics' loop, until the pipeline stops; the consumer's failure, if any.
    func pollEvents(startingLanesIn group: inout DiscardingTaskGroup) async -> (any Error)? {
        var paused: [KafkaTopicPartition] = []
        // Retry partitions held because their head record is not due: the record's offset and when.
        var held: [KafkaTopicPartition: (offset: Int64, due: ContinuousClock.Instant)] = [:]
        // A held record that came due runs when it is fetched again, whatever its header says.
        var released: [KafkaTopicPartition: Int64] = [:]
        var known: Set<KafkaTopicPartition> = []
        let skip = skippingFilteredEvents()
        while !isStopping {
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
                if await capacity.wait(upTo: .seconds(1)) { continue }
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
                stop()
                return error
            }
            // Assignments happen inside `poll`: look before the records of a new partition run.
            let current = consumer.assignment
            let fresh = current.subtracting(known)
            if !fresh.isEmpty {
                // A partition handed back after a revocation may still carry our pause.
                let unpaused = fresh.filter { held[$0] == nil }
                if paused.isEmpty, !unpaused.isEmpty { consumer.resume(Array(unpaused)) }
                readJournalsOfPreviousOwners()
            }
            known = current
            var holding: Set<KafkaTopicPartition> = []
            var filtered: [KafkaRecord] = []
            for record in batch.records {
                let partition = record.topicPartition
                if holding.contains(partition) { continue }
                if isFilteredOnArrival(record) {
                    filtered.append(record)
                    continue
                }
                if record.topic == configuration.topics.retry, released[partition] != record.offset, let wait = timeUntilDue(record), wait > .zero {
                    // Held the Kafka way: paused at this record, which is fetched again when due;
                    // no slot and no lane wait for it meanwhile.
                    consumer.pause([partition])
                    do {
                        try consumer.seek(partition, to: record.offset)
                    } catch {
                        logger.warning("retry partition not held; its record runs now", metadata: ["kafka.error": "\(error)"])
                        consumer.resume([partition])
                        enqueue(record, into: &group)
                        continue
                    }
                    held[partition] = (record.offset, ContinuousClock.now + wait)
                    holding.insert(partition)
                    statistics.update { $0.retriesDelayed += 1 }
                    continue
                }
                if released[partition] == record.offset { released[partition] = nil }
                enqueue(record, into: &group)
            }
            if !filtered.isEmpty || batch.skippedCount > 0 { completeOnArrival(skipped: batch, filtered: filtered) }
        }
        return nil
    }

    /// A partition taken over from another member may hold a record whose run was interrupted
    /// there: before its records run, the approvals topic is read to its end, so that the run's
    /// journal is known.
    private func readJournalsOfPreviousOwners() {
        guard let store = approvals.withLock({ $0 }) else { return }
        let logger = self.logger
        let reading = Task {
            do {
                try await store.catchUp(timeout: .seconds(30))
            } catch {
                logger.warning("approvals topic not read to its end after an assignment; an interrupted run may not be recognised", metadata: ["kafka.error": "\(error)"])
            }
        }
        journalsRead.withLock { $0 = reading }
    }

    /// How long until a retry record is due: its `retry.due` header, never more than the longest
    /// retry delay. Nil when it has none.
    func timeUntilDue(_ record: KafkaRecord) -> Duration? {
        guard let due = record.headers.last(named: "retry.due")?.stringValue.flatMap(Timestamp.date(from:)) else { return nil }
        let seconds = min(due.timeIntervalSinceNow, configuration.retryTopicMaxDelay.seconds)
        guard seconds > 0 else { return .zero }
        return .milliseconds(Int64(seconds * 1000))
    }

    private func enqueue(_ record: KafkaRecord, into group: inout DiscardingTaskGroup, keyPrefix: String = "") {
        // `received` counts the events and retry topics' records, as the statistics say.
        if keyPrefix.isEmpty { statistics.update(topic: record.topic) { $0.received += 1 } }
        guard let token = tracker.begin(record) else { return }
        let key = keyPrefix + (record.keyString ?? "partition-\(record.partition)")
        if lanes.enqueue(Work(record: record, token: token), key: key) {
            group.addTask { await self.runLane(key) }
        }
    }

    /// The approvals consumer's loop: few records, so no pausing; they share the lanes.
    func consumeApprovals() async {
        await withDiscardingTaskGroup { group in
            while !isStopping {
                let records: [KafkaRecord]
                do {
                    records = try await approvalsConsumer.poll(maxRecords: 100, timeout: configuration.pollTimeout)
                } catch {
                    logger.critical("approvals consumer failed", metadata: ["kafka.error": "\(error)"])
                    stop()
                    return
                }
                for record in records { enqueue(record, into: &group, keyPrefix: "approval:") }
            }
        }
    }

    private func runLane(_ key: String) async {
        while let work = lanes.next(for: key) {
            await process(work)
            heartbeat.progressed()
            lanes.done()
            capacity.signal()
        }
        // Closing a draining lane drops what it still held: a stop waiting for idle lanes looks again.
        capacity.signal()
    }

    func consumer(of work: Work) -> KafkaConsumer {
        work.record.topic == configuration.topics.approvals ? approvalsConsumer : consumer
    }

    /// The record's outcome is final: store its offset once every earlier one of its partition is too.
    func complete(_ work: Work, logger: Logger) {
        switch tracker.finish(work.token) {
        case .nothing:
            return
        case .revoked:
            // The partition moved to another member, which reads it again from the last commit.
            statistics.update { $0.finishedAfterRevoke += 1 }
        case .store(let offset):
            do {
                try consumer(of: work).storeOffset(work.token.partition, nextOffset: offset)
                statistics.update { $0.offsetsStored += 1 }
            } catch {
                statistics.update { $0.offsetStoreFailures += 1 }
                logger.error("offset not stored; the record is read again after the next rebalance or restart", metadata: ["kafka.error": "\(error)"])
            }
        }
    }
}

