import OffboardingKafka
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

    @Test func recordsOfPartitionsNotAssignedAreNotTracked() {
        let tracker = OffsetTracker()
        #expect(tracker.begin(record(1, partition: 7)) == nil)
    }
}
