import Logging
import OffboardingKafka

/// librdkafka's in-process mock cluster: real Kafka protocol brokers listening on loopback, reachable
/// from other processes through `bootstrapServers`. For tests, `demo` and `kafka-sandbox` only:
/// librdkafka marks the mock API experimental, and the service's library does not link this target.
public final class KafkaTestCluster: Sendable {
    private let cluster: RDKafkaMockCluster
    public var bootstrapServers: String { cluster.bootstrapServers }

    public init(brokers: Int = 1, logger: Logger) throws(KafkaError) {
        cluster = try RDKafkaMockCluster(brokers: brokers, logger: logger)
    }

    public func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 1) throws(KafkaError) {
        try cluster.createTopic(name, partitions: partitions, replicationFactor: replicationFactor)
    }

    /// The next `errors.count` requests of this Kafka API key fail with these error codes, in order.
    public func pushRequestErrors(apiKey: Int16, errors: [Int32]) {
        cluster.pushRequestErrors(apiKey: apiKey, errors: errors)
    }

    public func setBrokerDown(_ brokerID: Int32) {
        cluster.setBrokerDown(brokerID)
    }

    public func setBrokerUp(_ brokerID: Int32) {
        cluster.setBrokerUp(brokerID)
    }

    /// Makes `brokerID` the partition's leader. The mock elects no leader of its own when a broker
    /// goes down, so this is how a test puts a topic on a broker it will take down.
    public func setPartitionLeader(topic: String, partition: Int32, brokerID: Int32) {
        cluster.setPartitionLeader(topic: topic, partition: partition, brokerID: brokerID)
    }

    /// Makes `brokerID` the coordinator of this consumer group.
    public func setGroupCoordinator(_ group: String, brokerID: Int32) {
        cluster.setGroupCoordinator(group, brokerID: brokerID)
    }
}
