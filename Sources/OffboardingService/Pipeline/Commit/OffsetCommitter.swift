import Logging
import OffboardingCore
import OffboardingKafka

/// Stores a record's offset once its outcome is final and every earlier record of its partition
/// is too, on the consumer that read it; and the offsets of records finished as they arrived, once
/// per partition per batch.
struct OffsetCommitter: Sendable {
    let tracker: OffsetTracker
    let events: KafkaConsumer
    let approvals: KafkaConsumer
    let approvalsTopic: String
    let statistics: PipelineStatistics
    let logger: Logger

    /// The record's outcome is final.
    func complete(_ token: OffsetTracker.Token) {
        switch tracker.finish(token) {
        case .nothing:
            return
        case .revoked:
            // The partition moved to another member, which reads it again from the last commit.
            statistics.update { $0.finishedAfterRevoke += 1 }
        case .store(let offset):
            do {
                try consumer(of: token.partition).storeOffset(token.partition, nextOffset: offset)
                statistics.update { $0.offsetsStored += 1 }
            } catch {
                statistics.update { $0.offsetStoreFailures += 1 }
                logger.error("offset not stored; the record is read again after the next rebalance or restart", metadata: ["kafka.error": "\(error)"])
            }
        }
    }

    /// Finishes records decided as they arrived (the prefilter's skipped ranges and the records
    /// filtered after decoding), storing offsets once per partition.
    func completeOnArrival(skipped batch: KafkaConsumer.Batch, filtered: [KafkaRecord]) {
        var ranges = batch.skipped
        for (partition, range) in OffsetTracker.ranges(of: filtered) {
            ranges[partition] = ranges[partition].map { min($0.lowerBound, range.lowerBound)...max($0.upperBound, range.upperBound) } ?? range
        }
        let stores = tracker.finishedOnArrival(ranges)
        do {
            try events.storeOffsets(stores)
            statistics.update { $0.offsetsStored += stores.count }
        } catch {
            statistics.update { $0.offsetStoreFailures += stores.count }
            logger.error("offsets not stored; the records are read again after the next rebalance or restart", metadata: ["kafka.error": "\(error)"])
        }
    }

    private func consumer(of partition: KafkaTopicPartition) -> KafkaConsumer {
        partition.topic == approvalsTopic ? approvals : events
    }
}
