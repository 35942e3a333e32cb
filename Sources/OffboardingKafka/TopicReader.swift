import Logging
import Synchronization

/// Reads every partition of a topic outside any group and keeps reading, handing each record to
/// a handler, and knows how far it has read. The result ledger and the approval store are built on it.
public final class TopicReader: Sendable {
    public enum Start: Sendable {
        case beginning
        /// The latest `count` records of each partition.
        case tail(Int64)
    }

    private struct Waiter {
        /// Per partition, the offset the reader must have read past.
        var targets: [Int32: Int64]
        var continuation: CheckedContinuation<Bool, Never>
    }

    private struct State {
        /// Per partition, the offset after the last record handled.
        var next: [Int32: Int64] = [:]
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0
        /// Waits whose time ran out before they were queued.
        var expired: Set<Int> = []
        /// Why the reader stopped reading, when it stopped on its own.
        var failure: KafkaError?

        func reached(_ targets: [Int32: Int64]) -> Bool {
            targets.allSatisfy { (next[$0.key] ?? 0) >= $0.value }
        }
    }

    public let topic: String
    private let consumer: KafkaConsumer
    private let partitions: [KafkaTopicPartition]
    private let logger: Logger
    private let state = Mutex(State())
    private let task = Mutex<Task<Void, Never>?>(nil)

    public init(
        bootstrapServers: String, topic: String, partitionCount: Int32, groupID: String, start: Start, properties: [String: String],
        logger: Logger
    ) throws(KafkaError) {
        self.topic = topic
        self.logger = logger
        let partitions = (0..<partitionCount).map { KafkaTopicPartition(topic: topic, partition: $0) }
        self.partitions = partitions
        let consumption: KafkaConsumer.Configuration.Consumption =
            switch start {
            case .beginning: .partitionsFromBeginning(partitions)
            case .tail(let count): .partitionsFromTail(count: count, partitions)
            }
        consumer = try KafkaConsumer(
            configuration: .init(bootstrapServers: bootstrapServers, groupID: groupID, consumption: consumption, properties: properties),
            logger: logger)
    }

    /// Starts reading. The handler is held until `stop()`.
    public func start(handle: @escaping @Sendable (KafkaRecord) -> Void) {
        let loop = Task { [self] in
            while !Task.isCancelled {
                let batch: [KafkaRecord]
                do throws(KafkaError) {
                    batch = try await consumer.poll(maxRecords: 1000, timeout: .milliseconds(100))
                } catch {
                    // Only a fatal error ends a poll: the reader cannot go on, and says so.
                    logger.critical("topic reader stopped", metadata: ["kafka.topic": "\(topic)", "kafka.error": "\(error)"])
                    fail(error)
                    return
                }
                guard !batch.isEmpty else { continue }
                for record in batch { handle(record) }
                // After the handler: a position read means the record is known.
                advance(past: batch)
            }
        }
        task.withLock { $0 = loop }
    }

    /// Makes the reader's next poll fail as a fatal error would (see `KafkaConsumer.raiseFatalErrorForTesting`).
    package func raiseFatalErrorForTesting(reason: String) async {
        await consumer.raiseFatalErrorForTesting(reason: reason)
    }

    /// Why the reader stopped reading on its own; nil while it reads.
    public var failure: KafkaError? { state.withLock { $0.failure } }

    private func advance(past batch: [KafkaRecord]) {
        let ready = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            for record in batch { state.next[record.partition] = max(state.next[record.partition] ?? 0, record.offset + 1) }
            let done = state.waiters.filter { state.reached($0.value.targets) }
            for id in done.keys { state.waiters[id] = nil }
            return done.values.map(\.continuation)
        }
        for continuation in ready { continuation.resume(returning: true) }
    }

    private func fail(_ error: KafkaError) {
        let waiting = state.withLock { state -> [CheckedContinuation<Bool, Never>] in
            state.failure = error
            defer { state.waiters.removeAll() }
            return state.waiters.values.map(\.continuation)
        }
        for continuation in waiting { continuation.resume(returning: false) }
    }

    /// Returns once every partition in `targets` has been read past its offset; false after
    /// `timeout` or when the reader stopped.
    private func wait(for targets: [Int32: Int64], timeout: Duration) async -> Bool {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        let timer = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            let waiter = state.withLock { state -> Waiter? in
                guard let waiter = state.waiters.removeValue(forKey: id) else {
                    state.expired.insert(id)
                    return nil
                }
                return waiter
            }
            waiter?.continuation.resume(returning: false)
        }
        defer { timer.cancel() }
        let reached = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let now = state.withLock { state -> Bool? in
                if state.reached(targets) { return true }
                if state.failure != nil || state.expired.remove(id) != nil { return false }
                state.waiters[id] = Waiter(targets: targets, continuation: continuation)
                return nil
            }
            if let now { continuation.resume(returning: now) }
        }
        _ = state.withLock { $0.expired.remove(id) }
        return reached
    }

    /// Returns once the partition has been read past `offset`; false after `timeout`.
    public func waitUntilRead(partition: Int32, offset: Int64, timeout: Duration) async -> Bool {
        await wait(for: [partition: offset + 1], timeout: timeout)
    }

    /// Whether every partition holds at most `count` records now (a tail of that many is all of it).
    public func holdsAtMost(_ count: Int64) async throws -> Bool {
        for partition in partitions {
            let (low, high) = try await consumer.watermarks(of: partition)
            if high - low > count { return false }
        }
        return true
    }

    /// Returns once every partition has been read up to where it ended when this was called.
    public func catchUp(timeout: Duration) async throws {
        var targets: [Int32: Int64] = [:]
        for partition in partitions {
            let (low, high) = try await consumer.watermarks(of: partition)
            if high > low { targets[partition.partition] = high }
        }
        guard await wait(for: targets, timeout: timeout) else {
            if let failure { throw failure }
            let behind = state.withLock { state in targets.filter { (state.next[$0.key] ?? 0) < $0.value }.count }
            throw KafkaError(code: .consume, message: "\(topic) was not read to its end within \(timeout) (\(behind) partitions behind)")
        }
    }

    public func stop() async {
        let loop = task.withLock { $0 }
        loop?.cancel()
        await loop?.value
        await consumer.close()
    }
}
