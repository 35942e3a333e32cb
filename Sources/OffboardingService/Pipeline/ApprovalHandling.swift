import Foundation
import Logging
import OffboardingCore
import OffboardingKafka

/// The approvals topic: states written by runs (read by the store), decisions carried out or
/// declined on the member that owns their partition, and approvals expired there. An approval is
/// decided once: the decision and the expiry both decide inside the store's gate.
extension OffboardingPipeline {
    /// Writes an approval's state to the approvals topic.
    func keep(_ approval: ApprovalRecord, logger: Logger) async -> PublishOutcome {
        let store = approvals.withLock { $0 }
        if approval.state == .pending, let known = store?.approval(approval.approvalID), known.state != .pending {
            // A run repeated after a crash: the approval was decided meanwhile and stays so.
            return .published
        }
        let record = KafkaOutgoingRecord(
            topic: configuration.topics.approvals, key: approval.approvalID, value: ApprovalMessage.record(approval).encoded(),
            headers: publishedHeaders(eventID: approval.eventID, source: approval.eventSource))
        let outcome = await publish(record, logger: logger)
        if case .published = outcome {
            store?.remember(approval, partition: nil)
            statistics.update { approval.state == .pending ? ($0.approvalsRequested += 1) : ($0.approvalsDecided += 1) }
        }
        return outcome
    }

    /// A record of the approvals topic, or a decision moved to the retry topic after an outage
    /// (`attempt` 2 and on). States and journals are only read by the store; a decision carries
    /// out or declines the approval it names.
    func processApproval(_ work: Work, attempt: Int = 1, logger: Logger) async {
        let message: ApprovalMessage
        do {
            message = try ApprovalMessage.decode(work.record.value)
        } catch {
            if work.record.value == nil, work.record.topic == configuration.topics.approvals {
                // A tombstone (a finished run's journal): nothing to do.
                complete(work, logger: logger)
                return
            }
            logger.warning("invalid approval record dead-lettered", metadata: ["offboarding.error": "\(error.message)"])
            await deadLetter(work, code: .invalidEvent, reason: error.message, logger: logger)
            return
        }
        guard case .decision(let decision) = message else {
            complete(work, logger: logger)
            return
        }
        var logger = logger
        logger[metadataKey: "offboarding.approval.id"] = "\(decision.approvalID)"
        guard let store = approvals.withLock({ $0 }) else { return }
        // The pending state precedes its decision in the same partition (same key); a decision
        // from the retry topic was read there long after.
        if work.record.topic == configuration.topics.approvals {
            guard await store.waitUntilRead(partition: work.record.partition, offset: work.record.offset, timeout: .seconds(30)) else {
                logger.error("approvals topic not read up to the decision; it waits for redelivery")
                return
            }
        }
        await store.gate.withDecision(on: decision.approvalID) {
            await decide(decision, work: work, attempt: attempt, store: store, logger: logger)
        }
    }

    private func decide(_ decision: ApprovalDecision, work: Work, attempt: Int, store: ApprovalStore, logger: Logger) async {
        guard let approval = store.approval(decision.approvalID) else {
            await deadLetter(work, code: .invalidEvent, reason: "approval \(decision.approvalID) is not known", logger: logger)
            return
        }
        guard approval.state == .pending else {
            statistics.update { $0.approvalDecisionsIgnored += 1 }
            logger.info("approval already \(approval.state); decision ignored", metadata: ["offboarding.approver": "\(decision.approver)"])
            complete(work, logger: logger)
            return
        }
        guard approval.psa == configuration.psa else {
            await deadLetter(work, code: .psaMismatch, reason: "approval is for \(approval.psa) but this consumer serves \(configuration.psa)", logger: logger)
            return
        }
        let offboarder = self.offboarder
        let state: ApprovalState
        let run: @Sendable (Offboarder.Journaling) async -> Offboarder.Outcome
        if approval.isExpired(at: Date()) {
            state = .expired
            run = { _ in Offboarder.Outcome(result: offboarder.decline(approval, state: .expired, decision: nil)) }
        } else if decision.decision == .reject {
            state = .rejected
            run = { _ in Offboarder.Outcome(result: offboarder.decline(approval, state: .rejected, decision: decision)) }
        } else {
            state = .approved
            run = { journaling in await offboarder.execute(approval, decision: decision, journaling: journaling) }
        }
        logger.info("approval \(state)", metadata: ["offboarding.approver": "\(decision.approver)"])
        var final = approval
        final.state = state
        final.decision = state == .expired ? nil : decision
        let finalState = final
        let approvalLogger = logger
        await runAndPublish(work, request: approval.request(dryRun: configuration.defaults.dryRun), attempt: attempt, journalAttempt: 1, logger: logger, run: run) {
            switch await self.keep(finalState, logger: approvalLogger) {
            case .published: return true
            case .stopping: return false
            case .rejected(let error):
                // The result is out; a final state the broker refuses must not pin the partition.
                approvalLogger.critical("final approval state refused by the broker; the result stands", metadata: ["kafka.error": "\(error)"])
                return true
            }
        }
    }

    /// Expires, on the member that owns their partition, approvals left pending past their expiry.
    func expireApprovals(_ store: ApprovalStore) async {
        while await stopSignal.sleep(for: configuration.approvalExpiryInterval) {
            let owned = Set(approvalsConsumer.assignment.filter { $0.topic == configuration.topics.approvals }.map(\.partition))
            guard !owned.isEmpty else { continue }
            for candidate in store.expired(at: Date(), in: owned) where candidate.psa == configuration.psa {
                _ = await store.gate.withDecisionIfFree(on: candidate.approvalID) {
                    // A decision may have ended it since the list was taken.
                    guard let approval = store.approval(candidate.approvalID), approval.state == .pending else { return }
                    await expire(approval, logger: logger)
                }
            }
            await tombstoneDecided(store, in: owned)
        }
    }

    /// Keeps the compacted topic (and every replica's memory) to what can still change: decided
    /// approvals past the retention get a tombstone.
    private func tombstoneDecided(_ store: ApprovalStore, in owned: Set<Int32>) async {
        let cutoff = Date().addingTimeInterval(-configuration.decidedApprovalRetention.seconds)
        for approval in store.decided(before: cutoff, in: owned) {
            let tombstone = KafkaOutgoingRecord(topic: configuration.topics.approvals, key: approval.approvalID, value: nil, headers: [])
            guard case .published = await publish(tombstone, logger: logger) else { return }
            store.forget(approval: approval.approvalID)
        }
    }

    private func expire(_ approval: ApprovalRecord, logger: Logger) async {
        var logger = logger
        logger[metadataKey: "offboarding.approval.id"] = "\(approval.approvalID)"
        let result = offboarder.decline(approval, state: .expired, decision: nil)
        guard let value = try? ResultEncoding.encode(result) else { return }
        let record = KafkaOutgoingRecord(
            topic: configuration.topics.results, key: result.clientID, value: value, headers: publishedHeaders(eventID: approval.eventID, source: approval.eventSource))
        guard case .published = await publish(record, logger: logger) else { return }
        statistics.update { $0.resultsPublished += 1 }
        var final = approval
        final.state = .expired
        _ = await keep(final, logger: logger)
        logger.info("approval expired without a decision")
    }
}
