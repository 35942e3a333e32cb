import Foundation
import OffboardingKafka
import OffboardingTestSupport
import Synchronization
import Testing

/// The consumer against the mock cluster: a group member's assignment and rebalance events, and
/// what a reader outside any group does with pause, resume, seek, a skip decision, watermarks
/// and stored offsets.
@Suite(.timeLimit(.minutes(2)))
struct KafkaConsumerTests {
    /// A lone member is given every partition of its topic, told so through `onRebalance`, and
    /// told of their revocation when it leaves.
    @Test func aGroupMemberIsAssignedEveryPartitionAndToldOfItsRevocationOnClose() async throws {
        let kafka = try KafkaTopicFixture("grouped", partitions: 3)
        let events = Mutex<[KafkaConsumer.RebalanceEvent]>([])
        let consumer = try KafkaConsumer(configuration: kafka.groupMember("assigned"), logger: .test()) { event in
            events.withLock { $0.append(event) }
        }
        try await poll(consumer, until: "the assignment of all three partitions") { consumer.assignment.count == 3 }
        #expect(consumer.assignment == Set(kafka.partitions))
        let assigned = events.withLock { $0 }.flatMap { event -> [KafkaTopicPartition] in
            if case .assigned(let partitions) = event { return partitions }
            return []
        }
        #expect(Set(assigned) == Set(kafka.partitions), "\(events.withLock { $0 })")
        await consumer.close()
        let revoked = events.withLock { $0 }.flatMap { event -> [KafkaTopicPartition] in
            if case .revoked(let partitions) = event { return partitions }
            return []
        }
        #expect(Set(revoked) == Set(kafka.partitions), "\(events.withLock { $0 })")
        #expect(!events.withLock { $0 }.contains { if case .lost = $0 { true } else { false } })
    }

    /// `storeOffsets` stores several partitions at once, and close commits exactly what was
    /// stored: a partition read but never stored has no committed offset.
    @Test func closeCommitsTheStoredOffsetsOfEveryPartitionAndNothingElse() async throws {
        let kafka = try KafkaTopicFixture("committed", partitions: 3)
        for partition in 0..<kafka.partitionCount { try await kafka.send(4, to: partition) }
        let consumer = try KafkaConsumer(configuration: kafka.groupMember("committer"), logger: .test())
        let records = try await consumer.read("all twelve records") { $0.count >= 12 }
        #expect(Set(records.map(\.partition)) == [0, 1, 2])
        try consumer.storeOffsets([kafka.partition(0): 2, kafka.partition(1): 4])
        try consumer.storeOffsets([:])
        await consumer.close()

        let asker = try kafka.reader([], groupID: "committer")
        let committed = try await asker.committedOffsets(kafka.partitions)
        await asker.close()
        #expect(committed[kafka.partition(0)] == 2)
        #expect(committed[kafka.partition(1)] == 4)
        #expect(committed[kafka.partition(2)] == -1001, "read, never stored, so never committed")
    }

    @Test func offsetsCannotBeStoredForAPartitionNotAssignedNorAfterClose() async throws {
        let kafka = try KafkaTopicFixture("unowned", partitions: 1)
        let consumer = try KafkaConsumer(configuration: kafka.groupMember("unowned"), logger: .test())
        try await poll(consumer, until: "the assignment") { !consumer.assignment.isEmpty }
        do {
            try consumer.storeOffsets([kafka.partition(0): 0, KafkaTopicPartition(topic: "unowned", partition: 7): 1])
            Issue.record("an offset was stored for a partition the member does not own")
        } catch {
            #expect(error.code == .offsetStore)
            #expect(error.message.contains("unowned[7]"), "names the partition: \(error)")
        }
        await consumer.close()
        #expect {
            try consumer.storeOffset(kafka.partition(0), nextOffset: 1)
        } throws: { error in
            (error as? KafkaError)?.code == .closed
        }
        #expect(try await consumer.poll(maxRecords: 10, timeout: .milliseconds(10)).isEmpty, "a closed consumer polls nothing")
    }

    /// A paused partition is not fetched while the others are; resumed, it is read from where it stood.
    @Test func aPausedPartitionWaitsUntilResumed() async throws {
        let kafka = try KafkaTopicFixture("paused", partitions: 2)
        try await kafka.send(3, to: 0)
        try await kafka.send(3, to: 1)
        let reader = try kafka.reader()
        reader.pause([kafka.partition(0)])
        let whilePaused = try await reader.read("partition 1's records") { records in records.filter { $0.partition == 1 }.count >= 3 }
        #expect(whilePaused.allSatisfy { $0.partition == 1 }, "nothing of the paused partition: \(whilePaused.map(\.partition))")
        reader.resume([kafka.partition(0)])
        let resumed = try await reader.read("partition 0's records") { $0.count >= 3 }
        #expect(resumed.map(\.partition) == [0, 0, 0] && resumed.map(\.offset) == [0, 1, 2])
        await reader.close()
    }

    /// A seek moves the fetch position back: the records from there are read again.
    @Test func seekReadsAgainFromTheOffset() async throws {
        let kafka = try KafkaTopicFixture("sought")
        try await kafka.send(5)
        let reader = try kafka.reader()
        let first = try await reader.read("the five records") { $0.count >= 5 }
        #expect(first.map(\.offset) == [0, 1, 2, 3, 4])
        try reader.seek(kafka.partition(0), to: 2)
        let again = try await reader.read("the records from offset 2 again") { $0.count >= 3 }
        #expect(again.map(\.offset) == [2, 3, 4])
        #expect(again.map(\.valueString) == ["2", "3", "4"])
        await reader.close()
    }

    /// The skip decision sees each record where it lies (offset, value, headers): skipped records
    /// are never returned, and the batch reports them per partition as the lowest and highest
    /// offset skipped, and their count.
    @Test func skippedRecordsAreReportedAsRangesAndNeverReturned() async throws {
        let kafka = try KafkaTopicFixture("skipping", partitions: 2)
        // Odd records carry a `skip` header; partition 1's also have values starting with "x".
        try await kafka.send(10, to: 0) { index in index % 2 == 1 ? [KafkaHeader(key: "skip", string: "yes")] : [] }
        try await kafka.send(4, to: 1) { index in index % 2 == 1 ? [KafkaHeader(key: "skip", value: nil)] : [] }
        let reader = try kafka.reader()
        let decisions = Mutex(0)
        let skip: @Sendable (KafkaConsumer.RecordView) -> Bool = { view in
            decisions.withLock { $0 += 1 }
            var marked = false
            view.forEachHeader { name, _ in
                marked = Array(name) == Array("skip".utf8)
                return !marked
            }
            return marked
        }
        var returned: [KafkaRecord] = []
        var skipped: [KafkaTopicPartition: ClosedRange<Int64>] = [:]
        var skippedCount = 0
        let deadline = ContinuousClock.now + .seconds(30)
        while returned.count + skippedCount < 14 {
            guard ContinuousClock.now < deadline else { throw ConditionTimeout(description: "timed out waiting for 14 records decided; \(returned.count) returned, \(skippedCount) skipped") }
            let batch = try await reader.poll(maxRecords: 4, timeout: .milliseconds(100), skipping: skip)
            #expect(batch.records.count + batch.skippedCount <= 4, "maxRecords bounds the records and the skipped together")
            #expect(batch.skippedCount >= batch.skipped.count)
            returned += batch.records
            skippedCount += batch.skippedCount
            for (partition, range) in batch.skipped {
                skipped[partition] = skipped[partition].map { min($0.lowerBound, range.lowerBound)...max($0.upperBound, range.upperBound) } ?? range
            }
        }
        await reader.close()
        #expect(decisions.withLock { $0 } == 14, "one decision a record")
        #expect(skippedCount == 7)
        #expect(returned.allSatisfy { $0.offset % 2 == 0 && $0.headers.last(named: "skip") == nil })
        #expect(returned.filter { $0.partition == 0 }.map(\.offset) == [0, 2, 4, 6, 8])
        #expect(returned.filter { $0.partition == 1 }.map(\.offset) == [0, 2])
        #expect(skipped[kafka.partition(0)] == 1...9)
        #expect(skipped[kafka.partition(1)] == 1...3)
    }

    /// `maxRecords` bounds a batch; the rest stays fetched for the next poll.
    @Test func aBatchHoldsAtMostMaxRecords() async throws {
        let kafka = try KafkaTopicFixture("bounded")
        try await kafka.send(7)
        let reader = try kafka.reader()
        var batches: [[KafkaRecord]] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while batches.joined().count < 7 {
            guard ContinuousClock.now < deadline else { throw ConditionTimeout(description: "timed out waiting for 7 records in batches of 3") }
            let batch = try await reader.poll(maxRecords: 3, timeout: .milliseconds(100))
            if !batch.isEmpty { batches.append(batch) }
        }
        await reader.close()
        #expect(batches.allSatisfy { $0.count <= 3 }, "\(batches.map(\.count))")
        #expect(batches.joined().map(\.offset) == Array(0..<7))
    }

    /// A reader from the tail starts `count` records before each partition's end.
    @Test func aReaderFromTheTailReadsTheLastRecordsOfEachPartition() async throws {
        let kafka = try KafkaTopicFixture("tail", partitions: 2)
        try await kafka.send(5, to: 0)
        try await kafka.send(1, to: 1)
        let reader = try KafkaConsumer(
            configuration: .init(bootstrapServers: kafka.bootstrapServers, groupID: "tail", consumption: .partitionsFromTail(count: 2, kafka.partitions)),
            logger: .test())
        let records = try await reader.read("the tails of both partitions") { $0.count >= 3 }
        #expect(records.filter { $0.partition == 0 }.map(\.offset) == [3, 4])
        #expect(records.filter { $0.partition == 1 }.map(\.offset) == [0], "a partition shorter than the tail is read whole")
        #expect(reader.assignment == Set(kafka.partitions))
        await reader.close()
    }

    @Test func watermarksSpanThePartitionAndAClosedConsumerRefusesToAsk() async throws {
        let kafka = try KafkaTopicFixture("watermarked", partitions: 2)
        try await kafka.send(6, to: 1)
        let reader = try kafka.reader()
        let empty = try await reader.watermarks(of: kafka.partition(0))
        let written = try await reader.watermarks(of: kafka.partition(1))
        #expect(empty.low == 0 && empty.high == 0)
        #expect(written.low == 0 && written.high == 6)
        await reader.close()
        await reader.close()
        do {
            _ = try await reader.watermarks(of: kafka.partition(1))
            Issue.record("a closed consumer answered")
        } catch {
            #expect(error.code == .closed)
        }
    }

    /// librdkafka's refusal of a consumer property is a configuration error naming the property.
    @Test func anUnknownPropertyIsRefusedNamingIt() {
        #expect {
            _ = try KafkaConsumer(
                configuration: .init(bootstrapServers: "127.0.0.1:1", groupID: "g", topics: ["t"], properties: ["no.such.property": "1"]), logger: .test())
        } throws: { error in
            guard let error = error as? KafkaError else { return false }
            return error.code == .configuration && error.message.hasPrefix("property no.such.property: ") && error.message.contains("No such configuration property")
        }
    }
}
