import Foundation
import OffboardingCore
import OffboardingKafka
import Synchronization

/// Decides which offset may be stored per partition: the lowest offset whose record is not yet
/// finished. Records of one partition finish out of order (different clients run concurrently),
/// and storing past an unfinished record would lose it on a crash.
final class OffsetTracker: Sendable {
    /// Identifies one record within one assignment of its partition.
    struct Token: Sendable, Hashable {
        var partition: KafkaTopicPartition
        var generation: Int
        var offset: Int64
    }

    private struct PartitionState {
        var generation: Int
        var inFlight: Set<Int64> = []
        /// Records whose processing started (the rest of `inFlight` is still queued).
        var running: Set<Int64> = []
        /// Being revoked: queued records are left for the next owner, running ones are awaited.
        var revoking = false
        /// One past the highest offset handed out.
        var nextUnseen: Int64?
        var lastStored: Int64?
    }

    private struct State {
        var partitions: [KafkaTopicPartition: PartitionState] = [:]
        var nextGeneration = 1
    }

    private let state = Mutex(State())
    /// Wakes a revocation waiting for running records; held around its check so no wake-up is lost.
    private let revocation = NSCondition()

    /// Registers a record as in flight. Nil when its partition is not (or no longer) assigned.
    func begin(_ record: KafkaRecord) -> Token? {
        state.withLock { state in
            let key = record.topicPartition
            // A record of a partition revoked since it was fetched: its next owner reads it again.
            guard state.partitions[key] != nil else { return nil }
            state.partitions[key]!.inFlight.insert(record.offset)
            // Nothing before the first record seen is ours to store.
            if state.partitions[key]!.lastStored == nil { state.partitions[key]!.lastStored = record.offset }
            state.partitions[key]!.nextUnseen = max(state.partitions[key]!.nextUnseen ?? 0, record.offset + 1)
            return Token(partition: key, generation: state.partitions[key]!.generation, offset: record.offset)
        }
    }

    enum Finish: Equatable {
        /// Store this offset: the committable position moved.
        case store(Int64)
        /// Nothing new to store: an earlier record of the partition is still running.
        case nothing
        /// The partition was revoked since the record began: it is no longer ours to store.
        case revoked
    }

    /// Called when a record's processing is about to start. False when its partition is being
    /// revoked or is gone: the record is left unprocessed for the partition's next owner.
    func start(_ token: Token) -> Bool {
        state.withLock { state in
            guard let partition = state.partitions[token.partition], partition.generation == token.generation, !partition.revoking else {
                return false
            }
            state.partitions[token.partition]!.running.insert(token.offset)
            return true
        }
    }

    /// Called when a record's processing ended, whether or not it finished (a stop can leave it
    /// for redelivery), after its offset was stored: a revocation stops waiting for it.
    func ended(_ token: Token) {
        let wake = state.withLock { state -> Bool in
            guard state.partitions[token.partition]?.generation == token.generation,
                state.partitions[token.partition]!.running.remove(token.offset) != nil
            else { return false }
            return state.partitions[token.partition]!.revoking && state.partitions[token.partition]!.running.isEmpty
        }
        if wake { wakeRevocation() }
    }

    /// Taken under the condition's lock, so that a revocation between its check and its wait still wakes.
    private func wakeRevocation() {
        revocation.lock()
        revocation.broadcast()
        revocation.unlock()
    }

    /// Marks a record finished and says what to store. The record still counts as running until
    /// `ended`: a revocation waiting for it must not unassign the partition between this decision
    /// and the store, or librdkafka refuses the store for a partition no longer assigned.
    func finish(_ token: Token) -> Finish {
        state.withLock { state in
            guard var partition = state.partitions[token.partition], partition.generation == token.generation else { return .revoked }
            defer { state.partitions[token.partition] = partition }
            return Self.finish(token, in: &partition)
        }
    }

    private static func finish(_ token: Token, in partition: inout PartitionState) -> Finish {
        guard partition.inFlight.remove(token.offset) != nil else { return .nothing }
        let committable = partition.inFlight.min() ?? partition.nextUnseen ?? token.offset + 1
        guard committable > (partition.lastStored ?? Int64.min) else { return .nothing }
        partition.lastStored = committable
        return .store(committable)
    }

    /// Records finished the moment they arrive (filtered in the poll loop), given per partition as
    /// the lowest and highest offset of the batch's finished ones, under one lock: the offsets to
    /// store. Call it after the batch's other records have begun, so that none is stored past.
    /// Partitions not assigned are skipped.
    func finishedOnArrival(_ ranges: [KafkaTopicPartition: ClosedRange<Int64>]) -> [KafkaTopicPartition: Int64] {
        state.withLock { state in
            var stores: [KafkaTopicPartition: Int64] = [:]
            for (key, range) in ranges {
                guard var partition = state.partitions[key] else { continue }
                if partition.lastStored == nil { partition.lastStored = range.lowerBound }
                partition.nextUnseen = max(partition.nextUnseen ?? 0, range.upperBound + 1)
                let committable = partition.inFlight.min() ?? partition.nextUnseen ?? range.upperBound + 1
                if committable > (partition.lastStored ?? Int64.min) {
                    partition.lastStored = committable
                    stores[key] = committable
                }
                state.partitions[key] = partition
            }
            return stores
        }
    }

    static func ranges(of records: [KafkaRecord]) -> [KafkaTopicPartition: ClosedRange<Int64>] {
        var ranges: [KafkaTopicPartition: ClosedRange<Int64>] = [:]
        for record in records {
            let key = record.topicPartition
            ranges[key] = ranges[key].map { min($0.lowerBound, record.offset)...max($0.upperBound, record.offset) } ?? record.offset...record.offset
        }
        return ranges
    }

    /// Revokes partitions: records not started yet are left for the next owner, records running
    /// are awaited for up to `grace` so that they finish and store their offsets while the
    /// partitions are still assigned (the next owner then starts after them instead of running
    /// them a second time, concurrently). Then the partitions' positions are forgotten, and late
    /// finishes of the old generation are ignored. Blocks: call it from the consumer's own queue
    /// (the rebalance callback), never from the cooperative pool. Returns how many records were
    /// running when the revocation began, and how many still were when `grace` ran out.
    @discardableResult
    func revoke(_ partitions: [KafkaTopicPartition], grace: Duration = .zero) -> (awaited: Int, unfinished: Int) {
        let revoked = Set(partitions)
        func running(_ state: inout State) -> Int {
            state.partitions.filter { revoked.contains($0.key) }.values.reduce(0) { $0 + $1.running.count }
        }
        let awaited = state.withLock { state in
            for partition in partitions where state.partitions[partition] != nil { state.partitions[partition]!.revoking = true }
            return running(&state)
        }
        let deadline = Date().addingTimeInterval(grace.seconds)
        revocation.lock()
        while state.withLock({ running(&$0) }) > 0, Date() < deadline {
            _ = revocation.wait(until: deadline)
        }
        revocation.unlock()
        let unfinished = state.withLock { state in
            defer { for partition in partitions { state.partitions[partition] = nil } }
            return running(&state)
        }
        return (awaited, unfinished)
    }

    func assign(_ partitions: [KafkaTopicPartition]) {
        state.withLock { state in
            for partition in partitions {
                state.partitions[partition] = PartitionState(generation: state.nextGeneration)
                state.nextGeneration += 1
            }
        }
    }

    /// Records of the partition started and not ended: what a revocation waits for.
    func runningCount(of partition: KafkaTopicPartition) -> Int {
        state.withLock { $0.partitions[partition]?.running.count ?? 0 }
    }

    /// Whether a revocation of the partition has begun and not ended.
    func isRevoking(_ partition: KafkaTopicPartition) -> Bool {
        state.withLock { $0.partitions[partition]?.revoking == true }
    }

    /// Records begun and not finished, over all partitions.
    var inFlightCount: Int {
        state.withLock { $0.partitions.values.reduce(0) { $0 + $1.inFlight.count } }
    }
}
