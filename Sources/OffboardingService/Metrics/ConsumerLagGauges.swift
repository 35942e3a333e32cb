import Metrics
import OffboardingKafka
import Synchronization

/// `psa_offboarder_consumer_lag_records{group,topic,partition}` from librdkafka's statistics: one
/// gauge per partition this member owns, removed when the partition goes, so that a sum over the
/// group's members does not count a moved partition twice. The pipeline's two consumers read
/// different topics, so a partition names its group's gauge alone.
final class ConsumerLagGauges: Sendable {
    private let gauges = Mutex<[KafkaTopicPartition: Gauge]>([:])

    func record(_ statistics: KafkaConsumerStatistics, group: String) {
        gauges.withLock { gauges in
            for (partition, lag) in statistics.lag {
                let gauge = gauges[partition] ?? Gauge(
                    label: "psa_offboarder_consumer_lag_records",
                    dimensions: [("group", group), ("topic", partition.topic), ("partition", String(partition.partition))])
                gauge.record(lag)
                gauges[partition] = gauge
            }
        }
    }

    func remove(_ partitions: [KafkaTopicPartition]) {
        gauges.withLock { gauges in
            for partition in partitions { gauges.removeValue(forKey: partition)?.destroy() }
        }
    }
}
