import Foundation
import Logging
import Synchronization
import OffboardingKafka
import OffboardingKafkaTesting
import OffboardingTestSupport
import Testing

@Suite(.timeLimit(.minutes(2)))
struct KafkaClientTests {
    /// Polls until `count` records have come, for 30 s at most; a timeout names what it waited for.
    static func poll(_ consumer: KafkaConsumer, until count: Int, _ what: String) async throws -> [KafkaRecord] {
        let deadline = ContinuousClock.now + .seconds(30)
        var records: [KafkaRecord] = []
        while records.count < count {
            guard ContinuousClock.now < deadline else {
                throw ConditionTimeout(description: "timed out after 30 s waiting for \(what): \(records.count) of \(count) came")
            }
            records += try await consumer.poll(maxRecords: 100, timeout: .milliseconds(200))
        }
        return records
    }

    @Test func recordsKeepKeysValuesAndHeaders() async throws {
        let cluster = try KafkaTestCluster(logger: .test())
        try cluster.createTopic("roundtrip", partitions: 2)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: .test())
        let sent = [
            KafkaOutgoingRecord(topic: "roundtrip", partition: 0, key: Array("k1".utf8), value: Array("v1".utf8), headers: [.init(key: "h", string: "x"), .init(key: "empty", value: nil)]),
            KafkaOutgoingRecord(topic: "roundtrip", partition: 1, key: nil, value: nil),
        ]
        var reports: [KafkaDeliveryReport] = []
        for record in sent { reports.append(try await producer.send(record)) }
        #expect(reports.map(\.partition) == [0, 1])
        await producer.shutdown()
        await #expect(throws: KafkaError.self) { try await producer.send(sent[0]) }

        let reader = try KafkaConsumer(
            configuration: .init(
                bootstrapServers: cluster.bootstrapServers, groupID: "reader",
                consumption: .partitionsFromBeginning([.init(topic: "roundtrip", partition: 0), .init(topic: "roundtrip", partition: 1)])),
            logger: .test())
        var received: [KafkaRecord] = []
        received = try await Self.poll(reader, until: 2, "the two records sent")
        await reader.close()
        let first = try #require(received.first { $0.partition == 0 })
        #expect(first.key == Array("k1".utf8) && first.value == Array("v1".utf8))
        #expect(first.headers == [.init(key: "h", string: "x"), .init(key: "empty", value: nil)])
        let second = try #require(received.first { $0.partition == 1 })
        #expect(second.key == nil && second.value == nil)
    }

    @Test func rejectedPropertiesNameTheProperty() {
        #expect {
            _ = try KafkaProducer(configuration: .init(bootstrapServers: "127.0.0.1:1", properties: ["linger.ms": "forever"]), logger: .test())
        } throws: { error in
            (error as? KafkaError)?.code == .configuration && "\(error)".contains("linger.ms")
        }
    }

    /// Properties win over the consumer's defaults: `auto.offset.reset: latest` makes a new group
    /// start at the end (the default reads from the earliest), so a record produced before it
    /// joined is never read, while those produced after are.
    @Test func propertiesOverrideTheConsumersDefaults() async throws {
        let cluster = try KafkaTestCluster(logger: .test())
        try cluster.createTopic("overridden", partitions: 1)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: .test())
        try await producer.send(.init(topic: "overridden", key: "k", value: Array("before".utf8)))
        let consumer = try KafkaConsumer(
            configuration: .init(
                bootstrapServers: cluster.bootstrapServers, groupID: "latest", topics: ["overridden"],
                properties: ["auto.offset.reset": "latest", "session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]),
            logger: .test())
        // The end is looked up some time after the assignment: records sent before that are
        // skipped too, so more are sent until one arrives. "before" precedes them all, so a
        // consumer reading from the earliest would have read it first.
        let deadline = ContinuousClock.now + .seconds(30)
        var seen: [String] = []
        var sent = 0
        while seen.isEmpty && ContinuousClock.now < deadline {
            if !consumer.assignment.isEmpty {
                sent += 1
                try await producer.send(.init(topic: "overridden", key: "k", value: Array("after \(sent)".utf8)))
            }
            seen += try await consumer.poll(maxRecords: 10, timeout: .milliseconds(200)).compactMap { $0.value.map { String(decoding: $0, as: UTF8.self) } }
        }
        #expect(!seen.isEmpty && !seen.contains("before"), "\(seen)")
        await producer.shutdown()
        await consumer.close()
    }

    /// The at-least-once core: only stored offsets are committed, so a member that closes after
    /// storing up to N leaves the rest to the next member.
    @Test func onlyStoredOffsetsAreCommittedAtClose() async throws {
        let cluster = try KafkaTestCluster(logger: .test())
        try cluster.createTopic("stored", partitions: 1)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: .test())
        for index in 0..<10 { try await producer.send(.init(topic: "stored", key: "k", value: Array("\(index)".utf8))) }
        await producer.shutdown()

        let configuration = KafkaConsumer.Configuration(
            bootstrapServers: cluster.bootstrapServers, groupID: "g", topics: ["stored"],
            properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"])
        let first = try KafkaConsumer(configuration: configuration, logger: .test())
        var seen: [KafkaRecord] = []
        seen = try await Self.poll(first, until: 10, "the ten records of stored")
        #expect(seen.map(\.offset) == Array(0..<10))
        try first.storeOffset(.init(topic: "stored", partition: 0), nextOffset: 6)
        await first.close()

        let second = try KafkaConsumer(configuration: configuration, logger: .test())
        var again: [KafkaRecord] = []
        again = try await Self.poll(second, until: 4, "the four records past the stored offset")
        #expect(again.map(\.offset) == [6, 7, 8, 9])
        #expect(throws: KafkaError.self) { try second.storeOffset(.init(topic: "stored", partition: 3), nextOffset: 1) }
        await second.close()
    }

    /// The lag counts from the offset stored as finished, not from what was fetched: a new group
    /// that has fetched everything and finished nothing still owes all of it.
    @Test func statisticsReportTheLagFromTheStoredOffset() async throws {
        let cluster = try KafkaTestCluster(logger: .test())
        try cluster.createTopic("lagging", partitions: 1)
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: .test())
        for index in 0..<5 { try await producer.send(.init(topic: "lagging", key: "k", value: Array("\(index)".utf8))) }
        await producer.shutdown()

        // Nothing is committed, so a lag counted from the committed offset would stay at 5.
        var configuration = KafkaConsumer.Configuration(
            bootstrapServers: cluster.bootstrapServers, groupID: "lag", topics: ["lagging"],
            properties: ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500", "enable.auto.commit": "false"])
        configuration.statisticsInterval = .milliseconds(100)
        let reports = Mutex<[Int64]>([])
        let partition = KafkaTopicPartition(topic: "lagging", partition: 0)
        let consumer = try KafkaConsumer(configuration: configuration, logger: .test(), onStatistics: { statistics in
            if let lag = statistics.lag[partition] { reports.withLock { $0.append(lag) } }
        })
        var seen: [KafkaRecord] = []
        seen = try await Self.poll(consumer, until: 5, "the five records of lagging")
        // Statistics are served by poll, so polling is what lets them arrive.
        func pollUntilReported(_ lag: Int64) async throws {
            reports.withLock { $0.removeAll() }
            let deadline = ContinuousClock.now + .seconds(20)
            while reports.withLock({ $0.last }) != lag {
                guard ContinuousClock.now < deadline else { Issue.record("lag \(lag) never reported: \(reports.withLock { $0 })"); return }
                _ = try await consumer.poll(maxRecords: 100, timeout: .milliseconds(100))
            }
        }
        try await pollUntilReported(5)
        try consumer.storeOffset(partition, nextOffset: 3)
        try await pollUntilReported(2)
        try consumer.storeOffset(partition, nextOffset: 5)
        try await pollUntilReported(0)
        await consumer.close()
    }
}
