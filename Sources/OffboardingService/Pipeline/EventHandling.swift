import Foundation
import Logging
import OffboardingCore
import OffboardingKafka

/// One record: which handler it goes to, and the company-status-changed events themselves.
extension OffboardingPipeline {
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
        await RecordTracing.withSpan(for: record) {
            logger.debug("record started")
            // The retry and approvals topics are the service's own: what it did not sign, it does not act on.
            if record.topic == configuration.topics.retry || record.topic == configuration.topics.approvals, !configuration.signer.verifies(record) {
                await refuseUnsigned(work, logger: logger)
                return
            }
            switch record.topic {
            case configuration.topics.retry: await processRetry(work, logger: logger)
            case configuration.topics.approvals: await processApproval(work, logger: logger)
            default: await processEvent(work, attempt: 1, logger: logger)
            }
        }
    }

    /// A status report (event, webhook) is filtered by the status it reports when the status
    /// alone can decide (see `OffboardingCriteria.statusIsRequired`); a request (API, schedule,
    /// manual) always gets a result, and the run checks the PSA's current state.
    func isFiltered(_ event: CompanyStatusChangedEvent) -> Bool {
        guard reportsStatus(event), let statuses = filteringStatuses(event.options.resolved(defaults: configuration.defaults).offboardedStatuses) else {
            return false
        }
        return !configuration.criteria.with(statuses: statuses).isOffboarded(status: event.status)
    }

    /// The status names that let an event through the filter, or nil when an event's status
    /// cannot decide: other criteria may hold whatever the status, or the PSA's own inactive
    /// statuses are not known.
    func filteringStatuses(_ statuses: [String]) -> [String]? {
        guard configuration.criteria.statusIsRequired, inactiveStatusNames.withLock({ $0 }) != nil else { return nil }
        return offboardedNames(statuses)
    }

    /// The status names that count as offboarded: the given ones and those the PSA flags inactive.
    func offboardedNames(_ statuses: [String]) -> [String] {
        statuses + (inactiveStatusNames.withLock { $0 } ?? [])
    }

    func reportsStatus(_ event: CompanyStatusChangedEvent) -> Bool {
        event.trigger == .event || event.trigger == .webhook
    }

    /// An event from the events topic, or one moved to the retry topic after an outage (`attempt` 2 and on).
    func processEvent(_ work: Work, attempt: Int, logger: Logger) async {
        let record = work.record
        var logger = logger
        let event: CompanyStatusChangedEvent
        do {
            event = try CloudEventDecoder.decode(value: record.value, headers: record.headerStrings)
        } catch {
            logger.warning("invalid event dead-lettered", metadata: ["offboarding.error": "\(error.message)"])
            await deadLetter(work, code: .invalidEvent, reason: error.message, logger: logger)
            return
        }
        logger[metadataKey: "offboarding.event.id"] = "\(event.id)"
        guard event.psa == configuration.psa else {
            let reason = "event is for \(event.psa) but this consumer serves \(configuration.psa)"
            logger.warning("event for another PSA dead-lettered")
            await deadLetter(work, code: .psaMismatch, reason: reason, logger: logger)
            return
        }
        let options = event.options.resolved(defaults: configuration.defaults)
        guard !isFiltered(event) else {
            statistics.update { $0.filtered += 1 }
            logger.debug("event filtered: status is not an offboarded one", metadata: ["psa.company.status": "\(event.status)"])
            complete(work, logger: logger)
            return
        }
        if ledger.withLock({ $0 })?.contains(source: event.source, eventID: event.id) == true {
            statistics.update { $0.alreadyPublished += 1 }
            logger.info("event already has a result; not run again")
            complete(work, logger: logger)
            return
        }
        if event.trigger == .restore {
            // Only the service's own API asks for a restore: one it did not sign is not acted on.
            guard configuration.signer.verifies(record) else {
                await refuseUnsigned(work, logger: logger)
                return
            }
            await processRestore(event, options: options, work: work, logger: logger)
            return
        }
        let request = OffboardingRequest(
            eventID: event.id, trigger: event.trigger, client: .id(event.companyID), clientNameHint: event.companyName, options: options,
            eventSource: event.source)
        let offboarder = self.offboarder
        // A status report let through only because other criteria might hold is a filtered event,
        // not a result, when the PSA says none does.
        let quietWhenNotOffboarded =
            reportsStatus(event) && !configuration.criteria.with(statuses: offboardedNames(options.offboardedStatuses)).isOffboarded(status: event.status)
        await runAndPublish(work, request: request, attempt: attempt, journalAttempt: 1, logger: logger, quietWhenNotOffboarded: quietWhenNotOffboarded) { journaling in
            await offboarder.runDetailed(request, journaling: journaling)
        }
    }

    /// A record that claims the service's authority without its signature: dead-lettered, nothing done.
    func refuseUnsigned(_ work: Work, logger: Logger) async {
        statistics.update { $0.unauthenticated += 1 }
        logger.warning("record without a valid signature of this service dead-lettered; nothing was done with it")
        await deadLetter(
            work, code: .unauthenticatedRecord,
            reason: "the record has no valid \(RecordSigner.header) of this service (security.signing_keys); nothing was done with it", logger: logger)
    }
}
