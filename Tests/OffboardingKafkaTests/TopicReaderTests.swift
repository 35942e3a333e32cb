import OffboardingKafka
import OffboardingTestSupport
import Synchronization
import Testing

/// `TopicReader`: a whole topic read outside any group into a handler, and how far it has read.
@Suite(.timeLimit(.minutes(2)))
struct TopicReaderTests {
    /// What the handler was given, in order.
    final class Handled: Sendable {
        private let records = Mutex<[KafkaRecord]>([])
        func append(_ record: KafkaRecord) { records.withLock { $0.append(record) } }
        var all: [KafkaRecord] { records.withLock { $0 } }
    }

    func reader(_ kafka: KafkaTopicFixture, start: TopicReader.Start = .beginning) throws -> TopicReader {
        try TopicReader(
            bootstrapServers: kafka.bootstrapServers, topic: kafka.topic, partitionCount: kafka.partitionCount, groupID: "topic-reader", start: start,
            properties: [:], logger: .test())
    }

    /// From the beginning, `catchUp` returns once every record there was when it was called has
    /// been handed to the handler.
    @Test func catchUpReturnsOnceEveryRecordWrittenBeforeIsHandled() async throws {
        let kafka = try KafkaTopicFixture("ledger", partitions: 3)
        try await kafka.send(4, to: 0)
        try await kafka.send(2, to: 2)
        let reader = try reader(kafka)
        let handled = Handled()
        reader.start(handle: handled.append)
        try await reader.catchUp(timeout: .seconds(30))
        #expect(handled.all.filter { $0.partition == 0 }.map(\.offset) == [0, 1, 2, 3])
        #expect(handled.all.filter { $0.partition == 2 }.map(\.offset) == [0, 1])
        #expect(handled.all.allSatisfy { $0.partition != 1 })
        #expect(reader.topic == "ledger" && reader.failure == nil)
        await reader.stop()
    }

    /// From a tail of two, only each partition's last two records are handled.
    @Test func aReaderFromATailHandlesOnlyTheLatestRecords() async throws {
        let kafka = try KafkaTopicFixture("journals", partitions: 2)
        try await kafka.send(5, to: 0)
        try await kafka.send(2, to: 1)
        let reader = try reader(kafka, start: .tail(2))
        let handled = Handled()
        reader.start(handle: handled.append)
        try await reader.catchUp(timeout: .seconds(30))
        #expect(handled.all.filter { $0.partition == 0 }.map(\.valueString) == ["3", "4"])
        #expect(handled.all.filter { $0.partition == 1 }.map(\.valueString) == ["0", "1"])
        await reader.stop()
    }

    /// `waitUntilRead` returns true once a record written after the start has been handled, and
    /// false when its time runs out first.
    @Test func waitUntilReadFollowsRecordsWrittenLater() async throws {
        let kafka = try KafkaTopicFixture("followed", partitions: 2)
        let reader = try reader(kafka)
        let handled = Handled()
        reader.start(handle: handled.append)
        try await reader.catchUp(timeout: .seconds(30))
        #expect(handled.all.isEmpty, "an empty topic is caught up at once")

        let reports = try await kafka.send(3, to: 1)
        let last = try #require(reports.last)
        #expect(await reader.waitUntilRead(partition: 1, offset: last.offset, timeout: .seconds(30)))
        #expect(handled.all.map(\.offset) == [0, 1, 2], "handled before the wait returned")
        #expect(await reader.waitUntilRead(partition: 1, offset: 0, timeout: .seconds(1)), "already read: at once")
        #expect(await reader.waitUntilRead(partition: 0, offset: 0, timeout: .milliseconds(300)) == false, "nothing was written to partition 0")
        await reader.stop()
    }

    /// A reader that is not reading does not catch up: the error names the topic and how many
    /// partitions are behind.
    @Test func catchUpFailsNamingTheTopicWhenItCannotGetThere() async throws {
        let kafka = try KafkaTopicFixture("unread", partitions: 2)
        try await kafka.send(1, to: 0)
        try await kafka.send(1, to: 1)
        let reader = try reader(kafka)
        do {
            try await reader.catchUp(timeout: .milliseconds(300))
            Issue.record("caught up without reading")
        } catch let error as KafkaError {
            #expect(error.code == .consume)
            #expect(error.message.contains("unread was not read to its end") && error.message.contains("(2 partitions behind)"), "\(error)")
        }
        await reader.stop()
    }

    /// `holdsAtMost` compares every partition's record count with the bound; after `stop` the
    /// reader can no longer ask.
    @Test func holdsAtMostLooksAtEveryPartitionAndStopEndsTheReader() async throws {
        let kafka = try KafkaTopicFixture("bounded-topic", partitions: 2)
        try await kafka.send(3, to: 1)
        let reader = try reader(kafka)
        #expect(try await reader.holdsAtMost(3))
        #expect(try await reader.holdsAtMost(2) == false)
        reader.start { _ in }
        await reader.stop()
        await #expect(throws: KafkaError.self) { try await reader.holdsAtMost(3) }
    }
}
