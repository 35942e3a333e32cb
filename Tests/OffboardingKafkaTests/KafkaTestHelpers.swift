import Logging
import OffboardingKafka
import OffboardingKafkaTesting
import OffboardingTestSupport

/// A mock cluster with one topic of its own, and the producer and records the tests send to it.
struct KafkaTopicFixture {
    let cluster: KafkaTestCluster
    let topic: String
    let partitionCount: Int32

    init(_ topic: String, partitions: Int32 = 1) throws {
        cluster = try KafkaTestCluster(logger: .test())
        try cluster.createTopic(topic, partitions: partitions)
        self.topic = topic
        partitionCount = partitions
    }

    var bootstrapServers: String { cluster.bootstrapServers }

    var partitions: [KafkaTopicPartition] { (0..<partitionCount).map { KafkaTopicPartition(topic: topic, partition: $0) } }

    func partition(_ number: Int32) -> KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: number) }

    func makeProducer(properties: [String: String] = [:]) throws -> KafkaProducer {
        try KafkaProducer(configuration: .init(bootstrapServers: bootstrapServers, properties: properties), logger: .test())
    }

    /// Sends `count` records to one partition, values "0", "1", ..., and returns their delivery reports.
    @discardableResult
    func send(_ count: Int, to partition: Int32 = 0, headers: (Int) -> [KafkaHeader] = { _ in [] }) async throws -> [KafkaDeliveryReport] {
        let producer = try makeProducer()
        var reports: [KafkaDeliveryReport] = []
        for index in 0..<count {
            reports.append(
                try await producer.send(
                    KafkaOutgoingRecord(topic: topic, partition: partition, key: Array("k".utf8), value: Array("\(index)".utf8), headers: headers(index))))
        }
        await producer.shutdown()
        return reports
    }

    /// A consumer that reads these partitions (all by default) from their beginning, outside any group.
    func reader(_ partitions: [KafkaTopicPartition]? = nil, groupID: String = "reader") throws -> KafkaConsumer {
        try KafkaConsumer(
            configuration: .init(bootstrapServers: bootstrapServers, groupID: groupID, consumption: .partitionsFromBeginning(partitions ?? self.partitions)),
            logger: .test())
    }

    /// A group member's configuration, with the short session the mock group joins within.
    func groupMember(_ groupID: String, properties: [String: String] = [:]) -> KafkaConsumer.Configuration {
        KafkaConsumer.Configuration(
            bootstrapServers: bootstrapServers, groupID: groupID, topics: [topic],
            properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"].merging(properties) { $1 })
    }
}

extension KafkaConsumer {
    /// Polls until `done` holds for everything read so far, and returns it; throws naming `what`
    /// once `timeout` has passed.
    func read(_ what: String, timeout: Duration = .seconds(30), until done: ([KafkaRecord]) -> Bool) async throws -> [KafkaRecord] {
        let deadline = ContinuousClock.now + timeout
        var records: [KafkaRecord] = []
        while !done(records) {
            guard ContinuousClock.now < deadline else {
                throw ConditionTimeout(description: "timed out after \(timeout) waiting for \(what); read offsets \(records.map { "\($0.partition)@\($0.offset)" })")
            }
            records += try await poll(maxRecords: 100, timeout: .milliseconds(100))
        }
        return records
    }
}

/// Waits for a condition on state the clients' callbacks write, polling the consumer meanwhile
/// (callbacks are served inside poll); throws naming `what` once `timeout` has passed.
func poll(_ consumer: KafkaConsumer, until what: String, timeout: Duration = .seconds(30), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw ConditionTimeout(description: "timed out after \(timeout) waiting for \(what)") }
        _ = try await consumer.poll(maxRecords: 100, timeout: .milliseconds(100))
    }
}

extension KafkaRecord {
    var valueString: String? { value.map { String(decoding: $0, as: UTF8.self) } }
}
