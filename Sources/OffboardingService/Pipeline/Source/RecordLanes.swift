import OffboardingCore
import OffboardingKafka

/// A record as it travels from the source to its end: as read, decoded, and its place among the
/// partition's offsets.
struct Work: Sendable {
    var record: KafkaRecord
    var inbound: InboundRecord
    var token: OffsetTracker.Token
}

/// Records of one key run in order, one after another; different keys run concurrently, each lane
/// a task of the poll loop's group while it holds records.
final class RecordLanes: Sendable {
    private let lanes = KeyedLanes<Work>()
    let capacity = CapacitySignal()
    private let heartbeat: PipelineHeartbeat
    private let process: @Sendable (Work) async -> Void

    init(heartbeat: PipelineHeartbeat, process: @escaping @Sendable (Work) async -> Void) {
        self.heartbeat = heartbeat
        self.process = process
    }

    func enqueue(_ work: Work, key: String, into group: inout DiscardingTaskGroup) {
        if lanes.enqueue(work, key: key) {
            group.addTask { await self.runLane(key) }
        }
    }

    private func runLane(_ key: String) async {
        while let work = lanes.next(for: key) {
            await process(work)
            heartbeat.progressed()
            lanes.done()
            capacity.signal()
        }
        // Closing a draining lane drops what it still held: a stop waiting for idle lanes looks again.
        capacity.signal()
    }

    /// Records fetched and not yet finished.
    var pending: Int { lanes.pending }
    /// Records given up at a stop before they started.
    var abandoned: Int { lanes.abandoned }

    /// Starts no further record; lanes close once their running record ends.
    func drain() {
        lanes.drain()
        capacity.signal()
    }
}
