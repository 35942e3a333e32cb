import Logging
import OffboardingKafka
import OffboardingKafkaTesting
import OffboardingSandbox
import OffboardingService
import Synchronization

/// One mock Kafka cluster with the service's topics on it (events, results, dead letter, retry,
/// approvals), each created with the partitions a test asks for, and the clients tests make on it:
/// a producer (signing, if given a signer) and readers of whole topics.
public final class KafkaFixture: Sendable {
    /// How many partitions each of the service's topics gets; nil leaves the topic out.
    public struct Partitions: Sendable {
        public var events: Int32?
        public var results: Int32?
        public var deadLetter: Int32?
        public var retry: Int32?
        public var approvals: Int32?

        public init(events: Int32? = nil, results: Int32? = nil, deadLetter: Int32? = nil, retry: Int32? = nil, approvals: Int32? = nil) {
            self.events = events
            self.results = results
            self.deadLetter = deadLetter
            self.retry = retry
            self.approvals = approvals
        }

        /// Every topic the service reads or writes, as the pipeline tests have them unless told otherwise.
        public static func service(events: Int32 = 4, results: Int32 = 4, deadLetter: Int32 = 1, retry: Int32 = 4, approvals: Int32 = 2) -> Self {
            Self(events: events, results: results, deadLetter: deadLetter, retry: retry, approvals: approvals)
        }

        /// The same count for every topic of the service.
        public static func service(each count: Int32) -> Self {
            service(events: count, results: count, deadLetter: count, retry: count, approvals: count)
        }
    }

    /// The service's topic names in the tests.
    public static let topics = OffboarderConfiguration.Topics(
        events: "test.company.status-changed", results: "test.offboarding.results", deadLetter: "test.offboarding.dlq")

    public let cluster: KafkaTestCluster
    /// Every cluster a fixture made, kept until the test process ends. A consumer that outlives its
    /// test's cluster (the fixture released after its last use, before the runtimes were stopped,
    /// as ARC may do; or a close left running past its bound) closes against brokers that are gone,
    /// and librdkafka 2.0.2 then asserts (`rd_kafka_cgrp_terminated:
    /// !rd_kafka_assignment_in_progress`), killing the whole test process. A few idle mock clusters
    /// cost less than that.
    private static let keptAlive = Mutex<[KafkaTestCluster]>([])
    public let topics: OffboarderConfiguration.Topics
    /// The topics created, by name, with their partition counts.
    public let partitionCounts: [String: Int32]
    private let logger: Logger

    public var bootstrapServers: String { cluster.bootstrapServers }

    public init(
        brokers: Int = 1, topics: OffboarderConfiguration.Topics = KafkaFixture.topics, partitions: Partitions = .service(), logger: Logger = .test()
    ) throws {
        let cluster = try KafkaTestCluster(brokers: brokers, logger: logger)
        KafkaFixture.keptAlive.withLock { $0.append(cluster) }
        self.cluster = cluster
        self.topics = topics
        self.logger = logger
        let wanted: [(String, Int32?)] = [
            (topics.events, partitions.events), (topics.results, partitions.results), (topics.deadLetter, partitions.deadLetter),
            (topics.retry, partitions.retry), (topics.approvals, partitions.approvals),
        ]
        var counts: [String: Int32] = [:]
        for case let (name, count?) in wanted {
            try cluster.createTopic(name, partitions: count)
            counts[name] = count
        }
        partitionCounts = counts
    }

    /// A producer on the cluster; with a signer, every record it sends is signed as the service signs.
    public func makeProducer(signer: RecordSigner? = nil, properties: [String: String] = [:]) throws -> KafkaProducer {
        var configuration = KafkaProducer.Configuration(bootstrapServers: bootstrapServers, properties: properties)
        if let signer { configuration.seal = { signer.sign(&$0) } }
        return try KafkaProducer(configuration: configuration, logger: logger)
    }

    /// Every partition of a topic this fixture created.
    public func partitions(of topic: String) -> [KafkaTopicPartition] {
        guard let count = partitionCounts[topic] else { preconditionFailure("the fixture did not create \(topic)") }
        return (0..<count).map { KafkaTopicPartition(topic: topic, partition: $0) }
    }

    /// Reads a topic this fixture created, every partition from its beginning.
    public func collector(of topic: String) throws -> TopicCollector {
        try TopicCollector(bootstrapServers: bootstrapServers, partitions: partitions(of: topic), logger: logger)
    }
}
