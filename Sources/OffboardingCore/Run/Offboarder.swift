import Foundation
import Logging

/// Runs one offboarding against a PSA: re-read the company, list its configurations, then preview,
/// hold for approval or deactivate them, and describe it all as an `OffboardingResult`. Never
/// throws: every failure is in the result.
public struct Offboarder: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// How many deactivation requests of one client run at once (on HaloPSA each carries a batch).
        public var maxConcurrentUpdates: Int
        public var scope: OffboardingScope
        /// Write the reason onto each deactivated configuration, on PSAs with a notes field.
        public var writeReasonToNotes: Bool
        /// How long an approval stays open.
        public var approvalLifetime: Duration
        /// The operator's criteria and approval rule, which every request is held to; nil only
        /// where there is no operator (a library caller that builds each request itself).
        public var policy: OffboardingPolicy?

        public static let defaultMaxConcurrentUpdates = 8
        public static let defaultApprovalLifetime: Duration = .seconds(72 * 3600)

        public init(
            maxConcurrentUpdates: Int = Self.defaultMaxConcurrentUpdates, scope: OffboardingScope = .init(), writeReasonToNotes: Bool = true,
            approvalLifetime: Duration = Self.defaultApprovalLifetime, policy: OffboardingPolicy? = nil
        ) {
            self.maxConcurrentUpdates = max(1, maxConcurrentUpdates)
            self.scope = scope
            self.writeReasonToNotes = writeReasonToNotes
            self.approvalLifetime = approvalLifetime
            self.policy = policy
        }
    }

    public let psa: any PSAClient
    public let configuration: Configuration
    let logger: Logger
    let now: @Sendable () -> Date
    let progress: @Sendable (RunProgress) -> Void

    /// - Parameter progress: called after each PSA call that returns, so that a long offboarding
    ///   shows it is moving, and as the writes go.
    public init(
        psa: any PSAClient, configuration: Configuration = .init(), logger: Logger, now: @escaping @Sendable () -> Date = Date.init,
        progress: @escaping @Sendable (RunProgress) -> Void = { _ in }
    ) {
        self.psa = psa
        self.configuration = configuration
        self.logger = logger
        self.now = now
        self.progress = progress
    }

    /// The same run with a progress callback.
    public func reportingProgress(to progress: @escaping @Sendable (RunProgress) -> Void) -> Offboarder {
        Offboarder(psa: psa, configuration: configuration, logger: logger, now: now, progress: progress)
    }

    /// A run's result; the configurations whose update failed in a way that may pass later
    /// (connection errors, timeouts, 429, 500, 502-504 after the in-process retries), which go to
    /// the retry topic; when the run waits for an approval, the approval to keep; and when the PSA
    /// could not be reached before anything was changed, that outage.
    public struct Outcome: Sendable {
        public var result: OffboardingResult
        public var retriable: [PSAItem]
        public var pendingApproval: ApprovalRecord?
        /// Set when the run failed before any change because the PSA could not be reached (not
        /// because it refused the request): the run is worth repeating as it is.
        public var outage: PSAError?
        /// Set when the client is not offboarded under the criteria: nothing was read past the company.
        public var notOffboarded: Bool
        /// The state before the offboarding of each `retriable` configuration, where it is known,
        /// for the retry request to carry.
        public var statesBefore: [String: OffboardingResult.PSAPrevious] = [:]
        /// The approval the run wrote under, for the retry request to carry.
        public var grant: RetryRequest.ApprovalGrant?

        public init(
            result: OffboardingResult, retriable: [PSAItem] = [], pendingApproval: ApprovalRecord? = nil, outage: PSAError? = nil,
            notOffboarded: Bool = false
        ) {
            self.result = result
            self.retriable = retriable
            self.pendingApproval = pendingApproval
            self.outage = outage
            self.notOffboarded = notOffboarded
        }
    }

    /// What a run is asked to do.
    public enum Job: Sendable {
        /// An offboarding of the request's client.
        case offboard(OffboardingRequest)
        /// Deactivates exactly these configurations again, for a retry request (attempt 2 and on),
        /// after checking that the client is still offboarded. `statesBefore` is each
        /// configuration's state before the offboarding as the first attempt listed it (this
        /// attempt's listing may show its own earlier write, applied but unanswered); `grant` is
        /// the approval the first attempt ran under. Scope, `scope.max_configs` and the approval
        /// rule hold for a retry as for any run: what the grant does not cover waits for an
        /// approval of its own.
        case retry(
            [PSAItem], for: OffboardingRequest, attempt: Int, statesBefore: [String: OffboardingResult.PSAPrevious] = [:],
            grant: RetryRequest.ApprovalGrant? = nil)
        /// Carries out an approved approval: exactly the listed configurations that still exist are
        /// deactivated; ones added since are not touched, ones gone since are reported.
        case execute(ApprovalRecord, ApprovalDecision)
    }

    /// A run planned up to its first write: either it ends there (a preview, an approval to wait
    /// for, nothing to do, a failure before any change), or it writes.
    public enum Planned: Sendable {
        case finished(Outcome)
        /// Keep `journal` before calling `write(_:)`, when there is one: a rerun after a crash in
        /// the middle of the writes then knows what they changed.
        case writes(WritePlan)
    }

    public func run(_ request: OffboardingRequest) async -> OffboardingResult {
        await runDetailed(request).result
    }

    /// Plans and writes with no journal (a library caller, the `run` command).
    public func runDetailed(_ request: OffboardingRequest) async -> Outcome {
        await perform(.offboard(request))
    }

    /// A retry request's run with no journal; see `Job.retry`.
    public func retry(
        _ configurations: [PSAItem], for request: OffboardingRequest, attempt: Int,
        statesBefore: [String: OffboardingResult.PSAPrevious] = [:], grant: RetryRequest.ApprovalGrant? = nil
    ) async -> Outcome {
        await perform(.retry(configurations, for: request, attempt: attempt, statesBefore: statesBefore, grant: grant))
    }

    /// An approved approval's run with no journal; see `Job.execute`.
    public func execute(_ approval: ApprovalRecord, decision: ApprovalDecision) async -> Outcome {
        await perform(.execute(approval, decision))
    }

    private func perform(_ job: Job) async -> Outcome {
        switch await plan(job) {
        case .finished(let outcome): outcome
        case .writes(let plan): await write(plan)
        }
    }

    /// The result of an approval that ends without changes: rejected, or expired before a decision.
    public func decline(_ approval: ApprovalRecord, state: ApprovalState, decision: ApprovalDecision?) -> OffboardingResult {
        var result = OffboardingResult(
            success: true, eventID: approval.eventID, trigger: approval.trigger, psa: approval.psa, clientID: approval.clientID,
            clientName: approval.clientName, timestamp: Timestamp.string(now()), dryRun: false, reason: approval.reason)
        let skipReason: OffboardingResult.SkipReason = state == .expired ? .approvalExpired : .approvalRejected
        result.configs = approval.configs.map {
            .init(configID: $0.configID, configName: $0.configName, status: .active, previousStatus: .active, action: .skipped, skipReason: skipReason)
        }
        result.statistics.configsFound = approval.configs.count
        result.statistics.configsSkipped = approval.configs.count
        result.warnings.append(
            state == .expired
                ? .init(code: .approvalExpired, message: "approval \(approval.approvalID) expired at \(approval.expiresAt) without a decision; nothing was changed")
                : .init(code: .approvalRejected, message: "approval \(approval.approvalID) was rejected by \(decision?.approver ?? "an approver"); nothing was changed"))
        result.approval = .init(
            id: approval.approvalID, state: state, expiresAt: approval.expiresAt, cause: approval.cause, approver: decision?.approver,
            comment: decision?.comment, decidedAt: decision.map { $0.decidedAt ?? Timestamp.string(now()) })
        return result
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

    fileprivate enum Mode: Sendable {
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
        fileprivate let mode: Mode
        fileprivate let company: PSACompany
        fileprivate let listed: [PSAItem]
        fileprivate let candidates: [PSAItem]
        fileprivate let recovered: [PSAItem]
        fileprivate let outcomes: [String: OffboardingResult.Config]
        fileprivate let result: OffboardingResult
        fileprivate let note: ReasonNote?
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
    private func reportingApproval(_ outcome: Outcome, mode: Mode) -> Outcome {
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
        var recovered = 0
        var recoveredConfigs: [PSAItem] = []
        for config in listed {
            if !config.isActive, resumed.contains(config.id), !options.dryRun {
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
                    result.statistics.configsDeactivated += 1
                    outcomes[config.id] = .init(
                        configID: config.id, configName: config.name, configType: config.typeName, status: .inactive, previousStatus: .active, action: .deactivated,
                        psaStatus: updated.psaStatus)
                }
            case .failure(let error):
                // An update that could not get through is a failed update, whatever stopped it.
                let code: OffboardingErrorCode = error.code == .psaConnectionError ? .configUpdateFailed : error.code
                outcomes[config.id] = failed(config, code: code, message: error.description, into: &result)
                if error.isRetriable { retriable.append(config) }
            }
        }
        if !written.isEmpty {
            async let findings = checkAfterwards(written, of: company, logger: logger)
            let confirmation = await confirmInactive(written, of: company, note: note, logger: logger)
            report(confirmation, of: written.count, into: &result, outcomes: &outcomes, retriable: &retriable)
            // What restoring needs: the state each had before this run, and the stamp it left.
            let resumedIDs = Set(recoveredConfigs.map(\.id))
            for config in written where outcomes[config.id]?.action == .deactivated && !resumedIDs.contains(config.id) {
                outcomes[config.id]?.psaPrevious = stateBefore(config, mode: mode).map { before in
                    var previous = before
                    previous.lastModified = confirmation.stamps[config.id]
                    return previous
                }
            }
            result.warnings += await findings
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
        return reportingApproval(outcome, mode: mode)
    }

    /// The configuration's state before the offboarding: what a retry request carries, or what
    /// the listing showed when the configuration was still active. Nil where neither is known (a
    /// retry finding its own unanswered write applied, from a request that carries no state).
    private func stateBefore(_ config: PSAItem, mode: Mode) -> OffboardingResult.PSAPrevious? {
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
        result.statistics.configsConfirmed = confirmation.confirmed.count
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
        if let error = confirmation.listingError {
            result.warnings.append(
                .init(
                    code: .notConfirmedInactive,
                    message: "\(confirmation.unread.count) of \(count) deactivated configurations could not be read back (\(error.code): \(error.message)); the PSA accepted their updates"))
        }
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
    /// never more than `maxConcurrentUpdates` batches at once.
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
        let size = max(1, psa.batchSize)
        let batches = stride(from: 0, to: configs.count, by: size).map { $0..<min($0 + size, configs.count) }
        progress(.writing(total: configs.count))
        return await withTaskGroup(of: (Range<Int>, [Result<PSAItem, PSAError>]).self) { group in
            var outcomes = [Result<PSAItem, PSAError>?](repeating: nil, count: configs.count)
            var pending = batches.makeIterator()
            func start(_ range: Range<Int>) {
                let batch = Array(configs[range])
                group.addTask { (range, await write(batch)) }
            }
            for _ in 0..<configuration.maxConcurrentUpdates {
                guard let range = pending.next() else { break }
                start(range)
            }
            while let (range, results) = await group.next() {
                progress(.wrote(range.count))
                for (index, outcome) in zip(range, results) {
                    if case .failure(let error) = outcome {
                        logger.warning("configuration update failed", metadata: ["psa.config.id": "\(id(configs[index]))", "psa.error": "\(error)"])
                    }
                    outcomes[index] = outcome
                }
                if let next = pending.next() { start(next) }
            }
            return zip(configs, outcomes).compactMap { config, outcome in outcome.map { (config, $0) } }
        }
    }

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
