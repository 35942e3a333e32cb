import Foundation
import Logging

/// A run up to its first write: the policy, the criteria, the listing the job calls for and what
/// each configuration gets (or the approval it waits for). Nothing is written.
extension Offboarder {
    enum Mode: Sendable {
        case full
        case retry([PSAItem], attempt: Int, statesBefore: [String: OffboardingResult.PSAPrevious], grant: RetryRequest.ApprovalGrant?)
        case approved(ApprovalRecord)

        var isRetry: Bool { if case .retry = self { true } else { false } }

        /// Whether a configuration found inactive is written all the same: a retry repeats what it
        /// was asked (its earlier write may have landed unanswered), and so does an approval made for
        /// a retry, for a configuration it records as active before the offboarding.
        func writesAgain(_ id: String) -> Bool {
            switch self {
            case .full: false
            case .retry: true
            case .approved(let approval): approval.configs.first { $0.configID == id }?.previous?.active == true
            }
        }
        var isApproved: Bool { if case .approved = self { true } else { false } }

        /// Whether the reviewer who approved kept this configuration out.
        func isKept(_ id: String) -> Bool {
            guard case .approved(let approval) = self else { return false }
            return approval.decision?.keep?.contains(id) == true
        }

        /// The approval this run writes under, if any.
        var grant: RetryRequest.ApprovalGrant? {
            switch self {
            case .full: nil
            case .retry(_, _, _, let grant): grant
            case .approved(let approval): approval.grant
            }
        }
    }

    /// Everything a run decided before its first write, for `write(_:)`.
    public struct WritePlan: Sendable {
        /// What to keep before the writes; nil when the run only reports what an interrupted run wrote.
        public let journal: RunJournal?
        let mode: Mode
        let company: PSACompany
        let listed: [PSAItem]
        let candidates: [PSAItem]
        let recovered: [PSAItem]
        let outcomes: [String: OffboardingResult.Config]
        let result: OffboardingResult
        let note: ReasonNote?
    }

    /// Policy, criteria, the listing the job calls for and what each configuration gets, up to the
    /// first write. Nothing is written.
    /// - Parameter earlier: the journal an interrupted run of the same event and attempt left:
    ///   what it set inactive is listed whatever its state now, and reported as deactivated.
    public func plan(_ job: Job, earlier: RunJournal? = nil) async -> Planned {
        switch job {
        case .offboard(let request):
            return await plan(request, mode: .full, earlier: earlier)
        case .retry(let configurations, let request, let attempt, let statesBefore, let grant):
            return await plan(request, mode: .retry(configurations, attempt: attempt, statesBefore: statesBefore, grant: grant), earlier: earlier)
        case .execute(let approval, let decision):
            var decided = approval
            decided.decision = decision
            switch await plan(approval.request(dryRun: configuration.policy?.dryRun ?? false), mode: .approved(decided), earlier: earlier) {
            case .finished(let outcome): return .finished(reportingApproval(outcome, mode: .approved(decided)))
            case .writes(let plan): return .writes(plan)
            }
        }
    }

    /// An approved run's result names the approval and its decision.
    func reportingApproval(_ outcome: Outcome, mode: Mode) -> Outcome {
        guard case .approved(let approval) = mode, let decision = approval.decision else { return outcome }
        var outcome = outcome
        outcome.result.approval = .init(
            id: approval.approvalID, state: .approved, expiresAt: approval.expiresAt, cause: approval.cause, approver: decision.approver,
            comment: decision.comment, decidedAt: decision.decidedAt ?? Timestamp.string(now()))
        return outcome
    }

    private func plan(_ request: OffboardingRequest, mode: Mode, earlier: RunJournal?) async -> Planned {
        var logger = self.logger
        logger[metadataKey: "offboarding.event.id"] = "\(request.eventID)"
        logger[metadataKey: "offboarding.client"] = "\(request.client)"
        let options = request.options
        let fallbackID: String =
            switch request.client {
            case .id(let id): id
            case .name: ""
            }
        var result = OffboardingResult(
            success: false, eventID: request.eventID, trigger: request.trigger, psa: psa.kind, clientID: fallbackID,
            clientName: request.clientNameHint ?? { if case .name(let name) = request.client { return name } else { return nil } }(),
            timestamp: Timestamp.string(now()), dryRun: options.dryRun, reason: options.reason)
        var attempt = 1
        if case .retry(_, let retryAttempt, _, _) = mode {
            attempt = retryAttempt
            result.attempt = retryAttempt
        }
        // What an interrupted run of this event and attempt set inactive: listed whatever its
        // state now, and reported as deactivated by this offboarding.
        let resumed = Set(earlier.map { $0.configs.map(\.configID) } ?? [])
        if let refusal = configuration.policy?.refusal(of: options.offboardedStatuses) {
            logger.warning("request refused: it widens the configured criteria", metadata: ["offboarding.error": "\(refusal)"])
            result.errors.append(.init(code: .criteriaOverrideRefused, message: refusal, timestamp: Timestamp.string(now())))
            return .finished(Outcome(result: result))
        }

        let company: PSACompany
        var listed: [PSAItem]
        var gone: [RetryRequest.Item] = []
        do {
            company = try await psa.findCompany(request.client)
            result.clientID = company.id
            result.clientName = company.name
            let criteria = (configuration.policy?.criteria ?? OffboardingCriteria(statuses: [])).with(statuses: options.offboardedStatuses)
            let contracts = criteria.needsContracts ? try await psa.listContracts(companyID: company.id) : nil
            let matched = criteria.matched(company, contracts: contracts, now: now())
            guard criteria.isMet(by: matched) else {
                logger.info("client is not offboarded in the PSA; nothing touched", metadata: ["psa.company.status": "\(company.status)"])
                result.success = true
                result.warnings.append(.init(code: .clientNotOffboarded, message: Self.notOffboarded(company, criteria: criteria, matched: matched, psa: psa.kind)))
                return .finished(Outcome(result: result, notOffboarded: true))
            }
            result.matched = matched.map(\.rawValue)
            progress(.call)
            switch mode {
            case .full:
                listed = owned(
                    try await psa.listConfigurations(companyID: company.id, includeArchived: options.includeArchived || !resumed.isEmpty),
                    by: company, into: &result)
                if !options.includeArchived, !resumed.isEmpty {
                    listed.removeAll { !$0.isActive && !resumed.contains($0.id) }
                }
            case .retry(let configurations, _, _, _):
                // The ids come from the retry topic: only those the PSA lists for this client now are
                // written (archived ones too: an update applied before its answer was lost).
                let current = Dictionary(
                    owned(try await psa.listConfigurations(companyID: company.id, includeArchived: true), by: company, into: &result)
                        .map { ($0.id, $0) },
                    uniquingKeysWith: { first, _ in first })
                listed = configurations.compactMap { current[$0.id] }
                let foreign = configurations.filter { current[$0.id] == nil }.map(\.id)
                if !foreign.isEmpty {
                    result.warnings.append(
                        .init(
                            code: .ownershipMismatch,
                            message: "configurations \(foreign) of the retry request are not among client \(company.id)'s configurations in \(psa.kind); they were not written"))
                }
            case .approved(let approval):
                // Archived ones too, so that an approved configuration someone has since set
                // inactive is told apart from one that is gone.
                let current = Dictionary(
                    owned(try await psa.listConfigurations(companyID: company.id, includeArchived: true), by: company, into: &result)
                        .map { ($0.id, $0) },
                    uniquingKeysWith: { first, _ in first })
                listed = approval.configs.compactMap { current[$0.configID] }
                gone = approval.configs.filter { current[$0.configID] == nil }
                let approvedIDs = Set(approval.configs.map(\.configID))
                let added = current.values.filter { $0.isActive && !approvedIDs.contains($0.id) }.count
                if added > 0 {
                    result.warnings.append(
                        .init(code: .outOfScope, message: "\(added) configurations of the client are active, not on the approved list, and were left as they are"))
                }
            }
            progress(.call)
        } catch {
            logger.warning("offboarding failed before any change", metadata: ["psa.error": "\(error)"])
            result.errors.append(.init(code: error.code, message: error.message, timestamp: Timestamp.string(now())))
            return .finished(Outcome(result: result, outage: error.isRetriable ? error : nil))
        }
        for config in gone {
            result.warnings.append(
                .init(code: .configNotFound, message: "approved configuration \(config.configID) (\(config.configName)) no longer exists in \(psa.kind)"))
        }

        result.statistics.configsFound = listed.count
        if listed.isEmpty {
            if gone.isEmpty {
                result.warnings.append(.init(code: .configNotFound, message: "client \(company.id) has no configurations to deactivate"))
            }
            result.success = true
            return .finished(Outcome(result: result))
        }

        var outcomes: [String: OffboardingResult.Config] = [:]
        var candidates: [PSAItem] = []
        var outOfScope = 0
        var kept: [PSAItem] = []
        var recovered = 0
        var recoveredConfigs: [PSAItem] = []
        for config in listed {
            if mode.isKept(config.id) {
                kept.append(config)
                let status: OffboardingResult.ConfigStatus = config.isActive ? .active : .inactive
                outcomes[config.id] = .init(
                    configID: config.id, configName: config.name, configType: config.typeName, status: status, previousStatus: status, action: .skipped,
                    psaStatus: config.psaStatus, skipReason: .keptByReviewer)
            } else if !config.isActive, resumed.contains(config.id), !options.dryRun {
                recovered += 1
                recoveredConfigs.append(config)
                result.statistics.configsDeactivated += 1
                outcomes[config.id] = .init(
                    configID: config.id, configName: config.name, configType: config.typeName, status: .inactive, previousStatus: .active, action: .deactivated,
                    psaStatus: config.psaStatus)
            } else if config.isActive || mode.writesAgain(config.id), !configuration.scope.contains(config) {
                // The operator's scope, whatever record the run comes from: a retry request or an
                // approval names configurations, the scope says which may change now.
                outOfScope += 1
                let status: OffboardingResult.ConfigStatus = config.isActive ? .active : .inactive
                outcomes[config.id] = .init(
                    configID: config.id, configName: config.name, configType: config.typeName, status: status, previousStatus: status, action: .skipped,
                    psaStatus: config.psaStatus, skipReason: .outOfScope)
            } else if mode.writesAgain(config.id) {
                // Repeated as it was asked: an item found inactive may be the earlier write whose answer was lost.
                candidates.append(config)
            } else if !config.isActive {
                outcomes[config.id] = .init(
                    configID: config.id, configName: config.name, configType: config.typeName, status: .inactive, previousStatus: .inactive, action: .skipped,
                    psaStatus: config.psaStatus, skipReason: .alreadyInactive)
            } else {
                candidates.append(config)
            }
        }
        result.statistics.configsSkipped = listed.count - candidates.count - recovered
        if recovered > 0 {
            result.warnings.append(
                .init(
                    code: .resumedAfterInterruption,
                    message: "\(recovered) configurations were set inactive by an earlier run of this offboarding that stopped before publishing its result; they are reported here as deactivated"))
        }
        if !kept.isEmpty, case .approved(let approval) = mode {
            result.warnings.append(
                .init(
                    code: .keptByReviewer,
                    message: "\(approval.decision?.approver ?? "the reviewer") kept \(kept.count) configurations (\(kept.map(\.name).joined(separator: ", "))); they were left as they are",
                    configIDs: kept.map(\.id)))
        }
        if outOfScope > 0 {
            result.warnings.append(
                .init(
                    code: .outOfScope,
                    message: "\(outOfScope) active configurations are out of scope (include_types \(configuration.scope.includeTypes), exclude_types \(configuration.scope.excludeTypes)) and were left as they are"))
        }

        // The approval rule, for a first run and a retry alike: a retry writes without asking again
        // only what the approval its first attempt ran under covers. An approved run is that approval.
        var cause: ApprovalCause?
        let approved = mode.grant?.covers(candidates.map(\.id)) == true
        if !approved, !mode.isApproved {
            if options.requireApproval || configuration.policy?.requireApproval == true {
                cause = .requested
            } else if let limit = configuration.scope.maxConfigs, candidates.count > limit, !options.dryRun {
                cause = .maxConfigs
                result.warnings.append(
                    .init(
                        code: .blastRadiusExceeded,
                        message: "\(candidates.count) configurations would be deactivated, more than scope.max_configs (\(limit)); an approval is required"))
            }
        }

        if options.dryRun || (cause != nil && !candidates.isEmpty) {
            let action: OffboardingResult.Action = options.dryRun ? .wouldDeactivate : .pendingApproval
            for config in candidates {
                // A retry's candidate may be inactive already: its earlier write landed unanswered.
                let status: OffboardingResult.ConfigStatus = config.isActive ? .active : .inactive
                outcomes[config.id] = .init(
                    configID: config.id, configName: config.name, configType: config.typeName, status: status, previousStatus: status, action: action,
                    psaStatus: config.psaStatus)
            }
            result.configs = listed.compactMap { outcomes[$0.id] }
            result.success = true
            guard !options.dryRun, let cause else { return .finished(Outcome(result: result)) }
            // A retry's own approval has an id of its own: the first attempt's may be decided already.
            var approval = ApprovalRecord(
                approvalID: attempt > 1 ? "approval-\(request.eventID)#\(attempt)" : "approval-\(request.eventID)", state: .pending, eventID: request.eventID, trigger: request.trigger, psa: psa.kind,
                clientID: company.id, clientName: company.name, reason: options.reason, offboardedStatuses: options.offboardedStatuses,
                cause: cause, requestedAt: Timestamp.string(now()), expiresAt: Timestamp.string(now().addingTimeInterval(configuration.approvalLifetime.seconds)),
                // With the state before, where known: a retry's candidates may be inactive by now,
                // and the approved run must still record what a restore puts back.
                configs: candidates.map { RetryRequest.Item(configID: $0.id, configName: $0.name, previous: mode.isRetry ? stateBefore($0, mode: mode) : nil) })
            approval.eventSource = request.eventSource
            result.warnings.append(
                .init(code: .approvalRequired, message: "\(candidates.count) configurations wait for approval \(approval.approvalID); nothing was changed"))
            result.approval = .init(id: approval.approvalID, state: .pending, expiresAt: approval.expiresAt, cause: cause)
            return .finished(Outcome(result: result, pendingApproval: approval))
        }

        let note =
            configuration.writeReasonToNotes && psa.writesNotes
            ? ReasonNote(reason: options.reason, eventID: request.eventID, date: Timestamp.string(now())) : nil
        // The earlier run's configurations stay in the journal: this run may be interrupted too.
        var journal: RunJournal?
        if !candidates.isEmpty {
            var configs = earlier?.configs ?? []
            let known = Set(configs.map(\.configID))
            configs += candidates.filter { !known.contains($0.id) }.map { RetryRequest.Item(configID: $0.id, configName: $0.name) }
            journal = RunJournal(
                eventID: request.eventID, attempt: attempt, psa: psa.kind, clientID: company.id, startedAt: Timestamp.string(now()), configs: configs)
        }
        return .writes(
            WritePlan(
                journal: journal, mode: mode, company: company, listed: listed, candidates: candidates, recovered: recoveredConfigs, outcomes: outcomes,
                result: result, note: note))
    }

    /// The configurations the PSA says belong to `company`; any other is reported and never written.
    private func owned(_ configs: [PSAItem], by company: PSACompany, into result: inout OffboardingResult) -> [PSAItem] {
        let foreign = configs.filter { $0.companyID != company.id }
        guard !foreign.isEmpty else { return configs }
        logger.error("the PSA listed configurations of another client; they are not written", metadata: ["psa.config.ids": "\(foreign.map(\.id))"])
        result.warnings.append(
            .init(
                code: .ownershipMismatch,
                message: "\(psa.kind) listed configurations \(foreign.map(\.id)) for client \(company.id), but they belong to \(Set(foreign.map { $0.companyID ?? "no client" }).sorted()); they were not written"))
        return configs.filter { $0.companyID == company.id }
    }

    /// Why a client does not count as offboarded: what the PSA says, against each criterion.
    static func notOffboarded(_ company: PSACompany, criteria: OffboardingCriteria, matched: [OffboardingCriteria.Criterion], psa: PSAKind) -> String {
        var parts: [String] = []
        for criterion in criteria.configured {
            switch criterion {
            case .status:
                parts.append("status \(company.statusNames.map { "\"\($0)\"" }.joined(separator: " / ")) is \(matched.contains(.status) ? "" : "not ")one of \(criteria.statuses)")
            case .companyTypes:
                parts.append("company types \(company.types) \(matched.contains(.companyTypes) ? "include" : "are not") one of \(criteria.companyTypes)")
            case .contractsEnded:
                parts.append("contracts_ended \(matched.contains(.contractsEnded) ? "holds" : "does not hold")")
            }
        }
        let rule = criteria.configured.count > 1 ? " (match: \(criteria.match.rawValue))" : ""
        return "client is not offboarded in \(psa)\(rule): \(parts.joined(separator: "; ")); nothing was changed"
    }
}
