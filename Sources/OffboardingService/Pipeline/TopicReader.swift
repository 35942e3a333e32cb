import Logging
import OffboardingKafka
import Synchronization

/// Reads every partition of a topic outside any group and keeps reading, handing each record to
/// a handler, and knows how far it has read. The result ledger and the approval store are built on it.
final class TopicReader: Sendable {
    enum Start: Sendable {
        case beginning
        /// The latest `count` records of each partition.
        case tail(Int64)
    }

    let topic: String
    private let consumer: KafkaConsumer
    private let partitions: [KafkaTopicPartition]
    /// Per partition, the offset after the last record handled.
    private let next = Mutex<[Int32: Int64]>([:])
    private let task = Mutex<Task<Void, Never>?>(nil)

    init(
        bootstrapServers: String, topic: String, partitionCount: Int32, groupID: String, start: Start, properties: [String: String],
        logger: Logger
    ) throws(KafkaError) {
        self.topic = topic
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
    func start(handle: @escaping @Sendable (KafkaRecord) -> Void) {
        let loop = Task { [self] in
            while !Task.isCancelled {
                guard let batch = try? await consumer.poll(maxRecords: 1000, timeout: .milliseconds(100)) else { continue }
                for record in batch {
                    handle(record)
                    // After the handler: a position read means the record is known.
                    next.withLock { $0[record.partition] = max($0[record.partition] ?? 0, record.offset + 1) }
                }
            }
        }
        task.withLock { $0 = loop }
    }

    /// Returns once the partition has been read past `offset`; false after `timeout`.
    func waitUntilRead(partition: Int32, offset: Int64, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if next.withLock({ ($0[partition] ?? 0) > offset }) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Returns once every partition has been read up to where it ended when this was called.
    func catchUp(timeout: Duration) async throws {
        var targets: [Int32: Int64] = [:]
        for partition in partitions {
            let (low, high) = try await consumer.watermarks(of: partition)
            if high > low { targets[partition.partition] = high }
        }
        let deadline = ContinuousClock.now + timeout
        while true {
            let behind = next.withLock { next in targets.filter { (next[$0.key] ?? 0) < $0.value }.count }
            if behind == 0 { return }
            guard ContinuousClock.now < deadline else {
                throw KafkaError(code: .consume, message: "\(topic) was not read to its end within \(timeout) (\(behind) partitions behind)")
            }
            // The reader loop moves `next`; this only re-checks it.
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func stop() async {
        let loop = task.withLock { $0 }
        loop?.cancel()
        await loop?.value
        await consumer.close()
    }
}
