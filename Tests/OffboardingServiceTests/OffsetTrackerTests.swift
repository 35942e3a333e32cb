import Dispatch
import OffboardingKafka
import OffboardingTestSupport
@testable import OffboardingService
import Testing

@Suite struct OffsetTrackerTests {

    func record(_ offset: Int64, partition: Int32 = 0) -> KafkaRecord {
        KafkaRecord(topic: "t", partition: partition, offset: offset, key: nil, value: nil)
    }

    @Test func storesOnlyPastContiguouslyFinishedRecords() throws {
        let tracker = OffsetTracker()
        tracker.assign([.init(topic: "t", partition: 0)])
        let tokens = try (10...13).map { try #require(tracker.begin(record($0))) }
        #expect(tracker.finish(tokens[2]) == .nothing, "12 done, 10 and 11 still running")
        #expect(tracker.finish(tokens[0]) == .store(11))
        #expect(tracker.finish(tokens[1]) == .store(13), "11 done: 12 was already done")
        #expect(tracker.finish(tokens[3]) == .store(14))
        #expect(tracker.finish(tokens[3]) == .nothing, "finishing twice stores nothing")
        #expect(tracker.inFlightCount == 0)
    }

    @Test func revokedPartitionsForgetTheirRecords() throws {
        let tracker = OffsetTracker()
        let partition = KafkaTopicPartition(topic: "t", partition: 1)
        tracker.assign([partition])
        let old = try #require(tracker.begin(record(5, partition: 1)))
        tracker.revoke([partition])
        tracker.assign([partition])
        let fresh = try #require(tracker.begin(record(5, partition: 1)))
        #expect(tracker.finish(old) == .revoked, "a finish from the previous assignment is not stored")
        #expect(tracker.finish(fresh) == .store(6))
    }

    /// Filtered records finish in the poll loop as they arrive; their offsets never pass a record
    /// of the same partition that is still running in a lane.
    @Test func recordsFinishedOnArrivalStoreOnlyPastWhatIsStillRunning() throws {
        let tracker = OffsetTracker()
        let zero = KafkaTopicPartition(topic: "t", partition: 0)
        let one = KafkaTopicPartition(topic: "t", partition: 1)
        tracker.assign([zero, one])
        // Partition 0: 10 filtered, 11 an offboarding (a lane), 12 and 13 filtered.
        #expect(tracker.finishedOnArrival(OffsetTracker.ranges(of: [record(10)])) == [zero: 11])
        let running = try #require(tracker.begin(record(11)))
        #expect(tracker.finishedOnArrival(OffsetTracker.ranges(of: [record(12), record(13), record(4, partition: 1), record(5, partition: 1)])) == [one: 6])
        // Once 11 finishes, the position jumps past the filtered ones behind it.
        #expect(tracker.finish(running) == .store(14))
        // A partition not assigned (revoked since the fetch) stores nothing.
        #expect(tracker.finishedOnArrival(OffsetTracker.ranges(of: [record(1, partition: 9)])).isEmpty)
    }

    @Test func recordsOfPartitionsNotAssignedAreNotTracked() {
        let tracker = OffsetTracker()
        #expect(tracker.begin(record(1, partition: 7)) == nil)
    }

    @Test func aRevocationWaitsForRunningRecordsAndLeavesQueuedOnesToTheNextOwner() async throws {
        let tracker = OffsetTracker()
        let partition = KafkaTopicPartition(topic: "t", partition: 2)
        tracker.assign([partition])
        let running = try #require(tracker.begin(record(20, partition: 2)))
        let queued = try #require(tracker.begin(record(21, partition: 2)))
        #expect(tracker.start(running))
        // The rebalance callback blocks its own thread: run it off the cooperative pool.
        let revocation = Task {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async { continuation.resume(returning: tracker.revoke([partition], grace: .seconds(30))) }
            }
        }
        // Once the revocation has begun, the queued record is not started...
        try await waitUntil(timeout: .seconds(10), "the revocation of \(partition) to begin") { tracker.isRevoking(partition) }
        #expect(!tracker.start(queued))
        // ...and the running one still stores its offset: the partition is ours until it finishes.
        #expect(tracker.finish(running) == .store(21))
        // The revocation keeps waiting until the offset is stored and the record has ended (it
        // once went on at the finish, and unassigned the partition before the store reached librdkafka).
        #expect(tracker.runningCount(of: partition) == 1 && tracker.isRevoking(partition))
        tracker.ended(running)
        let outcome = await revocation.value
        #expect(outcome.awaited == 1 && outcome.unfinished == 0)
        #expect(tracker.finish(queued) == .revoked)
    }

    @Test func aRecordThatEndsWithoutFinishingDoesNotHoldARevocation() async throws {
        let tracker = OffsetTracker()
        let partition = KafkaTopicPartition(topic: "t", partition: 4)
        tracker.assign([partition])
        let abandoned = try #require(tracker.begin(record(9, partition: 4)))
        #expect(tracker.start(abandoned))
        let revocation = Task {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async { continuation.resume(returning: tracker.revoke([partition], grace: .seconds(30))) }
            }
        }
        try await waitUntil(timeout: .seconds(10), "the revocation of \(partition) to begin") { tracker.isRevoking(partition) }
        // Stopped before its outcome was final: no offset, and the revocation goes on at once.
        tracker.ended(abandoned)
        let outcome = await revocation.value
        #expect(outcome.awaited == 1 && outcome.unfinished == 0)
        #expect(tracker.finish(abandoned) == .revoked)
    }

    @Test func aRevocationGivesUpOnARecordRunningPastItsGrace() throws {
        let tracker = OffsetTracker()
        let partition = KafkaTopicPartition(topic: "t", partition: 3)
        tracker.assign([partition])
        let running = try #require(tracker.begin(record(7, partition: 3)))
        #expect(tracker.start(running))
        let outcome = tracker.revoke([partition], grace: .milliseconds(50))
        #expect(outcome.awaited == 1 && outcome.unfinished == 1)
        #expect(tracker.finish(running) == .revoked, "finished after the partition moved: not stored")
    }
}
