import Foundation
import Logging
import OffboardingCore
import OffboardingKafka

/// Expires, on the member that owns their partition, approvals left pending past their expiry, and
/// tombstones decided ones past the retention. An approval is decided once: the expiry decides
/// inside the store's gate, as a decision does.
struct ApprovalExpiry: Sendable {
    /// How often approvals past their expiry are looked for.
    let interval: Duration
    /// How long a decided approval stays on the approvals topic before it is tombstoned (its
    /// result, with the decision, is on the results topic).
    let decidedRetention: Duration
    let psa: PSAKind
    let approvalsTopic: String
    let consumer: KafkaConsumer
    let offboarder: Offboarder
    let publisher: OutcomePublisher
    let stopSignal: StopSignal
    let logger: Logger

    func run(_ store: ApprovalsTopicView) async {
        while await stopSignal.sleep(for: interval) {
            let owned = Set(consumer.assignment.filter { $0.topic == approvalsTopic }.map(\.partition))
            guard !owned.isEmpty else { continue }
            for candidate in store.expired(at: Date(), in: owned) where candidate.psa == psa {
                _ = await store.gate.withDecisionIfFree(on: candidate.approvalID) {
                    // A decision may have ended it since the list was taken.
                    guard let approval = store.approval(candidate.approvalID), approval.state == .pending else { return }
                    var logger = logger
                    logger[metadataKey: "offboarding.approval.id"] = "\(approval.approvalID)"
                    await publisher.expire(approval, result: offboarder.decline(approval, state: .expired, decision: nil), logger: logger)
                    logger.info("approval expired without a decision")
                }
            }
            // Keeps the compacted topic (and every replica's memory) to what can still change.
            let cutoff = Date().addingTimeInterval(-decidedRetention.seconds)
            for approval in store.decided(before: cutoff, in: owned) {
                guard await publisher.tombstone(approval: approval.approvalID, logger: logger) else { break }
            }
        }
    }
}
