import Crdkafka
import Logging

/// librdkafka's in-process mock cluster, as the calls that make and steer it. Only
/// `OffboardingKafkaTesting.KafkaTestCluster` uses it: the service itself never makes one.
package final class RDKafkaMockCluster: Sendable {
    // The cluster lives inside `handle`'s librdkafka instance; both are destroyed together in deinit.
    private nonisolated(unsafe) let handle: OpaquePointer
    private nonisolated(unsafe) let cluster: OpaquePointer
    private let context: RDKafkaClientContext
    package let bootstrapServers: String

    package init(brokers: Int = 1, logger: Logger) throws(KafkaError) {
        let context = RDKafkaClientContext(logger: logger)
        self.context = context
        let conf = try RDKafkaConf.make(["client.id": "psa-offboarder-mock-cluster"])
        RDKafkaClientContext.installLogCallback(on: conf, context: context)
        let handle = try RDKafkaConf.newClient(type: RD_KAFKA_PRODUCER, conf: conf)
        guard let cluster = rd_kafka_mock_cluster_new(handle, Int32(brokers)) else {
            rd_kafka_destroy(handle)
            throw KafkaError(code: .cluster, message: "rd_kafka_mock_cluster_new failed")
        }
        self.handle = handle
        self.cluster = cluster
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(handle)
    }

    package func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 1) throws(KafkaError) {
        let err = rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: .cluster, message: "create topic \(name): \(RDKafkaError.describe(err))", rdKafkaCode: err.rawValue)
        }
    }

    /// The next `errors.count` requests of this Kafka API key fail with these error codes, in order.
    package func pushRequestErrors(apiKey: Int16, errors: [Int32]) {
        var codes = errors.map { rd_kafka_resp_err_t(rawValue: $0) }
        rd_kafka_mock_push_request_errors_array(cluster, apiKey, codes.count, &codes)
    }

    package func setBrokerDown(_ brokerID: Int32) {
        _ = rd_kafka_mock_broker_set_down(cluster, brokerID)
    }

    /// Makes `brokerID` the partition's leader. The mock elects no leader of its own when a broker
    /// goes down, so this is how a test puts a topic on a broker it will take down.
    package func setPartitionLeader(topic: String, partition: Int32, brokerID: Int32) {
        _ = rd_kafka_mock_partition_set_leader(cluster, topic, partition, brokerID)
    }

    /// Makes `brokerID` the coordinator of this consumer group.
    package func setGroupCoordinator(_ group: String, brokerID: Int32) {
        _ = rd_kafka_mock_coordinator_set(cluster, "group", group, brokerID)
    }

    package func setBrokerUp(_ brokerID: Int32) {
        _ = rd_kafka_mock_broker_set_up(cluster, brokerID)
    }
}
