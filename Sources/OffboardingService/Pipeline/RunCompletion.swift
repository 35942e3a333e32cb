import Foundation
import Logging
import OffboardingCore
import OffboardingKafka

/// From a run to a final outcome: wait out a PSA outage (bounded), keep the run's journal before
/// its writes, send what failed transiently onward, publish the result, and only then store the
/// offset. A stop or a cancellation on the way leaves the offset unstored: the record is
/// redelivered and its journal lets the rerun report what was already changed.
extension OffboardingPipeline {
    func runAndPublish(
        _ work: Work, request: OffboardingRequest, attempt: Int, journalAttempt: Int, logger: Logger,
        retrying: [PSAConfiguration]? = nil, retryingStates: [String: OffboardingResult.PSAPrevious] = [:], retryingGrant: RetryRequest.ApprovalGrant? = nil,
        quietWhenNotOffboarded: Bool = false,
        run: @escaping @Sendable (Offboarder.Journaling) async -> Offboarder.Outcome,
        then afterPublishing: @Sendable () async -> Bool = { true }
    ) async {
        let store = approvals.withLock { $0 }
        let earlier = await interruptedRun(eventID: request.eventID, attempt: journalAttempt, store: store)
        if earlier != nil {
            statistics.update { $0.runsResumed += 1 }
            logger.warning("an earlier run of this event stopped before its result; this run finishes it")
        }
        let journaling = Offboarder.Journaling(earlier: earlier) { [self] journal in await keep(journal, logger: logger) }
        var outcome = await run(journaling)
        if let outage = outcome.outage {
            // Nothing was changed and nothing is lost: keep the offset and try again later, so that
            // the offboarding happens once the PSA is back instead of ending as a failure result.
            // The health routes answer anyone: the code and status only, never the PSA's own text.
            heartbeat.outageBegan("\(outage.code)" + (outage.httpStatus.map { ", HTTP \($0)" } ?? ""))
            let deadline = ContinuousClock.now + configuration.outageMaxWait
            var backoff = configuration.outageBackoff
            var current: PSAError? = outage
            while let error = current {
                guard ContinuousClock.now + backoff <= deadline else { break }
                statistics.update { $0.outageRetries += 1 }
                logger.error("PSA unreachable; the record waits", metadata: ["psa.error": "\(error.description)", "retry.after": "\(backoff)"])
                guard await stopSignal.sleep(for: backoff) else {
                    heartbeat.outageEnded()
                    return
                }
                backoff = min(backoff * 2, configuration.maxOutageBackoff)
                outcome = await run(journaling)
                current = outcome.outage
            }
            heartbeat.outageEnded()
            if let error = current {
                await deferAfterOutage(
                    work, request: request, retrying: retrying, retryingStates: retryingStates, retryingGrant: retryingGrant, attempt: attempt, error: error,
                    logger: logger)
                return
            }
        }
        // Cancelled at the end of the shutdown grace, or the journal could not be kept: no final
        // outcome, so nothing is published and the record is redelivered.
        guard !Task.isCancelled, !outcome.interrupted else { return }
        if quietWhenNotOffboarded, outcome.notOffboarded {
            statistics.update { $0.filtered += 1 }
            logger.debug("event filtered: the client meets none of the criteria in the PSA")
            complete(work, logger: logger)
            return
        }
        let result = outcome.result
        if let approval = outcome.pendingApproval {
            // Kept before the result is visible, so that whoever reads the result can approve it.
            switch await keep(approval, logger: logger) {
            case .published: break
            case .stopping: return
            case .rejected(let error):
                await deadLetter(work, code: .processingFailed, reason: "the pending approval could not be kept on the approvals topic: \(error)", logger: logger)
                return
            }
        }
        let value: [UInt8]
        do {
            value = try ResultEncoding.encode(result)
        } catch {
            await deadLetter(work, code: .processingFailed, reason: "the result could not be encoded: \(error)", logger: logger)
            return
        }
        // The retry request goes first: a crash between the two leaves no result, so the event is
        // run again (and finds its journal) rather than skipped by the ledger with its retry lost.
        if !outcome.retriable.isEmpty {
            let lastError = result.errors.first { $0.configID == outcome.retriable.first?.id }?.message ?? "update failed"
            guard await sendOnward(
                outcome.retriable, statesBefore: outcome.statesBefore, grant: outcome.grant, of: request, clientID: result.clientID, clientName: result.clientName, error: lastError, after: attempt, work: work,
                logger: logger)
            else { return }
        }
        var headers = publishedHeaders(eventID: request.eventID, source: request.eventSource)
        if attempt > 1 { headers.append(KafkaHeader(key: "offboarding.attempt", string: String(attempt))) }
        switch await publish(KafkaOutgoingRecord(topic: configuration.topics.results, key: result.clientID, value: value, headers: headers), logger: logger) {
        case .published:
            statistics.update { $0.resultsPublished += 1 }
            ServiceMetrics.published(result)
            if attempt == 1 { ledger.withLock { $0 }?.record(source: request.eventSource, eventID: request.eventID) }
        case .stopping:
            return
        case .rejected(let error):
            // A poison record: its result can never be published. Dead-lettering it, with the
            // reason, unblocks its partition and leaves it visible to operators.
            logger.error("result cannot be published; record dead-lettered", metadata: ["kafka.error": "\(error)"])
            await deadLetter(
                work, code: .processingFailed,
                reason: "the result (\(value.count) bytes, success \(result.success), \(result.statistics.configsDeactivated) deactivated) could not be published: \(error)",
                logger: logger)
            return
        }
        await forgetJournal(eventID: request.eventID, attempt: journalAttempt, store: store, logger: logger)
        guard await afterPublishing() else { return }
        complete(work, logger: logger)
    }

    /// The journal an interrupted run of this event and attempt left. The store read the topic
    /// to its end at start-up and again when partitions were assigned, so a journal written by
    /// this partition's previous owner is known.
    private func interruptedRun(eventID: String, attempt: Int, store: ApprovalStore?) async -> RunJournal? {
        guard let store else { return nil }
        await journalsRead.withLock { $0 }?.value
        return store.journal(eventID: eventID, attempt: attempt)
    }

    /// Keeps a run's journal before its first write; false when the pipeline stopped first
    /// (nothing is written then).
    private func keep(_ journal: RunJournal, logger: Logger) async -> Bool {
        let record = KafkaOutgoingRecord(
            topic: configuration.topics.approvals, key: journal.key, value: ApprovalMessage.journal(journal).encoded(),
            headers: publishedHeaders(eventID: journal.eventID, source: nil))
        switch await publish(record, logger: logger) {
        case .published:
            approvals.withLock { $0 }?.remember(journal)
            return true
        case .stopping:
            return false
        case .rejected(let error):
            // Refused for good (too large): the run goes on; only a rerun after a crash in the
            // middle of it would not know what it changed.
            logger.error("run journal refused by the broker; the run goes on without one", metadata: ["kafka.error": "\(error)"])
            return true
        }
    }

    /// A tombstone for a published run's journal; compaction then removes it. Losing it is
    /// harmless: the event has a result, so it is not run again.
    private func forgetJournal(eventID: String, attempt: Int, store: ApprovalStore?, logger: Logger) async {
        let key = RunJournal.key(eventID: eventID, attempt: attempt)
        guard let store, store.journal(eventID: eventID, attempt: attempt) != nil else { return }
        store.forget(journal: key)
        _ = await publish(KafkaOutgoingRecord(topic: configuration.topics.approvals, key: key, value: nil, headers: []), logger: logger)
    }
}
