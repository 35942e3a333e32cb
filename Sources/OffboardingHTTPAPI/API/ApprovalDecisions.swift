import Foundation
import Logging
import OffboardingCore

/// Taking a decision on a pending approval, the same way from the JSON API and the console: the
/// approval must be known, pending and unexpired; the decision goes to the approvals topic, where
/// the replica that owns the approval carries it out.
struct ApprovalDecisions: Sendable {
    let backend: any OffboardingBackend
    let logger: Logger

    enum Outcome: Sendable, Hashable {
        case accepted(eventID: String)
        case invalid(String)
        case notFound
        case alreadyDecided(ApprovalState)
        /// A decision was taken and its run has not written the final state yet.
        case decisionTaken(ApprovalDecision)
        case expired(at: String)
        case kafkaUnavailable
    }

    static let maxApproverLength = 200
    static let maxCommentLength = 4000

    /// - Parameter keep: configurations of the approval the reviewer keeps out; only with `approve`,
    ///   and not all of them (that is a rejection).
    func decide(approvalID: String, verdict: ApprovalDecision.Verdict, approver: String, comment: String?, keep: [String] = []) async -> Outcome {
        let approver = approver.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !approver.isEmpty else { return .invalid("approver is required") }
        guard approver.count <= Self.maxApproverLength else { return .invalid("approver is longer than \(Self.maxApproverLength) characters") }
        guard (comment?.count ?? 0) <= Self.maxCommentLength else { return .invalid("comment is longer than \(Self.maxCommentLength) characters") }
        guard let approval = backend.approval(approvalID) else { return .notFound }
        guard approval.state == .pending else { return .alreadyDecided(approval.state) }
        guard !approval.isExpired(at: Date()) else { return .expired(at: approval.expiresAt) }
        if let taken = backend.decision(on: approvalID) { return .decisionTaken(taken) }
        let kept = Set(keep)
        if !kept.isEmpty {
            guard verdict == .approve else { return .invalid("keep is only for approve: a rejection keeps every configuration") }
            let listed = Set(approval.configs.map(\.configID))
            if let stranger = kept.subtracting(listed).sorted().first {
                return .invalid("configuration \(stranger) in keep is not one of the approval's configurations")
            }
            guard kept.count < listed.count else { return .invalid("keep lists every configuration of the approval: reject it instead") }
        }
        let decision = ApprovalDecision(
            approvalID: approvalID, decision: verdict, approver: approver, comment: comment, decidedAt: Timestamp.string(Date()),
            keep: kept.isEmpty ? nil : approval.configs.map(\.configID).filter(kept.contains))
        do {
            try await backend.submit(decision)
        } catch {
            logger.error("approval decision not written", metadata: ["kafka.error": "\(error)"])
            return .kafkaUnavailable
        }
        logger.info("approval decision written", metadata: ["offboarding.approval.id": "\(approvalID)", "offboarding.decision": "\(verdict.rawValue)"])
        return .accepted(eventID: approval.eventID)
    }
}
