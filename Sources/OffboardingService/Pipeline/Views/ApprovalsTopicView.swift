import Foundation
import Logging
import Metrics
import OffboardingCore
import OffboardingKafka
import Synchronization

/// Every approval on the approvals topic, as this replica has read it, and the journals of runs
/// in progress. The topic is the only store (compacted, key = approval id or `run:…`), so pending
/// approvals and interrupted runs survive restarts and every replica sees the same ones. Each
/// replica reads all partitions from the beginning, outside any group, and keeps reading.
final class ApprovalsTopicView: Sendable {
    struct Entry: Sendable {
        var record: ApprovalRecord
        /// Where the latest state was read: only the owner of this partition expires it.
        var partition: Int32
        /// A decision taken on a pending approval, before the run it starts writes the final
        /// state: the console shows it decided and no second decision is taken.
        var decision: ApprovalDecision? = nil
    }

    /// Pending approvals (each expires) and decided ones (tombstoned on the topic after
    /// `decidedRetention`), each within a count and a byte budget, the oldest forgotten first: the
    /// topic is written by the service alone, but what it holds is read into memory whole.
    private struct Approvals {
        var pending: RecentEntries<Entry>
        var decided: RecentEntries<Entry>

        func entry(_ id: String) -> Entry? { pending[id] ?? decided[id] }

        /// Returns how many pending approvals the bound shed to make room.
        mutating func put(_ entry: Entry) -> Int {
            let id = entry.record.approvalID
            if entry.record.state == .pending {
                decided.remove(id)
                var entry = entry
                entry.decision = entry.decision ?? pending[id]?.decision
                return pending.set(id, entry, size: Self.size(of: entry))
            }
            pending.remove(id)
            decided.set(id, entry, size: Self.size(of: entry))
            return 0
        }

        mutating func remove(_ id: String) {
            pending.remove(id)
            decided.remove(id)
        }

        /// The first decision on a pending approval stands; one on an approval not pending is not kept.
        mutating func note(_ decision: ApprovalDecision) {
            guard var entry = pending[decision.approvalID], entry.decision == nil else { return }
            entry.decision = decision
            _ = pending.set(decision.approvalID, entry, size: Self.size(of: entry))
        }

        /// About what an entry takes: its configurations dominate, then a decision's comment and kept ids.
        static func size(of entry: Entry) -> Int {
            512 + entry.record.configs.count * 64 + (entry.decision.map { ($0.comment?.utf8.count ?? 0) + ($0.keep?.count ?? 0) * 64 } ?? 0)
        }
    }

    /// The bounds on what the store holds.
    struct Limits: Sendable {
        var pendingApprovals = 10_000
        var pendingBytes = 32 << 20
        var decidedBytes = 32 << 20
        var journals = 10_000
        var journalBytes = 16 << 20
    }

    let reader: TopicReader
    private let signer: RecordSigner
    private let logger: Logger
    private let approvals: Mutex<Approvals>
    private let journals: Mutex<RecentEntries<RunJournal>>
    /// Console sessions ended by signing out, until they would have expired.
    private let revokedSessions = Mutex(RecentEntries<Date>(budget: 1 << 20))
    /// One decision per approval at a time, over the decision and expiry paths.
    let gate = DecisionGate()

    init(
        bootstrapServers: String, topic: String, partitionCount: Int32, properties: [String: String], signer: RecordSigner, limits: Limits = .init(),
        logger: Logger
    ) throws(KafkaError) {
        self.signer = signer
        self.logger = logger
        approvals = Mutex(
            Approvals(
                pending: RecentEntries(budget: limits.pendingBytes, maxCount: limits.pendingApprovals),
                decided: RecentEntries(budget: limits.decidedBytes)))
        journals = Mutex(RecentEntries(budget: limits.journalBytes, maxCount: limits.journals))
        reader = try TopicReader(
            bootstrapServers: bootstrapServers, topic: topic, partitionCount: partitionCount, groupID: "psa-offboarder-approvals",
            start: .beginning, properties: properties, logger: logger)
        // Holds `self` until `stop()`.
        reader.start { [self] record in add(record) }
    }

    private func add(_ record: KafkaRecord) {
        // Approvals, journals, tombstones and sign-outs are all the service's own: only what it
        // signed creates, decides or removes anything.
        guard signer.admits(record, reader: "approvals", logger: logger) else { return }
        if record.value == nil, let key = record.keyString {
            // A tombstone: compaction removes the approval or the finished run's journal.
            approvals.withLock { $0.remove(key) }
            journals.withLock { $0.remove(key) }
            revokedSessions.withLock { $0.remove(key) }
            return
        }
        let message = try? ApprovalMessage.decode(record.value)
        if case .journal(let journal)? = message {
            remember(journal)
            return
        }
        if case .sessionRevoked(let revocation)? = message {
            remember(revocation)
            return
        }
        if case .decision(let decision)? = message {
            remember(decision)
            return
        }
        guard case .record(let approval)? = message else { return }
        let shed = approvals.withLock { approvals -> Int in
            // A late `pending` (a run repeated after a crash) never reopens a decided approval.
            if approval.state == .pending, let known = approvals.entry(approval.approvalID), known.record.state != .pending { return 0 }
            return approvals.put(Entry(record: approval, partition: record.partition))
        }
        shedding(shed, of: "pending_approvals")
    }

    /// Counts and logs what a bound dropped to make room: a replica that sheds pending approvals
    /// no longer lists or expires the oldest of them (the topic still holds them).
    private func shedding(_ count: Int, of store: String) {
        guard count > 0 else { return }
        Counter(label: "psa_offboarder_state_shed_total", dimensions: [("store", store)]).increment(by: count)
        logger.error("the approvals topic holds more than this replica keeps; the oldest entries were dropped from memory", metadata: ["pipeline.store": "\(store)", "pipeline.dropped": "\(count)"])
    }

    func approval(_ id: String) -> ApprovalRecord? {
        approvals.withLock { $0.entry(id)?.record }
    }

    /// Pending approvals past their expiry whose latest state sits in one of `partitions`.
    func expired(at now: Date, in partitions: Set<Int32>) -> [ApprovalRecord] {
        approvals.withLock { approvals in
            approvals.pending.values.filter { partitions.contains($0.partition) && $0.record.isExpired(at: now) }.map(\.record)
        }
    }

    /// Decided approvals in `partitions` whose decision (or expiry) is older than `cutoff`: their
    /// results are published long ago, so the topic need not keep them.
    func decided(before cutoff: Date, in partitions: Set<Int32>) -> [ApprovalRecord] {
        approvals.withLock { approvals in
            approvals.decided.values.filter { entry in
                guard partitions.contains(entry.partition) else { return false }
                let stamp = entry.record.decision?.decidedAt ?? entry.record.expiresAt
                return Timestamp.date(from: stamp).map { $0 < cutoff } ?? false
            }.map(\.record)
        }
    }

    /// Remembers a state this process has just written, before its own reader gets to it.
    func remember(_ approval: ApprovalRecord, partition: Int32?) {
        let shed = approvals.withLock { approvals in
            let known = approvals.entry(approval.approvalID)
            return approvals.put(Entry(record: approval, partition: partition ?? known?.partition ?? 0))
        }
        shedding(shed, of: "pending_approvals")
    }

    /// Remembers a decision on a pending approval, read from the topic or just written by this process.
    func remember(_ decision: ApprovalDecision) {
        approvals.withLock { $0.note(decision) }
    }

    /// How long a decision holds its approval as decided without the run's final state. A decision
    /// can end without one (dead-lettered after its attempts, or refused by the owner): past this the
    /// approval is offered again, and the owner's decide-once gate still lets only one decision run.
    static let decisionHold: Duration = .seconds(3600)

    /// The decision taken on a pending approval whose run has not written its final state yet.
    func decision(on id: String, now: Date = Date()) -> ApprovalDecision? {
        guard let decision = approvals.withLock({ $0.pending[id]?.decision }) else { return nil }
        let decidedAt = decision.decidedAt.flatMap(Timestamp.date(from:)) ?? .distantPast
        return now.timeIntervalSince(decidedAt) < Self.decisionHold.seconds ? decision : nil
    }

    func forget(approval id: String) {
        approvals.withLock { $0.remove(id) }
    }

    /// The approvals waiting for a decision, as this replica has read the topic.
    var pendingCount: Int { approvals.withLock { $0.pending.count } }

    /// Every approval waiting for a decision, the oldest request first.
    var pending: [ApprovalRecord] {
        approvals.withLock { $0.pending.values.map(\.record) }.sorted { ($0.requestedAt, $0.approvalID) < ($1.requestedAt, $1.approvalID) }
    }

    /// The journal of an interrupted run of this event and attempt, as read so far.
    func journal(eventID: String, attempt: Int) -> RunJournal? {
        journals.withLock { $0[RunJournal.key(eventID: eventID, attempt: attempt)] }
    }

    /// Remembers a journal this process has just written, or forgets it once its run is published.
    func remember(_ journal: RunJournal) {
        let shed = journals.withLock { $0.set(journal.key, journal, size: 256 + journal.configs.count * 64) }
        shedding(shed, of: "run_journals")
    }

    func forget(journal key: String) {
        journals.withLock { $0.remove(key) }
    }

    var journalCount: Int { journals.withLock { $0.count } }

    /// Remembers a session ended by signing out, read or written by this process.
    func remember(_ revocation: SessionRevocation) {
        guard let until = Timestamp.date(from: revocation.until) else { return }
        _ = revokedSessions.withLock { $0.set(revocation.key, until) }
    }

    func isRevoked(session id: String, now: Date = Date()) -> Bool {
        revokedSessions.withLock { $0[SessionRevocation.key(session: id)] }.map { $0 > now } ?? false
    }

    /// Returns once the partition has been read past `offset`, so that everything written to it
    /// before a record (the pending approval before its decision) is known.
    func waitUntilRead(partition: Int32, offset: Int64, timeout: Duration) async -> Bool {
        await reader.waitUntilRead(partition: partition, offset: offset, timeout: timeout)
    }

    /// Returns once every partition has been read up to where it ended when this was called.
    func catchUp(timeout: Duration) async throws {
        try await reader.catchUp(timeout: timeout)
    }

    var count: Int { approvals.withLock { $0.pending.count + $0.decided.count } }

    var all: [ApprovalRecord] { approvals.withLock { $0.pending.values.map(\.record) + $0.decided.values.map(\.record) } }

    /// Why the store stopped reading the approvals topic, if it did.
    var readerFailure: KafkaError? { reader.failure }

    func stop() async {
        await reader.stop()
    }
}
