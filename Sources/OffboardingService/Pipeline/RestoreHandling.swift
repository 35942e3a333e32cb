import Foundation
import Logging
import OffboardingCore
import OffboardingKafka

/// A restore event: the offboarding it names is looked up on the results topic when the event is
/// processed, so that follow-ups published since the request are part of it, and undone through
/// the same run, publishing and offset handling as an offboarding.
extension OffboardingPipeline {
    func processRestore(_ event: CompanyStatusChangedEvent, options: OffboardingOptions, work: Work, logger: Logger) async {
        let restores = event.restores ?? ""
        var logger = logger
        logger[metadataKey: "offboarding.restores"] = "\(restores)"
        let request = OffboardingRequest(
            eventID: event.id, trigger: .restore, client: .id(event.companyID), clientNameHint: event.companyName, options: options,
            eventSource: event.source)
        let plan: Result<RestorePlan, RestoreRefusal>
        do {
            let results = try await self.results(of: restores)
            plan = Result { () throws(RestoreRefusal) in try RestorePlan.make(eventID: restores, from: results) }
        } catch {
            plan = .failure(RestoreRefusal(.notRestorable, "the results topic could not be read to find offboarding \(restores) (\(error)); ask again"))
        }
        if case .failure(let refusal) = plan { logger.warning("restore refused", metadata: ["offboarding.error": "\(refusal.message)"]) }
        let offboarder = self.offboarder
        let psa = configuration.psa
        await runAndPublish(work, request: request, attempt: 1, journalAttempt: 1, logger: logger) { _ in
            switch plan {
            case .success(let plan):
                return await offboarder.restore(
                    .init(eventID: event.id, plan: plan, dryRun: options.dryRun, reason: options.reason, requestedBy: event.requestedBy))
            case .failure(let refusal):
                return Offboarder.Outcome(result: .refusedRestore(of: event, psa: psa, options: options, refusal: refusal))
            }
        }
    }
}

extension OffboardingPipeline {
    /// Every result published for the event, from the results topic's beginning. An event the
    /// ledger knows it has never seen (it holds every event of the topic) is answered without a
    /// read. A read waits for a slot among the few that may run at once, or, for a request from the
    /// HTTP API (`waiting` false), is refused with `RestoreReadsBusy` while every slot is taken.
    func results(of eventID: String, waiting: Bool = true) async throws -> [OffboardingResult] {
        let partitions = try await producer.partitionCount(of: configuration.topics.results)
        // A partition added since the ledger started is one it does not read.
        if let ledger = ledger.withLock({ $0 }), ledger.knowsEveryEvent, ledger.partitionCount == partitions,
            try await !ledger.knows(eventID: eventID, timeout: .seconds(10))
        {
            return []
        }
        if !waiting, restoreReads.isFull { throw RestoreReadsBusy() }
        return try await restoreReads.read {
            try await ResultHistory.results(
                of: eventID, bootstrapServers: configuration.consumer.bootstrapServers, topic: configuration.topics.results,
                partitionCount: partitions, properties: readerProperties, signer: configuration.signer, logger: logger)
        }
    }
}

/// Every slot for reading the results topic is taken; the request may be made again shortly.
struct RestoreReadsBusy: Error, CustomStringConvertible {
    var description: String { "every read of the results topic for a restore is taken; try again shortly" }
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
