import Foundation
import Logging

/// A planned run's writes: the batches, the read-back, the post-execution checks, and the result.
extension Offboarder {
    /// Deactivates the plan's configurations (batches, read-back, post-execution checks) and
    /// builds the result.
    public func write(_ plan: WritePlan) async -> Outcome {
        let (mode, company, listed, candidates, note) = (plan.mode, plan.company, plan.listed, plan.candidates, plan.note)
        var (result, outcomes) = (plan.result, plan.outcomes)
        var logger = self.logger
        logger[metadataKey: "offboarding.event.id"] = "\(result.eventID)"
        logger[metadataKey: "offboarding.client"] = "\(company.id)"
        let recoveredConfigs = plan.recovered
        var retriable: [PSAItem] = []
        var written = recoveredConfigs
        let updates = await deactivateAll(candidates, note: note, logger: logger)
        for (config, outcome) in updates {
            switch outcome {
            case .success(let updated):
                if updated.isActive {
                    outcomes[config.id] = failed(config, code: .configUpdateFailed, message: "the PSA still reports the configuration active after the update", into: &result)
                } else {
                    written.append(config)
                    outcomes[config.id] = deactivated(config, psaStatus: updated.psaStatus, into: &result)
                }
            case .failure(let error):
                // An update that could not get through is a failed update, whatever stopped it.
                let code: OffboardingErrorCode = error.code == .psaConnectionError ? .configUpdateFailed : error.code
                outcomes[config.id] = failed(config, code: code, message: error.description, into: &result)
                if error.isRetriable { retriable.append(config) }
            }
        }
        // A retriable failure may have landed before its answer was lost: the read-back tells.
        let unanswered = retriable
        if !written.isEmpty || !unanswered.isEmpty {
            async let findings = written.isEmpty ? [] : checkAfterwards(written, of: company, logger: logger)
            let confirmation = await confirmInactive(written, unanswered: unanswered, of: company, note: note, logger: logger)
            report(confirmation, of: written.count, into: &result, outcomes: &outcomes, retriable: &retriable)
            let landed = unanswered.filter { confirmation.landed[$0.id] != nil }
            // The checks ran beside the read-back on what was answered; writes found landed are
            // rare, and then the checks run again over everything deactivated.
            let answeredFindings = await findings
            result.warnings += landed.isEmpty ? answeredFindings : await checkAfterwards(written + landed, of: company, logger: logger)
            // What restoring needs: the state each had before this run, and the stamp it left.
            let resumedIDs = Set(recoveredConfigs.map(\.id))
            for config in written + landed where outcomes[config.id]?.action == .deactivated && !resumedIDs.contains(config.id) {
                outcomes[config.id]?.psaPrevious = stateBefore(config, mode: mode).map { before in
                    var previous = before
                    previous.lastModified = confirmation.stamps[config.id]
                    return previous
                }
            }
        }
        result.configs = listed.compactMap { outcomes[$0.id] }
        result.success = result.errors.isEmpty
        var statesBefore: [String: OffboardingResult.PSAPrevious] = [:]
        for config in retriable { statesBefore[config.id] = stateBefore(config, mode: mode) }
        logger.info(
            "offboarding finished",
            metadata: [
                "offboarding.configs.found": "\(result.statistics.configsFound)",
                "offboarding.configs.deactivated": "\(result.statistics.configsDeactivated)",
                "offboarding.errors": "\(result.statistics.errors)",
            ])
        var outcome = Outcome(result: result, retriable: retriable)
        outcome.statesBefore = statesBefore
        outcome.grant = mode.grant
        // The ticket names the approver, so it is written from the result as it is published.
        outcome = reportingApproval(outcome, mode: mode)
        await fileAuditTicket(for: &outcome.result, logger: logger)
        return outcome
    }

    /// The configuration's state before the offboarding: what a retry request carries, or what
    /// the listing showed when the configuration was still active. Nil where neither is known (a
    /// retry finding its own unanswered write applied, from a request that carries no state).
    func stateBefore(_ config: PSAItem, mode: Mode) -> OffboardingResult.PSAPrevious? {
        if case .retry(_, _, let carried, _) = mode, let before = carried[config.id] { return before }
        if case .approved(let approval) = mode, let before = approval.configs.first(where: { $0.configID == config.id })?.previous { return before }
        guard config.isActive else { return nil }
        return .init(active: true, status: config.statusID.map { .init(id: $0, name: config.psaStatus) })
    }

    /// Puts what the read-back showed into the result: a configuration still active after two
    /// writes is a failed one, retried later; ones that could not be read back are named.
    private func report(
        _ confirmation: Confirmation, of count: Int, into result: inout OffboardingResult, outcomes: inout [String: OffboardingResult.Config],
        retriable: inout [PSAItem]
    ) {
        for (id, found) in confirmation.landed.sorted(by: { $0.key < $1.key }) {
            guard let config = retriable.first(where: { $0.id == id }) else { continue }
            result.statistics.errors -= 1
            result.errors.removeAll { $0.configID == id }
            retriable.removeAll { $0.id == id }
            outcomes[id] = deactivated(config, psaStatus: found.psaStatus, into: &result)
        }
        result.statistics.configsConfirmed = confirmation.confirmed.count + confirmation.landed.count
        for config in confirmation.stillActive {
            result.statistics.configsDeactivated -= 1
            outcomes[config.id] = failed(
                config, code: .configUpdateFailed,
                message: "\(psa.kind) accepted the update but still lists configuration \(config.id) active, after it was written twice", into: &result)
            retriable.append(config)
        }
        if !confirmation.stillActive.isEmpty {
            result.warnings.append(
                .init(
                    code: .notConfirmedInactive,
                    message: "\(psa.kind) still lists configurations \(confirmation.stillActive.map(\.id)) active after accepting their deactivation twice; they are reported failed and retried"))
        }
        if !confirmation.unlisted.isEmpty {
            result.warnings.append(
                .init(
                    code: .notConfirmedInactive,
                    message: "configurations \(confirmation.unlisted.map(\.id)) were deactivated but \(psa.kind) no longer lists them for client \(result.clientID); they could not be confirmed"))
        }
        if let error = confirmation.listingError, !confirmation.unread.isEmpty {
            result.warnings.append(
                .init(
                    code: .notConfirmedInactive,
                    message: "\(confirmation.unread.count) of \(count) deactivated configurations could not be read back (\(error.code): \(error.message)); the PSA accepted their updates"))
        }
    }

    private func deactivated(_ config: PSAItem, psaStatus: String?, into result: inout OffboardingResult) -> OffboardingResult.Config {
        result.statistics.configsDeactivated += 1
        return .init(
            configID: config.id, configName: config.name, configType: config.typeName, status: .inactive, previousStatus: .active, action: .deactivated,
            psaStatus: psaStatus)
    }

    private func failed(
        _ config: PSAItem, code: OffboardingErrorCode, message: String, into result: inout OffboardingResult
    ) -> OffboardingResult.Config {
        result.statistics.errors += 1
        result.errors.append(.init(code: code, message: message, timestamp: Timestamp.string(now()), configID: config.id))
        return .init(
            configID: config.id, configName: config.name, configType: config.typeName, status: .active, previousStatus: .active, action: .failed,
            psaStatus: config.psaStatus)
    }

    /// Deactivates in batches of the PSA's batch size (one configuration each, on most PSAs),
    /// never more than `maxConcurrentUpdates` requests in flight at once.
    func deactivateAll(
        _ configs: [PSAItem], note: ReasonNote?, logger: Logger
    ) async -> [(PSAItem, Result<PSAItem, PSAError>)] {
        let psa = self.psa
        return await inBatches(configs, id: \.id, logger: logger) { batch in
            Self.checked(await psa.deactivate(batch: batch, note: note), of: batch.map(\.id), psa: psa.kind)
        }
    }

    /// Restores as `deactivateAll` deactivates: the same batches, bound and checks.
    func restoreAll(
        _ restorations: [PSARestoration], note: ReasonNote?, logger: Logger
    ) async -> [(PSARestoration, Result<PSAItem, PSAError>)] {
        let psa = self.psa
        return await inBatches(restorations, id: \.configuration.id, logger: logger) { batch in
            Self.checked(await psa.restore(batch: batch, note: note), of: batch.map(\.configuration.id), psa: psa.kind)
        }
    }

    private func inBatches<Item: Sendable>(
        _ configs: [Item], id: (Item) -> String, logger: Logger, write: @escaping @Sendable ([Item]) async -> [Result<PSAItem, PSAError>]
    ) async -> [(Item, Result<PSAItem, PSAError>)] {
        progress(.writing(total: configs.count))
        var outcomes = [Result<PSAItem, PSAError>?](repeating: nil, count: configs.count)
        // The bound is on requests in flight, taken by each attempt: a batch waiting to repeat one
        // (a `Retry-After`, a backoff) holds none, and the other lanes keep the PSA busy meanwhile.
        let inFlight = AsyncSemaphore(permits: configuration.maxConcurrentUpdates)
        let lanes = configuration.maxConcurrentUpdates * Self.lanesPerUpdate
        await ChunkedWork.run(count: configs.count, size: psa.batchSize, width: lanes) { range in
            await PSAInFlight.$bound.withValue(inFlight) { await write(Array(configs[range])) }
        } handle: { range, results in
            progress(.wrote(range.count))
            for (index, outcome) in zip(range, results) {
                if case .failure(let error) = outcome {
                    logger.warning("configuration update failed", metadata: ["psa.config.id": "\(id(configs[index]))", "psa.error": "\(error)"])
                }
                outcomes[index] = outcome
            }
        }
        return zip(configs, outcomes).compactMap { config, outcome in outcome.map { (config, $0) } }
    }

    /// Batches under way per request allowed in flight: enough that a few waiting to be repeated
    /// leave the PSA as busy as it was, few enough that a failing PSA is not sent everything at once.
    static let lanesPerUpdate = 4

    /// An adapter that answers for fewer configurations than it was given leaves the rest unconfirmed.
    private static func checked(
        _ outcomes: [Result<PSAItem, PSAError>], of ids: [String], psa: PSAKind
    ) -> [Result<PSAItem, PSAError>] {
        guard outcomes.count == ids.count else {
            return ids.map { id in
                .failure(PSAError(code: .configUpdateFailed, message: "\(psa) answered \(outcomes.count) outcomes for a batch of \(ids.count); configuration \(id) is not known to be written", isRetriable: true))
            }
        }
        return outcomes
    }
}
