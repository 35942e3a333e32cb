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
    private let state = Mutex(State())
    private let task = Mutex<Task<Void, Never>?>(nil)

    public struct Timeout: Error, CustomStringConvertible {
        public var description: String
    }

    public init(bootstrapServers: String, partitions: [KafkaTopicPartition], logger: Logger) throws(KafkaError) {
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

    public func stop() async {
        let loop = task.withLock { $0 }
        loop?.cancel()
        await loop?.value
        await consumer.close()
    }
}
