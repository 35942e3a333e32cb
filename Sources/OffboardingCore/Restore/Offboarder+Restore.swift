import Foundation
import Logging

extension Offboarder {
    /// A restore of one offboarding, from any trigger.
    public struct RestoreRequest: Sendable, Hashable {
        /// The restore's own event id.
        public var eventID: String
        public var plan: RestorePlan
        public var dryRun: Bool
        public var reason: String?
        public var requestedBy: String?

        public init(eventID: String, plan: RestorePlan, dryRun: Bool = false, reason: String? = nil, requestedBy: String? = nil) {
            self.eventID = eventID
            self.plan = plan
            self.dryRun = dryRun
            self.reason = reason
            self.requestedBy = requestedBy
        }
    }

    /// Where a configuration stands against the state the offboarding found and the one it left.
    enum RestoreStanding: Equatable {
        /// Back in its previous state already (a second restore, or a person did it).
        case restored
        /// As the offboarding left it: restoring is safe.
        case asLeft
        /// Edited since: never overwritten.
        case changed
    }

    static func standing(of current: PSAItem, previous: OffboardingResult.PSAPrevious) -> RestoreStanding {
        let statusAsBefore = previous.status.map { $0.id == current.statusID } ?? true
        if current.isActive == previous.active, statusAsBefore { return .restored }
        guard current.isActive != previous.active else { return .changed }
        if let stamp = previous.lastModified { return current.lastModified == stamp ? .asLeft : .changed }
        // Without a stamp (HaloPSA), the state is all there is to go by: the offboarding changed
        // `inactive` only, so a status that moved is an edit.
        return statusAsBefore ? .asLeft : .changed
    }

    /// Puts every configuration of the plan back in its state before the offboarding, through the
    /// same adapter, pacing and batches as a deactivation, and reads them back. A configuration
    /// edited since, gone, or without a recorded previous state is left as it is and reported.
    /// Never throws: every failure is in the result; a run that could not reach the PSA before any
    /// change is an `outage`.
    public func restore(_ request: RestoreRequest) async -> Outcome {
        let plan = request.plan
        var logger = self.logger
        logger[metadataKey: "offboarding.event.id"] = "\(request.eventID)"
        logger[metadataKey: "offboarding.restores"] = "\(plan.eventID)"
        var result = OffboardingResult(
            success: false, eventID: request.eventID, trigger: .restore, psa: psa.kind, clientID: plan.clientID, clientName: plan.clientName,
            timestamp: Timestamp.string(now()), dryRun: request.dryRun, reason: request.reason)
        result.restores = plan.eventID
        result.requestedBy = request.requestedBy
        result.statistics.configsRestored = 0
        guard plan.psa == psa.kind else {
            result.errors.append(
                .init(code: .notRestorable, message: "offboarding \(plan.eventID) was on \(plan.psa); this service restores on \(psa.kind)", timestamp: Timestamp.string(now())))
            return Outcome(result: result)
        }
        let current: [String: PSAItem]
        do {
            current = try await listed(ofClient: plan.clientID)
        } catch {
            logger.warning("restore failed before any change", metadata: ["psa.error": "\(error)"])
            result.errors.append(.init(code: error.code, message: error.message, timestamp: Timestamp.string(now())))
            return Outcome(result: result, outage: error.isRetriable ? error : nil)
        }
        progress(.call)
        result.statistics.configsFound = plan.configs.count

        var outcomes: [String: OffboardingResult.Config] = [:]
        var candidates: [PSARestoration] = []
        var skipped: [OffboardingResult.SkipReason: [String]] = [:]
        for entry in plan.configs {
            let reason: OffboardingResult.SkipReason
            let config = current[entry.configID]
            if config != nil, let previous = entry.previous, !previous.active {
                // Only deactivations are undone: a "previous" state that is not active would move the
                // configuration away from active, which a restore never does.
                reason = .previousStateNotActive
            } else if let config, let previous = entry.previous {
                switch Self.standing(of: config, previous: previous) {
                case .asLeft:
                    candidates.append(PSARestoration(configuration: config, previous: previous))
                    outcomes[entry.configID] = .init(
                        configID: entry.configID, configName: config.name, configType: config.typeName, status: .inactive, previousStatus: .inactive, action: .wouldRestore,
                        psaStatus: config.psaStatus)
                    continue
                case .restored: reason = .alreadyRestored
                case .changed: reason = .changedSinceOffboarding
                }
            } else {
                reason = config == nil ? .notFound : .previousStateUnknown
            }
            skipped[reason, default: []].append(entry.configID)
            let status: OffboardingResult.ConfigStatus = config.map { $0.isActive ? .active : .inactive } ?? .inactive
            outcomes[entry.configID] = .init(
                configID: entry.configID, configName: config?.name ?? entry.configName, configType: config?.typeName, status: status, previousStatus: status, action: .skipped,
                psaStatus: config?.psaStatus, skipReason: reason)
        }
        result.statistics.configsSkipped = plan.configs.count - candidates.count
        reportSkipped(skipped, of: plan, into: &result)

        if request.dryRun || candidates.isEmpty {
            result.configs = plan.configs.compactMap { outcomes[$0.configID] }
            result.success = true
            return Outcome(result: result)
        }
        let note =
            configuration.writeReasonToNotes && psa.writesNotes
            ? ReasonNote(reason: request.reason, eventID: request.eventID, date: Timestamp.string(now()), change: .restored(undoing: plan.eventID)) : nil
        var written: [PSARestoration] = []
        var unanswered: [PSARestoration] = []
        for (restoration, outcome) in await restoreAll(candidates, note: note, logger: logger) {
            let config = restoration.configuration
            switch outcome {
            case .success(let updated):
                written.append(restoration)
                outcomes[config.id] = .init(
                    configID: config.id, configName: config.name, configType: config.typeName, status: updated.isActive ? .active : .inactive, previousStatus: .inactive,
                    action: .restored, psaStatus: updated.psaStatus)
            case .failure(let error):
                outcomes[config.id] = failedRestore(config, code: error.code == .psaConnectionError ? .configUpdateFailed : error.code, message: error.description, into: &result)
                // It may have landed before its answer was lost: the read-back tells.
                if error.isRetriable { unanswered.append(restoration) }
            }
        }
        if !written.isEmpty || !unanswered.isEmpty {
            await confirmRestored(written, unanswered: unanswered, ofClient: plan.clientID, into: &result, outcomes: &outcomes, logger: logger)
        }
        result.statistics.configsRestored = plan.configs.filter { outcomes[$0.configID]?.action == .restored }.count
        result.configs = plan.configs.compactMap { outcomes[$0.configID] }
        result.success = result.errors.isEmpty
        await fileAuditTicket(for: &result, logger: logger)
        logger.info(
            "restore finished",
            metadata: ["offboarding.configs.restored": "\(result.statistics.configsRestored ?? 0)", "offboarding.errors": "\(result.statistics.errors)"])
        return Outcome(result: result)
    }

    /// Reads the restored configurations back: one that is not in its previous state is a failed
    /// one; an `unanswered` one that is, landed, and is reported restored.
    private func confirmRestored(
        _ written: [PSARestoration], unanswered: [PSARestoration], ofClient clientID: String, into result: inout OffboardingResult,
        outcomes: inout [String: OffboardingResult.Config], logger: Logger
    ) async {
        let current: [String: PSAItem]
        do {
            current = try await listed(ofClient: clientID)
        } catch {
            logger.warning("the restored configurations could not be read back", metadata: ["psa.error": "\(error)"])
            guard !written.isEmpty else { return }
            result.warnings.append(
                .init(
                    code: .notConfirmedRestored,
                    message: "\(written.count) restored configurations could not be read back (\(error.code): \(error.message)); the PSA accepted their updates"))
            return
        }
        progress(.call)
        var confirmed = 0
        var notBack: [String] = []
        for restoration in written {
            let id = restoration.configuration.id
            if let now = current[id], Self.standing(of: now, previous: restoration.previous) == .restored {
                confirmed += 1
            } else {
                notBack.append(id)
                outcomes[id] = failedRestore(
                    restoration.configuration, code: .configUpdateFailed,
                    message: "\(psa.kind) accepted the restore but does not list configuration \(id) in its previous state", into: &result)
            }
        }
        for restoration in unanswered {
            let id = restoration.configuration.id
            guard let now = current[id], Self.standing(of: now, previous: restoration.previous) == .restored else { continue }
            result.statistics.errors -= 1
            result.errors.removeAll { $0.configID == id }
            confirmed += 1
            let config = restoration.configuration
            outcomes[id] = .init(
                configID: id, configName: config.name, configType: config.typeName, status: now.isActive ? .active : .inactive, previousStatus: .inactive,
                action: .restored, psaStatus: now.psaStatus)
        }
        result.statistics.configsConfirmed = confirmed
        if !notBack.isEmpty {
            result.warnings.append(
                .init(
                    code: .notConfirmedRestored, message: "\(psa.kind) does not list configurations \(notBack) in their previous state after the restore; restore again to retry them",
                    configIDs: notBack))
        }
    }

    private func reportSkipped(_ skipped: [OffboardingResult.SkipReason: [String]], of plan: RestorePlan, into result: inout OffboardingResult) {
        if let ids = skipped[.changedSinceOffboarding] {
            result.warnings.append(
                .init(
                    code: .changedSinceOffboarding,
                    message: "\(ids.count) configurations were changed in \(psa.kind) since offboarding \(plan.eventID) and were left as they are",
                    configIDs: ids))
        }
        if let ids = skipped[.previousStateUnknown] {
            result.warnings.append(
                .init(
                    code: .previousStateUnknown,
                    message: "the results of offboarding \(plan.eventID) record no previous state for \(ids.count) configurations; they were left as they are",
                    configIDs: ids))
        }
        if let ids = skipped[.previousStateNotActive] {
            result.warnings.append(
                .init(
                    code: .previousStateNotActive,
                    message: "the results of offboarding \(plan.eventID) record a state before it that is not active for \(ids.count) configurations; a restore only puts configurations back to active, and left them",
                    configIDs: ids))
        }
        if let ids = skipped[.notFound] {
            result.warnings.append(
                .init(code: .configNotFound, message: "\(psa.kind) no longer lists \(ids.count) configurations of client \(plan.clientID)", configIDs: ids))
        }
    }

    private func failedRestore(
        _ config: PSAItem, code: OffboardingErrorCode, message: String, into result: inout OffboardingResult
    ) -> OffboardingResult.Config {
        result.statistics.errors += 1
        result.errors.append(.init(code: code, message: message, timestamp: Timestamp.string(now()), configID: config.id))
        return .init(configID: config.id, configName: config.name, configType: config.typeName, status: .inactive, previousStatus: .inactive, action: .failed, psaStatus: config.psaStatus)
    }
}
