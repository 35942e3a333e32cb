import Foundation
import OffboardingCore
import OffboardingKafka

/// What the HTTP side and the probes ask of the running pipeline: its health, and what it has read
/// of the results and approvals topics.
extension OffboardingPipeline {
    /// Whether the poll loop turns and the work in flight moves; for liveness probes.
    public func health() -> PipelineHealth {
        let beats = heartbeat.beats.withLock { $0 }
        let inFlight = recordsInFlight
        let assigned = consumer.assignment.count
        let now = ContinuousClock.now
        let state: PipelineHealth.State
        if beats.stopped {
            state = .stopped
        } else if let failure = views.approvals.withLock({ $0 })?.readerFailure {
            // Decisions and journals would go unread: restarting is the remedy. The log has the
            // error; the health routes answer anyone, so only its kind is named here.
            state = .stalled(reason: "the approvals topic reader stopped (kafka \(failure.code))")
        } else if let failure = views.ledger.withLock({ $0 })?.readerFailure {
            state = .stalled(reason: "the results topic reader stopped (kafka \(failure.code))")
        } else if let lastPoll = beats.lastPoll, now - lastPoll > configuration.pollStallTimeout {
            state = .stalled(reason: "the poll loop has not turned for \(now - lastPoll)")
        } else if beats.waitingOnPSA > 0 {
            state = .waitingOnPSA(reason: "\(beats.waitingOnPSA) records wait for the PSA: \(beats.outage)")
        } else if inFlight > 0, now - beats.lastProgress > configuration.progressStallTimeout {
            state = .stalled(reason: "\(inFlight) records in flight and no progress for \(now - beats.lastProgress)")
        } else if beats.lastPoll == nil || assigned == 0 {
            state = .starting
        } else {
            state = .healthy
        }
        return PipelineHealth(state: state, recordsInFlight: inFlight, partitionsAssigned: assigned)
    }

    /// The partitions this member owns now.
    public var assignment: Set<KafkaTopicPartition> { consumer.assignment }

    /// What `GET /v1/offboardings/{event_id}` answers.
    public enum HeldResult: Sendable {
        /// The results topic has not been read yet.
        case notReady
        case none
        case found([UInt8])
    }

    public func latestResult(for eventID: String) -> HeldResult {
        guard let ledger = views.ledger.withLock({ $0 }) else { return .notReady }
        return ledger.latestResult(for: eventID).map(HeldResult.found) ?? .none
    }

    /// The latest result of the events most recently published for, newest first; nil before
    /// the results topic was read.
    public func recentResults(limit: Int) -> [[UInt8]]? {
        views.ledger.withLock { $0 }?.recentResults(limit: limit)
    }

    /// The approval as this replica has read it from the approvals topic; nil when unknown or not read yet.
    public func approval(_ id: String) -> ApprovalRecord? {
        views.approvals.withLock { $0 }?.approval(id)
    }

    /// A decision taken on a pending approval that its run has not finished yet.
    public func decision(on approvalID: String) -> ApprovalDecision? {
        views.approvals.withLock { $0 }?.decision(on: approvalID)
    }

    /// Remembers a decision this process has just written, before its own reader gets to it.
    func remember(_ decision: ApprovalDecision) {
        views.approvals.withLock { $0 }?.remember(decision)
    }

    public var approvalsReady: Bool { views.approvals.withLock { $0 } != nil }

    /// The approvals waiting for a decision, as this replica read the approvals topic; nil before it was read.
    public var pendingApprovals: Int? { views.approvals.withLock { $0 }?.pendingCount }

    /// The approvals waiting for a decision, oldest first; nil before the approvals topic was read.
    public var pendingApprovalRecords: [ApprovalRecord]? { views.approvals.withLock { $0 }?.pending }

    /// Whether a console session was ended by signing out, as this replica read the approvals topic;
    /// before the topic is read, every session counts as ended (a page then asks to sign in again).
    public func isSessionRevoked(_ id: String) -> Bool {
        views.approvals.withLock { $0 }?.isRevoked(session: id) ?? true
    }

    /// Remembers a sign-out this process has just written, before its own reader gets to it.
    func remember(_ revocation: SessionRevocation) {
        views.approvals.withLock { $0 }?.remember(revocation)
    }
}
