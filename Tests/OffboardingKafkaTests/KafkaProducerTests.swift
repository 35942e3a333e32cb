import Foundation
import OffboardingKafka
import OffboardingTestSupport
import Synchronization
import Testing

/// The producer against the mock cluster: where records go, what `seal` does to each, what the
/// broker's metadata says of a topic, and which refusals are for good.
@Suite(.timeLimit(.minutes(2)))
struct KafkaProducerTests {
    /// Without a partition the key chooses it: one key's records share a partition, in the order
    /// sent, at consecutive offsets.
    @Test func recordsOfOneKeyShareAPartitionInOrder() async throws {
        let kafka = try KafkaTopicFixture("keyed", partitions: 4)
        let producer = try kafka.makeProducer()
        var reports: [KafkaDeliveryReport] = []
        for index in 0..<5 {
            reports.append(try await producer.send(KafkaOutgoingRecord(topic: "keyed", key: "client-42", value: Array("\(index)".utf8))))
        }
        await producer.shutdown()
        #expect(Set(reports.map(\.partition)).count == 1, "\(reports)")
        #expect(reports.allSatisfy { $0.topic == "keyed" })
        let first = try #require(reports.first?.offset)
        #expect(reports.map(\.offset) == Array(first..<first + 5))

        let reader = try kafka.reader()
        let records = try await reader.read("the five keyed records") { $0.count >= 5 }
        await reader.close()
        #expect(records.map(\.partition) == Array(repeating: reports[0].partition, count: 5))
        #expect(records.map(\.valueString) == ["0", "1", "2", "3", "4"])
        #expect(records.allSatisfy { $0.keyString == "client-42" })
    }

    /// Repeated header names are kept in order (the last wins when read by name), a header may
    /// have no value, and a key that is not UTF-8 arrives as its bytes.
    @Test func headersAndBinaryKeysArriveAsSent() async throws {
        let kafka = try KafkaTopicFixture("headers")
        let producer = try kafka.makeProducer()
        let key: [UInt8] = [0xff, 0x00, 0xfe]
        let headers = [
            KafkaHeader(key: "attempt", string: "1"), KafkaHeader(key: "marker", value: nil), KafkaHeader(key: "attempt", string: "2"),
            KafkaHeader(key: "binary", value: [0xc3, 0x28]),
        ]
        try await producer.send(KafkaOutgoingRecord(topic: "headers", partition: 0, key: key, value: [], headers: headers))
        await producer.shutdown()

        let reader = try kafka.reader()
        let record = try #require(try await reader.read("the record") { !$0.isEmpty }.first)
        await reader.close()
        #expect(record.key == key && record.keyString == nil)
        #expect(record.value == [], "an empty value is not a missing one")
        #expect(record.headers == headers)
        #expect(record.headers.last(named: "attempt")?.stringValue == "2")
        #expect(record.headers.last(named: "marker")?.value == nil && record.headers.last(named: "marker") != nil)
        #expect(record.headers.last(named: "binary")?.stringValue == nil, "not UTF-8")
        #expect(record.timestampMilliseconds != nil, "the broker stamps the record")
    }

    /// `seal` runs on every record before it is produced, whichever path sends it and however
    /// many are in flight at once.
    @Test func sealIsAppliedToEveryRecord() async throws {
        let kafka = try KafkaTopicFixture("sealed", partitions: 2)
        let sealed = Mutex(0)
        var configuration = KafkaProducer.Configuration(bootstrapServers: kafka.bootstrapServers)
        configuration.seal = { record in
            let count = sealed.withLock { count in
                count += 1
                return count
            }
            record.headers.append(KafkaHeader(key: "seal", string: "\(count)"))
            record.value = (record.value ?? []) + Array("!".utf8)
        }
        let producer = try KafkaProducer(configuration: configuration, logger: .test())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<20 {
                group.addTask {
                    try await producer.send(KafkaOutgoingRecord(topic: "sealed", partition: Int32(index % 2), key: nil, value: Array("\(index)".utf8)))
                }
            }
            try await group.waitForAll()
        }
        await producer.shutdown()
        #expect(sealed.withLock { $0 } == 20)

        let reader = try kafka.reader()
        let records = try await reader.read("the twenty sealed records") { $0.count >= 20 }
        await reader.close()
        #expect(records.allSatisfy { $0.valueString?.hasSuffix("!") == true }, "the sealed value is what was produced")
        let seals = records.compactMap { $0.headers.last(named: "seal")?.stringValue.flatMap(Int.init) }
        #expect(seals.sorted() == Array(1...20), "each record sealed once")
    }

    /// A record over `message.max.bytes` is refused at once, and for good; the producer goes on
    /// sending records that fit.
    @Test func aRecordLargerThanTheLimitIsRefusedForGood() async throws {
        let kafka = try KafkaTopicFixture("limited")
        let producer = try kafka.makeProducer(properties: ["message.max.bytes": "2000"])
        let tooLarge = KafkaOutgoingRecord(topic: "limited", key: "k", value: Array(repeating: 0x61, count: 10_000))
        do {
            try await producer.send(tooLarge)
            Issue.record("a 10,000-byte record was accepted under message.max.bytes 2000")
        } catch let error as KafkaError {
            #expect(error.refusesRecordForGood, "\(error)")
            #expect(error.code == .produce || error.code == .delivery, "\(error)")
            #expect(error.message.hasPrefix("limited: "), "names the topic: \(error)")
        }
        let report = try await producer.send(KafkaOutgoingRecord(topic: "limited", key: "k", value: Array("small".utf8)))
        #expect(report.topic == "limited" && report.offset == 0, "nothing of the refused record reached the topic")
        await producer.shutdown()
    }

    /// The count is the cluster's; without an answer from the cluster it is an error naming the
    /// topic, not a guess.
    @Test func partitionCountComesFromTheClustersMetadata() async throws {
        let kafka = try KafkaTopicFixture("counted", partitions: 3)
        let producer = try kafka.makeProducer()
        #expect(try await producer.partitionCount(of: "counted") == 3)
        await producer.shutdown()

        // Nothing listens on port 1 of loopback.
        let unanswered = try KafkaProducer(configuration: .init(bootstrapServers: "127.0.0.1:1"), logger: .test())
        do {
            let count = try await unanswered.partitionCount(of: "counted", timeout: .seconds(1))
            Issue.record("a cluster that never answered gave \(count) partitions")
        } catch {
            #expect(error.code == .consume)
            #expect(error.message.hasPrefix("metadata of counted: "), "\(error)")
            #expect(error.rdKafkaCode != nil, "librdkafka's reason is kept: \(error)")
        }
        await unanswered.shutdown()
    }

    /// Shutdown waits for what is in flight and is idempotent; a send after it fails as closed.
    @Test func shutdownDeliversWhatIsInFlightAndThenRefusesToSend() async throws {
        let kafka = try KafkaTopicFixture("closing")
        let producer = try kafka.makeProducer()
        let sends = (0..<10).map { index in
            Task { try await producer.send(KafkaOutgoingRecord(topic: "closing", partition: 0, key: nil, value: Array("\(index)".utf8))) }
        }
        var offsets: [Int64] = []
        for send in sends { offsets.append(try await send.value.offset) }
        await producer.shutdown()
        await producer.shutdown()
        #expect(offsets.sorted() == Array(0..<10))
        do {
            try await producer.send(KafkaOutgoingRecord(topic: "closing", partition: 0, key: nil, value: nil))
            Issue.record("a shut-down producer sent")
        } catch let error as KafkaError {
            #expect(error.code == .closed)
        }
    }

    /// The producer's statistics count its lost broker connections (librdkafka counts no retry of
    /// a produced record, so a lost connection is what shows), and it sends again once the broker is back.
    @Test func aLostBrokerConnectionIsCountedInTheProducersStatistics() async throws {
        let kafka = try KafkaTopicFixture("interrupted")
        let counters = Mutex<[KafkaBrokerCounters]>([])
        var configuration = KafkaProducer.Configuration(bootstrapServers: kafka.bootstrapServers)
        configuration.statisticsInterval = .milliseconds(100)
        let producer = try KafkaProducer(configuration: configuration, logger: .test()) { report in counters.withLock { $0.append(report) } }
        #expect(try await producer.send(KafkaOutgoingRecord(topic: "interrupted", key: "k", value: Array("before".utf8))).offset == 0)
        try await waitUntil(timeout: .seconds(20), "a statistics report with no disconnect") { counters.withLock { $0.last?.disconnects == 0 } }
        kafka.cluster.setBrokerDown(1)
        try await waitUntil(timeout: .seconds(20), "the lost connection in the statistics") { counters.withLock { ($0.last?.disconnects ?? 0) >= 1 } }
        kafka.cluster.setBrokerUp(1)
        #expect(try await producer.send(KafkaOutgoingRecord(topic: "interrupted", key: "k", value: Array("after".utf8))).offset == 1)
        await producer.shutdown()
    }
}
