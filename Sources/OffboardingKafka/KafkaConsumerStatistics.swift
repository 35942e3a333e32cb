import Foundation

/// What librdkafka's statistics (`statistics.interval.ms`) say about a consumer: per assigned
/// partition, how far its stored offset is behind the partition's end; and its broker counters.
public struct KafkaConsumerStatistics: Sendable, Hashable {
    /// Records between the offset stored for commit (the committed one until anything is
    /// stored, the partition's first while nothing ever was: where a consumer reading from the
    /// earliest would start again) and the partition's high watermark; absent while librdkafka
    /// has not learnt the watermarks.
    public var lag: [KafkaTopicPartition: Int64]
    public var brokers: KafkaBrokerCounters

    public init(lag: [KafkaTopicPartition: Int64], brokers: KafkaBrokerCounters = .init()) {
        self.lag = lag
        self.brokers = brokers
    }

    /// Reads the statistics JSON, keeping `partitions` only: librdkafka also lists the internal
    /// unassigned partition (-1) and partitions it merely knows of.
    static func parse(_ json: UnsafeRawBufferPointer, partitions: Set<KafkaTopicPartition>) -> KafkaConsumerStatistics? {
        guard let document = try? JSONDecoder().decode(Document.self, from: Data(json)) else { return nil }
        var lag: [KafkaTopicPartition: Int64] = [:]
        for (topic, entry) in document.topics ?? [:] {
            for partition in (entry.partitions ?? [:]).values {
                let key = KafkaTopicPartition(topic: topic, partition: partition.partition)
                guard partitions.contains(key) else { continue }
                // librdkafka's own `consumer_lag` is -1 until the group has committed once, which
                // hides a new group's backlog; it writes -1001 for an offset it does not know.
                guard partition.hi_offset >= 0 else { continue }
                let finished: Int64 = [partition.stored_offset, partition.committed_offset, partition.lo_offset].first { $0 >= 0 } ?? 0
                lag[key] = max(0, partition.hi_offset - finished)
            }
        }
        return KafkaConsumerStatistics(lag: lag, brokers: KafkaBrokerCounters(document.brokers))
    }

    private struct Document: Decodable {
        var topics: [String: Topic]?
        var brokers: [String: KafkaBrokerCounters.Broker]?
    }

    private struct Topic: Decodable {
        var partitions: [String: Partition]?
    }

    // The names are librdkafka's (STATISTICS.md).
    private struct Partition: Decodable {
        var partition: Int32
        var hi_offset: Int64
        var lo_offset: Int64
        var stored_offset: Int64
        var committed_offset: Int64
    }
}
