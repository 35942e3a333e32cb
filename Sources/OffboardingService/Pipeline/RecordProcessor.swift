import Foundation
import Logging
import OffboardingCore
import OffboardingKafka

/// One record from its start to its end, the one place that end is decided: the admission's
/// verdict, then a dead letter, a filtered or duplicate record finished as it is, or a run whose
/// outcome the publisher writes; and only when that end is final, its offset.
struct RecordProcessor: Sendable {
    let admission: @Sendable () -> Admission
    let views: PipelineViews
    let driver: RunDriver
    let publisher: OutcomePublisher
    let committer: OffsetCommitter
    let tracker: OffsetTracker
    let statistics: PipelineStatistics
    let logger: Logger

    func process(_ work: Work) async {
        guard tracker.start(work.token) else {
            // Its partition is being revoked: the next owner reads it from the last commit.
            statistics.update { $0.leftForNextOwner += 1 }
            return
        }
        // Some paths end without a final outcome (the pipeline stopping): a revocation must not wait for them.
        defer { tracker.ended(work.token) }
        let record = work.record
        var logger = self.logger
        logger[metadataKey: "kafka.topic"] = "\(record.topic)"
        logger[metadataKey: "kafka.partition"] = "\(record.partition)"
        logger[metadataKey: "kafka.offset"] = "\(record.offset)"
        if let eventID = work.inbound.eventID { logger[metadataKey: "offboarding.event.id"] = "\(eventID)" }
        if work.inbound.attempt > 1 { logger[metadataKey: "offboarding.attempt"] = "\(work.inbound.attempt)" }
        if case .decision(let decision) = work.inbound.content { logger[metadataKey: "offboarding.approval.id"] = "\(decision.approvalID)" }
        await RecordTracing.withSpan(for: record) { [logger] in
            logger.debug("record started")
            let final: Bool
            if case .decision(let decision) = work.inbound.content, work.inbound.signed {
                final = await decide(decision, work: work, logger: logger)
            } else {
                final = await end(work, as: admission().verdict(for: work.inbound, ledger: views.admissionLedger()), logger: logger)
            }
            if final { committer.complete(work.token) }
        }
    }

    /// A decision is judged inside its approval's gate, after the approvals topic was read up to
    /// it, so that the approval it names is current and decided once.
    private func decide(_ decision: ApprovalDecision, work: Work, logger: Logger) async -> Bool {
        guard let store = views.approvals.withLock({ $0 }) else { return false }
        // The pending state precedes its decision in the same partition (same key); a decision
        // from the retry topic was read there long after.
        if work.inbound.origin == .approvals {
            guard await store.waitUntilRead(partition: work.record.partition, offset: work.record.offset, timeout: .seconds(30)) else {
                logger.error("approvals topic not read up to the decision; it waits for redelivery")
                return false
            }
        }
        return await store.gate.withDecision(on: decision.approvalID) {
            await end(work, as: admission().verdict(for: work.inbound, ledger: views.admissionLedger()), logger: logger)
        }
    }

    /// Carries out the verdict; true when the record's end is final and its offset may be stored.
    private func end(_ work: Work, as verdict: Admission.Verdict, logger: Logger) async -> Bool {
        switch verdict {
        case .deadLetter(let code, let reason):
            if code == .unauthenticatedRecord {
                statistics.update { $0.unauthenticated += 1 }
                logger.warning("record without a valid signature of this service dead-lettered; nothing was done with it")
            } else {
                logger.warning("record dead-lettered", metadata: ["offboarding.error.code": "\(code.rawValue)", "offboarding.error": "\(reason)"])
            }
            return await publisher.deadLetter(work.record, code: code, reason: reason, logger: logger)
        case .filtered:
            statistics.update { $0.filtered += 1 }
            logger.debug("event filtered: status is not an offboarded one")
            return true
        case .duplicate:
            statistics.update { $0.alreadyPublished += 1 }
            logger.info("event already has a result; not run again")
            return true
        case .alreadyDecided(let state):
            statistics.update { $0.approvalDecisionsIgnored += 1 }
            logger.info("approval already \(state); decision ignored")
            return true
        case .nothingToDo:
            return true
        case .run(let order):
            if work.inbound.origin == .retry { statistics.update { $0.retriesRun += 1 } }
            if let final = order.finalApproval { logger.info("approval \(final.state)") }
            return await run(order, work: work, logger: logger)
        }
    }

    private func run(_ order: Admission.Order, work: Work, logger: Logger) async -> Bool {
        let published: OutcomePublisher.Published
        switch await driver.drive(order, logger: logger) {
        case .stopped:
            return false
        case .outlasted(let error):
            published = await publisher.deferAfterOutage(work.record, order: order, error: error, logger: logger)
        case .ran(let outcome):
            if order.filteredWhenNotOffboarded, outcome.notOffboarded {
                statistics.update { $0.filtered += 1 }
                logger.debug("event filtered: the client meets none of the criteria in the PSA")
                return true
            }
            published = await publisher.publish(outcome, of: order, source: work.record, logger: logger)
        }
        switch published {
        case .final: return true
        case .notFinal: return false
        case .refused(let reason): return await publisher.deadLetter(work.record, code: .processingFailed, reason: reason, logger: logger)
        }
    }
}
