import Foundation
import Logging
import OffboardingCore

/// Runs what the admission let through: the run's journal before its writes (and an interrupted
/// run's journal found), the run itself, and a PSA outage waited out in place, bounded by
/// `retry.outage_max_wait`. Publishes nothing: the outcome goes back to the caller.
struct RunDriver: Sendable {
    struct Configuration: Sendable {
        /// While the PSA cannot be reached, a record is tried again after this, doubling up to
        /// `maxOutageBackoff`; its offset stays unstored meanwhile.
        var outageBackoff: Duration
        var maxOutageBackoff: Duration
        /// How long a record waits out an outage in place before it moves to the retry topic.
        var outageMaxWait: Duration
    }

    enum Ending {
        case ran(Offboarder.Outcome)
        /// Stopped or cancelled on the way, or the journal could not be kept: nothing final.
        case stopped
        /// The PSA stayed unreachable past `outageMaxWait`; nothing was changed.
        case outlasted(PSAError)
    }

    let configuration: Configuration
    let offboarder: Offboarder
    let publisher: OutcomePublisher
    let restores: RestoreLookup
    let views: PipelineViews
    let heartbeat: PipelineHeartbeat
    let stopSignal: StopSignal

    private var statistics: PipelineStatistics { publisher.statistics }

    func drive(_ order: Admission.Order, logger: Logger) async -> Ending {
        let run = await prepare(order, logger: logger)
        let earlier = await interruptedRun(eventID: order.request.eventID, attempt: order.journalAttempt)
        if earlier != nil {
            statistics.update { $0.runsResumed += 1 }
            logger.warning("an earlier run of this event stopped before its result; this run finishes it")
        }
        var outcome = await run(earlier)
        if let outage = outcome?.outage {
            // Nothing was changed and nothing is lost: keep the offset and try again later, so that
            // the offboarding happens once the PSA is back instead of ending as a failure result.
            // The health routes answer anyone: the code and status only, never the PSA's own text.
            heartbeat.outageBegan("\(outage.code)" + (outage.httpStatus.map { ", HTTP \($0)" } ?? ""))
            defer { heartbeat.outageEnded() }
            let deadline = ContinuousClock.now + configuration.outageMaxWait
            var backoff = configuration.outageBackoff
            var current: PSAError? = outage
            while let error = current {
                guard ContinuousClock.now + backoff <= deadline else { return .outlasted(error) }
                statistics.update { $0.outageRetries += 1 }
                logger.error("PSA unreachable; the record waits", metadata: ["psa.error": "\(error.description)", "retry.after": "\(backoff)"])
                guard await stopSignal.sleep(for: backoff) else { return .stopped }
                backoff = min(backoff * 2, configuration.maxOutageBackoff)
                outcome = await run(earlier)
                current = outcome?.outage
            }
        }
        // Cancelled at the end of the shutdown grace, or the journal could not be kept: no final
        // outcome, so nothing is published and the record is redelivered.
        guard !Task.isCancelled, let outcome else { return .stopped }
        return .ran(outcome)
    }

    /// The run the order asks for, repeatable through an outage: planned, its journal kept before
    /// the first write, then written. Nil when the journal could not be kept (nothing was written).
    /// A restore's plan is read once, when the record is processed, so that follow-ups published
    /// since the request are part of it.
    private func prepare(_ order: Admission.Order, logger: Logger) async -> @Sendable (RunJournal?) async -> Offboarder.Outcome? {
        let (offboarder, publisher) = (self.offboarder, self.publisher)
        let request = order.request
        let job: Offboarder.Job
        switch order.work {
        case .offboard:
            job = .offboard(request)
        case .retry(let retry):
            job = .retry(retry.configurations, for: request, attempt: retry.attempt, statesBefore: retry.statesBefore, grant: retry.approval)
        case .execute(let approval, let decision):
            job = .execute(approval, decision)
        case .decline(let approval, let state, let decision):
            return { _ in Offboarder.Outcome(result: offboarder.decline(approval, state: state, decision: decision)) }
        case .restore(let event):
            let restores = event.restores ?? ""
            let plan: Result<RestorePlan, RestoreRefusal>
            do {
                plan = .success(try await self.restores.plan(of: restores))
            } catch let refusal as RestoreRefusal {
                plan = .failure(refusal)
            } catch {
                plan = .failure(RestoreRefusal(.notRestorable, "the results topic could not be read to find offboarding \(restores) (\(error)); ask again"))
            }
            if case .failure(let refusal) = plan { logger.warning("restore refused", metadata: ["offboarding.error": "\(refusal.message)"]) }
            let (options, psa) = (request.options, offboarder.psa.kind)
            return { _ in
                switch plan {
                case .success(let plan):
                    await offboarder.restore(
                        .init(eventID: event.id, plan: plan, dryRun: options.dryRun, reason: options.reason, requestedBy: event.requestedBy))
                case .failure(let refusal):
                    Offboarder.Outcome(result: .refusedRestore(of: event, psa: psa, options: options, refusal: refusal))
                }
            }
        }
        return { earlier in
            switch await offboarder.plan(job, earlier: earlier) {
            case .finished(let outcome):
                return outcome
            case .writes(let plan):
                if let journal = plan.journal, !(await publisher.write(journal: journal, logger: logger)) { return nil }
                return await offboarder.write(plan)
            }
        }
    }

    /// The journal an interrupted run of this event and attempt left. The store read the topic
    /// to its end at start-up and again when partitions were assigned, so a journal written by
    /// this partition's previous owner is known.
    private func interruptedRun(eventID: String, attempt: Int) async -> RunJournal? {
        guard let store = views.approvals.withLock({ $0 }) else { return nil }
        await views.journalsRead.withLock { $0 }?.value
        return store.journal(eventID: eventID, attempt: attempt)
    }
}

extension OffboardingResult {
    /// The result of a restore that found nothing it may undo: a failure that changed nothing.
    static func refusedRestore(
        of event: CompanyStatusChangedEvent, psa: PSAKind, options: OffboardingOptions, refusal: RestoreRefusal
    ) -> OffboardingResult {
        let now = Timestamp.string(Date())
        var result = OffboardingResult(
            success: false, eventID: event.id, trigger: .restore, psa: psa, clientID: event.companyID, clientName: event.companyName, timestamp: now,
            dryRun: options.dryRun, reason: options.reason, errors: [.init(code: .notRestorable, message: refusal.message, timestamp: now)])
        result.restores = event.restores
        result.requestedBy = event.requestedBy
        result.statistics.configsRestored = 0
        return result
    }
}
