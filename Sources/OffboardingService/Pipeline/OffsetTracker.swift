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
        /// One past the highest offset handed out.
        var nextUnseen: Int64?
        var lastStored: Int64?
    }

    private struct State {
        var partitions: [KafkaTopicPartition: PartitionState] = [:]
        var nextGeneration = 1
    }

    private let state = Mutex(State())

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

    /// Marks a record finished and says what to store.
    func finish(_ token: Token) -> Finish {
        state.withLock { state in
            guard var partition = state.partitions[token.partition], partition.generation == token.generation else { return .revoked }
            guard partition.inFlight.remove(token.offset) != nil else { return .nothing }
            let committable = partition.inFlight.min() ?? partition.nextUnseen ?? token.offset + 1
            defer { state.partitions[token.partition] = partition }
            guard committable > (partition.lastStored ?? Int64.min) else { return .nothing }
            partition.lastStored = committable
            return .store(committable)
        }
    }

    /// Forgets a partition's position when it is revoked: its records will be redelivered to its
    /// next owner, and late finishes of the old generation are ignored.
    func revoke(_ partitions: [KafkaTopicPartition]) {
        state.withLock { state in
            for partition in partitions { state.partitions[partition] = nil }
        }
    }

    func assign(_ partitions: [KafkaTopicPartition]) {
        state.withLock { state in
            for partition in partitions {
                state.partitions[partition] = PartitionState(generation: state.nextGeneration)
                state.nextGeneration += 1
            }
        }
    }

    /// Records begun and not finished, over all partitions.
    var inFlightCount: Int {
        state.withLock { $0.partitions.values.reduce(0) { $0 + $1.inFlight.count } }
    }
}
