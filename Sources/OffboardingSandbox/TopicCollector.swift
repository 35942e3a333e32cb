import Logging
import OffboardingKafka
import Synchronization

/// Reads whole topics from their beginning, outside any consumer group, and lets callers await a
/// condition on what has arrived. Used by `demo` to print results and by tests to check them.
public final class TopicCollector: Sendable {
    private struct State {
        var records: [KafkaRecord] = []
        var watchers: [Int: AsyncStream<Void>.Continuation] = [:]
        var nextWatcher = 0
        var stopped = false
    }

    private let consumer: KafkaConsumer
    private let partitions: [KafkaTopicPartition]
    private let bootstrapServers: String
    private let logger: Logger
    private let state = Mutex(State())
    private let task = Mutex<Task<Void, Never>?>(nil)

    public struct Timeout: Error, CustomStringConvertible {
        public var description: String
    }

    public init(bootstrapServers: String, partitions: [KafkaTopicPartition], logger: Logger) throws(KafkaError) {
        self.partitions = partitions
        self.bootstrapServers = bootstrapServers
        self.logger = logger
        consumer = try KafkaConsumer(
            configuration: .init(
                bootstrapServers: bootstrapServers, groupID: "psa-offboarder-collector",
                consumption: .partitionsFromBeginning(partitions)),
            logger: logger)
        // Holds `self` until `stop()`.
        let loop = Task { [consumer, self] in
            while !Task.isCancelled {
                let batch = (try? await consumer.poll(maxRecords: 1000, timeout: .milliseconds(50))) ?? []
                // Every poll, even an empty one, wakes the watchers so that they can check their deadlines.
                let watchers = state.withLock { state in
                    state.records += batch
                    return Array(state.watchers.values)
                }
                for watcher in watchers { watcher.yield() }
            }
        }
        task.withLock { $0 = loop }
    }

    public var records: [KafkaRecord] { state.withLock { $0.records } }

    /// Waits until `condition` holds for the records so far, and returns them.
    @discardableResult
    public func wait(
        timeout: Duration, for what: String, until condition: ([KafkaRecord]) -> Bool
    ) async throws -> [KafkaRecord] {
        let (ticks, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            defer { state.nextWatcher += 1 }
            state.watchers[state.nextWatcher] = continuation
            return state.nextWatcher
        }
        defer { _ = state.withLock { $0.watchers.removeValue(forKey: id) } }
        let deadline = ContinuousClock.now + timeout
        var iterator = ticks.makeAsyncIterator()
        while true {
            let snapshot = records
            if condition(snapshot) { return snapshot }
            if ContinuousClock.now >= deadline {
                throw Timeout(description: "timed out after \(timeout) waiting for \(what); \(snapshot.count) records arrived")
            }
            _ = await iterator.next()
        }
    }

    /// Returns once every record on the collected partitions when it was called has arrived: a
    /// check that something is *not* there means nothing from a reader that lags behind.
    public func caughtUp(timeout: Duration = .seconds(30)) async throws {
        // Asked on a consumer of its own, so that the collecting one only fetches: asked on it, the
        // collector of an empty results topic read nothing more afterwards (DeliveryTests' outage
        // test, librdkafka 2.0.2's mock cluster; the cause was not traced further).
        let asking = try KafkaConsumer(
            configuration: .init(bootstrapServers: bootstrapServers, groupID: "psa-offboarder-collector", consumption: .partitionsFromBeginning([])),
            logger: logger)
        var ends: [KafkaTopicPartition: Int64] = [:]
        do {
            for partition in partitions { ends[partition] = try await asking.watermarks(of: partition).high }
        } catch {
            await asking.close()
            throw error
        }
        await asking.close()
        try await wait(timeout: timeout, for: "every record up to the ends \(ends)") { records in
            var read: [KafkaTopicPartition: Int64] = [:]
            for record in records { read[KafkaTopicPartition(topic: record.topic, partition: record.partition), default: -1] = record.offset }
            return ends.allSatisfy { partition, end in end == 0 || read[partition, default: -1] >= end - 1 }
        }
    }

    public func stop() async {
        let loop = task.withLock { $0 }
        loop?.cancel()
        await loop?.value
        await consumer.close()
    }
}
