import Foundation
import Logging
import OffboardingCore
import OffboardingKafka
import Synchronization

/// Every approval on the approvals topic, as this replica has read it. The topic is the only store
/// (compacted, key = approval id), so pending approvals survive restarts and every replica sees
/// the same ones. Each replica reads all partitions from the beginning, outside any group, and
/// keeps reading.
final class ApprovalStore: Sendable {
    struct Entry: Sendable {
        var record: ApprovalRecord
        /// Where the latest state was read: only the owner of this partition expires it.
        var partition: Int32
    }

    private struct State {
        var approvals: [String: Entry] = [:]
        /// Per partition, the offset after the last record read.
        var next: [Int32: Int64] = [:]
    }

    let topic: String
    private let consumer: KafkaConsumer
    private let partitions: [KafkaTopicPartition]
    private let state = Mutex(State())
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let logger: Logger

    init(bootstrapServers: String, topic: String, partitionCount: Int32, properties: [String: String], logger: Logger) throws(KafkaError) {
        self.topic = topic
        partitions = (0..<partitionCount).map { KafkaTopicPartition(topic: topic, partition: $0) }
        consumer = try KafkaConsumer(
            configuration: .init(
                bootstrapServers: bootstrapServers, groupID: "psa-offboarder-approvals", consumption: .partitionsFromBeginning(partitions),
                properties: properties),
            logger: logger)
        self.logger = logger
        let loop = Task { [self] in
            while !Task.isCancelled {
                guard let batch = try? await consumer.poll(maxRecords: 1000, timeout: .milliseconds(100)) else { continue }
                for record in batch { add(record) }
            }
        }
        task.withLock { $0 = loop }
    }

    private func add(_ record: KafkaRecord) {
        let message = try? ApprovalMessage.decode(record.value)
        state.withLock { state in
            state.next[record.partition] = max(state.next[record.partition] ?? 0, record.offset + 1)
            guard case .record(let approval)? = message else { return }
            // A late `pending` (a run repeated after a crash) never reopens a decided approval.
            if approval.state == .pending, let known = state.approvals[approval.approvalID], known.record.state != .pending { return }
            state.approvals[approval.approvalID] = Entry(record: approval, partition: record.partition)
        }
        if record.value == nil, let key = record.keyString {
            // A tombstone: compaction removes the approval.
            state.withLock { _ = $0.approvals.removeValue(forKey: key) }
        }
    }

    func approval(_ id: String) -> ApprovalRecord? {
        state.withLock { $0.approvals[id]?.record }
    }

    /// Pending approvals past their expiry whose latest state sits in one of `partitions`.
    func expired(at now: Date, in partitions: Set<Int32>) -> [ApprovalRecord] {
        state.withLock { state in
            state.approvals.values.filter { $0.record.state == .pending && partitions.contains($0.partition) && $0.record.isExpired(at: now) }
                .map(\.record)
        }
    }

    /// Remembers a state this process has just written, before its own reader gets to it.
    func remember(_ approval: ApprovalRecord, partition: Int32?) {
        state.withLock { state in
            let known = state.approvals[approval.approvalID]
            state.approvals[approval.approvalID] = Entry(record: approval, partition: partition ?? known?.partition ?? 0)
        }
    }

    /// Returns once the partition has been read past `offset`, so that everything written to it
    /// before a record (the pending approval before its decision) is known.
    func waitUntilRead(partition: Int32, offset: Int64, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if state.withLock({ ($0.next[partition] ?? 0) > offset }) { return true }
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
            let behind = state.withLock { state in targets.filter { (state.next[$0.key] ?? 0) < $0.value }.count }
            if behind == 0 { return }
            guard ContinuousClock.now < deadline else {
                throw KafkaError(code: .consume, message: "the approvals topic was not read to its end within \(timeout) (\(behind) partitions behind)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    var count: Int { state.withLock { $0.approvals.count } }

    var all: [ApprovalRecord] { state.withLock { $0.approvals.values.map(\.record) } }

    func stop() async {
        let loop = task.withLock { $0 }
        loop?.cancel()
        await loop?.value
        await consumer.close()
    }
}
